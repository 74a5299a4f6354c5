"""Keyword commands that work in every state, and the texts the engine itself says."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from flows.actions import ACTIONS, StepModel
from flows.types import LANGUAGES, Event, Reply

if TYPE_CHECKING:
    from flows.engine import Engine

WIT = timezone(timedelta(hours=9))
# Commands the engine handles itself; the others are interrupt states named by the flow.
ENGINE_COMMANDS = ("restart", "language", "human", "info", "erase", "data", "correct")
PRIVACY = {"erase": "privacy.erase", "data": "privacy.data", "correct": "privacy.correct"}
# Texts the engine itself says, whatever the flow: each must be in every catalog.
ENGINE_KEYS = (
    "state_lost", "language_switched", "human_requested", "offer_human", "reprompt",
    "reprompt_text", "internal_error", "consent.long", *PRIVACY.values(),
    "daypart.morning", "daypart.noon", "daypart.afternoon", "daypart.night",
    "response_time.P0", "response_time.P1", "response_time.P2", "response_time.P3",
    "emergency.still_ack", "stale_choice", "safety_p1", "safety_p1.no_case",
    "human_requested.no_consent",
)


def daypart(now: datetime) -> str:
    hour = now.astimezone(WIT).hour
    if 4 <= hour < 11:
        return "daypart.morning"
    if 11 <= hour < 15:
        return "daypart.noon"
    if 15 <= hour < 18:
        return "daypart.afternoon"
    return "daypart.night"


def run(engine: Engine, m: StepModel, command: str) -> None:
    """Answer a keyword; most then ask the current question again."""
    m.events.append(Event("keyword", {"command": command, "state": m.state}))
    flow = engine.flow
    if command in flow.interrupts:
        if command == "emergency":
            m.flag("emergency_keyword")
        engine.interrupt(m, flow.interrupts[command])
    elif command == "restart":
        ACTIONS["forget"](m)
        engine.enter(m, flow.initial)
    elif command == "language":
        m.language = LANGUAGES[(LANGUAGES.index(m.language) + 1) % len(LANGUAGES)]
        m.replies.append(Reply("language_switched"))
    elif command == "human":  # a request a person can see: on a case, or after consent
        ACTIONS["human_requested"](m)
        if m.consented() or m.has_case:
            ACTIONS["open_case_now"](m)
            m.replies.append(Reply("human_requested"))
        else:
            m.replies.append(Reply("human_requested.no_consent"))
    elif command == "info":
        m.replies.append(Reply("consent.long"))
    elif command in PRIVACY:
        m.events.append(Event("privacy_request", {"right": command}))
        m.replies.append(Reply(PRIVACY[command]))
    state = flow.states[m.state]
    if state.end and command not in flow.interrupts and command != "restart":
        key = state.idle or state.prompt
        m.replies.append(Reply(key, engine.params(m, key)))
    else:
        engine.prompt(m)
