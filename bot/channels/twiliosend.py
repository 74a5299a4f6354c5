"""WhatsApp replies through Twilio's REST API: the message body, Twilio's errors as the relay
understands them, and the sender, which keeps to WhatsApp's 24-hour window (free text only
within 24 hours of the person's last message) and is paced by WHATSAPP_MPS."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import Engine
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from bot import media as media_links
from bot.channels import window
from bot.channels.base import SendError
from bot.channels.split import choice_lines
from bot.config import Settings
from bot.pipeline.ratelimit import RateLimit

CHANNEL = "whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
OPTED_OUT, OUTSIDE_WINDOW, RATE_LIMITED = "21610", "63016", "63018"
BLOCKED, NOT_ON_WHATSAPP = "63014", "63024"  # the person blocked us; no WhatsApp on that number
TOO_MANY_REQUESTS = "20429"
MAX_RETRY_AFTER = 3600.0

# The twilio HTTP client logs every request at INFO; keep its chatter out of the service log.
_http_log = logging.getLogger("bot.channels.whatsapp.http")
_http_log.setLevel(logging.WARNING)


def whatsapp_body(payload: dict[str, Any]) -> str:
    """The message text with its choices as numbered lines (WhatsApp has no reply keyboard)."""
    text = str(payload.get("text") or "")
    choices = payload.get("choices") or []
    if not choices:
        return text
    lines = choice_lines(choices)
    return f"{text}\n{lines}" if text else lines


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), capped; None if absent."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def send_error(status: int | None, code: str | None, message: str,
               wait: float | None = None) -> SendError:
    """A Twilio API error as the relay understands it: retry, or stop with its effect."""
    reason = f"twilio {status or '-'} {code or '-'}: {message}"[:500]
    if code in (OPTED_OUT, BLOCKED):
        return SendError(reason, transient=False, code=code, contact_status="opted_out")
    if code == NOT_ON_WHATSAPP:
        return SendError(reason, transient=False, code=code, contact_status="unreachable")
    if code == OUTSIDE_WINDOW:
        return SendError(reason, transient=False, code=code, final_status="needs_template")
    if status == 429 or code in (RATE_LIMITED, TOO_MANY_REQUESTS):
        return SendError(reason, transient=True, retry_after=wait, code=code, rate_limited=True)
    if (status or 0) >= 500:
        return SendError(reason, transient=True, retry_after=wait, code=code, outage=True)
    return SendError(reason, transient=False, code=code)


class RewritingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The twilio HTTP client sent to `base` (scheme and host) with a timeout on every call.

    The last response of each thread is kept, so an error's Retry-After header can be read.
    """

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_http_log)
        self.base = base.rstrip("/")
        self.local = threading.local()

    def request(self, method: str, url: str, params: Any = None, data: Any = None,
                headers: Any = None, auth: Any = None, timeout: float | None = None,
                allow_redirects: bool = False) -> TwilioResponse:
        parts = urlsplit(url)
        target = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        self.local.response = None
        response = super().request(method, target, params=params, data=data, headers=headers,
                                   auth=auth, timeout=timeout or self.timeout,
                                   allow_redirects=allow_redirects)
        self.local.response = response
        return response

    def last_headers(self) -> Any:
        response = getattr(self.local, "response", None)
        return None if response is None else response.headers


class WhatsAppSender:
    """Sends one outbox row through Twilio's REST API, within WhatsApp's 24-hour window."""

    channel = CHANNEL

    def __init__(self, settings: Settings, db: Engine, clock: Callable[[], datetime]) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        assert settings.twilio_whatsapp_from and settings.public_base_url
        self.db, self.clock = db, clock
        self.settings = settings
        self.limit: RateLimit | None = RateLimit(settings.whatsapp_mps)
        self.sender_id = settings.twilio_whatsapp_from
        self.status_callback = settings.public_base_url + STATUS_PATH
        self.http = RewritingHttpClient(settings.twilio_api_base_url, settings.http_timeout)
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                             http_client=self.http)

    def window_open(self, recipient: str) -> bool:
        """Checked before Twilio is called (bot.channels.window); outside it the case shows
        the message as needing a template."""
        with self.db.connect() as conn:
            return window.open_for(conn, recipient, self.clock())

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        if payload.get("template"):  # an approved template (broadcasts): any time
            return await asyncio.to_thread(self._create, recipient, "", None,
                                           payload["template"])
        if not await asyncio.to_thread(self.window_open, recipient):
            raise SendError("outside WhatsApp's 24-hour window: only a template may be sent",
                            transient=False, code=OUTSIDE_WINDOW, final_status="needs_template")
        body = whatsapp_body(payload)
        urls, notes = self.media_urls(list(payload.get("media") or []))
        body = "\n".join(x for x in (body, *notes) if x)
        if not body.strip() and not urls:
            raise SendError("empty message", transient=False)
        # WhatsApp carries one media item per message: the text goes with the first
        first = await asyncio.to_thread(self._create, recipient, body, urls[:1])
        for url in urls[1:]:
            await asyncio.to_thread(self._create, recipient, "", [url])
        return first

    def media_urls(self, media: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        """Our signed links for Twilio to fetch (Twilio's own media URLs need our
        credentials), and text lines for locations and for what cannot be passed on."""
        urls: list[str] = []
        notes: list[str] = []
        for item in media:
            ref = str(item.get("ref") or "")
            if not ref:
                continue
            if item.get("kind") == "location":
                notes.append(f"Lokasi: {ref} https://maps.google.com/?q={ref}"
                             if media_links.coordinates(ref) else f"Lokasi: {ref}")
                continue
            url = media_links.link(self.settings, item, self.clock())
            if url is None:
                notes.append(f"({item.get('kind', '')}) {ref} (media tidak bisa diteruskan)")
            else:
                urls.append(url)
        return urls, notes

    def _create(self, recipient: str, body: str, media_url: list[str] | None = None,
                template: dict[str, Any] | None = None) -> str | None:
        extra: dict[str, Any] = {"media_url": media_url} if media_url else {}
        if template:  # ContentSid + ContentVariables, never a Body (Twilio 63016)
            extra = {"content_sid": template["sid"],
                     "content_variables": json.dumps(template.get("variables") or {})}
        else:
            extra["body"] = body
        try:
            message = self.client.messages.create(to=recipient, from_=self.sender_id,
                                                  status_callback=self.status_callback,
                                                  **extra)
        except requests.RequestException as exc:  # timeouts and connection errors
            raise SendError(f"twilio unreachable: {type(exc).__name__}",
                            transient=True, outage=True) from None
        except TwilioException as exc:
            status = getattr(exc, "status", None)
            code = getattr(exc, "code", None)
            message_text = str(getattr(exc, "msg", "") or getattr(exc, "detail", "") or "")
            raise send_error(int(status) if isinstance(status, int) else None,
                             None if code is None else str(code), message_text,
                             retry_after(self.http.last_headers())) from None
        sid = getattr(message, "sid", None)
        return str(sid) if sid else None
