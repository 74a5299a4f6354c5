"""Explainable triage: priority rules as data, each with the reason it gives in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flows.definition import FlowError

PRIORITIES = ("P0", "P1", "P2", "P3")
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
    def __init__(self, rules: list[Rule], default_reason: str, source: str) -> None:
        self.rules = rules
        self.default_reason = default_reason
        self.source = source
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


def load_rules(path: Path) -> TriageRules:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise FlowError(f"{path}: triage rules file not found") from exc
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML: {exc}") from exc
    rules = []
    for i, r in enumerate(raw.get("rules") or []):
        where = f"{path}: rules[{i}]"
        if not isinstance(r, Mapping) or not {"priority", "reason", "when"} <= set(r):
            raise FlowError(f"{where}: a rule needs priority, reason and when")
        if not isinstance(r["when"], Mapping) or not r["when"]:
            raise FlowError(f"{where}.when: must be a mapping of answer to value(s)")
        if r["priority"] not in PRIORITIES:
            raise FlowError(f"{where}.priority: must be one of {', '.join(PRIORITIES)}")
        when = {str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
                for k, v in r["when"].items()}
        rules.append(Rule(r["priority"], str(r["reason"]), when))
    return TriageRules(rules, str(raw.get("default_reason", "consultation")), str(path))
