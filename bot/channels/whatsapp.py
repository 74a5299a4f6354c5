"""WhatsApp through Twilio: signed webhooks into the inbox, replies from the outbox by REST.

Inbound (POST /webhooks/twilio/whatsapp): size limit, form parse, X-Twilio-Signature check over
PUBLIC_BASE_URL + path, one short transaction into the inbox (unique per MessageSid), then an
empty TwiML answer at once. Replies are never TwiML: the outbox relay sends them through
`messages.create`, paced by WHATSAPP_MPS, after checking WhatsApp's 24-hour window.
Delivery status (POST /webhooks/twilio/status) only moves a message's status forward.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from sqlalchemy import Connection, Engine, select
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot import media as media_links
from bot.channels.base import Sender, SendError
from bot.channels.inbound import Item, brief, infrastructure, safe, small_int
from bot.channels.inbound import store as store_inbound
from bot.channels.split import choice_lines
from bot.config import Settings
from bot.ratelimit import RateLimit
from bot.service import Service
from storage import cases, conversations, outbox, window
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"
INBOUND_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
MAX_BODY = 64 * 1024  # a Twilio webhook is a few kilobytes; anything far larger is not Twilio
MAX_FIELDS = 300
MAX_MEDIA = 10  # Twilio's limit per message (WhatsApp itself sends one)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
OPTED_OUT, OUTSIDE_WINDOW, RATE_LIMITED = "21610", "63016", "63018"
TOO_MANY_REQUESTS = "20429"
MAX_RETRY_AFTER = 3600.0

# The twilio HTTP client logs every request at INFO; keep its chatter out of the service log.
_http_log = logging.getLogger(f"{__name__}.http")
_http_log.setLevel(logging.WARNING)
_OUTBOX = OutboxMessage.__table__


# -- inbound -------------------------------------------------------------------------------------

class Rejected(Exception):
    """A webhook request answered with an error status; nothing was stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


Form = ImmutableMultiDict[str, str]


async def read_form(request: Request, limit: int = MAX_BODY) -> Form:
    """The posted form, read no further than `limit` bytes: 413 when larger, 400 when broken."""
    declared = request.headers.get("content-length")
    if declared is not None:
        size = small_int(declared, 12)
        if size is None and not (declared.isascii() and declared.isdigit()):
            raise Rejected(400, "bad Content-Length")
        if size is None or size > limit:
            raise Rejected(413, "body too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind != "application/x-www-form-urlencoded":
        raise Rejected(400, f"unexpected content type {kind[:60]!r}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Rejected(413, "body too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          errors="strict", max_num_fields=MAX_FIELDS)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise Rejected(400, f"malformed form: {type(exc).__name__}") from None
    return ImmutableMultiDict(pairs)


def public_url(base: str, request: Request) -> str:
    """The URL Twilio signed: the configured public address, never the internal one."""
    query = request.url.query
    return base + request.url.path + (f"?{query}" if query else "")


def media_kind(mime: str) -> str:
    major = mime.split("/")[0].lower()
    if major == "image":
        return "photo"
    if major == "audio":  # WhatsApp voice notes arrive as audio/ogg (opus)
        return "voice" if mime.lower().startswith("audio/ogg") else "audio"
    if major == "video":
        return "video"
    return "document"


def _coordinate(value: str, bound: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Rejected(400, "malformed location") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise Rejected(400, "malformed location")
    return number


def normalise(form: Form) -> dict[str, Any] | None:
    """The inbox payload (text, payload, media) of one inbound message; None when it has none.

    Media stay at Twilio: the counselor gets the media URL and its type, never the bytes.
    """
    text = form.get("Body", "") or form.get("ButtonText", "") or form.get("ListTitle", "")
    pressed = form.get("ButtonPayload", "") or form.get("ListId", "")
    media: list[dict[str, str]] = []
    count = small_int(form.get("NumMedia", "0") or "0", 3)
    if count is None:
        raise Rejected(400, "malformed NumMedia")
    for n in range(min(count, MAX_MEDIA)):
        url = form.get(f"MediaUrl{n}", "")
        if url:
            mime = form.get(f"MediaContentType{n}", "")
            media.append({"kind": media_kind(mime), "ref": url, "mime": mime})
    lat, lon = form.get("Latitude", ""), form.get("Longitude", "")
    if lat or lon:
        place = {"kind": "location", "mime": "",
                 "ref": f"{_coordinate(lat, 90):.6f},{_coordinate(lon, 180):.6f}"}
        label = ", ".join(v for v in (form.get("Label", ""), form.get("Address", "")) if v)
        if label:
            place["label"] = label[:300]
        media.append(place)
    if not (text.strip() or pressed or media):
        return None
    payload: dict[str, Any] = {"text": text, "payload": pressed, "media": media}
    if form.get("MessageType"):
        payload["type"] = form.get("MessageType", "")[:30]
    return payload


# -- outbound ------------------------------------------------------------------------------------

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
    if code == OPTED_OUT:
        return SendError(reason, transient=False, code=code, contact_status="opted_out")
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
        with self.db.connect() as conn:
            contact_id = window.contact_id_of(conn, CHANNEL, recipient)
            return contact_id is not None and \
                window.whatsapp_window_open(conn, contact_id, self.clock())

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
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

    def _create(self, recipient: str, body: str, media_url: list[str] | None = None
                ) -> str | None:
        extra: dict[str, Any] = {"media_url": media_url} if media_url else {}
        try:
            message = self.client.messages.create(to=recipient, from_=self.sender_id,
                                                  body=body,
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


# -- delivery status -----------------------------------------------------------------------------

def record_status(conn: Connection, sid: str, status: str, error_code: str | None,
                  now: datetime) -> bool:
    """Move the message's delivery status forward; a final failure shows on the case."""
    # hold the row, so two workers taking repeats of one callback record it once (PostgreSQL)
    conn.execute(select(_OUTBOX.c.id).where(_OUTBOX.c.provider_message_id == sid)
                 .with_for_update())
    if not outbox.record_delivery(conn, sid, status, error_code, now):
        return False
    if status not in outbox.DELIVERY_FINAL:
        return True
    row = conn.execute(select(_OUTBOX.c.id, _OUTBOX.c.contact_id, _OUTBOX.c.case_id)
                       .where(_OUTBOX.c.provider_message_id == sid)).one()
    error = send_error(None, error_code, f"delivery {status}")
    shown = status
    if error.final_status != "failed":  # 63016 surfaces here, after Twilio accepted the message
        outbox.mark_failed(conn, row.id, str(error), error.final_status, error_code)
        shown = error.final_status
    if error.contact_status and row.contact_id is not None:
        conversations.set_status(conn, row.contact_id, error.contact_status)
    cases.add_events(conn, [{
        "case_id": row.case_id, "contact_id": row.contact_id, "actor": "twilio",
        "kind": "delivery_failed", "created_at": now,
        "data": {"outbox_id": row.id, "channel": CHANNEL, "code": error_code,
                 "reason": str(error), "status": shown, "contact_status": error.contact_status}}])
    return True


# -- the channel ---------------------------------------------------------------------------------

class WhatsAppChannel:
    """The two Twilio webhooks and the sender; Twilio pushes, so start and stop do nothing."""

    name = CHANNEL

    def __init__(self, service: Service, sender: WhatsAppSender | None = None) -> None:
        settings = service.settings
        assert settings.twilio_auth_token and settings.public_base_url
        self.service = service
        self.public_base = settings.public_base_url
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.sender: Sender = sender or WhatsAppSender(settings, service.db, service.clock)
        self.routes: list[Any] = [Route(INBOUND_PATH, self.inbound, methods=["POST"]),
                       Route(STATUS_PATH, self.status, methods=["POST"])]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def _signed_form(self, request: Request) -> Form:
        form = await read_form(request)
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self.validator.validate(
                public_url(self.public_base, request), form, signature):
            raise Rejected(403, "bad or missing X-Twilio-Signature")
        return form

    async def inbound(self, request: Request) -> Response:
        try:
            form = await self._signed_form(request)
            sid, sender = form.get("MessageSid", ""), form.get("From", "")
            if not _sid(sid) or not sender or len(sender) > 100 or not sender.isprintable():
                raise Rejected(400, "MessageSid or From missing, too long or not printable")
            payload = normalise(form)
        except Rejected as exc:
            log.warning("whatsapp webhook rejected (%s): %s", exc.status, exc)
            return Response(status_code=exc.status)
        if not sender.startswith("whatsapp:"):
            log.warning("non-WhatsApp message %s on the WhatsApp webhook ignored", sid)
        elif payload is None:
            log.info("whatsapp message %s has nothing we handle (type %s); acknowledged",
                     sid, form.get("MessageType", "?")[:30])
        else:
            try:  # what cannot be stored is kept as rejected (storage.rejects), still a 200
                (new,) = await asyncio.to_thread(
                    store_inbound, self.service.db, CHANNEL, [Item(sid, sender, safe(payload))],
                    (), self.service.clock())
            except Exception as exc:  # only a database that cannot be used gets here
                log.error("whatsapp message %s could not be stored (%s); Twilio may retry",
                          sid, brief(exc))
                return Response(status_code=503)
            if not new:
                log.info("whatsapp message %s delivered again (or rejected); ignored", sid)
        return Response(EMPTY_TWIML, media_type="application/xml")

    async def status(self, request: Request) -> Response:
        try:
            form = await self._signed_form(request)
            sid = form.get("MessageSid", "")
            state = form.get("MessageStatus", "").strip().lower()
            if not _sid(sid) or len(state) > 20 or not state.isascii() or \
                    not state.replace("_", "").isalpha():
                raise Rejected(400, "MessageSid or MessageStatus missing or malformed")
        except Rejected as exc:
            log.warning("twilio status callback rejected (%s): %s", exc.status, exc)
            return Response(status_code=exc.status)
        code = "".join(c for c in form.get("ErrorCode", "") if c.isalnum())[:20] or None
        try:
            await asyncio.to_thread(self._record, sid, state, code)
        except Exception as exc:
            if infrastructure(exc):
                log.error("status of %s could not be stored (%s); Twilio may retry", sid,
                          brief(exc))
                return Response(status_code=503)
            log.warning("status %s of %s not recorded (%s); acknowledged", state, sid,
                        brief(exc))
        return Response(status_code=200)

    def _record(self, sid: str, state: str, code: str | None) -> None:
        with self.service.db.begin() as conn:
            if not record_status(conn, sid, state, code, self.service.clock()):
                log.debug("status %s of %s is old, repeated or unknown; ignored", state, sid)


def _sid(value: str) -> bool:
    """A Twilio SID: letters and digits (SM..., MM...: 34 of them)."""
    return 0 < len(value) <= 64 and value.isascii() and value.isalnum()


def build(service: Service) -> WhatsAppChannel:
    return WhatsAppChannel(service)
