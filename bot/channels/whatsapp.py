"""WhatsApp through Twilio: signed webhooks into the inbox, replies from the outbox by REST.

Inbound (POST /webhooks/twilio/whatsapp): size limit, form parse (bot.channels.twilioform),
X-Twilio-Signature check over PUBLIC_BASE_URL + path, one short transaction into the inbox
(unique per MessageSid), then an empty TwiML answer at once. Replies are never TwiML: the
outbox relay sends them through `messages.create` (bot.channels.twiliosend), paced by
WHATSAPP_MPS, after checking WhatsApp's 24-hour window.
Delivery status (POST /webhooks/twilio/status) only moves a message's status forward.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.broadcast import faults
from bot.broadcast.wit import quiet_hours
from bot.channels.base import Sender
from bot.channels.host import Host
from bot.channels.inbound import Item, brief, infrastructure, safe
from bot.channels.together import GroupCommit
from bot.channels.twilioform import Form, Rejected, normalise, public_url, read_form
from bot.channels.twiliosend import CHANNEL, STATUS_PATH, WhatsAppSender, send_error
from bot.channels.twiliosend import RewritingHttpClient as RewritingHttpClient  # bot.privacy
from storage import conversations, outbox
from storage.rows import EventRow, write_rows

log = logging.getLogger(__name__)
INBOUND_PATH = "/webhooks/twilio/whatsapp"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


# -- delivery status -----------------------------------------------------------------------------

def record_status(conn: Connection, sid: str, status: str, error_code: str | None,
                  now: datetime, quiet: tuple[time, time] | None = None) -> bool:
    """Move the message's delivery status forward; a final failure shows on the case, and a
    broadcast message's is handled as WhatsApp's rules say (bot.broadcast.faults; `quiet`:
    the broadcast quiet hours a retry must not fall in)."""
    outbox.hold_sent(conn, sid)  # two workers taking repeats of one callback record it once
    if not outbox.record_delivery(conn, sid, status, error_code, now):
        return False
    if status not in outbox.DELIVERY_FINAL:
        return True
    row_id, contact_id, case_id = outbox.sent_as(conn, sid)
    error = send_error(None, error_code, f"delivery {status}")
    shown = status
    if error.final_status != "failed":  # 63016 surfaces here, after Twilio accepted the message
        outbox.mark_failed(conn, row_id, str(error), error.final_status, error_code)
        shown = error.final_status
    if error.contact_status and contact_id is not None:
        conversations.set_status(conn, contact_id, error.contact_status)
    data = {"outbox_id": row_id, "channel": CHANNEL, "code": error_code, "reason": str(error),
            "status": shown, "contact_status": error.contact_status}
    if (broadcast := faults.delivery_failed(conn, row_id, error_code, now, quiet)) is not None:
        data["broadcast"] = broadcast
    write_rows(conn, [EventRow(case_id, contact_id, "twilio", "delivery_failed", data, now)])
    return True


# -- the channel ---------------------------------------------------------------------------------

class WhatsAppChannel:
    """The two Twilio webhooks and the sender; Twilio pushes, so start and stop do nothing."""

    name = CHANNEL

    def __init__(self, service: Host, sender: WhatsAppSender | None = None) -> None:
        settings = service.settings
        assert settings.twilio_auth_token and settings.public_base_url
        self.service = service
        self.public_base = settings.public_base_url
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.stored = GroupCommit(service.db, CHANNEL, service.clock)
        self.quiet = quiet_hours(settings.broadcast_quiet_hours)
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
                (new,) = await self.stored.store([Item(sid, sender, safe(payload))])
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
            if not record_status(conn, sid, state, code, self.service.clock(), self.quiet):
                log.debug("status %s of %s is old, repeated or unknown; ignored", state, sid)


def _sid(value: str) -> bool:
    """A Twilio SID: letters and digits (SM..., MM...: 34 of them)."""
    return 0 < len(value) <= 64 and value.isascii() and value.isalnum()


def build(service: Host) -> WhatsAppChannel:
    return WhatsAppChannel(service)
