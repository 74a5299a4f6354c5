"""Poison from providers: whatever arrives is answered 2xx (stored, or set aside as rejected
with its reason) or 4xx when malformed, never 5xx and never a retry loop; the family writing
next is still answered. Telegram (webhook and polling) and Twilio, through the real libraries
against the fakes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import DataError

from bot.channels import telegram
from bot.channels.whatsapp import EMPTY_TWIML, INBOUND_PATH, WhatsAppChannel
from bot.pipeline.processor import process_all
from bot.service import Service
from bot.web import create_app
from storage import crypto
from storage.models import InboxMessage, Reject
from tests.fakes.telegram_api import NOW, FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.support import FrozenClock, make_service
from tests.test_telegram import (  # the Telegram fixtures are shared
    FAMILY,
    OTHER,
    PUBLIC,
    SECRET,
    count,
    fake,
    inbox_payloads,
    polling,
    relay_of,
    settle,
    text,
    tg,
    tg_settings,
)
from tests.test_whatsapp import PUBLIC as WA_PUBLIC
from tests.test_whatsapp import (
    SID,
    TOKEN,
    WhatsApp,
    inbound_params,
    make_wa_service,
    phone,
    sign,
)
from tests.test_whatsapp import settings_for as wa_settings

THIRD = 7_100_000_003
DEPTH = 100_000


@pytest.fixture
async def client(tg: Service, fake: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    tg.settings = tg_settings(tg.db, fake, PUBLIC_BASE_URL=PUBLIC,
                              TELEGRAM_WEBHOOK_SECRET=SECRET)
    channel = telegram.build(tg)
    await channel.start()
    app = create_app(tg, run_workers=False, channels=[channel])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://lk3") as c:
        yield c
    await channel.close()


# -- poison, as JSON text (Python's json cannot write some of it) ------------------------------


def _raw_message(uid: int, update_id: int, words: str, extra: str = "") -> str:
    """A text message update as JSON text; `words` is put in as it is (escapes and all)."""
    return (f'{{"update_id": {update_id}, "message": {{"message_id": {update_id + 1}, '
            f'"date": {NOW}, "chat": {{"id": {uid}, "type": "private", "first_name": "Mama"}}, '
            f'"from": {{"id": {uid}, "is_bot": false, "first_name": "Mama"}}, '
            f'"text": "{words}"{extra}}}}}')


def deep(uid: int, update_id: int) -> str:
    """An update with a field nested 100,000 levels deep."""
    return _raw_message(uid, update_id, "halo", ', "x": ' + "[" * DEPTH + "]" * DEPTH)


def surrogate(uid: int, update_id: int) -> str:
    """Text with a lone surrogate, as a broken client sends half an emoji."""
    return _raw_message(uid, update_id, "ha\\ud800lo")


def without_chat(uid: int, update_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id + 1, "date": NOW, "text": "halo",
        "from": {"id": uid, "is_bot": False, "first_name": "Mama"}}}


def rejects(db: Engine) -> list[tuple[str | None, str | None, str]]:
    with db.connect() as conn:
        return [(r.provider_message_id, r.sender, r.reason) for r in conn.execute(
            select(Reject.provider_message_id, Reject.sender, Reject.reason)
            .order_by(Reject.id))]


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # no traceback


def _opened(value: Any) -> Any:
    """Statement parameters with the inbox payloads opened (they are sealed as stored)."""
    if isinstance(value, dict):
        return {k: _opened(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_opened(v) for v in value]
    if crypto.is_sealed(value):
        with suppress(crypto.SealError):
            return PAYLOAD.read(value)
    return value


PAYLOAD = InboxMessage.__table__.c.payload.type  # type: ignore[attr-defined]


@contextmanager
def database_refuses(db: Engine, marker: str) -> Iterator[None]:
    """The database refuses to store an inbox row holding `marker`, as it refuses a value
    it cannot hold (DataError): content, not an outage."""

    def refuse(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INBOX") and \
                marker in repr(_opened(parameters)):
            raise DataError(statement, parameters, Exception("injected: value not storable"))

    event.listen(db, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(db, "before_cursor_execute", refuse)


async def _post(client: httpx.AsyncClient, body: bytes | str) -> httpx.Response:
    return await client.post("/webhooks/telegram", content=body,
                             headers={telegram.SECRET_HEADER: SECRET,
                                      "content-type": "application/json"})


async def _next_family_is_answered(tg: Service, clock: FrozenClock, fake: FakeTelegram,
                                   client: httpx.AsyncClient) -> None:
    r = await client.post("/webhooks/telegram", json=text(OTHER, "halo"),
                          headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 200
    await settle(tg, relay_of(tg), clock)
    assert fake.texts_to(OTHER)


# -- the Telegram webhook --------------------------------------------------------------------


async def test_webhook_update_nested_100000_deep_is_400_not_500(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture) -> None:
    """JSON nested 100,000 levels is malformed: 400 and one warning, not a RecursionError."""
    with caplog.at_level(logging.WARNING):
        r = await _post(client, deep(FAMILY, 501))
        assert r.status_code == 400
        assert count(tg.db, InboxMessage) == 0
        await _next_family_is_answered(tg, clock, fake, client)
    assert_no_error_logged(caplog)
    assert [r.getMessage() for r in caplog.records if "501" in r.getMessage()] == [
        "telegram: malformed update 501 refused (nested deeper than 64 levels)"]


async def test_webhook_lone_surrogate_is_stored_readable_and_answered(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture) -> None:
    """Text with a lone surrogate is stored with U+FFFD in its place and answered."""
    with caplog.at_level(logging.WARNING):
        r = await _post(client, surrogate(FAMILY, 502))
        assert r.status_code == 200
        await settle(tg, relay_of(tg), clock)
    ((_, _, payload),) = inbox_payloads(tg.db)
    assert payload["text"] == "ha\ufffdlo"
    assert fake.texts_to(FAMILY)  # the family got the greeting
    assert_no_error_logged(caplog)


async def test_webhook_message_without_chat_is_set_aside_without_a_traceback(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture) -> None:
    """A message with no chat: 200, kept as rejected with its reason, one warning line."""
    with caplog.at_level(logging.WARNING):
        r = await client.post("/webhooks/telegram", json=without_chat(FAMILY, 503),
                              headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200
        await _next_family_is_answered(tg, clock, fake, client)
    assert rejects(tg.db) == [("503", str(FAMILY), "message without chat")]
    assert [r.getMessage() for r in caplog.records if "503" in r.getMessage()] == [
        "telegram: message 503 rejected: message without chat"]
    assert_no_error_logged(caplog)


async def test_webhook_update_the_database_refuses_is_acknowledged_and_set_aside(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture) -> None:
    """An update the database refuses for what it holds: 200 and a rejection, no 500 (which
    Telegram would deliver again and again)."""
    with caplog.at_level(logging.WARNING), database_refuses(tg.db, "unstorable words"):
        r = await client.post("/webhooks/telegram", json=text(FAMILY, "unstorable words"),
                              headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200
        await _next_family_is_answered(tg, clock, fake, client)
    ((_, sender, reason),) = rejects(tg.db)
    assert (sender, reason) == (str(FAMILY), "cannot be stored (Exception)")
    assert count(tg.db, InboxMessage) == 1  # the next family's message
    assert_no_error_logged(caplog)
    assert "unstorable words" not in caplog.text  # no words in the log


async def test_webhook_content_length_is_read_with_a_limit(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, client: httpx.AsyncClient) -> None:
    """A Content-Length of 5,000 digits (Python's int() refuses it) is 413, not 500."""
    body = json.dumps(text(FAMILY, "halo")).encode()
    request = client.build_request("POST", "/webhooks/telegram", content=body, headers={
        telegram.SECRET_HEADER: SECRET, "content-type": "application/json"})
    request.headers["content-length"] = "9" * 5000
    r = await client.send(request)
    assert r.status_code == 413
    await _next_family_is_answered(tg, clock, fake, client)


# -- Telegram polling ------------------------------------------------------------------------


async def test_polling_moves_past_every_poison_and_the_next_family_is_answered(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, caplog: pytest.LogCaptureFixture) -> None:
    """One getUpdates answer with a 100,000-deep update, a lone surrogate, a message without
    chat and an update the library cannot read, then a family: the readable ones are
    stored, the others set aside with their reasons, the offset moves past all of them, and
    both families (and one writing after) are answered."""
    fake.queue_raw(deep(THIRD, 601), 601)
    fake.queue_raw(surrogate(THIRD, 602), 602)
    fake.queue_update(without_chat(THIRD, 603))
    fake.queue_update({"update_id": 604, "callback_query": 12})
    family = fake.queue_update(text(FAMILY, "halo"))
    with caplog.at_level(logging.WARNING):
        await polling.run_polling(iterations=1)
        assert polling.offset == family["update_id"] + 1
        later = fake.queue_update(text(OTHER, "halo"))
        await polling.run_polling(iterations=2)  # the second call confirms the first
        assert fake.pending_updates() == [] and polling.offset == later["update_id"] + 1
        await settle(tg, relay_of(tg), clock)
    assert [(p[0], p[1]) for p in inbox_payloads(tg.db)] == [
        ("602", str(THIRD)), (str(family["update_id"]), str(FAMILY)),
        (str(later["update_id"]), str(OTHER))]
    assert rejects(tg.db) == [
        ("601", None, "nested deeper than 64 levels"),
        ("604", None, "unreadable update (AttributeError)"),
        ("603", str(THIRD), "message without chat")]
    assert fake.texts_to(FAMILY) and fake.texts_to(OTHER) and fake.texts_to(THIRD)
    assert_no_error_logged(caplog)


async def test_polling_sets_aside_an_update_the_database_refuses(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, caplog: pytest.LogCaptureFixture) -> None:
    """An update the database refuses is set aside; the rest of its batch is stored and the
    offset moves on (before: the same batch was fetched forever)."""
    poison = fake.queue_update(text(THIRD, "unstorable words"))
    family = fake.queue_update(text(FAMILY, "halo"))
    with caplog.at_level(logging.WARNING), database_refuses(tg.db, "unstorable words"):
        await polling.run_polling(iterations=1)
    assert polling.offset == family["update_id"] + 1
    assert rejects(tg.db) == [(str(poison["update_id"]), str(THIRD),
                               "cannot be stored (Exception)")]
    await settle(tg, relay_of(tg), clock)
    assert fake.texts_to(FAMILY) and not fake.texts_to(THIRD)
    assert_no_error_logged(caplog)


# -- the Twilio webhook ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as api:
        yield api


@pytest.fixture
async def wa(db: Engine, clock: FrozenClock, twilio_api: FakeTwilio) -> AsyncIterator[WhatsApp]:
    twilio_api.reset()
    service = make_wa_service(db, clock, wa_settings(db, twilio_api.url))
    app = create_app(service, run_workers=False, channels=[WhatsAppChannel(service)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://10.0.0.5:8000") as http:
        yield WhatsApp(service, twilio_api, http)
    assert twilio_api.unknown == []


async def _wa_next_family_is_answered(wa: WhatsApp) -> None:
    family = phone()
    assert await wa.say(family, "halo")


@pytest.mark.parametrize("field,value", [
    ("NumMedia", "9" * 5000), ("NumMedia", "²"), ("NumMedia", "١"),
    ("Content-Length", "9" * 5000)])
async def test_whatsapp_numbers_in_text_are_read_with_limits(
        wa: WhatsApp, caplog: pytest.LogCaptureFixture, field: str, value: str) -> None:
    """Digits Python's int() refuses (5,000 of them, "²", "١") are a 4xx, never a 500; a
    forged request with them is still refused and stores nothing."""
    params = inbound_params(phone(), "halo")
    if field == "NumMedia":
        params["NumMedia"] = value
    with caplog.at_level(logging.WARNING):
        for signature in (sign(WA_PUBLIC + INBOUND_PATH, params), "forged"):
            request = wa.http.build_request("POST", INBOUND_PATH, data=params,
                                            headers={"X-Twilio-Signature": signature})
            if field == "Content-Length":
                request.headers["content-length"] = value
            r = await wa.http.send(request)
            assert 400 <= r.status_code < 500, (signature, r.status_code)
        assert count(wa.db, InboxMessage) == 0 and rejects(wa.db) == []
        await _wa_next_family_is_answered(wa)
    assert_no_error_logged(caplog)


async def test_whatsapp_nul_in_a_message_is_stored_without_it(
        wa: WhatsApp, caplog: pytest.LogCaptureFixture) -> None:
    """A NUL character (PostgreSQL text cannot hold one) is dropped, the rest answered."""
    family = phone()
    with caplog.at_level(logging.WARNING):
        assert await wa.say(family, "ha\x00lo")
    with wa.db.connect() as conn:
        (payload,) = conn.execute(select(InboxMessage.payload)).scalars()
    assert payload["text"] == "halo"
    assert_no_error_logged(caplog)


async def test_whatsapp_message_the_database_refuses_is_acknowledged_and_set_aside(
        wa: WhatsApp, caplog: pytest.LogCaptureFixture) -> None:
    """A message the database refuses for what it holds: empty TwiML (200) and a rejection,
    not a 503 for Twilio to retry; the next family is answered."""
    family = phone()
    with caplog.at_level(logging.WARNING), database_refuses(wa.db, "unstorable words"):
        r = await wa.post(INBOUND_PATH, inbound_params(family, "unstorable words"))
        assert (r.status_code, r.text) == (200, EMPTY_TWIML)
        await _wa_next_family_is_answered(wa)
    ((_, sender, reason),) = rejects(wa.db)
    assert (sender, reason) == (family, "cannot be stored (Exception)")
    process_all(wa.service.processor)
    assert wa.fake.bodies(family) == []
    assert_no_error_logged(caplog)
