"""Who may receive a broadcast, checked when it is created and again just before each
message is queued: the reason a person may not (or must wait), or None.

Never: unsubscribed, stopped (BERHENTI), erased, unreachable or opted out at the provider,
a safety pause or a "contact only when they write" constraint on their case, a quick exit
they have not written after, an open P0/P1 case. Later: a conversation in progress (an
intake under way, or a counselor holding their case)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection

from flows.actions import PHONE_WATCHED, UNSAFE_NOW
from flows.triage import URGENT
from storage import audience
from storage.clock import utc

ACTIVE_FOR = timedelta(hours=24)  # an intake left this long is no longer in progress (engine)
WAIT = ("in_conversation",)  # reasons that defer rather than skip


def reason(f: audience.Facts, now: datetime, resting: frozenset[str]) -> str | None:
    """Why `f` may not get a broadcast now (the first reason that holds), or None."""
    if not f.subscribed:
        return "not_subscribed"
    if f.erased:
        return "erased"
    if f.status != "active":
        return f.status  # stopped, unreachable, opted_out
    if "paused" in f.flags or UNSAFE_NOW in f.flags:  # "nanti dulu, mama ada lihat"
        return "safety_pause"
    if f.constraint or PHONE_WATCHED in f.flags:  # someone else reads the phone
        return "contact_constraint"
    if f.quick_exit_at is not None and (
            f.last_inbound_at is None or utc(f.last_inbound_at) <= utc(f.quick_exit_at)):
        return "quick_exit"
    if any(p in URGENT for p in f.priorities):
        return "urgent_case"
    if f.claimed or (f.state is not None and f.state not in resting and f.updated_at is not None
                     and now - utc(f.updated_at) < ACTIVE_FOR):
        return "in_conversation"
    return None


def check(conn: Connection, ids: Sequence[int], topic: str, now: datetime,
          resting: frozenset[str]) -> dict[int, str | None]:
    """Each contact's reason (None: may receive)."""
    found = audience.facts(conn, ids, topic, answers=False)  # reason() needs no distrik
    return {cid: reason(found[cid], now, resting) if cid in found else "erased"
            for cid in ids}
