"""The flow loader refuses a broken flow folder, naming the file and the place; the CLI agrees."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.actions import ACTIONS, FLAGS
from flows.definition import FlowError
from flows.engine import Engine
from flows.loader import FLOWS_DIR, Bundle, load_bundle
from flows.triage import load_rules

LK3 = Path(sys.executable).with_name("lk3")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the real flows folder, to break one thing in."""
    out = tmp_path / "flows"
    out.mkdir()
    for path in [*FLOWS_DIR.glob("*.yaml"), *FLOWS_DIR.glob("*.json")]:
        shutil.copy(path, out)  # the lists, and the crisis model beside them
    shutil.copytree(FLOWS_DIR / "catalog", out / "catalog")
    return out


def load(folder: Path) -> Bundle:
    return load_bundle("intake", ACTIONS, FLAGS, folder=folder)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + text,
                    encoding="utf-8")


def refusal(folder: Path, file: str, *places: str) -> str:
    """Load the folder; the FlowError must name `file` (full path) and every place."""
    with pytest.raises(FlowError) as err:
        load(folder)
    message = str(err.value)
    assert str(folder / file) in message, message
    for place in places:
        assert place in message, message
    return message


def lk3(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    return subprocess.run([str(LK3), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_copied_flows_load_cleanly(folder: Path) -> None:
    """An untouched copy of the flows folder loads, so each refusal below is the one break."""
    assert {p.name for p in folder.glob("*.yaml")} >= {
        "intake.yaml", "intake.triage.yaml", "keywords.yaml", "lists.yaml", "crisis.yaml",
        "directory.yaml"}
    assert load(folder).flow.name == "intake"


def test_real_flows_load_cleanly() -> None:
    """The shipped intake flow loads and starts in a state it has."""
    engine = Engine.load("intake")
    assert engine.flow.initial in engine.flow.states


def test_unknown_goto_target(folder: Path) -> None:
    """A goto naming no state is refused at its place."""
    edit(folder / "intake.yaml", "numbers, goto: helplines}", "numbers, goto: hotline}")
    refusal(folder, "intake.yaml", "states.greeting.choices[2].goto", "'hotline'")


@pytest.mark.parametrize(("old", "new", "named"), [
    ("from_danger: {violence: dv,", "from_danger: {violent: dv,", "'violent'"),
    ("from_danger: {violence: dv,", "from_danger: {violence: kdrt,", "'kdrt'"),
])
def test_from_danger_names_kinds_and_choices(folder: Path, old: str, new: str,
                                             named: str) -> None:
    """`from_danger` maps a kind of danger of the crisis words to a choice of the state."""
    edit(folder / "intake.yaml", old, new)
    refusal(folder, "intake.yaml", "states.category.from_danger", named)


@pytest.mark.parametrize(("old", "new", "where", "named"), [
    ("at_risk: {priority: [P0, P1]}", "at_risk: {priority: [P0, P5]}",
     "conditions.at_risk.priority", "P0, P1, P2, P3"),
    ("unless: [at_risk, under_18]", "unless: [at_risk, under18]",
     "conditions.no_safety_questions.unless", "'under18'"),
    ("      if: no_safety_questions", "      if: no_safety_question",
     "states.risk_injured.pass.if", "'no_safety_question'"),
    ("        - {goto: contact_pref}\n    from_danger: {injury",
     "        - {goto: contact}\n    from_danger: {injury", "states.risk_injured.pass.goto",
     "'contact'"),
])
def test_a_question_passed_names_conditions_and_states(folder: Path, old: str, new: str,
                                                       where: str, named: str) -> None:
    """`pass` (a question not asked where its condition holds), `priority` and `unless`
    conditions: a misspelt name would silently ask or pass every family; refused at load."""
    edit(folder / "intake.yaml", old, new)
    refusal(folder, "intake.yaml", where, named)


@pytest.mark.parametrize(("old", "new", "where", "named"), [
    ("unsure: afraid", "unsure: ragu", "states.danger.unsure", "'ragu'"),
    ("unmatched: {keep_as: kampung, choice: unknown}",
     "unmatched: {keep_as: kampung, choice: tidak_tahu}", "states.distrik.unmatched.choice",
     "'tidak_tahu'"),
    ("unmatched: {keep_as: kampung, choice: unknown}",
     "unmatched: {keep_as: age, choice: unknown}", "states.distrik.unmatched.keep_as", "'age'"),
    ('known_by: {no_shelter: "no"}', 'known_by: {no_house: "no"}',
     "states.risk_safe_place.known_by", "'no_house'"),
    ('known_by: {no_shelter: "no"}', 'known_by: {no_shelter: "nope"}',
     "states.risk_safe_place.known_by.no_shelter", "'nope'"),
])
def test_unsure_and_unmatched_name_choices_and_a_text_question(
        folder: Path, old: str, new: str, where: str, named: str) -> None:
    """The choice a second "tra tau" takes, and where a place told in words is kept, are
    refused at load when they name no choice or no text question."""
    edit(folder / "intake.yaml", old, new)
    refusal(folder, "intake.yaml", where, named)


def test_unknown_initial(folder: Path) -> None:
    """An initial state that does not exist is refused."""
    edit(folder / "intake.yaml", "initial: greeting", "initial: welcome")
    refusal(folder, "intake.yaml", "initial", "'welcome'")


def test_unreachable_state(folder: Path) -> None:
    """A state no path leads to is refused, naming it."""
    edit(folder / "intake.yaml", "numbers, goto: helplines}", "numbers, goto: danger}")
    refusal(folder, "intake.yaml", "states.helplines", "unreachable")


def test_unknown_action_in_do(folder: Path) -> None:
    """A `do:` naming no action is refused at its choice."""
    edit(folder / "intake.yaml", "label: consent.agree, goto: age, do: record_consent}",
         "label: consent.agree, goto: age, do: panic}")
    refusal(folder, "intake.yaml", "states.consent.choices[0].do", "'panic'")


def test_unknown_action_in_on_enter(folder: Path) -> None:
    """An `on_enter:` naming no action is refused at its state."""
    edit(folder / "intake.yaml", "on_enter: open_case", "on_enter: open_file")
    refusal(folder, "intake.yaml", "states.closing.on_enter", "'open_file'")


def test_unknown_condition_in_if(folder: Path) -> None:
    """An `if:` naming no condition is refused at its branch."""
    edit(folder / "intake.yaml", "{if: violence, goto: risk_perpetrator}",
         "{if: violent, goto: risk_perpetrator}")
    refusal(folder, "intake.yaml", "states.risk_injured.goto", "'violent'")


def test_condition_over_unsaved_answer(folder: Path) -> None:
    """A condition over an answer no state saves is refused."""
    edit(folder / "intake.yaml", "violence: {answer: category,", "violence: {answer: topic,")
    refusal(folder, "intake.yaml", "conditions.violence", "'topic'")


def test_text_key_missing_in_english(folder: Path) -> None:
    """A text the flow uses but en.yaml lacks is refused, naming en.yaml and the key."""
    edit(folder / "catalog" / "en.yaml", "who.elder: A parent or elderly family member\n", "")
    refusal(folder, "catalog/en.yaml", "'who.elder'", "states.who")


def test_key_only_in_indonesian_has_no_translation(folder: Path) -> None:
    """A key in id.yaml but not in en.yaml is refused as a missing translation."""
    append(folder / "catalog" / "id.yaml", "who.neighbour: Tetangga\n")
    message = refusal(folder, "catalog/en.yaml", "'who.neighbour'")
    assert "translation" in message


@pytest.mark.parametrize("file", ["intake.yaml", "intake.triage.yaml", "keywords.yaml",
                                  "lists.yaml", "crisis.yaml", "directory.yaml",
                                  "catalog/en.yaml", "catalog/id.yaml"])
def test_invalid_yaml(folder: Path, file: str) -> None:
    """Invalid YAML in any flow file is refused naming that file and the line."""
    append(folder / file, "broken: [unclosed\n")
    message = refusal(folder, file, "YAML")
    assert re.search(r"line \d+", message), message


@pytest.mark.parametrize("file", ["crisis.yaml", "directory.yaml"])
def test_missing_crisis_or_directory_file(folder: Path, file: str) -> None:
    """The crisis words and the emergency directory are part of the folder: missing is refused."""
    (folder / file).unlink()
    message = refusal(folder, file)
    assert "not found" in message


def test_keyword_bound_twice(folder: Path) -> None:
    """A word bound to two commands is refused, whatever its case."""
    edit(folder / "keywords.yaml", "human: [petugas,", "human: [Tolong, petugas,")
    message = refusal(folder, "keywords.yaml", "human", "emergency")
    assert "'tolong'" in message.lower()


def test_triage_rule_with_unknown_answer(folder: Path) -> None:
    """A triage rule over an answer no state saves is refused at its rule."""
    n = len(load_rules(FLOWS_DIR / "intake.triage.yaml").rules)
    append(folder / "intake.triage.yaml", "  - {priority: P1, reason: afraid, when: {mood: sad}}\n")
    refusal(folder, "intake.triage.yaml", f"rules[{n}].when.mood", "'mood'")


def test_triage_rule_with_reason_without_words(folder: Path) -> None:
    """A rule whose reason code has no words for staff is refused at its rule."""
    n = len(load_rules(FLOWS_DIR / "intake.triage.yaml").rules)
    append(folder / "intake.triage.yaml", "  - {priority: P1, reason: sad, when: {danger: now}}\n")
    refusal(folder, "intake.triage.yaml", f"rules[{n}].reason", "'sad'")


def test_triage_reason_missing_a_language(folder: Path) -> None:
    """A reason code without its English words is refused, naming the code."""
    edit(folder / "intake.triage.yaml", "afraid: {id: takut akan bahaya, en: afraid of danger}",
         "afraid: {id: takut akan bahaya}")
    refusal(folder, "intake.triage.yaml", "reasons.afraid", "en")


def test_directory_group_with_unknown_number(folder: Path) -> None:
    """A kind of danger listing a number the directory does not have is refused."""
    edit(folder / "directory.yaml", "injury: [health, police]", "injury: [health, ambulans]")
    refusal(folder, "directory.yaml", "by_group.injury", "'ambulans'")


def test_triage_rule_with_value_not_a_choice(folder: Path) -> None:
    """A triage rule expecting a value the question does not offer is refused."""
    n = len(load_rules(FLOWS_DIR / "intake.triage.yaml").rules)
    append(folder / "intake.triage.yaml",
           "  - {priority: P1, reason: afraid, when: {category: war}}\n")
    refusal(folder, "intake.triage.yaml", f"rules[{n}].when.category", "'war'")


def test_flow_check_passes_on_the_real_flows() -> None:
    """`lk3 flow check` exits 0 and prints an ok line for the intake flow."""
    done = lk3("flow", "check")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^ok\s+intake\b", done.stdout, re.M), done.stdout


def test_flow_draw_is_a_mermaid_diagram_of_every_state() -> None:
    """`lk3 flow draw intake` prints a Mermaid stateDiagram-v2 naming every state."""
    done = lk3("flow", "draw", "intake")
    assert done.returncode == 0, done.stderr
    assert "stateDiagram-v2" in done.stdout
    missing = [s for s in Engine.load("intake").flow.states
               if not re.search(rf"\b{s}\b", done.stdout)]
    assert missing == []


def test_flow_draw_of_an_unknown_flow_fails_naming_it() -> None:
    """`lk3 flow draw` of a flow that does not exist exits 2 with one line naming its file."""
    done = lk3("flow", "draw", "nosuchflow")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "nosuchflow.yaml" in done.stderr


@pytest.mark.parametrize(("old", "new", "place"), [
    ("model_gives_way: [locate,", "model_gives_way: [locat,", "notice_rules.model_gives_way"),
    ("after_selfharm: [farewell]", "after_selfharm: [farewel]", "notice_rules.after_selfharm"),
    ("welfare: unreachable_alone,", "welfare: unreachable,", "notice_rules.flags"),
    ("welfare: unreachable_alone,", "welfar: unreachable_alone,", "notice_rules.flags"),
    ("  tells_the_problem: [health,", "  tells_the_problems: [health,", "notice_rules"),
])
def test_notice_rules_name_notices_and_flags_that_exist(
        folder: Path, old: str, new: str, place: str) -> None:
    """A misspelt notice or flag in `notice_rules` would silently change nothing (the model
    would no longer give way to "where does my wife live now", a secrecy condition would no
    longer reach staff): refused at load, naming the rule."""
    edit(folder / "phrases.yaml", old, new)
    refusal(folder, "phrases.yaml", place)
