"""Workers woken when work arrives: a family's reply does not wait out the poll interval.

Every wait here is bounded and far shorter than the poll interval the workers are given
(30 s), so only a wake-up can make the test pass in time. The workers are first seen idle
(their first message answered) before the message that must wake them is stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from sqlalchemy import Engine, select, text

from bot.channels.inbound import Item, store
from bot.pipeline import wake
from bot.pipeline.workers import Workers
from bot.service import Service
from storage import inbox
from storage.clock import utcnow
from storage.db import make_engine, shard_of
from storage.inbox import NOTIFY_CHANNEL
from storage.models import InboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.support import CHANNEL, CollectingSender
from tests.test_web import LK3, SETTINGS, free_port, wait_healthy

LONG_POLL = 30.0
SOON = 5.0
CHILD = "import sys; from bot.cli import main; sys.exit(main())"


async def _replied(sender: CollectingSender, user: str) -> bool:
    started = time.monotonic()
    while not sender.texts(user) and time.monotonic() - started < SOON:
        await asyncio.sleep(0.02)
    return bool(sender.texts(user))


async def test_a_stored_message_is_answered_long_before_the_poll_interval(
        service: Service) -> None:
    """An adapter stores a message: the processor runs at once, and the relay sends its
    reply at once, though both would otherwise look again only after 30 s."""
    workers = Workers(service, LONG_POLL)
    workers.start()
    sender = service.senders[CHANNEL]
    assert isinstance(sender, CollectingSender)
    try:
        for n, user in enumerate(("62811000", "62811001")):  # the first one: both idle after
            await asyncio.to_thread(store, service.db, CHANNEL,
                                    [Item(f"w{n}", user, {"text": "halo"})], [], utcnow())
            assert await _replied(sender, user), f"no reply to {user} within 5 s: not woken"
    finally:
        await workers.stop()


def _store(db: Engine, user: str, message_id: str) -> None:
    with db.begin() as conn:
        inbox.store(conn, channel="test", provider_message_id=message_id, sender=user,
                    payload={"text": "halo"}, now=utcnow())


def _processed(db: Engine, message_id: str) -> bool:
    with db.connect() as conn:
        return conn.execute(select(InboxMessage.processed_at).where(
            InboxMessage.provider_message_id == message_id)).scalar() is not None


def _soon(check: Callable[[], bool], seconds: float = SOON) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


class Child:
    """`lk3 process --shard K --nudged` as `lk3 serve` starts it; its output lines (one
    after each batch that wrote rows) are read with a bounded wait."""

    def __init__(self, cwd: Path, env: dict[str, str], shard: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, "process", "--shard", str(shard), "--nudged"],
            cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def said(self, seconds: float) -> bool:
        try:
            return self.lines.get(timeout=seconds) == "\n"
        except queue.Empty:
            return False

    def nudge(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def stop(self) -> str:
        self.proc.terminate()
        return self.proc.communicate(timeout=30)[1]


def _env(**settings: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k.upper() not in SETTINGS},
            "LK3_POLL_INTERVAL": str(LONG_POLL), **settings}


@contextlib.contextmanager
def _child(tmp_path: Path, env: dict[str, str], shard: int) -> Iterator[Child]:
    child = Child(tmp_path, env, shard)
    try:
        yield child
    finally:
        child.stop()


def test_a_child_processor_is_nudged_through_its_input_and_answers_on_its_output(
        tmp_path: Path) -> None:
    """`lk3 process --nudged` (as `lk3 serve` starts it) looks at once when a line comes on
    its input, and writes a line when it wrote replies, for the serving process's relay."""
    env = _env(LK3_PROCESSORS="2")
    assert subprocess.run([str(LK3), "db", "upgrade"], cwd=tmp_path, env=env,
                          check=False).returncode == 0
    db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    users = [f"6281{n}" for n in range(100) if shard_of(f"test:6281{n}", 2) == 1]
    _store(db, users[0], "c0")
    try:
        with _child(tmp_path, env, 2) as child:
            assert child.said(30), "the first message was not processed"  # now it is idle
            _store(db, users[1], "c1")
            child.nudge()
            assert _soon(lambda: _processed(db, "c1")), "the nudge did not wake it"
            assert child.said(SOON)  # and it told the relay
    finally:
        db.dispose()


def _listening(db: Engine) -> bool:
    with db.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query = :q"), {"q": f"LISTEN {NOTIFY_CHANNEL}"}).scalar())


def test_postgresql_notify_wakes_a_processor_in_another_process(
        db: Engine, tmp_path: Path) -> None:
    """On PostgreSQL a message stored by another process (a web process) is heard by an idle
    `lk3 process` through NOTIFY, and answered long before its 30 s poll."""
    if db.dialect.name != "postgresql":
        assert wake.listen(db, wake.Bell(), threading.Event()) is None  # SQLite: no LISTEN
        return
    env = _env(DATABASE_URL=db.url.render_as_string(hide_password=False))
    _store(db, "62810", "n0")
    with _child(tmp_path, env, 1) as child:
        assert child.said(30), "the first message was not processed"
        assert _soon(lambda: _listening(db), 30), "the processor never issued LISTEN"
        _store(db, "62811", "n1")  # no line on its input: only NOTIFY can wake it
        assert _soon(lambda: _processed(db, "n1")), "NOTIFY did not wake the processor"


def test_lk3_serve_answers_webhook_messages_at_once_through_its_child_processors(
        tmp_path: Path) -> None:
    """`lk3 serve` (its processors children, a 30 s poll): a family's message posted to the
    Telegram webhook is answered within seconds, the wake-up going from the webhook through
    a child's input, its output and the relay; a burst from six families at once too (one
    nudge may cover several messages, none is left for the poll)."""
    port, secret = free_port(), "lk3-Wake_secret-0123456789"
    with FakeTelegram.running() as fake:
        env = _env(LK3_PROCESSORS="2", LK3_PORT=str(port), TELEGRAM_BOT_TOKEN=fake.token,
                   TELEGRAM_API_BASE_URL=fake.base_url, TELEGRAM_WEBHOOK_SECRET=secret,
                   PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", TWILIO_ACCOUNT_SID="")
        proc = subprocess.Popen([str(LK3), "serve"], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_healthy(proc, port)
            chats = [7_000 + n for n in range(7)]

            def post(n: int, chat: int) -> None:
                update = {"update_id": n, "message": {
                    "message_id": n, "date": 0, "text": "halo",
                    "from": {"id": chat, "is_bot": False, "first_name": "Mama"},
                    "chat": {"id": chat, "type": "private"}}}
                r = httpx.post(f"http://127.0.0.1:{port}/webhooks/telegram", json=update,
                               headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=10)
                assert r.status_code == 200

            post(1, chats[0])  # the children may still be starting: answered when they look
            assert _soon(lambda: bool(fake.texts_to(chats[0])), LONG_POLL / 2)
            for n, chat in enumerate(chats[1:], start=2):
                threading.Thread(target=post, args=(n, chat)).start()
            assert _soon(lambda: all(fake.texts_to(c) for c in chats[1:])), \
                [c for c in chats if not fake.texts_to(c)]
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
