"""The load of `lk3 bench --broadcast`: subscribers in bulk, the broadcast created and
started by `lk3 broadcast create` and `lk3 broadcast send` themselves, and the memory
measurement of one size, which runs in a process of its own (`python -m
bot.bench.broadcastbench --memory N`) so that the peaks of two sizes never mix.

Subscribers are written with plain SQL, as LANGGANAN leaves a family: a Telegram contact,
one active consent record for the topic, a conversation resting at the flow's start.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import multiprocessing
import re
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, func, insert, select

from bot.config import Settings
from storage import keys, migrate
from storage.clock import utcnow
from storage.db import make_engine
from storage.models import BroadcastRecipient, Contact, Conversation, OutboxMessage, Subscription

TOPIC = "sosialisasi"
SUBSCRIBERS = 5_000_000  # chat id of subscriber 0 (families write from 10,000 on)
CHUNK = 2_000  # rows per INSERT: the setup's memory stays the same for every size
BENCH_MPS = 250.0  # TELEGRAM_BROADCAST_MPS for the run (bot/bench/broadcastbench.py says why)
TEXTS = {"id": "Sosialisasi LK3 di Distrik Wania, Kamis 09.00 WIT di kantor distrik. Gratis.",
         "en": "LK3 information session in Wania district, Thursday 09:00 WIT. Free."}
CONTACTS = cast(Table, Contact.__table__)
SUBS = cast(Table, Subscription.__table__)
CONVS = cast(Table, Conversation.__table__)
RECIPIENTS = cast(Table, BroadcastRecipient.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)


def bench_settings(settings: Settings) -> Settings:
    """The deployment's settings with the bench's broadcast limit and no quiet hours (the
    machine's clock may be at night in WIT)."""
    return settings.model_copy(update={"telegram_broadcast_mps": BENCH_MPS,
                                       "broadcast_quiet_hours": ""})


def subscribe(db: Engine, count: int, now: datetime, first_chat: int = SUBSCRIBERS) -> None:
    """`count` Telegram families subscribed to TOPIC (one in ten in English)."""
    from bot.broadcast.cli import bundle

    flow = bundle().flow
    with db.begin() as conn:
        base = int(conn.execute(select(func.coalesce(func.max(CONTACTS.c.id), 0))).scalar_one())
        for start in range(0, count, CHUNK):
            people = [(base + 1 + i, "en" if i % 10 == 9 else "id", str(first_chat + i))
                      for i in range(start, min(count, start + CHUNK))]
            conn.execute(insert(CONTACTS), [{
                "id": cid, "channel": "telegram", "provider_user_id": chat, "language": lang,
                "status": "active", "last_inbound_at": now, "created_at": now}
                for cid, lang, chat in people])
            conn.execute(insert(SUBS), [{
                "contact_id": cid, "topic": TOPIC, "status": "active",
                "text_version": flow.consent_version or "bench", "language": lang,
                "source": "keyword", "opted_in_at": now, "opted_out_at": None,
                "opt_out_reason": None} for cid, lang, _ in people])
            conn.execute(insert(CONVS), [{
                "contact_id": cid, "flow": flow.name, "flow_version": flow.version,
                "state": flow.initial, "language": lang, "answers": {}, "flags": [],
                "misses": 0, "case_id": None, "created_at": now, "updated_at": now}
                for cid, lang, _ in people])


def _lk3_broadcast(argv: list[str], settings: Settings, db: Engine) -> str:
    """One `lk3 broadcast ...` command on `db`, parsed as `lk3` parses it; its output."""
    from bot.broadcast import cli

    parser = argparse.ArgumentParser(prog="lk3")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.run(parser.parse_args(["broadcast", *argv]), settings, db)
    if code != 0:
        raise RuntimeError(f"lk3 broadcast {argv[0]} refused: {out.getvalue().strip()}")
    return out.getvalue()


def create(db: Engine, settings: Settings, folder: Path) -> dict[str, Any]:
    """`lk3 broadcast create --topic TOPIC ... --json`: the draft and its preview."""
    texts = []
    for lang, text in TEXTS.items():
        path = folder / f"info-{lang}.txt"
        path.write_text(text, encoding="utf-8")
        texts.append(str(path))
    made: dict[str, Any] = json.loads(_lk3_broadcast(
        ["create", "--topic", TOPIC, "--text-file", texts[0], "--text-file-en", texts[1],
         "--json"], settings, db))
    return made


def start(db: Engine, settings: Settings, bid: int) -> None:
    """`lk3 broadcast send BID`: it starts now."""
    _lk3_broadcast(["send", str(bid)], settings, db)


def stepping(start: datetime, step: timedelta) -> Callable[[], datetime]:
    """A clock a step later at each reading: the broadcast job runs once a second in service,
    so each of its runs here finds one second's worth of recipients to queue."""
    readings = [start - step]

    def now() -> datetime:
        readings[0] += step
        return readings[0]

    return now


def _subscribe_file(url: str, count: int, key: str) -> None:
    """`subscribe` in a process of its own (memory's subscribers)."""
    keys.install_line(key)
    db = make_engine(url)
    try:
        subscribe(db, count, utcnow())
    finally:
        db.dispose()


def kib(field: str) -> int:
    """A figure of /proc/self/status, in KiB (VmRSS now, VmHWM the peak)."""
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(found.group(1)) if found else 0


def _reset_peak() -> bool:
    """Start the peak (VmHWM) afresh from here (Linux, /proc/self/clear_refs "5")."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory(recipients: int) -> dict[str, Any]:
    """Peak memory of creating a broadcast to `recipients` and feeding all of them to the
    outbox with the real job (Feeder.run_once, each run a second later), in this process.
    The subscribers are written first, by another process (as families subscribe through
    the service over months): what writing them leaves in a process is not the broadcast's;
    the peak is counted from after that."""
    from bot.broadcast import cli

    settings = bench_settings(Settings())
    with tempfile.TemporaryDirectory(prefix="lk3-broadcast-mem-") as name, \
            keys.throwaway() as key:
        db = make_engine(f"sqlite:///{Path(name) / 'lk3.db'}")
        try:
            migrate.upgrade(db)
            writer = multiprocessing.get_context("spawn").Process(
                target=_subscribe_file, args=(str(db.url), recipients, key))
            writer.start()
            writer.join()
            if writer.exitcode != 0:
                raise RuntimeError(f"writing {recipients} subscribers failed")
            cli.resting_states()  # the flows, loaded whatever the size
            gc.collect()
            baseline, reset = kib("VmRSS"), _reset_peak()
            began = time.perf_counter()
            bid = int(create(db, settings, Path(name))["id"])
            start(db, settings, bid)
            created = kib("VmHWM")
            feeder = cli.feeder(db, settings, stepping(utcnow(), timedelta(seconds=1)))
            runs = 0
            while feeder.run_once():
                runs += 1
            seconds, peak = time.perf_counter() - began, kib("VmHWM")
            with db.connect() as conn:
                queued = conn.execute(select(func.count()).select_from(RECIPIENTS).where(
                    RECIPIENTS.c.broadcast_id == bid, RECIPIENTS.c.status == "queued")
                ).scalar_one()
                rows = conn.execute(select(func.count()).select_from(OUTBOX).where(
                    OUTBOX.c.dedupe_key.like(f"bc:{bid}:%"))).scalar_one()
        finally:
            db.dispose()
    return {"recipients": recipients, "queued": int(queued), "outbox_rows": int(rows),
            "feeder_runs": runs, "seconds": round(seconds, 2), "baseline_kib": baseline,
            "peak_after_create_kib": created, "peak_kib": peak, "peak_reset": reset}
