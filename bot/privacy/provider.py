"""The provider's copies of an erased family's messages: Twilio keeps every WhatsApp message
(and its media) until it is deleted through its REST API; Telegram offers no way to delete a
chat on the family's side (the family is told so instead)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from bot.channels.whatsapp import RewritingHttpClient
from bot.config import Settings

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
