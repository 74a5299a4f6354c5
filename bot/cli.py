"""The `lk3` command: serve, chat, db, flow, cases, bench."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from bot.config import ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import serve

    return serve(settings)


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

    return check() if args.action == "check" else draw(args.flow)


def _cases(args: argparse.Namespace, settings: Settings) -> int:
    from bot.casecli import list_cases
    from bot.service import open_database

    return list_cases(open_database(settings, auto_migrate=True), args.status, args.json)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench import run

    return run(args.families, args.batch)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lk3", description="LK3 intake bot (Dinas Sosial Mimika).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the web app and the background workers").set_defaults(
        fn=_serve)
    c = sub.add_parser("chat", help="talk to the bot as a family, in this terminal")
    c.add_argument("--user", default="terminal", help="the family's id (default: terminal)")
    c.add_argument("--lang", choices=["id", "en"], default="id", help="language to start in")
    c.set_defaults(fn=_chat)
    d = sub.add_parser("db", help="database migrations")
    d.add_argument("action", choices=["upgrade", "downgrade", "current"])
    d.add_argument("revision", nargs="?", help="target revision (default: head / base)")
    d.set_defaults(fn=_db)
    f = sub.add_parser("flow", help="validate flows or draw one as a Mermaid diagram")
    f.add_argument("action", choices=["check", "draw"])
    f.add_argument("flow", nargs="?", default="intake", help="flow name (default: intake)")
    f.set_defaults(fn=_flow)
    k = sub.add_parser("cases", help="the case queue")
    k.add_argument("action", choices=["list"])
    k.add_argument("--status", choices=["waiting", "claimed", "closed"])
    k.add_argument("--json", action="store_true", help="print a JSON array")
    k.set_defaults(fn=_cases)
    b = sub.add_parser("bench", help="push synthetic families through the pipeline; print rates")
    b.add_argument("--families", type=int, default=2000)
    b.add_argument("--batch", type=int, default=200, help="messages per processor transaction")
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
