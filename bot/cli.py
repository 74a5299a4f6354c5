"""The `lk3` command: serve, process, chat, db, flow, cases, counselor, bench."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import serve

    return serve(settings)


def _process(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import build
    from bot.workers import process_forever

    shards = settings.lk3_processors
    postgres = settings.database_url.startswith(("postgresql", "postgres"))
    if not postgres and not 2 <= args.shard <= shards:
        raise ConfigError(f"--shard must be between 2 and LK3_PROCESSORS ({shards}), since "
                          "`lk3 serve` processes shard 1.")
    service = build(settings, shard=args.shard if not postgres else 1)
    print(f"lk3 process: shard {args.shard} of {shards}; Ctrl-C stops", file=sys.stderr)
    return process_forever(service, settings.lk3_poll_interval)


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import chat
    from bot.service import build

    return chat(build(settings), args.user, args.lang)


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate
    from storage.db import make_engine

    db = make_engine(settings.database_url)
    if args.action == "upgrade":
        migrate.upgrade(db, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(db, args.revision or "base")
    print(f"database at revision {migrate.current(db) or 'base'}")
    return 0


def _flow(args: argparse.Namespace, settings: Settings) -> int:
    from bot.flowcli import check, draw
    from bot.flowcli import eval as evaluate

    if args.action == "eval":
        return evaluate(args.corpus, args.json, args.flow)
    return check() if args.action == "check" else draw(args.flow)


def _cases(args: argparse.Namespace, settings: Settings) -> int:
    from bot.casecli import list_cases, show_case
    from bot.service import open_database

    if args.action == "show":
        if not args.number:
            print("lk3: `lk3 cases show` needs a case number, e.g. LK3-2026-00042.",
                  file=sys.stderr)
            return 2
        return show_case(open_database(settings, auto_migrate=True), args.number)
    if args.number:
        print("lk3: `lk3 cases list` takes no case number; use `lk3 cases show NUMBER`.",
              file=sys.stderr)
        return 2
    return list_cases(open_database(settings, auto_migrate=True), args.status, args.json)


def _counselor(args: argparse.Namespace, settings: Settings) -> int:
    from bot import counselorcli
    from bot.service import open_database

    db = open_database(settings, auto_migrate=True)
    if args.action == "add":
        if not args.name or not args.role:
            print("lk3: `lk3 counselor add` needs --name and --role.", file=sys.stderr)
            return 2
        return counselorcli.add(db, name=args.name, role=args.role, capacity=args.capacity,
                                telegram_id=args.telegram_id, whatsapp=args.whatsapp)
    if args.action == "list":
        return counselorcli.list_counselors(db, args.json)
    if args.action == "remove":
        if not args.who:
            print("lk3: `lk3 counselor remove` needs a name or id.", file=sys.stderr)
            return 2
        return counselorcli.remove(db, args.who)
    if not args.role:
        print("lk3: `lk3 counselor invite` needs --role.", file=sys.stderr)
        return 2
    return counselorcli.invite(db, args.role, args.name)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench import run

    return run(args.families, args.batch, args.workers)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lk3", description="LK3 intake bot (Dinas Sosial Mimika).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the web app and the background workers").set_defaults(
        fn=_serve)
    w = sub.add_parser("process", help="an extra inbox processor process (see LK3_PROCESSORS)")
    w.add_argument("--shard", type=int, required=True,
                   help="which shard of the contacts this process handles (2..LK3_PROCESSORS; "
                        "`lk3 serve` handles 1; ignored on PostgreSQL)")
    w.set_defaults(fn=_process)
    c = sub.add_parser("chat", help="talk to the bot as a family, in this terminal")
    c.add_argument("--user", default="terminal", help="the family's id (default: terminal)")
    c.add_argument("--lang", choices=["id", "en"], default="id", help="language to start in")
    c.set_defaults(fn=_chat)
    d = sub.add_parser("db", help="database migrations")
    d.add_argument("action", choices=["upgrade", "downgrade", "current"])
    d.add_argument("revision", nargs="?", help="target revision (default: head / base)")
    d.set_defaults(fn=_db)
    f = sub.add_parser(
        "flow", help="validate flows, draw one as a Mermaid diagram, or measure the crisis words",
        description="check: load and validate every flow. draw: print a flow as a Mermaid "
                    "diagram. eval: run the crisis words (flows/crisis.yaml) over a corpus of "
                    "danger and ordinary messages; print recall per group, imminent recall and "
                    "the false-alarm rate, with every miss and false alarm; exit 1 when a "
                    "group's or the imminent recall is below 0.95 or false alarms are above 2%.")
    f.add_argument("action", choices=["check", "draw", "eval"])
    f.add_argument("flow", nargs="?", default="intake", help="flow name (default: intake)")
    f.add_argument("--corpus", type=Path, metavar="PATH",
                   help="eval: the corpus YAML (`danger:` {text, group, imminent} items and "
                        "`ordinary:` texts; default: tests/data/crisis_corpus.yaml)")
    f.add_argument("--json", action="store_true", help="eval: print the result as JSON")
    f.set_defaults(fn=_flow)
    k = sub.add_parser("cases", help="the case queue; one case with its transcript")
    k.add_argument("action", choices=["list", "show"])
    k.add_argument("number", nargs="?", metavar="NUMBER", help="case number (for show)")
    k.add_argument("--status", choices=["waiting", "claimed", "closed"])
    k.add_argument("--json", action="store_true", help="print a JSON array")
    k.set_defaults(fn=_cases)
    n = sub.add_parser("counselor", help="counselors: add, list, remove, invite codes")
    n.add_argument("action", choices=["add", "list", "remove", "invite"])
    n.add_argument("who", nargs="?", metavar="NAME_OR_ID", help="who to remove")
    n.add_argument("--name", help="the counselor's name (add; optional for invite)")
    n.add_argument("--role", choices=["counselor", "supervisor", "admin"])
    n.add_argument("--telegram-id", metavar="ID", help="their Telegram user id (add)")
    n.add_argument("--whatsapp", metavar="+62...", help="their WhatsApp number (add)")
    n.add_argument("--capacity", type=int, default=5,
                   help="most open cases at once (add; default 5)")
    n.add_argument("--json", action="store_true", help="print a JSON array (list)")
    n.set_defaults(fn=_counselor)
    b = sub.add_parser("bench", help="push synthetic families through the pipeline; print rates")
    b.add_argument("--families", type=int, default=2000)
    b.add_argument("--batch", type=int, default=None,
                   help="messages per processor transaction and per adapter commit "
                        "(default: the processor's, 500)")
    b.add_argument("--workers", type=int, default=2,
                   help="processor processes, each owning a shard of the contacts (default 2)")
    b.set_defaults(fn=_bench)
    return p


def settings_level(settings: Settings) -> int:
    return int(logging.getLevelName(settings.log_level))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for noisy in ("transitions", "alembic"):  # their INFO lines are per step / per run
            logging.getLogger(noisy).setLevel(max(logging.WARNING, settings_level(settings)))
        fn: Handler = args.fn
        return int(fn(args, settings))
    except ConfigError as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
