"""The provider's copies of an erased family's messages: Twilio keeps every WhatsApp message
(and its media) until it is deleted through its REST API; Telegram offers no way to delete a
chat on the family's side (the family is told so instead).

Every erasure (HAPUS and retention) records the copies in `provider_copies`; `sweep` asks
the provider to delete them: the scheduler's privacy job in `lk3 serve` for those due, and
`lk3 privacy erase` at once for the family it erased. Those the provider cannot delete now
are tried again later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import requests
from sqlalchemy import Engine
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from bot.channels.whatsapp import RewritingHttpClient
from bot.config import Settings
from storage import provider_copies
from storage.db import reading

log = logging.getLogger(__name__)
Deleter = Callable[[list[str]], list[str]]


def nothing(ids: list[str]) -> list[str]:
    """No provider that keeps copies is configured: nothing can be deleted (all remain)."""
    return list(ids)


def twilio(settings: Settings) -> Deleter:
    """Deletes Twilio messages (`SM...`) and media (`MM.../ME...`); returns those not
    deleted (to try again later). One already gone (404) counts as deleted."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return nothing
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                    http_client=RewritingHttpClient(settings.twilio_api_base_url,
                                                    settings.http_timeout))

    def delete(ids: list[str]) -> list[str]:
        left = []
        for item in ids:
            message, _, media = item.partition("/")
            try:
                if media:
                    client.messages(message).media(media).delete()
                else:
                    client.messages(message).delete()
            except TwilioException as exc:
                if getattr(exc, "status", None) != 404:
                    log.warning("twilio kept message %s for now: %s", message,
                                getattr(exc, "code", None) or type(exc).__name__)
                    left.append(item)
            except requests.RequestException as exc:
                log.warning("twilio unreachable deleting %s: %s", message, type(exc).__name__)
                left.append(item)
        return left

    return delete


def sweep(db: Engine, deleter: Deleter, now: datetime, contact_id: int | None = None,
          limit: int = 500) -> tuple[int, int]:
    """Ask the provider to delete the copies due now (`contact_id`: all of that contact's);
    (deleted, not yet). The provider is called outside any transaction."""
    with reading(db) as conn:
        rows = provider_copies.due(conn, "whatsapp", now, contact_id, limit)
    if not rows:
        return 0, 0
    left = set(deleter([item for _, item in rows]))
    with db.begin() as conn:
        provider_copies.gone(conn, [i for i, item in rows if item not in left])
        provider_copies.later(conn, [i for i, item in rows if item in left], now)
    return len(rows) - len(left), len(left)
