"""Leases belong to a live relay process: after a crash a restarted service sends the rows
its dead process was sending at once (measured with the frozen clock), a relay on another
machine waits for its silence, two live relays never send a row twice, and the one
duplicate left (the provider took it, the process died before recording it) is exactly the
row in flight. Real processes are killed; Telegram is the fake, over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bot.channels import telegram
from bot.pipeline.lease import Process, process_of
from bot.pipeline.processor import process_all
from bot.pipeline.relay import Relay
from bot.service import Service
from storage.clock import utc
from storage.models import OutboxMessage
from tests.fakes.telegram_api import ACCEPT_THEN_HANG, FakeTelegram
from tests.support import FrozenClock, make_service
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
    tg_settings,
)

THIRD = 7_100_000_003


@pytest.fixture
def tg(db: Engine, clock: FrozenClock, fake: FakeTelegram) -> Service:
    service = make_service(db, clock)
    service.settings = tg_settings(db, fake, HTTP_TIMEOUT=30)
    return service


@pytest.fixture
def doomed() -> Iterator[subprocess.Popen[bytes]]:
    """A process of this machine that the test kills as `kill -9` would."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    child.kill()
    child.wait()


async def greet(tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel,
                *chats: int) -> None:
    for chat in chats:
        fake.queue_update(text(chat, "halo"))
    await polling.run_polling(iterations=1)
    process_all(tg.processor)


async def until(check: Callable[[], object], seconds: float = 10) -> None:
    """Wait for the fake to have seen a call (I/O arriving, not a timed behaviour)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the fake never saw the call"
        await asyncio.sleep(0.01)


async def crash_mid_send(relay: Relay, fake: FakeTelegram, calls: int = 1) -> None:
    """The relay takes its batch and is cut off inside its sendMessage calls (`calls` of
    them in flight)."""
    task = asyncio.create_task(relay.run_once())
    await until(lambda: len(fake.calls_of("sendMessage")) >= calls)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def restarted(tg: Service) -> AsyncIterator[Relay]:
    """The relay of a service started anew: its own Telegram client and rate limits."""
    channel = telegram.TelegramChannel(tg, poll_timeout=0)
    try:
        yield Relay(tg.db, {"telegram": channel.sender}, tg.clock, rng=random.Random(7))
    finally:
        await channel.close()


def sending(db: Engine) -> list[int]:
    with db.connect() as conn:
        return list(conn.execute(select(OutboxMessage.id).where(
            OutboxMessage.status == "sending")).scalars())


async def test_a_restarted_service_sends_its_dead_process_rows_at_once(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, polling: telegram.TelegramChannel,
        doomed: subprocess.Popen[bytes]) -> None:
    """The relay process dies (kill -9) mid-send holding two families' replies: the restarted
    service sends them at once (0 s on the frozen clock; before: the 60 s lease), each reply
    once and in order, the rest a second apart as Telegram's per-chat limit wants."""
    await greet(tg, fake, polling, FAMILY, OTHER)
    dead = Relay(tg.db, tg.senders, clock, rng=random.Random(7), process=process_of(doomed.pid))
    fake.fail_next("sendMessage", 2, status=0)  # both in flight, no answer: it dies waiting
    await crash_mid_send(dead, fake, calls=2)
    doomed.kill()
    doomed.wait()
    assert len(sending(tg.db)) == 2  # one head per family, held by the dead process
    crash = clock()
    async with restarted(tg) as relay:
        await settle(tg, relay, clock)
    for chat in (FAMILY, OTHER):
        assert_each_reply_once_in_order(tg.db, fake, chat)
        rows = outbox_rows(tg.db, chat)
        assert utc(rows[0].sent_at) == crash  # taken over at once
        assert utc(rows[-1].sent_at) - crash <= timedelta(seconds=len(rows) - 1)


async def test_a_relay_on_another_machine_is_taken_over_after_its_silence(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """A relay elsewhere cannot be asked about its process: its rows wait until it has been
    silent for OUTBOX_OWNER_TIMEOUT (15 s), then go out once, in order."""
    await greet(tg, fake, polling, FAMILY)
    elsewhere = Relay(tg.db, tg.senders, clock, process=Process("other-host", "b/pid:[1]", 7,
                                                                  "1234"))
    fake.fail_next("sendMessage", 1, status=0)
    await crash_mid_send(elsewhere, fake)
    here = relay_of(tg)
    assert await here.run_once() == 0
    clock.advance(seconds=14.9)
    assert await here.run_once() == 0 and fake.sent == []
    clock.advance(seconds=0.1)
    assert await here.run_once() == 1
    await settle(tg, here, clock)
    assert_each_reply_once_in_order(tg.db, fake, FAMILY)


async def test_two_live_relays_never_send_a_reply_twice(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """Relay A waits two minutes for Telegram's answer (alive, beating): relay B leaves its
    row alone (before: taken again after the 60 s lease, and sent twice). Then both relays
    run side by side over several families: every reply once, in order."""
    a, b = relay_of(tg), relay_of(tg)
    await greet(tg, fake, polling, FAMILY)
    fake.fail_next("sendMessage", 1, status=ACCEPT_THEN_HANG)
    slow = asyncio.create_task(a.run_once())
    await until(lambda: fake.sent)  # Telegram took it; A waits for the answer
    for _ in range(24):
        clock.advance(seconds=5)
        await asyncio.to_thread(a.beat)
        assert await b.run_once() == 0
    fake.answer_hanging()
    assert await slow == 1
    await greet(tg, fake, polling, OTHER, THIRD)
    fake.fail_next("sendMessage", 3, status=500)
    for _ in range(300):
        process_all(tg.processor)
        if sum(await asyncio.gather(a.run_once(), b.run_once())):
            continue
        with tg.db.connect() as conn:
            waits = [utc(t) for t in conn.execute(select(OutboxMessage.available_at).where(
                OutboxMessage.status.in_(("pending", "sending")))).scalars()]
        if not waits:
            break
        clock.now = max(clock.now, min(waits))
    for chat in (FAMILY, OTHER, THIRD):
        assert_each_reply_once_in_order(tg.db, fake, chat)


async def test_the_in_flight_duplicate_is_the_one_row_telegram_took_before_the_crash(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, polling: telegram.TelegramChannel,
        doomed: subprocess.Popen[bytes]) -> None:
    """The documented duplicate: Telegram took the reply, the process died before recording
    it. The restarted service sends that reply again, and only that one."""
    await greet(tg, fake, polling, FAMILY)
    dead = Relay(tg.db, tg.senders, clock, process=process_of(doomed.pid))
    fake.fail_next("sendMessage", 1, status=ACCEPT_THEN_HANG)
    await crash_mid_send(dead, fake)
    doomed.kill()
    doomed.wait()
    async with restarted(tg) as relay:
        await settle(tg, relay, clock)
    texts = [r.payload["text"] for r in outbox_rows(tg.db, FAMILY)]
    assert fake.texts_to(FAMILY) == [texts[0], *texts]
