"""A broadcast on Telegram through python-telegram-bot and a fake Bot API on loopback: the
flood limit's 429 with retry_after in the middle of a run, the stop button under every
message (issue 18, build items 3 and 6), and a family's reply that does not wait for
broadcast messages in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.broadcast import cli
from bot.broadcast.feed import Feeder
from bot.broadcast.rates import Rates
from bot.channels import telegram
from bot.pipeline.processor import process_all
from bot.pipeline.workers import Workers
from bot.service import Service
from storage.models import OutboxMessage, Subscription
from tests.fakes.telegram_api import ACCEPT_THEN_HANG, FakeTelegram
from tests.support import FrozenClock
from tests.test_broadcast_send import create, run
from tests.test_telegram import (  # the fixtures are shared
    fake,
    polling,
    press,
    relay_of,
    settle,
    text,
    tg,
)

TEXT = "Kelas pengasuhan anak di Distrik Kwamki Narama, Sabtu 10.00 WIT. Gratis."
CHATS = [7_200_000_000 + n for n in range(6)]


async def subscribe_all(tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel,
                        clock: FrozenClock) -> None:
    for words in ("LANGGANAN", "semua", "iya"):
        for chat in CHATS:
            fake.queue_update(text(chat, words))
        await polling.run_polling(iterations=1)
        await settle(tg, relay_of(tg), clock)


async def six_due(tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel,
                  clock: FrozenClock, tmp_path: Path) -> None:
    """Six subscribers, a broadcast sent to them, its six outbox rows all due now."""
    await subscribe_all(tg, fake, polling, clock)
    clock.advance(hours=2)
    got = create(tg, clock, tmp_path, text=TEXT)
    run(tg, clock, "send", id=got["id"])
    Feeder(tg.db, cli.bundle().catalog, cli.resting_states(), Rates(telegram_mps=25),
           clock, None).run_once()
    clock.advance(seconds=1)


def broadcasts_to(fake: FakeTelegram, chat: int) -> list[str]:
    return [s.text for s in fake.messages_to(chat) if TEXT in s.text]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_429_mid_broadcast_waits_then_resumes_each_chat_once(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, tmp_path: Path) -> None:
    """The first message goes; the second meets Telegram's 429 "retry after 30": nothing
    more goes to anyone for 30 seconds, then the rest, every subscriber exactly once, each
    message ending with who sends it and a button that stops them."""
    await subscribe_all(tg, fake, polling, clock)
    clock.advance(hours=2)
    got = create(tg, clock, tmp_path, text=TEXT)
    assert got["recipients"] == [{"channel": "telegram", "language": "id", "count": 6}]
    run(tg, clock, "send", id=got["id"])
    Feeder(tg.db, cli.bundle().catalog, cli.resting_states(), Rates(telegram_mps=25),
           clock, None).run_once()  # 20 a second: one due now, the next 0.05 s later...
    relay = relay_of(tg)
    assert await relay.run_once() == 1
    clock.advance(seconds=0.05)
    fake.fail_next("sendMessage", 1, status=429, retry_after=30)
    assert await relay.run_once() == 1  # tried, and told to wait
    before = sum(len(broadcasts_to(fake, c)) for c in CHATS)
    assert before == 1
    for _ in range(29):
        clock.advance(seconds=1)
        await relay.run_once()
    assert sum(len(broadcasts_to(fake, c)) for c in CHATS) == 1  # still waiting
    Feeder(tg.db, cli.bundle().catalog, cli.resting_states(), Rates(telegram_mps=25),
           clock, None).run_once()
    assert "sedang dikirim" in run(tg, clock, "status", id=got["id"])[1]  # not yet done
    clock.advance(seconds=1)
    await settle(tg, relay, clock)
    assert [len(broadcasts_to(fake, c)) for c in CHATS] == [1] * 6
    last = next(s for s in fake.messages_to(CHATS[0]) if TEXT in s.text)
    assert "LK3 Dinas Sosial Kabupaten Mimika" in last.text and "BERHENTI INFO" in last.text
    assert last.buttons() == [("1. Berhenti terima info", "cmd:unsubscribe")]
    for _ in range(2):  # the job sees every message handed over: the broadcast is done
        Feeder(tg.db, cli.bundle().catalog, cli.resting_states(), Rates(telegram_mps=25),
               clock, None).run_once()
    report = run(tg, clock, "status", id=got["id"])[1]
    assert "· selesai" in report and "sampai 6" in report and "dibaca" not in report


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_the_stop_button_under_a_broadcast_ends_every_topic(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, tmp_path: Path) -> None:
    """Pressing "Berhenti terima info" under the message ends every topic of that chat,
    the family is told, and the next broadcast leaves them out."""
    await subscribe_all(tg, fake, polling, clock)
    got = create(tg, clock, tmp_path, text=TEXT)
    run(tg, clock, "send", id=got["id"])
    feed = Feeder(tg.db, cli.bundle().catalog, cli.resting_states(), Rates(telegram_mps=25),
                  clock, None)
    for _ in range(3):
        feed.run_once()
        await settle(tg, relay_of(tg), clock)
        clock.advance(seconds=1)
    chat = CHATS[2]
    (sent,) = [s for s in fake.messages_to(chat) if TEXT in s.text]
    fake.queue_update(press(chat, sent, "cmd:unsubscribe"))
    await polling.run_polling(iterations=1)
    process_all(tg.processor)
    await settle(tg, relay_of(tg), clock)
    assert any("berhenti terima info" in s.text for s in fake.messages_to(chat)[-2:])
    with tg.db.connect() as conn:
        assert len(list(conn.execute(select(Subscription.id).where(
            Subscription.status == "active")))) == 3 * (len(CHATS) - 1)
    again = create(tg, clock, tmp_path, text=TEXT)
    assert again["excluded"] == {"not_subscribed": 1} or again["recipients"][0]["count"] == 5


async def _until(what: str, check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for the workers (other threads) to get there; bounded, never a measurement."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not within {seconds:.0f} s: {what}"
        await asyncio.sleep(0.02)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_familys_reply_goes_while_broadcast_messages_hang(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, tmp_path: Path) -> None:
    """The service's workers send six broadcast messages that Telegram takes and does not
    answer; a family writes meanwhile: their reply goes out while those six are still in
    flight (not after them), and every subscriber still gets the broadcast once."""
    await six_due(tg, fake, polling, clock, tmp_path)
    fake.fail_next("sendMessage", len(CHATS), status=ACCEPT_THEN_HANG)
    workers = Workers(tg, 30.0)  # one process for all; polls every 30 s: only a bell is quick
    workers.start()
    try:
        await _until("the six broadcast messages in flight", lambda: sum(
            len(broadcasts_to(fake, c)) for c in CHATS) == len(CHATS))
        family = 7_299_000_001
        fake.queue_update(text(family, "halo"))
        await polling.run_polling(iterations=1)
        await _until("the family's reply", lambda: bool(fake.texts_to(family)))
        with tg.db.connect() as conn:
            broadcast = conn.execute(select(OutboxMessage.status, OutboxMessage.last_error)
                                     .where(OutboxMessage.dedupe_key.like("bc:%"))).all()
        assert broadcast == [("sending", None)] * len(CHATS)  # still unanswered, not failed
    finally:
        fake.answer_hanging()
        await workers.stop()
    await settle(tg, relay_of(tg), clock)
    assert [len(broadcasts_to(fake, c)) for c in CHATS] == [1] * len(CHATS)
