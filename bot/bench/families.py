"""The synthetic families of `lk3 bench` (and of the tests that need many families): what
each types from "halo" to a case, found by walking the (pure) flow engine in memory with a
fixed answering policy, and the clock they live by."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.pipeline.casehooks import opening_notice
from bot.pipeline.decide import notice_rows
from flows.engine import Engine as FlowEngine
from flows.types import Inbound

CHANNEL = "bench"
MAX_MESSAGES = 40  # a family still talking after this many is stuck: the setup fails
SIM_NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # Monday 09:30 WIT

# How a synthetic family answers, by state: `cycle` spreads families over every choice (so
# some take the violence, child and self-harm branches), a tuple names values by preference,
# and `(value, rare, every)` answers `rare` for one family in `every`. Risk questions default
# to "no" with "yes" now and then, which also exercises the P0 emergency interrupt.
CYCLE = "cycle"
Answer = str | tuple[str, ...]
POLICY: dict[str, Answer | tuple[str, str, int]] = {
    "greeting": ("chat", "call", 10),
    "danger": ("no", "afraid", 7),
    "consent": ("agree",), "consent_call": ("agree",),
    "age": ("adult", "under18", 6),
    "child_intro": ("yes",),
    "category": CYCLE, "who": CYCLE, "distrik": CYCLE, "child_age": CYCLE,
    "contact_pref": CYCLE, "call_number": CYCLE,
    "risk_safe_chat": ("yes",), "after_pause": ("yes",),
    "emergency_check": ("safe",), "danger_emergency": ("safe",),
    "crisis_check": ("mistyped",), "resume_check": ("continue",), "menu": ("consult",),
}
TEXT = {"kampung": "Kwamki Baru", "safe_times": "pagi"}  # typed answers; other texts: LEWATI


def _answer(flows: FlowEngine, state: str, family: int, turn: int) -> str:
    """What `family` types in `state`: a choice by its number, as people do, or text."""
    spec = flows.flow.states[state]
    if spec.input:
        typed = TEXT.get(state)
        return typed if typed and family % 2 == 0 else "LEWATI" if spec.skippable else "ya"
    values = [c.value for c in flows.flow.choices_of(spec)]
    rule = POLICY.get(state)
    if rule == CYCLE:
        pick = values[family % len(values)]
    elif isinstance(rule, tuple) and len(rule) == 3 and isinstance(rule[2], int):
        pick = rule[1] if family % rule[2] == 0 else rule[0]
    elif isinstance(rule, tuple):
        pick = next((v for v in rule if v in values), values[0])
    elif {"yes", "no"} <= set(values):
        pick = "yes" if (family + turn) % 5 == 0 else "no"
    else:
        pick = values[0]
    return str(values.index(pick) + 1) if pick in values else pick


def script(flows: FlowEngine, family: int,
           story: str | None = None) -> tuple[list[str], str, int]:
    """What `family` types from greeting to a case, the state it ends in, and how many
    replies it gets (one outbox row each: the bench's channel splits nothing); with
    `story`, that message right after "halo" (`lk3 bench --http`), the answers after it
    following the flow as the story makes it go.

    Walks the real flow engine in memory (it is pure), so the script follows the flow as
    it is today; raises when the walk does not end in a resting state with a case.
    """
    first = ["halo", *([story] if story else [])]
    says, snap, has_case, replies = first[:1], None, False, 0
    while len(says) <= MAX_MESSAGES:
        turn = flows.step(snap, Inbound(CHANNEL, f"family-{family}", f"sim{len(says)}",
                                        says[-1]), SIM_NOW)
        snap, replies = turn.snapshot, replies + len(turn.replies)
        opened = next((e for e in turn.events if e.kind == "case_upsert"), None)
        if opened is not None and snap.case_number is None:
            has_case, snap = True, replace(snap, case_number="LK3-SIM")
            # the processor's notice as the case opens (the bench has no staff to alert)
            rendered = [flows.bundle.catalog.render(r, snap.language,
                                                    {"case_number": "LK3-SIM"})
                        for r in turn.replies]
            replies += notice_rows(flows, opening_notice(flows.bundle.catalog, "id",
                                                         opened.data["priority"], SIM_NOW, 0),
                                   turn, rendered)
        if flows.flow.states[snap.state].end:
            if not has_case:
                break
            return says, snap.state, replies
        says.append(first[len(says)] if len(says) < len(first)
                    else _answer(flows, snap.state, family, len(says)))
    raise RuntimeError(f"bench: synthetic family {family} did not reach a case (stopped in "
                       f"{snap.state if snap else '-'} after {len(says)} messages); "
                       "update POLICY in bot/bench/families.py for the current flow")


def ticking_clock(start: datetime = SIM_NOW,
                  origin: float | None = None) -> Callable[[], datetime]:
    """Time from a fixed Monday morning (in service hours), moving with the wall clock: the
    run does the same work whatever the hour it is started, and time still passes.
    `origin` (a `time.perf_counter` reading, the same in every process) shares one clock."""
    at = time.perf_counter() if origin is None else origin
    return lambda: start + timedelta(seconds=time.perf_counter() - at)
