"""Messages to LK3 staff: the counselor catalog, and outbox rows to a counselor's account."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

from bot.channels import window
from bot.channels.split import split_reply
from flows.catalog import Catalog, load_catalog
from flows.loader import FLOWS_DIR
from storage import counselors, outbox

STAFF_LANGUAGE = "id"
TYPED = {"take": "/ambil"}  # a staff button's value -> the command that does the same


@cache
def catalog() -> Catalog:
    cat = load_catalog(FLOWS_DIR / "counselor")
    cat.check_complete()
    return cat


def text(key: str, language: str = STAFF_LANGUAGE, /, **params: Any) -> str:
    """A staff text in `language` (there is no language per staff member yet: Indonesian)."""
    return catalog().text(key, language, params)


def has(key: str, language: str = STAFF_LANGUAGE) -> bool:
    return key in catalog().texts.get(language, catalog().texts[STAFF_LANGUAGE])


def send(conn: Connection, counselor_id: int, body: str, now: datetime, *,
         case_id: int | None = None, choices: list[dict[str, Any]] | None = None,
         media: list[dict[str, str]] | None = None, key: str | None = None) -> bool:
    """Queue a message to a counselor on their preferred channel that can take it now;
    False if none can (no account, or only WhatsApp, 24 hours after they last wrote)."""
    accounts = [a for a in counselors.accounts_of(conn, counselor_id)  # their own last word
                if a.channel != window.CHANNEL or window.window_open(a.last_inbound_at, now)]
    if not accounts:
        return False
    channel, user = accounts[0].channel, accounts[0].user
    if channel == window.CHANNEL and choices:  # no buttons there: the command to type
        body = "\n".join([body, *(typed(c) for c in choices)])
        choices = []
    base = key or f"staff:{uuid.uuid4().hex}"
    rows = []
    for n, (part, part_choices) in enumerate(split_reply(channel, body, choices or [])):
        payload: dict[str, Any] = {"text": part, "choices": part_choices,
                                   "to_staff": counselor_id}
        if media and n == 0:
            payload["media"] = media
        rows.append({"channel": channel, "recipient": user, "contact_id": None,
                     "case_id": case_id, "payload": payload,
                     "dedupe_key": base if n == 0 else f"{base}:{n}"})
    outbox.enqueue(conn, rows, now)
    return True


def typed(choice: dict[str, Any]) -> str:
    """A staff button as the command that does the same (`take:NUMBER`: /ambil NUMBER), for
    WhatsApp: a numbered choice answered "1" there would be words for a family."""
    action, _, arg = str(choice["value"]).partition(":")
    command = TYPED.get(action)
    return text("typed_choice", command=f"{command} {arg}") if command else str(choice["label"])


def say(conn: Connection, counselor_id: int, key: str, now: datetime, *,
        case_id: int | None = None, choices: list[dict[str, Any]] | None = None,
        **params: Any) -> bool:
    return send(conn, counselor_id, text(key, **params), now, case_id=case_id, choices=choices)
