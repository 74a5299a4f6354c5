"""Actions a flow may name (`do:` on a choice, `on_enter:` on a state); each is pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.triage import TriageRules
from flows.types import Event, Reply

# Flags that actions set; triage rules may name them like answers (value "yes").
FLAGS = ("emergency_keyword", "still_in_danger", "human_requested")

CONSENT_CHOICES = {"agree": "consent", "agree_refer": "consent", "refuse": None}


@dataclass(eq=False)  # transitions looks models up by identity
class StepModel:
    """The throw-away model a conversation becomes for one step of the machine."""

    state: str
    language: str
    answers: dict[str, Any]
    flags: list[str]
    misses: int
    now: datetime
    triage: TriageRules
    consent_version: str
    has_case: bool
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    def facts(self) -> dict[str, Any]:
        """Answers and flags together, as the triage rules see them."""
        return {**self.answers, **{f: "yes" for f in self.flags}}

    def consented(self) -> bool:
        return CONSENT_CHOICES.get(str(self.answers.get("consent"))) == "consent"


def _case_event(m: StepModel, status: str) -> Event:
    verdict = m.triage.assess(m.facts())
    basis = "consent" if m.consented() else "vital_interest"
    m.has_case = True
    return Event("case_upsert", {
        "status": status, "priority": verdict.priority, "reasons": list(verdict.reasons),
        "category": m.answers.get("category"), "distrik": m.answers.get("distrik"),
        "legal_basis": basis,
    })


def emergency(m: StepModel) -> None:
    """Danger now: record it and make sure a P0 case exists at once, consent or not."""
    m.flag("emergency_keyword")
    m.events.append(Event("emergency", {"state": m.state}))
    m.events.append(_case_event(m, "waiting"))


def still_in_danger(m: StepModel) -> None:
    m.flag("still_in_danger")
    m.events.append(Event("still_in_danger", {}))
    m.events.append(_case_event(m, "waiting"))


def record_consent(m: StepModel) -> None:
    choice = str(m.answers.get("consent"))
    m.events.append(Event("consent", {
        "choice": choice, "version": m.consent_version, "language": m.language,
        "legal_basis": CONSENT_CHOICES.get(choice) or "none",
    }))


def open_case(m: StepModel) -> None:
    """Put the case in the queue with its priority and reasons, and tell the family when."""
    event = _case_event(m, "waiting")
    m.events.append(event)
    m.answers["_priority"] = event.data["priority"]


def human_requested(m: StepModel) -> None:
    m.flag("human_requested")
    m.events.append(Event("human_requested", {"state": m.state}))


ACTIONS: dict[str, Callable[[StepModel], None]] = {
    "emergency": emergency,
    "still_in_danger": still_in_danger,
    "record_consent": record_consent,
    "open_case": open_case,
    "human_requested": human_requested,
}
