"""Retries bounded by time, not by a count: a provider outage or a run of rate limits loses
no reply (each arrives once, in order), a reply past its deadline is given up where staff
see it, and replies to a P0 family go before the rest of the queue. Frozen clock throughout."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from bot.channels import telegram
from bot.channels.whatsapp import WhatsAppChannel
from bot.pipeline.processor import process_all
from bot.pipeline.relay import Relay
from bot.service import Service
from bot.web import create_app
from storage import cases
from storage.clock import utc
from storage.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.support import CHANNEL, CollectingSender, FrozenClock, make_service, send
from tests.test_telegram import (  # the Telegram fixtures are shared
    FAMILY,
    OTHER,
    assert_each_reply_once_in_order,
    fake,
    outbox_rows,
    polling,
    relay_of,
    settle,
    text,
    tg,
    tg_settings,
)
from tests.test_whatsapp import (
    SID,
    TOKEN,
    WhatsApp,
    expected_bodies,
    make_wa_service,
    phone,
    settings_for,
)

THIRD = 7_100_000_003


async def greet(tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel,
                *chats: int, words: str = "halo") -> None:
    for chat in chats:
        fake.queue_update(text(chat, words))
    await polling.run_polling(iterations=1)
    process_all(tg.processor)


def failed_rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(OutboxMessage.id, OutboxMessage.status)
                                 .where(OutboxMessage.status.not_in(("sent",)))))


async def test_a_60_second_telegram_outage_loses_no_reply(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """Telegram answers 500 for 60 s: a few probes, no reply given up; when it is back every
    reply arrives once, in order, within OUTBOX_OUTAGE_PAUSE_MAX (15 s)."""
    chats = (FAMILY, OTHER, THIRD)
    await greet(tg, fake, polling, *chats)
    relay = relay_of(tg)
    fake.go_down("sendMessage", 500)
    start = clock()
    while clock() - start < timedelta(seconds=60):
        await relay.run_once()
        clock.advance(seconds=0.5)
    tries_while_down = len(fake.calls_of("sendMessage"))
    fake.come_back("sendMessage")
    back = clock()
    while not fake.sent and clock() - back < timedelta(minutes=5):
        await relay.run_once()
        clock.advance(seconds=0.5)
    assert fake.sent and clock() - back <= timedelta(seconds=15)
    await settle(tg, relay, clock)
    for chat in chats:
        assert_each_reply_once_in_order(tg.db, fake, chat)
    assert tries_while_down <= 9  # probes at 0, 1, 3, 7, 15, 30, 45 s: not every reply
    assert failed_rows(tg.db) == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_ten_429s_in_a_row_lose_no_reply(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """Ten 429s with retry_after=1 on the greeting: each waits its second and is no failure;
    every reply arrives once, in order."""
    await greet(tg, fake, polling, FAMILY)
    fake.fail_next("sendMessage", 10, status=429, retry_after=1)
    start = clock()
    await settle(tg, relay_of(tg), clock)
    assert_each_reply_once_in_order(tg.db, fake, FAMILY)
    assert len(fake.calls_of("sendMessage")) == len(outbox_rows(tg.db, FAMILY)) + 10
    first = outbox_rows(tg.db, FAMILY)[0]
    assert utc(first.sent_at) - start == timedelta(seconds=10)  # ten waits of exactly 1 s
    assert failed_rows(tg.db) == []


async def test_a_reply_past_its_deadline_is_given_up_on_the_case(
        db: Engine, clock: FrozenClock, fake: FakeTelegram) -> None:
    """Telegram down for longer than OUTBOX_REPLY_DEADLINE_HOURS: the replies are probed
    now and then, given up only at the deadline, and each give-up is a delivery_failed
    event on the family's case."""
    service = make_service(db, clock)
    service.settings = tg_settings(db, fake, OUTBOX_REPLY_DEADLINE_HOURS=1)
    channel = telegram.build(service)
    channel.poll_timeout = 0
    try:
        await greet(service, fake, channel, FAMILY, words="DARURAT")
        fake.go_down("sendMessage", 502)
        start = clock()
        await settle(service, service.relay(), clock)
    finally:
        await channel.close()
    rows = outbox_rows(db, FAMILY)
    assert rows and {(r.status, r.error_code) for r in rows} == {("failed", "expired")}
    assert len(fake.calls_of("sendMessage")) <= 3600 / 15 + 5  # a probe every 15 s at most
    with db.connect() as conn:
        (case,) = cases.list_cases(conn)
        given_up = [e for e in cases.events_of(conn, rows[0].case_id)
                    if e["kind"] == "delivery_failed"]
    assert case.priority == "P0" and len(given_up) == len(rows)
    assert {e["data"]["code"] for e in given_up} == {"expired"}
    assert all(start + timedelta(hours=1) <= e["created_at"] <= start + timedelta(hours=1,
                                                                                 seconds=45)
               for e in given_up)


# -- WhatsApp --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as api:
        yield api


@pytest.fixture
async def wa(db: Engine, clock: FrozenClock, twilio_api: FakeTwilio) -> AsyncIterator[WhatsApp]:
    twilio_api.reset()
    service = make_wa_service(db, clock, settings_for(db, twilio_api.url))
    app = create_app(service, run_workers=False, channels=[WhatsAppChannel(service)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://10.0.0.5:8000") as http:
        yield WhatsApp(service, twilio_api, http)
    assert twilio_api.unknown == []


@pytest.mark.parametrize("knobs", [{"status": 500}, {"status": 429, "code": 63018}],
                         ids=["500", "63018"])
async def test_twenty_twilio_failures_in_a_row_lose_no_reply(
        wa: WhatsApp, clock: FrozenClock, knobs: dict[str, Any]) -> None:
    """Twenty 500s (an outage), or twenty 63018s (rate limit, no wait given): every reply
    arrives once, in order; only the tries the gate let out were made."""
    a, b = phone(), phone()
    wa.fake.fail_next(20, **knobs)
    await wa.inbound(a, "halo")
    await wa.inbound(b, "halo")
    await wa.drain(clock, step=5)
    for family in (a, b):
        assert wa.fake.bodies(family) == expected_bodies(wa.db, family)
    assert len(wa.fake.creates()) == len(outbox_rows_all(wa.db)) + 20
    assert failed_rows(wa.db) == []


def outbox_rows_all(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(OutboxMessage.id)))


# -- the priority lane -----------------------------------------------------------------------


async def test_replies_to_a_p0_family_go_before_the_queue(db: Engine, clock: FrozenClock) -> None:
    """Sixty families wait for their greeting when one more writes, then writes DARURAT:
    that family's replies (its greeting, then the emergency answer) go out first, in order."""
    service = make_service(db, clock)
    for n in range(60):
        send(service, f"family-{n}", "halo")
    send(service, "sos", "halo")
    send(service, "sos", "DARURAT")
    process_all(service.processor)
    sender = service.senders[CHANNEL]
    assert isinstance(sender, CollectingSender)
    relay = Relay(db, service.senders, clock)
    batches = []
    while True:
        before = len(sender.sent)
        if not await relay.run_once():
            break
        batches.append([r for r, _ in sender.sent[before:]])
    with db.connect() as conn:
        wanted = [r.payload for r in conn.execute(select(OutboxMessage.payload).where(
            OutboxMessage.recipient == "sos").order_by(OutboxMessage.id))]
    assert [p for r, p in sender.sent if r == "sos"] == wanted  # in order
    leading = [b for b in batches if "sos" in b]
    assert batches[0][0] == "sos" and len(leading) == len(wanted) > 1
    assert all(b[0] == "sos" for b in leading)  # each of its replies leads its batch
