"""A P0 nobody has taken: the family is not left waiting silently.

At the first re-alert after the target, then at most every `p0_family_update_minutes`
(flows/service.yaml), the family hears honestly that no officer has answered yet, with the
24-hour numbers again, in their language, through the outbox like any notice of the service.
Never a family that stopped (BERHENTI), paused ("not safe to chat", or a contact constraint
on the case), left with KELUAR and has not written since, or that the channel cannot reach:
then only staff are paged, and the case event says why the family was not told.

Where the family may be written to only after they write (paused, a contact constraint:
someone else reads the phone), the update is owed instead (the conversation flag `OWED`):
their next message is answered with it, composed then, so it says how things stand when it
is read, once however many were withheld, and not at all once a counselor took the case
meanwhile. Not when that message is KELUAR or BERHENTI (bot.pipeline.held.KEEP): it waits on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bot.pipeline import handoff
from bot.pipeline.apply import Batch, Conv, Notice, event_row
from bot.pipeline.held import KEEP, why_not
from flows.actions import told_kinds, writes_as_child
from flows.catalog import Catalog
from flows.loader import Bundle
from storage import cases, conversations, queue
from storage.queue import CaseView

KIND = "p0_family_update"  # the case event, told or not
TEXT = "p0_wait.no_answer_yet"  # flows/catalog/<lang>.host.yaml
OWED = "p0_update_owed"  # the conversation flag: an update waits for the family's next words
WAITS = ("paused", "contact_constraint")  # why an update is owed rather than dropped
TAKEN = "claim"  # the case event of a counselor taking it (bot.casework.caseops.take)


def update(conn: Connection, case: CaseView, events: list[dict[str, Any]], bundle: Bundle,
           now: datetime, every: timedelta, key: str) -> dict[str, Any] | None:
    """The family update due with this P0 re-alert (`events`: the case's so far), made:
    the data of its case event, or None when the last one was less than `every` ago."""
    last = max((e["created_at"] for e in events if e["kind"] == KIND), default=None)
    if last is not None and now - last < every:
        return None
    conv = conversations.load(conn, case.contact_id)
    why = why_not(conn, case.contact_id, conv, events)
    if why in WAITS:  # said with the reply to their next message (`with_reply`)
        if conv is not None and OWED not in conv.flags:
            conversations.set_flag(conn, case.contact_id, OWED, True)
        return {"told": False, "why": why, "owed": True}
    if why is not None:
        return {"told": False, "why": why}
    language = conv.language if conv is not None else "id"
    answers, flags = (conv.answers, conv.flags) if conv is not None else ({}, [])
    body = bundle.catalog.text(f"{TEXT}.young" if writes_as_child(answers) else TEXT, language, {
        "emergency_contacts": bundle.directory.contacts(  # the danger told first (119 to
            language, case.distrik, first=told_kinds(answers, flags))})  # a boy who spoke
    # of dying, as the emergency message ordered them)
    handoff.notice(conn, case.contact_id, case.id, body, now, dedupe=f"{key}:family")
    return {"told": True, "language": language}


def owed(conv: Conv) -> bool:
    """An update waits for this family's next words."""
    return conv.snapshot is not None and OWED in conv.snapshot.flags


def with_reply(batch: Batch, conv: Conv, kinds: Iterable[str]) -> None:
    """The family wrote while an update was owed (`kinds`: the events of the turn that
    answers them): the update as a notice of that turn (before its question; beside numbers
    the turn gave, its short form) and its case event, the flag cleared. Nothing where a
    counselor took the case since, or the case is no longer a waiting P0; after KELUAR or
    BERHENTI it stays owed."""
    snap = conv.snapshot
    if snap is None or any(k in KEEP for k in kinds):
        return
    conv.snapshot = replace(snap, flags=tuple(f for f in snap.flags if f != OWED))
    conv.changed = True
    if conv.case_id is None or not still_owed(batch.need(), conv.case_id):
        return
    catalog: Catalog = batch.flows.bundle.catalog
    key = f"{TEXT}.young" if writes_as_child(snap.answers) else TEXT  # "kamu" to a child
    batch.notices.append(Notice(catalog.text(key, snap.language), numbers=True,
                                short=catalog.text(f"{key}.short", snap.language)))
    batch.rows.append(event_row(conv, KIND, {"told": True, "language": snap.language,
                                             "with_reply": True}, batch.now))


def with_held_reply(batch: Batch, conv: Conv, case: CaseView | None) -> str | None:
    """A family whose case a person holds wrote while an update was owed them (danger now
    nobody answered, bot.casework.heldwait; a phone someone else reads): the update, said
    with the reply to their words (composed now), and its case event; nothing once staff
    have written since. The flag cleared either way."""
    snap = conv.snapshot
    if snap is None or OWED not in snap.flags:
        return None
    conv.snapshot = replace(snap, flags=tuple(f for f in snap.flags if f != OWED))
    conv.changed = True
    if case is None or case.status != "claimed" or case.priority != "P0" or \
            case.danger_waiting_since is None:
        return None
    bundle = batch.flows.bundle
    key = f"{TEXT}.young" if writes_as_child(snap.answers) else TEXT
    batch.rows.append(event_row(conv, KIND, {"told": True, "language": snap.language,
                                             "with_reply": True}, batch.now))
    return bundle.catalog.text(key, snap.language, {
        "emergency_contacts": bundle.directory.contacts(
            snap.language, case.distrik, first=told_kinds(snap.answers, snap.flags))})


def still_owed(conn: Connection, case_id: int) -> bool:
    """The case is a P0 nobody holds, its last update was withheld and nobody took it since
    (a counselor answered meanwhile, whatever happened after)."""
    case = queue.by_id(conn, case_id)
    if case is None or case.status != "waiting" or case.priority != "P0":
        return False
    last = next((e for e in reversed(cases.events_of(conn, case_id))
                 if e["kind"] in (KIND, TAKEN)), None)
    return last is not None and last["kind"] == KIND and not last["data"].get("told")
