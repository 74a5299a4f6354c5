"""Explainable triage: priority rules as data, each with the reason it gives in plain words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.definition import FlowError, read_yaml
from flows.types import LANGUAGES

PRIORITIES = ("P0", "P1", "P2", "P3")
URGENT = ("P0", "P1")  # danger now and high risk: never left waiting (DOMAIN.md)
LOWEST = "P3"


@dataclass(frozen=True)
class Rule:
    priority: str
    reason: str
    when: dict[str, tuple[str, ...]]  # answer -> accepted values; all must hold
    # The same as sets, most selective first: every step checks every rule several times.
    checks: tuple[tuple[str, frozenset[str]], ...] = field(init=False, repr=False,
                                                            compare=False)

    def __post_init__(self) -> None:
        checks = sorted(((k, frozenset(v)) for k, v in self.when.items()),
                        key=lambda kv: len(kv[1]))
        object.__setattr__(self, "checks", tuple(checks))

    def matches(self, answers: Mapping[str, Any]) -> bool:
        for key, accepted in self.checks:
            value = answers.get(key)
            if value is None or (value if type(value) is str else str(value)) not in accepted:
                return False
        return True


@dataclass(frozen=True)
class Assessment:
    priority: str
    reasons: tuple[str, ...]


class TriageRules:
    def __init__(self, rules: list[Rule], default_reason: str, source: str,
                 labels: dict[str, dict[str, str]] | None = None) -> None:
        self.rules = rules
        self.default_reason = default_reason
        self.source = source
        self.labels = labels or {}  # reason code -> language -> words for staff
        self.by_priority: dict[str, tuple[Rule, ...]] = {
            p: tuple(r for r in rules if r.priority == p) for p in PRIORITIES}
        # Per priority, each rule under its most selective answer and the values it accepts
        # there: a step looks up the few rules an answer can satisfy instead of trying all.
        self.index: dict[str, dict[str, dict[str, tuple[Rule, ...]]]] = {}
        for p in PRIORITIES:
            by_key: dict[str, dict[str, tuple[Rule, ...]]] = {}
            for r in self.by_priority[p]:
                key, accepted = r.checks[0]
                for value in accepted:
                    by_value = by_key.setdefault(key, {})
                    by_value[value] = (*by_value.get(value, ()), r)
            self.index[p] = by_key

    def assess(self, answers: Mapping[str, Any]) -> Assessment:
        """The highest priority any rule gives, and every matching rule's reason, worst first."""
        hits = [r for p in PRIORITIES for r in self.by_priority[p] if r.matches(answers)]
        if not hits:
            return Assessment(LOWEST, (self.default_reason,))
        reasons = tuple(dict.fromkeys(r.reason for r in hits))
        return Assessment(hits[0].priority, reasons)

    def reasons_at(self, priority: str, answers: Mapping[str, Any]) -> frozenset[str]:
        """The reasons of the rules of one priority that hold."""
        hits: set[str] = set()
        for key, by_value in self.index[priority].items():
            value = answers.get(key)
            if value is None:
                continue
            for rule in by_value.get(value if type(value) is str else str(value), ()):
                if rule.matches(answers):
                    hits.add(rule.reason)
        return frozenset(hits)

    def label(self, reason: str, language: str = "id") -> str:
        """A reason in words for staff; a code this file does not know (a reason stored by an
        older version) is shown as it is."""
        words = self.labels.get(reason)
        return words.get(language) or words["id"] if words else reason

    def focus(self, reason: str) -> str | None:
        """The kind of danger a P0 reason is about (its emergency text), if the file says."""
        return self.labels.get(reason, {}).get("focus")

    def describe(self, reasons: Iterable[str], language: str = "id") -> str:
        """Reasons as one line for staff: labels, in order, separated by semicolons."""
        return "; ".join(self.label(r, language) for r in reasons) or "-"

    def check_answers(self, answer_values: Mapping[str, set[str] | None]) -> None:
        for i, rule in enumerate(self.rules):
            for key, vals in rule.when.items():
                where = f"{self.source}: rules[{i}].when.{key}"
                if key not in answer_values:
                    raise FlowError(f"{where}: no state saves the answer '{key}'")
                allowed = answer_values[key]
                bad = [v for v in vals if allowed is not None and v not in allowed]
                if bad:
                    raise FlowError(f"{where}: '{bad[0]}' is not a choice of '{key}'")


def _labels(raw: Any, path: Path) -> dict[str, dict[str, str]]:
    if not isinstance(raw, Mapping) or not raw:
        raise FlowError(f"{path}: reasons: needs a mapping of reason code to its words "
                        f"per language")
    out: dict[str, dict[str, str]] = {}
    for code, words in raw.items():
        if not isinstance(words, Mapping) or any(not words.get(lang) for lang in LANGUAGES):
            raise FlowError(f"{path}: reasons.{code}: needs words in every language "
                            f"({', '.join(LANGUAGES)})")
        out[str(code)] = {str(k): str(v) for k, v in words.items()}
    return out


def load_rules(path: Path) -> TriageRules:
    raw = read_yaml(path, "triage rules file") or {}
    labels = _labels(raw.get("reasons"), path)
    default = str(raw.get("default_reason", "consultation"))
    if default not in labels:
        raise FlowError(f"{path}: default_reason: '{default}' is not in reasons")
    rules = []
    for i, r in enumerate(raw.get("rules") or []):
        where = f"{path}: rules[{i}]"
        if not isinstance(r, Mapping) or not {"priority", "reason", "when"} <= set(r):
            raise FlowError(f"{where}: a rule needs priority, reason and when")
        if not isinstance(r["when"], Mapping) or not r["when"]:
            raise FlowError(f"{where}.when: must be a mapping of answer to value(s)")
        if r["priority"] not in PRIORITIES:
            raise FlowError(f"{where}.priority: must be one of {', '.join(PRIORITIES)}")
        if str(r["reason"]) not in labels:
            raise FlowError(f"{where}.reason: '{r['reason']}' is not in reasons (add its "
                            f"words there)")
        when = {str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
                for k, v in r["when"].items()}
        rules.append(Rule(r["priority"], str(r["reason"]), when))
    return TriageRules(rules, default, str(path), labels)


@lru_cache(maxsize=1)
def intake_rules() -> TriageRules:
    """The intake's rules as shipped, for staff output that shows reasons in words."""
    return load_rules(Path(__file__).resolve().parent / "intake.triage.yaml")


def describe(reasons: Iterable[str], language: str = "id") -> str:
    """Stored reason codes as staff read them (see `TriageRules.describe`)."""
    return intake_rules().describe(reasons, language)
