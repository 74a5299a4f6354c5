"""A P0 nobody has taken: the family is not left waiting silently.

At the first re-alert after the target, then at most every `p0_family_update_minutes`
(flows/service.yaml), the family hears honestly that no officer has answered yet, with the
24-hour numbers again, in their language, through the outbox like any notice of the service.
Never a family that stopped (BERHENTI), paused ("not safe to chat", or a contact constraint
on the case), left with KELUAR and has not written since, or that the channel cannot reach:
then only staff are paged, and the case event says why the family was not told.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bot.pipeline import handoff
from bot.pipeline.held import why_not
from flows.actions import told_kinds, writes_as_child
from flows.loader import Bundle
from storage import conversations
from storage.queue import CaseView

KIND = "p0_family_update"  # the case event, told or not
TEXT = "p0_wait.no_answer_yet"  # flows/catalog/<lang>.host.yaml


def update(conn: Connection, case: CaseView, events: list[dict[str, Any]], bundle: Bundle,
           now: datetime, every: timedelta, key: str) -> dict[str, Any] | None:
    """The family update due with this P0 re-alert (`events`: the case's so far), made:
    the data of its case event, or None when the last one was less than `every` ago."""
    last = max((e["created_at"] for e in events if e["kind"] == KIND), default=None)
    if last is not None and now - last < every:
        return None
    conv = conversations.load(conn, case.contact_id)
    why = why_not(conn, case.contact_id, conv, events)
    if why is not None:
        return {"told": False, "why": why}
    language = conv.language if conv is not None else "id"
    answers, flags = (conv.answers, conv.flags) if conv is not None else ({}, [])
    young = writes_as_child(answers)  # a child: "kamu", an adult they trust
    body = bundle.catalog.text(f"{TEXT}.young" if young else TEXT, language, {
        "emergency_contacts": bundle.directory.contacts(  # the danger told first (119 to
            language, case.distrik, first=told_kinds(answers, flags))})  # a boy who spoke
    # of dying, as the emergency message ordered them)
    handoff.notice(conn, case.contact_id, case.id, body, now, dedupe=f"{key}:family")
    return {"told": True, "language": language}
