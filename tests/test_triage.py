"""Triage: every rule in intake.triage.yaml raises the priority it says, with its reason."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.actions import FLAGS
from flows.engine import Engine
from flows.loader import FLOWS_DIR
from flows.triage import LOWEST, PRIORITIES, Assessment, Rule, TriageRules, load_rules

TRIAGE = load_rules(FLOWS_DIR / "intake.triage.yaml")


def answer_values() -> dict[str, tuple[str, ...]]:
    """Every value a family can give for each saved answer; flags are "yes" or absent."""
    flow = Engine.load("intake").flow
    values: dict[str, tuple[str, ...]] = {f: ("yes",) for f in FLAGS}
    for s in flow.states.values():
        if s.save and not s.input:
            skipped = ("skipped",) if s.skippable else ()
            values[s.save] = tuple(c.value for c in flow.choices_of(s)) + skipped
    return values


VALUES = answer_values()


def reason_of(key: str, value: str) -> str:
    return next(r.reason for r in TRIAGE.rules if r.when == {key: (value,)})


def at_least(priority: str, floor: str) -> bool:
    return PRIORITIES.index(priority) <= PRIORITIES.index(floor)


@pytest.mark.parametrize("rule", TRIAGE.rules, ids=[r.reason for r in TRIAGE.rules])
def test_rule_applies_when_its_answers_are_given(rule: Rule) -> None:
    """Answers meeting a rule give at least its priority and list its reason."""
    verdict = TRIAGE.assess({k: vals[0] for k, vals in rule.when.items()})
    assert at_least(verdict.priority, rule.priority)
    assert rule.reason in verdict.reasons


@pytest.mark.parametrize("rule", TRIAGE.rules, ids=[r.reason for r in TRIAGE.rules])
def test_rule_does_not_apply_when_one_answer_differs(rule: Rule) -> None:
    """Changing any one of a rule's answers to another valid value drops its reason."""
    for key, wanted in rule.when.items():
        answers: dict[str, str] = {k: vals[0] for k, vals in rule.when.items()}
        other = next((v for v in VALUES[key] if v not in wanted), None)
        if other is None:  # a flag: the other "value" is not being set
            del answers[key]
        else:
            answers[key] = other
        assert rule.reason not in TRIAGE.assess(answers).reasons, (key, answers)


def test_no_rule_gives_lowest_priority_with_default_reason() -> None:
    """With no rule applying the case is P3 with the default reason."""
    for answers in ({}, {"category": "other", "danger": "no", "who": "self"}):
        verdict = TRIAGE.assess(answers)
        assert (verdict.priority, verdict.reasons) == (LOWEST, (TRIAGE.default_reason,))
    assert LOWEST == "P3" and TRIAGE.default_reason


def test_skipped_risk_questions_raise_nothing() -> None:
    """Skipping every risk question does not raise the priority."""
    answers = {k: "skipped" for k in ("injured", "perpetrator_near", "weapon",
                                      "child_at_risk", "selfharm_now")}
    assert TRIAGE.assess(answers).priority == LOWEST


def test_highest_priority_wins_and_reasons_are_worst_first() -> None:
    """The case takes the worst priority and keeps every reason, worst first."""
    verdict = TRIAGE.assess({"category": "couple", "danger": "afraid", "injured": "yes"})
    assert verdict.priority == "P0"
    assert verdict.reasons == (reason_of("injured", "yes"), reason_of("danger", "afraid"),
                               reason_of("category", "couple"))


@given(st.fixed_dictionaries({}, optional={
    key: st.sampled_from(vals) for key, vals in VALUES.items()}))
@settings(max_examples=300, deadline=None)
def test_reasons_at_each_priority_are_the_reasons_assess_gives(answers: dict[str, str]) -> None:
    """The lookups by answer the engine uses each step find exactly the rules that trying
    every rule finds: per priority, and for the verdict (worst first, then in the file's
    order)."""
    hits = [r for p in PRIORITIES for r in TRIAGE.rules if r.priority == p and r.matches(answers)]
    verdict = TRIAGE.assess(answers)
    for p in PRIORITIES:
        assert TRIAGE.reasons_at(p, answers) == {r.reason for r in hits if r.priority == p}
    assert verdict.priority == (hits[0].priority if hits else LOWEST)
    assert verdict.reasons == (tuple(dict.fromkeys(r.reason for r in hits))
                               or (TRIAGE.default_reason,))


def test_a_verdict_gives_the_reasons_of_one_priority_in_the_files_order() -> None:
    """Rules are looked up by answer, but the reasons read as the file lists them."""
    rules = TriageRules([Rule("P1", "first", {"x": ("a",)}), Rule("P1", "second", {"y": ("b",)}),
                         Rule("P1", "third", {"x": ("a",), "z": ("c",)}),
                         Rule("P2", "later", {"y": ("b",)})], "default", "test")
    verdict = rules.assess({"x": "a", "y": "b", "z": "c"})
    assert verdict == Assessment("P1", ("first", "second", "third", "later"))


def test_sexual_violence_told_as_recent_is_p0_with_its_reason_first() -> None:
    """Sexual violence told as recent (the flag the crisis words set, walk S) is P0 with
    `sexual_recent` read first, labelled for staff with the 3x24 hours and the sexual
    violence texts; told with no time (the category alone) it stays P1."""
    verdict = TRIAGE.assess({"sexual_recent": "yes", "crisis_now": "yes",
                             "crisis_sexual": "yes", "category": "sexual"})
    assert verdict.priority == "P0" and verdict.reasons[0] == "sexual_recent"
    assert "3x24 jam" in TRIAGE.labels["sexual_recent"]["id"]
    assert TRIAGE.focus("sexual_recent") == "sexual"
    assert TRIAGE.assess({"crisis_sexual": "yes", "category": "sexual"}).priority == "P1"
