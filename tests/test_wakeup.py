"""Workers woken when work arrives: a family's reply does not wait out the poll interval.

Every wait here is bounded and far shorter than the poll interval the workers are given
(30 s), so only a wake-up can make the test pass in time."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, select

from bot import wake
from bot.channels.inbound import Item, store
from bot.service import Service
from bot.workers import Workers
from storage import inbox
from storage.clock import utcnow
from storage.db import make_engine, shard_of
from storage.models import InboxMessage, ProcessorBeat
from tests.support import CHANNEL, CollectingSender
from tests.test_web import LK3, SETTINGS

LONG_POLL = 30.0
SOON = 5.0


async def test_a_stored_message_is_answered_long_before_the_poll_interval(
        service: Service) -> None:
    """An adapter stores a message: the processor runs at once, and the relay sends its
    reply at once, though both would otherwise look again only after 30 s."""
    workers = Workers(service, LONG_POLL)
    workers.start()
    try:
        await asyncio.sleep(0.2)  # both loops found nothing and wait
        started = time.monotonic()
        await asyncio.to_thread(store, service.db, CHANNEL,
                                [Item("w1", "62811000", {"text": "halo"})], [], utcnow())
        sender = service.senders[CHANNEL]
        assert isinstance(sender, CollectingSender)
        while not sender.texts("62811000") and time.monotonic() - started < SOON:
            await asyncio.sleep(0.02)
        assert sender.texts("62811000"), "no reply within 5 s: nobody was woken"
    finally:
        await workers.stop()


def test_postgresql_notify_wakes_a_listener_in_another_connection(db: Engine) -> None:
    """On PostgreSQL storing a message (in any process) rings a listening processor."""
    if db.dialect.name != "postgresql":
        assert wake.listen(db, wake.Bell(), threading.Event()) is None  # SQLite: polling
        return
    bell, stop = wake.Bell(), threading.Event()
    wake.listen(db, bell, stop)
    try:
        time.sleep(0.5)  # LISTEN is issued
        with db.begin() as conn:
            inbox.store(conn, channel=CHANNEL, provider_message_id="n1", sender="6281",
                        payload={"text": "halo"}, now=utcnow())
        assert bell.wait(SOON), "no NOTIFY heard"
    finally:
        stop.set()


def _processed(db: Engine, message_id: str) -> bool:
    with db.connect() as conn:
        return conn.execute(select(InboxMessage.processed_at).where(
            InboxMessage.provider_message_id == message_id)).scalar() is not None


def test_a_child_processor_is_nudged_through_its_input_and_answers_on_its_output(
        tmp_path: Path) -> None:
    """`lk3 process --nudged` (as `lk3 serve` starts it) looks at once when a line comes on
    its input, and writes a line when it wrote replies, for the serving process's relay."""
    env = {**{k: v for k, v in os.environ.items() if k.upper() not in SETTINGS},
           "LK3_POLL_INTERVAL": str(LONG_POLL), "LK3_PROCESSORS": "2"}
    assert subprocess.run([str(LK3), "db", "upgrade"], cwd=tmp_path, env=env,
                          check=False).returncode == 0
    db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    child = subprocess.Popen([sys.executable, "-c", "import sys; from bot.cli import main; "
                              "sys.exit(main())", "process", "--shard", "2", "--nudged"],
                             cwd=tmp_path, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # ready: it beat, and found the inbox empty
            with db.connect() as conn:
                if conn.execute(select(ProcessorBeat.id)).first() is not None:
                    break
            time.sleep(0.1)
        time.sleep(0.5)
        user = next(f"6281{n}" for n in range(100) if shard_of(f"test:6281{n}", 2) == 1)
        with db.begin() as conn:
            inbox.store(conn, channel="test", provider_message_id="c1", sender=user,
                        payload={"text": "halo"}, now=utcnow())
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("\n")
        child.stdin.flush()
        started = time.monotonic()
        while not _processed(db, "c1") and time.monotonic() - started < SOON:
            time.sleep(0.05)
        assert _processed(db, "c1"), "the nudge did not wake it"
        assert child.stdout.readline() == "\n"  # and it told the relay
    finally:
        child.terminate()
        child.communicate(timeout=30)
        db.dispose()
