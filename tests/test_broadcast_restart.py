"""A broadcast survives `kill -9`: `lk3 serve` is killed while it sends to 150 Telegram
subscribers (the fake Bot API on loopback), started again, and finishes: everyone once, and
twice only a message that was in flight at the kill (the relay sends to several chats at
once; Telegram has no idempotency key) (issue 18, build item 3). Real processes, real time:
the waits are for another process, bounded, never a measurement."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy import text as sql

from storage import migrate
from storage.db import make_engine
from storage.models import Contact
from tests.fakes.telegram_api import FakeTelegram
from tests.support import read_sql
from tests.test_cli import lk3
from tests.test_telegram import _free_port, _serve, _stop, _until, fake

TEXT = "Jam layanan LK3 selama libur Natal: 28-31 Desember buka 08.00-12.00 WIT."
CHATS = [7_300_000_000 + n for n in range(150)]


def subscribers(tmp_path: Path) -> None:
    """150 people subscribed on Telegram (made directly: how they subscribed is not the
    point here; tests/test_broadcast_subscribe.py is)."""
    db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    migrate.upgrade(db)
    now = datetime.now(UTC)
    with db.begin() as conn:
        for chat in CHATS:
            cid = conn.execute(insert(Contact).values(  # through the model: address sealed
                channel="telegram", provider_user_id=str(chat), language="id", status="active",
                created_at=now, last_inbound_at=now).returning(Contact.id)).scalar()
            conn.execute(sql(
                "INSERT INTO subscriptions (contact_id, topic, status, text_version, language,"
                " source, opted_in_at) VALUES (:c, 'layanan', 'active', 'v1', 'id', 'link', :t)"),
                {"c": cid, "t": now})
    db.dispose()


def sending(tmp_path: Path) -> set[str]:
    """Chats whose broadcast message the killed relay was sending (leased, not recorded)."""
    db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    with db.connect() as conn:
        chats = {str(r.recipient) for r in read_sql(  # recipients are sealed: opened here
            conn, "SELECT recipient FROM outbox WHERE status = 'sending' "
            "AND dedupe_key LIKE 'bc:%'")}
    db.dispose()
    return chats


def received(fake: FakeTelegram) -> Counter[str]:
    return Counter(s.chat_id for s in list(fake.sent) if TEXT in s.text)


def test_kill_9_mid_broadcast_then_restart_sends_the_rest_once(
        tmp_path: Path, fake: FakeTelegram) -> None:
    subscribers(tmp_path)
    (tmp_path / "info.txt").write_text(TEXT, encoding="utf-8")
    settings = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}
    made = lk3("broadcast", "create", "--topic", "layanan", "--text-file", "info.txt",
               cwd=tmp_path, settings=settings)
    assert made.returncode == 0, made.stderr
    assert lk3("broadcast", "send", "1", cwd=tmp_path, settings=settings).returncode == 0
    env = {"TELEGRAM_BROADCAST_MPS": "25", "BROADCAST_QUIET_HOURS": ""}
    first = _serve(tmp_path, fake, _free_port(), **env)
    try:
        _until(first, lambda: sum(received(fake).values()) >= 40)
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
        first.communicate(timeout=30)  # its processor child stops too (its stdin closed)
    before = sum(received(fake).values())
    assert before < len(CHATS), "the broadcast ended before the kill; nothing was tested"
    in_flight = sending(tmp_path)  # handed to the fake, perhaps, and not recorded as sent
    second = _serve(tmp_path, fake, _free_port(), **env)
    try:
        _until(second, lambda: len(received(fake)) == len(CHATS), seconds=60)
        _until(second, lambda: json.loads(lk3(
            "broadcast", "status", "1", "--json", cwd=tmp_path, settings=settings
        ).stdout)["status"] == "done", seconds=30)
    finally:
        _stop(second)
    counts = received(fake)
    assert set(counts) == {str(c) for c in CHATS}
    twice = {chat for chat, n in counts.items() if n > 1}
    assert twice <= in_flight, (twice, in_flight)  # only what was in flight at the kill
    assert max(counts.values()) <= 2
