"""`lk3 broadcast topics|link|create|send|status|cancel|list|run`: information broadcasts.

Wired in bot/cli: `add_parser(sub)` adds the subcommand, `run(args, settings)` handles it
(`run`, the job itself, is a serving process: bot/cli starts it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.broadcast import links, plan, report
from bot.broadcast.feed import Feeder
from bot.broadcast.rates import Rates
from bot.broadcast.wit import TimeError, parse_wit, quiet_hours, show
from bot.broadcast.words import blocker, word
from bot.config import ConfigError, Settings
from flows.broadcast import load_topics
from flows.loader import Bundle
from storage import broadcasts, subscriptions
from storage.clock import utcnow

EXAMPLES = ("lk3 broadcast topics\nlk3 broadcast link --qr poster.png\n"
            "lk3 broadcast create --topic sosialisasi --text-file info.txt "
            "--text-file-en info-en.txt --whatsapp-template HX123 --at \"2027-01-15 09:00\"\n"
            "lk3 broadcast send 3\nlk3 broadcast status 3 --json\nlk3 broadcast cancel 3\n"
            "lk3 broadcast list")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("broadcast", help="information broadcasts to families who subscribed",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmd = p.add_subparsers(dest="broadcast_command", required=True)
    cmd.add_parser("topics", help="the topics and their subscribers")
    link = cmd.add_parser("link", help="the subscribe links for posters")
    link.add_argument("--qr", type=Path, metavar="FILE.png|FILE.svg")
    create = cmd.add_parser("create", help="a broadcast and its preview")
    create.add_argument("--topic", required=True)
    create.add_argument("--text-file", type=Path, required=True)
    create.add_argument("--text-file-en", type=Path)
    create.add_argument("--whatsapp-template", metavar="CONTENT_SID")
    create.add_argument("--at", metavar="YYYY-MM-DD HH:MM", help="in WIT")
    create.add_argument("--distrik", nargs="+", default=[], metavar="CODE")
    create.add_argument("--channel", choices=("telegram", "whatsapp"))
    create.add_argument("--json", action="store_true")
    for name, text in (("send", "start it now"), ("cancel", "stop what is not yet sent")):
        cmd.add_parser(name, help=text).add_argument("id", type=int)
    status = cmd.add_parser("status", help="counts by state, with a progress bar")
    status.add_argument("id", type=int)
    status.add_argument("--json", action="store_true")
    status.add_argument("--csv", type=Path, metavar="FILE",
                        help="also write one row per recipient (no phone numbers)")
    cmd.add_parser("list", help="the latest broadcasts")
    job = cmd.add_parser("run", help="the broadcast job and the sending of broadcast "
                         "messages, until Ctrl-C (lk3 serve already runs it; another one "
                         "anywhere is harmless)")
    job.add_argument("--nudged", action="store_true", help=argparse.SUPPRESS)  # lk3 serve's


@cache
def bundle() -> Bundle:
    from flows.actions import ACTIONS, FLAGS
    from flows.loader import load_bundle

    return load_bundle("intake", ACTIONS, FLAGS)


def resting_states() -> frozenset[str]:
    """States where no conversation is in progress: resting ones, and the greeting (a
    person who only subscribed waits there, having answered nothing)."""
    flow = bundle().flow
    return frozenset({flow.initial, *(s.name for s in flow.states.values() if s.end)})


def feeder(db: Engine, settings: Settings, clock: Callable[[], datetime] = utcnow) -> Feeder:
    """The broadcast job for the serving process (wired beside the scheduler)."""
    return Feeder(db, bundle().catalog, resting_states(), Rates.of(settings), clock,
                  quiet_hours(settings.broadcast_quiet_hours))


def run(args: argparse.Namespace, settings: Settings, db: Engine | None = None,
        clock: Callable[[], datetime] = utcnow) -> int:
    """One `lk3 broadcast` command; 0 when done, 1 when refused (the reason on stderr)."""
    if args.broadcast_command == "link":
        return _link(args, settings)
    if db is None:
        from bot.service import open_database

        db = open_database(settings, auto_migrate=True)
    handler = {"topics": _topics, "create": _create, "send": _send, "status": _status,
               "cancel": _cancel, "list": _list}[args.broadcast_command]
    try:
        return handler(args, settings, db, clock())
    except (ConfigError, TimeError) as exc:
        print(exc, file=sys.stderr)
        return 1


def actor() -> str:
    from bot.privacy.access import cli_actor

    return cli_actor()


def _link(args: argparse.Namespace, settings: Settings) -> int:
    found = links.links(settings)
    for channel, url in found.items():
        print(f"{channel}: {url}")
    if args.qr is not None:
        for n, (channel, url) in enumerate(sorted(found.items(), key=lambda x: x[0] != "whatsapp")):
            path = args.qr if n == 0 else args.qr.with_stem(f"{args.qr.stem}-{channel}")
            links.write_qr(url, path)
            print(f"QR ({channel}): {path}")
    return 0


def _topics(args: argparse.Namespace, settings: Settings, db: Engine, now: datetime) -> int:
    topics = load_topics()
    labels = bundle().catalog
    with db.connect() as conn:
        counts = subscriptions.counts(conn)
    for t in topics.values:
        print(f"{t}\t{counts.get(t, 0)}\t{labels.text(f'list.broadcast_topics.{t}', 'id')}")
    return 0


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"Berkas {path} tidak bisa dibaca: {exc.strerror}.") from None


def _create(args: argparse.Namespace, settings: Settings, db: Engine, now: datetime) -> int:
    texts = {"id": _read(args.text_file) or ""}
    if (en := _read(args.text_file_en)) is not None:
        texts["en"] = en
    at = parse_wit(args.at) if args.at else None
    if at is not None and at <= now:
        raise ConfigError(f"--at {args.at} WIT sudah lewat; pilih waktu yang akan datang.")
    req = plan.Request(args.topic, texts, args.whatsapp_template, at, tuple(args.distrik),
                       (args.channel,) if args.channel else (), actor())
    with db.begin() as conn:
        preview = plan.preview(conn, req, now, resting_states(), Rates.of(settings),
                               load_topics().values)
        bid = None if preview.blockers else plan.create(conn, req, preview, now)
    shown = {"id": bid, "status": None if bid is None else ("scheduled" if at else "draft"),
             "scheduled_at": show(at), **preview.as_dict()}
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print("\n".join(_preview_lines(shown)))
    return 1 if preview.blockers else 0


def _preview_lines(p: dict[str, Any]) -> list[str]:
    if p["id"]:
        head = f"Siaran {p['id']} ({word('status', p['status'])}, {p['scheduled_at']})"
    else:
        head = "Siaran TIDAK dibuat: ada penghalang"
    out = [head, "Penerima:"]
    out += [f"  {word('channel', r['channel'])}, bahasa {r['language']}: {r['count']}"
            for r in p["recipients"]] or ["  -"]
    if p["deferred"]:
        out.append(f"  (sedang dalam percakapan, dikirim setelah selesai: {p['deferred']})")
    out.append("Tidak dikirim:")
    out += [f"  {word('reason', why)}: {n}" for why, n in p["excluded"].items()] or ["  -"]
    out += [f"Perkiraan waktu {word('channel', c)}: {_duration(s)}"
            for c, s in p["estimated_seconds"].items()]
    out += [f"WhatsApp: {d} hari (batas harian)" for c, d in p["days"].items() if d > 1]
    out += [f"PENGHALANG: {blocker(b)}" for b in p["blockers"]]
    return out


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} detik"
    minutes = round(seconds / 60)
    return f"{minutes} menit" if minutes < 60 else f"{minutes // 60} jam {minutes % 60} menit"


def _get(db: Engine, bid: int) -> broadcasts.Row:
    with db.connect() as conn:
        row = broadcasts.get(conn, bid)
    if row is None:
        raise ConfigError(f"Siaran {bid} tidak ada (lihat lk3 broadcast list).")
    return row


def _send(args: argparse.Namespace, settings: Settings, db: Engine, now: datetime) -> int:
    row = _get(db, args.id)
    with db.begin() as conn:
        started = broadcasts.start(conn, row.id, now)
        if started:
            plan.audit(conn, row.id, actor(), "broadcast_sent", now)
    if not started:
        raise ConfigError(f"Siaran {row.id} {word('status', row.status)}: hanya draf atau yang "
                          "terjadwal bisa dikirim.")
    print(f"Siaran {row.id} mulai dikirim ({row.recipients} penerima); lihat: "
          f"lk3 broadcast status {row.id}")
    return 0


def _cancel(args: argparse.Namespace, settings: Settings, db: Engine, now: datetime) -> int:
    row = _get(db, args.id)
    with db.begin() as conn:
        left = broadcasts.cancel(conn, row.id, now)
        if left is not None:
            plan.audit(conn, row.id, actor(), "broadcast_cancelled", now, not_sent=left)
    if left is None:
        raise ConfigError(f"Siaran {row.id} sudah {word('status', row.status)}.")
    print(f"Siaran {row.id} dibatalkan; {left} penerima belum dikirimi dan tidak akan.")
    return 0


def _status(args: argparse.Namespace, settings: Settings, db: Engine, now: datetime) -> int:
    row = _get(db, args.id)
    with db.connect() as conn:
        got = report.status(conn, row, now, Rates.of(settings))
        rows = report.csv_rows(conn, row.id) if getattr(args, "csv", None) else None
    if rows is not None:
        _write_csv(args.csv, rows)
    print(json.dumps(got, indent=2) if args.json else "\n".join(report.lines(got)))
    return 0


def _write_csv(path: Path, rows: list[tuple[str, ...]]) -> None:
    """A new file, mode 600 (it lists who subscribed); an existing one is not overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(f"Berkas {path} tidak bisa dibuat: {exc.strerror}.") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)


def _list(args: argparse.Namespace, settings: Settings, db: Engine, now: datetime) -> int:
    with db.connect() as conn:
        rows = broadcasts.listing(conn)
    for r in rows:
        print(f"{r.id}\t{word('status', r.status)}\t{r.topic}\t{r.recipients} penerima\t"
              f"{show(r.scheduled_at)}\t{r.created_by}")
    if not rows:
        print("Belum ada siaran.")
    return 0
