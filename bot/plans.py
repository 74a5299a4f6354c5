"""Engine steps planned ahead of a batch's writes: what its messages will get.

The engine step is pure, so a batch's steps can run back to back before anything is written
(cheaper than between the writes). Processors sharing one SQLite file do it before taking
the write lock, also rendering the replies and encoding the JSON; under the lock a plan is
used only where the conversation is still as it was read. A lone processor plans inside its
transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.apply import Conv, Prepared, prepare
from flows.engine import Engine as FlowEngine
from flows.types import Inbound, Media, Snapshot, Turn
from storage import inbox
from storage.bulk import Encoded
from storage.jsontext import dumps

if TYPE_CHECKING:
    from bot.ready import Ready, Statement

ASSUMED = "(case)"  # a planned step's stand-in for the number of a case not yet made


class Plan(NamedTuple):  # one per message: a tuple is the cheapest to make, and immutable
    """An engine step computed ahead: from `snapshot` in `language`, the `turn`."""

    snapshot: Snapshot | None
    language: str
    turn: Turn
    encoded: tuple[Encoded, Encoded] | None = None  # the new answers and flags as JSON
    prepared: Prepared | None = None  # the replies' rows

    def starts_like(self, snap: Snapshot | None) -> bool:
        """The step from `snap` is this one: the same snapshot, where a case number only
        matters by being there (the engine reads nothing else of it)."""
        mine = self.snapshot
        if mine is snap or mine is None or snap is None:
            return mine is snap
        if (mine.case_number is None) != (snap.case_number is None):
            return False
        return mine == replace(snap, case_number=mine.case_number)


@dataclass(frozen=True)
class Look:
    """A batch as read before the write lock: messages, conversations, planned steps."""

    now: datetime
    msgs: list[inbox.Pending]
    stored: dict[int, tuple[Any, ...]]  # contact id -> conversation row as stored
    convs: dict[tuple[str, str], Conv]
    plans: dict[int, Plan]
    ready: list[Ready]  # contacts whose writes are made
    statements: list[Statement]  # their rows, encoded


@lru_cache(maxsize=1024)  # a conversation's flags are few and the same across families
def _flags_json(flags: tuple[str, ...]) -> Encoded:
    return Encoded(dumps(list(flags)))


def inbound_of(msg: inbox.Pending) -> Inbound:
    p = msg.payload
    media = p.get("media")  # most messages have none: no generator made for them
    return Inbound(msg.channel, msg.sender, msg.provider_message_id, str(p.get("text") or ""),
                   str(p.get("payload") or ""),
                   tuple(Media(m["kind"], m["ref"], m.get("mime", "")) for m in media)
                   if media else ())


def plan_steps(flows: FlowEngine, msgs: list[inbox.Pending],
               starts: dict[tuple[str, str], tuple[Snapshot | None, str]], now: datetime,
               convs: dict[tuple[str, str], Conv] | None = None) -> dict[int, Plan]:
    """Every family message's engine step, ahead of the writes (the step is pure).

    Each contact's steps run in order from its stored conversation; a case the step
    opens is assumed made. `Processor` uses a plan only if the step would start from the
    same place, so a plan is never wrong, at worst unused. With `convs` (read before the
    write lock) the replies' rows are made too, up to a contact's first turn with events.
    """
    plans: dict[int, Plan] = {}
    at = dict(starts)
    rows_for = dict(convs or {})
    for msg in msgs:
        user = (msg.channel, msg.sender)
        if user not in at:
            continue  # staff
        snap, language = at[user]
        turn = flows.step(snap, inbound_of(msg), now, language)
        after = turn.snapshot
        encoded = None if convs is None else (  # SQLite, before the write lock
            Encoded(dumps(after.answers)), _flags_json(after.flags))
        conv = rows_for.get(user)
        prepared = prepare(flows, msg, conv, turn, now) if conv else None
        if prepared is None:
            rows_for.pop(user, None)  # events change the case: the rest under the lock
        plans[msg.id] = Plan(snap, language, turn, encoded, prepared)
        if after.case_number is None and any(e.kind == "case_upsert" for e in turn.events):
            after = replace(after, case_number=ASSUMED)
        at[user] = (after, after.language)
    return plans
