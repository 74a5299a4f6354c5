"""WhatsApp through Twilio, end to end: signed webhooks, the real pipeline, the real twilio
client talking HTTP to a fake Twilio API on loopback (TWILIO_API_BASE_URL)."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from twilio.request_validator import RequestValidator

from bot.channels.base import SendError
from bot.channels.setup import build_channels
from bot.channels.twilioform import MAX_BODY
from bot.channels.twiliosend import WhatsAppSender, whatsapp_body
from bot.channels.whatsapp import EMPTY_TWIML, INBOUND_PATH, STATUS_PATH, WhatsAppChannel
from bot.channels.window import window_open
from bot.config import Settings
from bot.pipeline.processor import Processor, process_all
from bot.pipeline.relay import Relay
from bot.service import Service
from storage import cases, conversations, counselors, outbox
from storage.clock import utc
from storage.models import (
    Case,
    CaseEvent,
    Contact,
    Conversation,
    InboxMessage,
    MessageLog,
    OutboxMessage,
)
from tests.fakes.twilio_api import FakeTwilio
from tests.support import FrozenClock, flows

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests"
BOT = "whatsapp:+14155238886"
PUBLIC = "https://lk3.example.org"
# The intake is walked by state (names and choice values, not by memorised numbers): a
# premarital question, not in danger, consent given, skipping what may be skipped.
PREFER = {"greeting": "chat", "danger": "no", "consent": "agree", "age": "adult",
          "category": "premarital", "who": "self", "distrik": "outside", "contact_pref": "chat"}
_sids = count(1)
_phones = count(1)


def phone() -> str:
    return f"whatsapp:+62811{next(_phones):07d}"


def message_sid() -> str:
    return f"SM{next(_sids):032x}"


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


def inbound_params(sender: str, body: str = "", **fields: str) -> dict[str, str]:
    """An inbound WhatsApp message the way Twilio posts it."""
    sid = fields.pop("MessageSid", None) or message_sid()
    params = {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Mama", "MessageType": "text",
        "SmsSid": sid, "WaId": sender.removeprefix("whatsapp:+"), "SmsStatus": "received",
        "Body": body, "To": BOT, "NumSegments": "1", "ReferralNumMedia": "0",
        "MessageSid": sid, "AccountSid": SID, "From": sender, "ApiVersion": "2010-04-01",
    }
    params.update(fields)
    return params


def media_url(n: int = 0) -> str:
    return (f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM{n:032x}"
            f"/Media/ME{n:032x}")


def settings_for(db: Engine, api: str, **extra: Any) -> Settings:
    return Settings.model_validate({
        "DATABASE_URL": db.url.render_as_string(False), "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_WHATSAPP_FROM": BOT,
        "TWILIO_API_BASE_URL": api, "WHATSAPP_MPS": 1000, "HTTP_TIMEOUT": 5, **extra})


def count_rows(db: Engine, model: Any, *where: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def outbox_rows(db: Engine, recipient: str | None = None) -> list[Any]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if recipient is not None:
        stmt = stmt.where(OutboxMessage.recipient == recipient)
    with db.connect() as conn:
        return list(conn.execute(stmt).all())


def events(db: Engine, kind: str) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(CaseEvent).where(CaseEvent.kind == kind)
                                 .order_by(CaseEvent.id)).all())


def contact(db: Engine, user: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(Contact).where(Contact.channel == "whatsapp",
                                                  Contact.provider_user_id == user)).one()


def state_of(db: Engine, user: str) -> str | None:
    with db.connect() as conn:
        return conn.execute(select(Conversation.state).join(
            Contact, Contact.id == Conversation.contact_id).where(
            Contact.channel == "whatsapp", Contact.provider_user_id == user)).scalar_one_or_none()


def typed_answer(state: str) -> dict[str, str]:
    """What a family types at `state`: the number of the preferred choice, or LEWATI."""
    flow = flows().flow
    spec = flow.states[state]
    values = [c.value for c in flow.choices_of(spec)]
    if state in PREFER and PREFER[state] in values:
        return {"body": str(values.index(PREFER[state]) + 1)}
    if spec.skippable:
        return {"body": "LEWATI"}
    if values:
        return {"body": "1"}
    return {"body": "Kami mau menikah bulan depan, mau tanya soal konseling."}


def expected_bodies(db: Engine, recipient: str) -> list[str]:
    """What the outbox holds for this recipient, as WhatsApp bodies, in order."""
    return [whatsapp_body(r.payload) for r in outbox_rows(db, recipient)]


class WhatsApp:
    """The web app with the WhatsApp channel, the processor and the relay, on one clock."""

    def __init__(self, service: Service, fake: FakeTwilio, http: httpx.AsyncClient) -> None:
        self.service, self.fake, self.http = service, fake, http
        self.db = service.db
        self.relay = service.relay()

    async def post(self, path: str, params: dict[str, str], *, url: str | None = None,
                   token: str = TOKEN, signature: str | None = None,
                   **kw: Any) -> httpx.Response:
        """POST a form signed as Twilio signs it (over the public URL) unless told otherwise."""
        sig = signature if signature is not None else sign(url or PUBLIC + path, params, token)
        headers = {"X-Twilio-Signature": sig} if sig else {}
        return await self.http.post(path, data=params, headers=headers, **kw)

    async def inbound(self, sender: str, body: str = "", **fields: str) -> httpx.Response:
        r = await self.post(INBOUND_PATH, inbound_params(sender, body, **fields))
        assert r.status_code == 200, r.text
        assert r.text == EMPTY_TWIML
        return r

    async def status(self, sid: str, state: str, error_code: str = "") -> httpx.Response:
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": state,
                  "SmsStatus": state, "AccountSid": SID, "From": BOT, "To": "whatsapp:+62",
                  "ApiVersion": "2010-04-01", "ChannelPrefix": "whatsapp",
                  "ChannelInstallSid": "XE" + "0" * 32}
        if error_code:
            params["ErrorCode"] = error_code
        r = await self.post(STATUS_PATH, params)
        assert r.status_code == 200, r.text
        return r

    async def pump(self) -> None:
        """Process every stored message and relay every reply that is due now."""
        while process_all(self.service.processor) + await self.relay.run_once():
            pass

    async def drain(self, clock: FrozenClock, step: float = 60) -> None:
        """Pump, moving the clock on while replies wait for a retry, until none is open."""
        for _ in range(200):
            await self.pump()
            with self.db.connect() as conn:
                if outbox.backlog(conn) == 0:
                    return
            clock.advance(seconds=step)
        raise AssertionError("the outbox did not drain")

    async def walk_intake(self, sender: str,
                          special: dict[str, dict[str, str]] | None = None) -> list[str]:
        """Greeting to the closing, typing answers (or `special` fields at a state)."""
        replies = await self.say(sender, "halo")
        for _ in range(40):
            state = state_of(self.db, sender)
            assert state is not None
            if flows().flow.states[state].end:
                assert state == "closing", replies[-1]
                return replies
            fields = (special or {}).get(state) or typed_answer(state)
            got = await self.say(sender, **fields)
            assert got, f"no reply at {state}"
            replies += got
        raise AssertionError("the intake did not end")

    async def say(self, sender: str, body: str = "", **fields: str) -> list[str]:
        """One message from a family; the bodies the fake Twilio received because of it."""
        before = len(self.fake.bodies(sender))
        await self.inbound(sender, body, **fields)
        await self.pump()
        return self.fake.bodies(sender)[before:]


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as fake:
        yield fake


@pytest.fixture
def fake(twilio_api: FakeTwilio) -> Iterator[FakeTwilio]:
    twilio_api.reset()
    yield twilio_api
    assert twilio_api.unknown == [], "the client called a path the fake does not serve"


def make_wa_service(db: Engine, clock: FrozenClock, settings: Settings) -> Service:
    return Service(settings, db, flows(), Processor(db, flows(), clock), clock)


@pytest.fixture
async def wa(db: Engine, clock: FrozenClock, fake: FakeTwilio) -> AsyncIterator[WhatsApp]:
    service = make_wa_service(db, clock, settings_for(db, fake.url))
    async with _client(service) as http:
        yield WhatsApp(service, fake, http)


def _client(service: Service) -> httpx.AsyncClient:
    from bot.web import create_app
    app = create_app(service, run_workers=False, channels=[WhatsAppChannel(service)])
    # the app is reached at an internal address; Twilio signed the public one
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://10.0.0.5:8000")


# -- end to end ----------------------------------------------------------------------------------

async def test_family_completes_intake_on_whatsapp(wa: WhatsApp) -> None:
    """A family goes from greeting to a waiting case; replies go by REST with numbered choices."""
    family = phone()
    replies = await wa.walk_intake(family)
    assert "asisten otomatis" in replies[0]
    assert "\n1. Lanjut chat\n2. " in replies[0]  # choices as numbered lines in the body
    assert "LK3-2026-00001" in replies[-1]
    with wa.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert (case.status, case.channel, case.priority) == ("waiting", "whatsapp", "P3")
    creates = wa.fake.creates()
    assert len(creates) == len(outbox_rows(wa.db)) == len(wa.fake.bodies(family))
    for request in creates:
        assert request.auth == (SID, TOKEN)
        assert request.form["From"] == BOT and request.form["To"] == family
        assert request.form["StatusCallback"] == PUBLIC + STATUS_PATH
        assert len(request.form["Body"]) <= 1600
    assert wa.fake.bodies(family) == expected_bodies(wa.db, family)
    sids = [m["sid"] for m in wa.fake.created]
    assert [r.provider_message_id for r in outbox_rows(wa.db)] == sids
    assert {r.status for r in outbox_rows(wa.db)} == {"sent"}


async def test_duplicate_delivery_is_processed_once(wa: WhatsApp) -> None:
    """The same MessageSid delivered twice is acknowledged twice, stored and answered once."""
    family, sid = phone(), message_sid()
    await wa.inbound(family, "halo", MessageSid=sid)
    await wa.inbound(family, "halo", MessageSid=sid)
    await wa.pump()
    await wa.inbound(family, "halo", MessageSid=sid)  # a late retry after processing
    await wa.pump()
    assert count_rows(wa.db, InboxMessage) == 1
    assert len(wa.fake.bodies(family)) == 1


def _forgeries() -> dict[str, Any]:
    def other_token(p: dict[str, str]) -> dict[str, Any]:
        return {"token": "someone-elses-token"}

    def internal_url(p: dict[str, str]) -> dict[str, Any]:
        return {"url": "http://10.0.0.5:8000" + INBOUND_PATH}

    def other_path(p: dict[str, str]) -> dict[str, Any]:
        return {"url": PUBLIC + STATUS_PATH}

    def garbage(p: dict[str, str]) -> dict[str, Any]:
        return {"signature": "bm90IGEgc2lnbmF0dXJl"}

    return {"other_token": other_token, "internal_url": internal_url,
            "other_path": other_path, "garbage": garbage}


@pytest.mark.parametrize("how", [*_forgeries(), "missing", "tampered_body", "added_field"])
async def test_forged_or_missing_signature_gets_403_and_no_row(wa: WhatsApp, how: str) -> None:
    """A bad or missing X-Twilio-Signature is refused with 403 and nothing is stored."""
    params = inbound_params(phone(), "halo")
    if how == "missing":
        r = await wa.http.post(INBOUND_PATH, data=params)
    elif how in ("tampered_body", "added_field"):
        sig = sign(PUBLIC + INBOUND_PATH, params)
        changed = {**params, "Body": "DARURAT"} if how == "tampered_body" else \
            {**params, "Extra": "1"}
        r = await wa.post(INBOUND_PATH, changed, signature=sig)
    else:
        r = await wa.post(INBOUND_PATH, params, **_forgeries()[how](params))
    assert r.status_code == 403
    await wa.pump()
    assert count_rows(wa.db, InboxMessage) == 0
    assert count_rows(wa.db, Contact) == 0
    assert wa.fake.creates() == []


async def test_signature_over_the_public_url_with_port_is_accepted(wa: WhatsApp) -> None:
    """Twilio may sign https://host:443/...; RequestValidator accepts it and the row is stored."""
    params = inbound_params(phone(), "halo")
    r = await wa.post(INBOUND_PATH, params, url="https://lk3.example.org:443" + INBOUND_PATH)
    assert r.status_code == 200
    assert count_rows(wa.db, InboxMessage) == 1


async def test_forged_status_callback_changes_nothing(wa: WhatsApp) -> None:
    """A status callback with a bad signature is refused with 403; the status stays."""
    family = phone()
    await wa.say(family, "halo")
    (row,) = outbox_rows(wa.db)
    params = {"MessageSid": row.provider_message_id, "MessageStatus": "failed",
              "ErrorCode": "21610"}
    r = await wa.post(STATUS_PATH, params, token="not-the-token")
    assert r.status_code == 403
    r = await wa.http.post(STATUS_PATH, data=params)
    assert r.status_code == 403
    (row,) = outbox_rows(wa.db)
    assert (row.status, row.delivery_status, row.error_code) == ("sent", None, None)
    assert contact(wa.db, family).status == "active"
    assert events(wa.db, "delivery_failed") == []


async def test_failing_provider_then_recovering_gets_every_reply_once_in_order(
        wa: WhatsApp, clock: FrozenClock) -> None:
    """5xx, 429 with Retry-After, 63018 and a broken body are retried; every reply arrives
    once, in order per recipient."""
    a, b = phone(), phone()
    await wa.walk_intake(a)  # learn a whole intake's answers, then replay them for b
    answers = [row.payload["text"] for row in _inbox(wa.db, a)]
    earlier = len(outbox_rows(wa.db, a))
    wa.fake.reset()
    for n, answer in enumerate(answers):  # both families write while Twilio is failing
        await wa.inbound(b, answer)
        if n < 3:
            await wa.inbound(a, f"halo lagi {n}")
    wa.fake.fail_next(2, status=500)
    wa.fake.fail_next(1, status=429, retry_after=30)
    wa.fake.fail_next(1, status=400, code=63018)
    wa.fake.fail_next(1, status=503, body="<html>upstream down</html>")
    wa.fake.fail_next(1, status=502)
    await wa.pump()
    assert len(wa.fake.created) < len(outbox_rows(wa.db)) - earlier  # held behind failures
    heads = {r.recipient: r for r in reversed(outbox_rows(wa.db)) if r.status == "pending"}
    assert set(heads) == {a, b}  # each line waits for a retry of its first reply
    assert all(utc(r.available_at) > clock() for r in heads.values())
    attempts = len(wa.fake.creates())
    await wa.pump()
    assert len(wa.fake.creates()) == attempts  # nothing is tried before its time
    await wa.drain(clock)
    assert wa.fake.bodies(b) == expected_bodies(wa.db, b)
    assert "LK3-2026-00002" in " ".join(wa.fake.bodies(b))
    assert wa.fake.bodies(a) == expected_bodies(wa.db, a)[earlier:]
    assert len(wa.fake.bodies(a)) >= 3
    replayed = outbox_rows(wa.db, b) + outbox_rows(wa.db, a)[earlier:]
    assert len(wa.fake.creates()) == len(replayed) + 6
    sids = [m["sid"] for m in wa.fake.created]
    assert len(set(sids)) == len(sids)
    assert sorted(r.provider_message_id for r in replayed) == sorted(sids)
    assert {r.status for r in outbox_rows(wa.db)} == {"sent"}


async def test_429_waits_exactly_the_retry_after(wa: WhatsApp, clock: FrozenClock) -> None:
    """A 429 with Retry-After puts the reply back for exactly that long."""
    family = phone()
    wa.fake.fail_next(1, status=429, retry_after=42)
    assert await wa.say(family, "halo") == []
    (row,) = outbox_rows(wa.db)
    assert row.status == "pending"
    assert utc(row.available_at) == clock() + timedelta(seconds=42)
    clock.advance(seconds=41.9)
    await wa.pump()
    assert wa.fake.bodies(family) == []
    clock.advance(seconds=0.1)
    await wa.pump()
    assert len(wa.fake.bodies(family)) == 1


async def test_timeout_is_transient_and_retried(db: Engine, clock: FrozenClock,
                                                fake: FakeTwilio) -> None:
    """A Twilio call that does not answer within HTTP_TIMEOUT is retried later, then sent.
    (The timeout leaves room for a loaded machine: a retry that timed out after Twilio took it
    would be sent twice, as it would be with Twilio.)"""
    service = make_wa_service(db, clock, settings_for(db, fake.url, HTTP_TIMEOUT=1.5))
    async with _client(service) as http:
        wa = WhatsApp(service, fake, http)
        family = phone()
        fake.hang_next(1)
        await wa.say(family, "halo")
        fake.release()
        (row,) = outbox_rows(db)
        assert row.status == "pending" and "ReadTimeout" in row.last_error
        assert wa.fake.bodies(family) == []
        await wa.drain(clock)
        assert len(wa.fake.bodies(family)) == 1
        assert len(fake.creates()) == 2


async def test_unreachable_twilio_is_transient(db: Engine, clock: FrozenClock,
                                               fake: FakeTwilio) -> None:
    """A connection error is retried with backoff, not failed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    service = make_wa_service(db, clock, settings_for(db, closed))
    async with _client(service) as http:
        wa = WhatsApp(service, fake, http)
        await wa.say(phone(), "halo")
        (row,) = outbox_rows(db)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "unreachable: ConnectionError" in row.last_error
        assert utc(row.available_at) > clock()


async def test_21610_marks_the_contact_opted_out(wa: WhatsApp, clock: FrozenClock) -> None:
    """Twilio 21610 (recipient opted out) fails the reply for good and marks the contact."""
    family = phone()
    wa.fake.fail_next(1, status=400, code=21610)
    assert await wa.say(family, "halo") == []
    clock.advance(hours=1)
    await wa.pump()
    assert len(wa.fake.creates()) == 1  # not retried
    (row,) = outbox_rows(wa.db)
    assert (row.status, row.error_code) == ("failed", "21610")
    assert contact(wa.db, family).status == "opted_out"
    (event,) = events(wa.db, "delivery_failed")
    assert event.data["code"] == "21610" and event.data["contact_status"] == "opted_out"


def _inbox(db: Engine, user: str) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(InboxMessage).where(InboxMessage.sender == user)
                                 .order_by(InboxMessage.id)).all())


async def _complete_intake(wa: WhatsApp, family: str) -> int:
    await wa.walk_intake(family)
    with wa.db.connect() as conn:
        return int(conn.execute(select(func.max(OutboxMessage.case_id))).scalar_one())


async def test_63016_from_twilio_marks_needs_template_on_the_case(wa: WhatsApp,
                                                                  clock: FrozenClock) -> None:
    """Twilio 63016 ends the reply as needs_template with a delivery_failed event on the case."""
    family = phone()
    case_id = await _complete_intake(wa, family)
    wa.fake.fail_next(1, status=400, code=63016)
    assert await wa.say(family, "halo lagi") == []
    clock.advance(hours=1)
    await wa.pump()
    row = outbox_rows(wa.db, family)[-1]
    assert (row.status, row.error_code, row.case_id) == ("needs_template", "63016", case_id)
    (event,) = events(wa.db, "delivery_failed")
    assert event.case_id == case_id
    assert (event.data["code"], event.data["status"]) == ("63016", "needs_template")
    assert contact(wa.db, family).status == "active"


async def test_outside_the_24_hour_window_twilio_is_not_called(wa: WhatsApp,
                                                              clock: FrozenClock) -> None:
    """A reply 24 h after the family's last message is needs_template without any API call."""
    family = phone()
    case_id = await _complete_intake(wa, family)
    contact_id = contact(wa.db, family).id
    calls = len(wa.fake.creates())

    def counselor_writes(text: str) -> None:
        with wa.db.begin() as conn:
            outbox.enqueue(conn, [{"channel": "whatsapp", "recipient": family,
                                   "contact_id": contact_id, "case_id": case_id,
                                   "payload": {"text": text, "choices": []},
                                   "dedupe_key": text}], clock())

    clock.advance(hours=23, minutes=59, seconds=59)
    counselor_writes("Petugas LK3 akan menelepon jam 10.")
    await wa.pump()
    assert wa.fake.bodies(family)[-1] == "Petugas LK3 akan menelepon jam 10."
    clock.advance(seconds=1)
    counselor_writes("Petugas LK3 mencoba menghubungi Anda.")
    await wa.pump()
    assert len(wa.fake.creates()) == calls + 1  # the second one never reached Twilio
    row = outbox_rows(wa.db, family)[-1]
    assert (row.status, row.error_code, row.provider_message_id) == ("needs_template",
                                                                     "63016", None)
    (event,) = events(wa.db, "delivery_failed")
    assert (event.case_id, event.data["status"]) == (case_id, "needs_template")
    await wa.say(family, "halo")  # the family writes again: the window is open again
    assert len(wa.fake.creates()) == calls + 2


async def test_window_is_24_hours_from_the_last_inbound(wa: WhatsApp, clock: FrozenClock) -> None:
    """The window (the WhatsApp channel's rule, over the stored last inbound time): open
    below 24 h since the family's last message, closed at 24 h, and for someone who never
    wrote."""
    family = phone()
    await wa.say(family, "halo")
    start = clock()
    with wa.db.connect() as conn:
        last = conversations.last_inbound_from(conn, "whatsapp", family)
        never = conversations.last_inbound_from(conn, "whatsapp", phone())
    assert last == start and never is None
    assert window_open(last, start)
    assert window_open(last, start + timedelta(hours=24) - timedelta(microseconds=1))
    assert not window_open(last, start + timedelta(hours=24))
    assert not window_open(never, start)


async def test_a_counselor_on_whatsapp_gets_alerts_within_their_own_window(
        wa: WhatsApp, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    """WhatsApp's 24-hour window is a counselor's too: after they write to the bot (here
    /siaga, going on duty) a new case's alert reaches them; 24 hours after their last word
    it cannot (only a template could), so it is not queued for them and the log says the
    alert reached nobody; their own next message opens the window again."""
    kons = phone()
    with wa.db.begin() as conn:
        counselors.add(conn, name="Sari", role="counselor", now=clock(),
                       accounts=[("whatsapp", kons)])
    await wa.say(kons, "/siaga")
    await wa.walk_intake(phone())
    first = wa.fake.bodies(kons)
    with wa.db.connect() as conn:
        number = conn.execute(select(Case.number)).scalar_one()
    assert any(number in body for body in first), first
    clock.advance(hours=24)
    await wa.walk_intake(phone())
    assert wa.fake.bodies(kons) == first, "outside their window: nothing sent"
    with wa.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "needs_template")).scalar() == 0, "nor queued to fail"
    assert "new-case alert reached nobody" in caplog.text
    assert await wa.say(kons, "/antrian"), "their own message opens it again"


async def test_a_whatsapp_counselor_is_shown_commands_and_a_bare_number_reaches_no_family(
        wa: WhatsApp, clock: FrozenClock) -> None:
    """WhatsApp has no buttons for staff: an alert shows the command to type, not a numbered
    choice; a counselor who answers "1" anyway (holding another family's case) is told it
    was not sent, and that family gets nothing."""
    kons, first, second = phone(), phone(), phone()
    with wa.db.begin() as conn:
        counselors.add(conn, name="Sari", role="counselor", now=clock(),
                       accounts=[("whatsapp", kons)])
    await wa.say(kons, "/siaga")
    await wa.walk_intake(first)
    with wa.db.connect() as conn:
        held = conn.execute(select(Case.number)).scalar_one()
    await wa.say(kons, f"/ambil {held}")
    await wa.walk_intake(second)
    with wa.db.connect() as conn:
        waiting = conn.execute(select(Case.number).where(Case.number != held)).scalar_one()
    alert = wa.fake.bodies(kons)[-1]
    assert f"Ketik /ambil {waiting}" in alert and "1. " not in alert, alert
    before = len(wa.fake.bodies(first))
    answer = await wa.say(kons, "1")
    assert "tidak dikirim ke keluarga" in answer[-1]
    assert len(wa.fake.bodies(first)) == before, "the family of the held case got nothing"
    await wa.say(kons, "Ibu, sa dengar.")
    assert "Ibu, sa dengar." in wa.fake.bodies(first)[-1], "a sentence still reaches them"


async def test_status_callbacks_move_forward_only_and_repeats_are_ignored(
        wa: WhatsApp, clock: FrozenClock) -> None:
    """Status callbacks move a reply's status forward only; repeats and stale ones change
    nothing, and a final failure shows on the case once."""
    family = phone()
    await wa.say(family, "halo")
    (first,) = outbox_rows(wa.db)
    sid = first_sid = first.provider_message_id

    def state() -> tuple[str, Any]:
        (row,) = [r for r in outbox_rows(wa.db) if r.provider_message_id == first_sid]
        return row.delivery_status, utc(row.delivery_updated_at)

    for status, expected in [("queued", "queued"), ("sent", "sent"), ("queued", "sent"),
                             ("delivered", "delivered"), ("sent", "delivered"),
                             ("read", "read"), ("delivered", "read"), ("read", "read")]:
        before = state()
        clock.advance(seconds=1)
        await wa.status(sid, status)
        after = state()
        assert after[0] == expected, status
        assert (after[1] == clock()) == (before[0] != expected), status  # touched only on a move
    await wa.status("SM" + "f" * 32, "delivered")  # not ours: acknowledged, ignored
    await wa.say(family, "1")
    sid = outbox_rows(wa.db)[-1].provider_message_id
    await wa.status(sid, "sent")
    await wa.status(sid, "undelivered", "63016")
    await wa.status(sid, "undelivered", "63016")
    await wa.status(sid, "delivered")
    row = outbox_rows(wa.db)[-1]
    assert (row.delivery_status, row.error_code, row.status) == ("undelivered", "63016",
                                                                 "needs_template")
    (event,) = events(wa.db, "delivery_failed")
    assert (event.data["code"], event.data["status"]) == ("63016", "needs_template")
    assert state()[0] == "read"  # the first reply is untouched


async def test_failed_callback_21610_marks_opted_out(wa: WhatsApp) -> None:
    """A failed status callback with 21610 marks the contact opted out and shows on the case."""
    family = phone()
    await wa.say(family, "halo")
    (row,) = outbox_rows(wa.db)
    await wa.status(row.provider_message_id, "failed", "21610")
    assert contact(wa.db, family).status == "opted_out"
    (row,) = outbox_rows(wa.db)
    assert (row.delivery_status, row.error_code) == ("failed", "21610")
    assert events(wa.db, "delivery_failed")[0].data["contact_status"] == "opted_out"


# -- every message type --------------------------------------------------------------------------

KINDS: dict[str, tuple[dict[str, str], dict[str, Any] | None]] = {
    "text": ({"Body": "sa pu paitua marah terus"},
             {"text": "sa pu paitua marah terus", "payload": "", "media": [], "type": "text"}),
    "button": ({"Body": "Lanjut chat", "MessageType": "button", "ButtonText": "Lanjut chat",
                "ButtonPayload": "chat"},
               {"text": "Lanjut chat", "payload": "chat", "media": [], "type": "button"}),
    "photo": ({"MessageType": "image", "NumMedia": "1", "MediaUrl0": media_url(1),
               "MediaContentType0": "image/jpeg"},
              {"text": "", "payload": "", "type": "image",
               "media": [{"kind": "photo", "ref": media_url(1), "mime": "image/jpeg"}]}),
    "photo_with_caption": (
        {"Body": "ini lukanya", "MessageType": "image", "NumMedia": "1",
         "MediaUrl0": media_url(2), "MediaContentType0": "image/jpeg"},
        {"text": "ini lukanya", "payload": "", "type": "image",
         "media": [{"kind": "photo", "ref": media_url(2), "mime": "image/jpeg"}]}),
    "voice_note": ({"MessageType": "audio", "NumMedia": "1", "MediaUrl0": media_url(3),
                    "MediaContentType0": "audio/ogg"},
                   {"text": "", "payload": "", "type": "audio",
                    "media": [{"kind": "voice", "ref": media_url(3), "mime": "audio/ogg"}]}),
    "document": ({"MessageType": "document", "NumMedia": "1", "MediaUrl0": media_url(4),
                  "MediaContentType0": "application/pdf", "Body": "surat.pdf"},
                 {"text": "surat.pdf", "payload": "", "type": "document",
                  "media": [{"kind": "document", "ref": media_url(4),
                             "mime": "application/pdf"}]}),
    "video": ({"MessageType": "video", "NumMedia": "1", "MediaUrl0": media_url(5),
               "MediaContentType0": "video/mp4"},
              {"text": "", "payload": "", "type": "video",
               "media": [{"kind": "video", "ref": media_url(5), "mime": "video/mp4"}]}),
    "two_media": ({"NumMedia": "2", "MediaUrl0": media_url(6), "MediaContentType0": "image/png",
                   "MediaUrl1": media_url(7), "MediaContentType1": "audio/mpeg",
                   "MessageType": "image"},
                  {"text": "", "payload": "", "type": "image",
                   "media": [{"kind": "photo", "ref": media_url(6), "mime": "image/png"},
                             {"kind": "audio", "ref": media_url(7), "mime": "audio/mpeg"}]}),
    "location": ({"MessageType": "location", "Latitude": "-4.5467", "Longitude": "136.8833",
                  "Address": "Jl. Budi Utomo, Timika", "Label": "Pasar Sentral"},
                 {"text": "", "payload": "", "type": "location",
                  "media": [{"kind": "location", "ref": "-4.546700,136.883300", "mime": "",
                             "label": "Pasar Sentral, Jl. Budi Utomo, Timika"}]}),
    "sticker": ({"MessageType": "sticker", "NumMedia": "1", "MediaUrl0": media_url(8),
                 "MediaContentType0": "image/webp"},
                {"text": "", "payload": "", "type": "sticker",
                 "media": [{"kind": "photo", "ref": media_url(8), "mime": "image/webp"}]}),
    "unsupported": ({"MessageType": "unsupported"}, None),
    "reaction_like_empty": ({"MessageType": "reaction", "Body": ""}, None),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_every_message_type_is_stored_and_answered(wa: WhatsApp, kind: str) -> None:
    """Text, buttons, photos, voice notes, documents, video and locations are stored as
    references and answered; kinds without content are acknowledged; none fails."""
    fields, expected = KINDS[kind]
    family = phone()
    await wa.say(family, "halo")
    replies = await wa.say(family, **fields)
    with wa.db.connect() as conn:
        rows = conn.execute(select(InboxMessage).order_by(InboxMessage.id)).all()
        logged = conn.execute(select(MessageLog.media).where(MessageLog.direction == "in")
                              .order_by(MessageLog.id)).scalars().all()
    assert all(r.processed_at is not None and r.last_error is None for r in rows)
    if expected is None:
        assert len(rows) == 1 and replies == []
        return
    assert len(rows) == 2
    assert rows[1].channel == "whatsapp" and rows[1].sender == family
    assert rows[1].payload == expected
    assert replies  # the bot answered (the next question or a kind re-prompt)
    assert (logged[-1] or []) == expected["media"]  # the counselor sees the references


async def test_button_press_and_voice_note_complete_an_intake(wa: WhatsApp) -> None:
    """A quick-reply button routes on ButtonPayload; a voice note is accepted as the account."""
    family = phone()
    button = {"body": "Lanjut", "MessageType": "button", "ButtonText": "Lanjut",
              "ButtonPayload": "chat"}
    voice = {"MessageType": "audio", "NumMedia": "1", "MediaUrl0": media_url(9),
             "MediaContentType0": "audio/ogg"}
    replies = await wa.walk_intake(family, {"greeting": button, "account": voice})
    assert "dalam bahaya" in replies[1]  # the button chose "chat": the danger question
    assert "LK3-2026-00001" in replies[-1]
    with wa.db.connect() as conn:
        (case,) = cases.list_cases(conn)
        logged = [m for m in conn.execute(select(MessageLog.media)).scalars() if m]
    assert case.status == "waiting"
    assert logged == [[{"kind": "voice", "ref": media_url(9), "mime": "audio/ogg"}]]


# -- malformed and oversized requests ------------------------------------------------------------

async def test_oversized_body_gets_413_and_no_row(wa: WhatsApp) -> None:
    """A body over the limit is refused with 413 before parsing, declared or streamed."""
    params = inbound_params(phone(), "x" * (MAX_BODY + 1))
    r = await wa.post(INBOUND_PATH, params)
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        yield b"Body="
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"y" * 1024

    r = await wa.http.post(INBOUND_PATH, content=chunks(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert r.status_code == 413
    r = await wa.http.post(STATUS_PATH, content=b"a=" + b"z" * MAX_BODY, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert count_rows(wa.db, InboxMessage) == 0


@pytest.mark.parametrize("case", ["json", "bad_utf8", "bad_field", "no_message_sid", "no_from",
                                  "bad_num_media", "bad_latitude", "huge_sid"])
async def test_malformed_payload_gets_400_and_no_row(wa: WhatsApp, case: str) -> None:
    """Malformed requests are refused with 400; nothing is stored and the app keeps serving."""
    family = phone()
    params = inbound_params(family, "halo")
    if case == "json":
        r = await wa.http.post(INBOUND_PATH, json=params, headers={"X-Twilio-Signature": "x"})
    elif case in ("bad_utf8", "bad_field"):
        raw = b"Body=%ff%fe&MessageSid=SM1" if case == "bad_utf8" else b"Body&&MessageSid"
        r = await wa.http.post(INBOUND_PATH, content=raw, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    else:
        if case == "no_message_sid":
            del params["MessageSid"]
        elif case == "no_from":
            del params["From"]
        elif case == "bad_num_media":
            params["NumMedia"] = "two"
        elif case == "bad_latitude":
            params.update(Latitude="north", Longitude="136.88", MessageType="location")
        else:
            params["MessageSid"] = "SM" + "9" * 200
        r = await wa.post(INBOUND_PATH, params)  # correctly signed, still malformed
    assert r.status_code == 400
    assert count_rows(wa.db, InboxMessage) == 0
    await wa.inbound(family, "halo")  # the next good request is served as usual
    assert count_rows(wa.db, InboxMessage) == 1


async def test_malformed_status_callback_gets_400(wa: WhatsApp) -> None:
    """A signed status callback without MessageStatus is refused with 400."""
    r = await wa.post(STATUS_PATH, {"MessageSid": "SM" + "1" * 32, "AccountSid": SID})
    assert r.status_code == 400


# -- sender, rate and settings -------------------------------------------------------------------

ERRORS = {
    "500": ({"status": 500}, True, None, None, "failed"),
    "503_html": ({"status": 503, "body": "<html>busy</html>"}, True, None, None, "failed"),
    "429": ({"status": 429, "retry_after": 7}, True, 7.0, None, "failed"),
    "63018": ({"status": 429, "code": 63018}, True, None, None, "failed"),
    "21610": ({"status": 400, "code": 21610}, False, None, "opted_out", "failed"),
    "63016": ({"status": 400, "code": 63016}, False, None, None, "needs_template"),
    "21211": ({"status": 400, "code": 21211}, False, None, None, "failed"),
}


@pytest.mark.parametrize("name", list(ERRORS))
async def test_twilio_errors_map_to_send_errors(db: Engine, clock: FrozenClock,
                                                fake: FakeTwilio, name: str) -> None:
    """Each Twilio error becomes transient (with Retry-After) or permanent with its effect."""
    knobs, transient, wait, contact_status, final = ERRORS[name]
    sender = WhatsAppSender(settings_for(db, fake.url), db, clock)
    family = phone()
    with db.begin() as conn:
        conversations.touch_contact(conn, "whatsapp", family, clock())
    fake.fail_next(1, **knobs)
    with pytest.raises(SendError) as err:
        await sender.send(family, {"text": "Halo", "choices": []})
    e = err.value
    assert (e.transient, e.retry_after, e.contact_status, e.final_status) == (
        transient, wait, contact_status, final)
    if "code" in knobs:
        assert e.code == str(knobs["code"])
    assert await sender.send(family, {"text": "Halo", "choices": []}) == \
        fake.created[-1]["sid"]


async def test_whatsapp_mps_paces_the_relay(db: Engine, clock: FrozenClock,
                                            fake: FakeTwilio) -> None:
    """WHATSAPP_MPS limits creates per second; held replies wait without using an attempt."""
    service = make_wa_service(db, clock, settings_for(db, fake.url, WHATSAPP_MPS=2))
    async with _client(service) as http:
        wa = WhatsApp(service, fake, http)
        families = [phone() for _ in range(5)]
        for family in families:
            await wa.inbound(family, "halo")
        process_all(service.processor)
        relay = Relay(db, service.senders, clock)
        await relay.run_once()
        assert len(fake.created) == 2
        held = outbox_rows(db)[2]  # over the rate: left in line, not taken and put back
        assert (held.status, held.attempts, held.sent_at) == ("pending", 0, None)
        clock.advance(seconds=0.5)
        await relay.run_once()
        assert len(fake.created) == 3
        clock.advance(seconds=1)
        await relay.run_once()
        assert len(fake.created) == 5
        # one each; between families no order is promised (their requests go out together)
        assert sorted(m["to"] for m in fake.created) == sorted(families)


def test_channel_is_off_without_settings_and_on_with_them(
        db: Engine, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    """Without Twilio settings the channel is off and says so in one line; with them it is on."""
    plain = Settings.model_validate({"DATABASE_URL": db.url.render_as_string(False)})
    with caplog.at_level(logging.INFO, logger="bot.channels.setup"):
        channels = build_channels(make_wa_service(db, clock, plain))
    assert [c.name for c in channels if c.name == "whatsapp"] == []
    assert "channel whatsapp is off: TWILIO_ACCOUNT_SID is not set" in caplog.messages
    configured = settings_for(db, "https://api.twilio.com")
    (channel,) = [c for c in build_channels(make_wa_service(db, clock, configured))
                  if c.name == "whatsapp"]
    assert sorted(r.path for r in channel.routes) == sorted([INBOUND_PATH, STATUS_PATH])
    assert channel.sender.limit is not None and channel.sender.limit.rate == 1000
