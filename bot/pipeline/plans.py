"""Engine steps planned ahead of a batch's writes: what its messages will get.

The engine step is pure, so a batch's steps can run back to back before anything is
written. A plan is used only where the conversation is still as it was when planned
(`Plan.starts_like`), so a plan is never wrong, at worst unused."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from flows.engine import Engine as FlowEngine
from flows.types import Inbound, Media, Snapshot, Turn
from storage import inbox

ASSUMED = "(case)"  # a planned step's stand-in for the number of a case not yet made


class Plan(NamedTuple):  # one per message: a tuple is the cheapest to make, and immutable
    """An engine step computed ahead: from `snapshot` in `language`, the `turn`."""

    snapshot: Snapshot | None
    language: str
    turn: Turn

    def starts_like(self, snap: Snapshot | None) -> bool:
        """The step from `snap` is this one: the same snapshot, where a case number only
        matters by being there (the engine reads nothing else of it)."""
        mine = self.snapshot
        if mine is snap or mine is None or snap is None:
            return mine is snap
        if (mine.case_number is None) != (snap.case_number is None):
            return False
        return mine == replace(snap, case_number=mine.case_number)


def inbound_of(msg: inbox.Pending) -> Inbound:
    p = msg.payload
    media = p.get("media")  # most messages have none: no generator made for them
    return Inbound(msg.channel, msg.sender, msg.provider_message_id, str(p.get("text") or ""),
                   str(p.get("payload") or ""),
                   tuple(Media(m["kind"], m["ref"], m.get("mime", "")) for m in media)
                   if media else ())


def plan_steps(flows: FlowEngine, msgs: list[inbox.Pending],
               starts: dict[tuple[str, str], tuple[Snapshot | None, str]],
               now: datetime) -> dict[int, Plan]:
    """Every family message's engine step, ahead of the writes: each contact's steps in
    order from its stored conversation (`starts`; others' messages are left out); a case
    a step opens is assumed made."""
    plans: dict[int, Plan] = {}
    at = dict(starts)
    for msg in msgs:
        user = (msg.channel, msg.sender)
        if user not in at:
            continue  # staff
        snap, language = at[user]
        turn = flows.step(snap, inbound_of(msg), now, language)
        plans[msg.id] = Plan(snap, language, turn)
        after = turn.snapshot
        if after.case_number is None and any(e.kind == "case_upsert" for e in turn.events):
            after = replace(after, case_number=ASSUMED)
        at[user] = (after, after.language)
    return plans
