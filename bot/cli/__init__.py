"""The `lk3` command: serve, process, chat, db, flow, cases, counselor, keys, bench."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TextIO

from bot.cli.cliparser import parser
from bot.config import ConfigError, Settings, check_database, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]
log = logging.getLogger("lk3")

__all__ = ["main", "parser"]


def _start(settings: Settings, before_lock: Callable[[], None] | None = None) -> None:
    """Before a serving process starts: every flows file as `lk3 flow check` reads it, the
    service lock (a restore waits for us, we refuse during one), the database in the log."""
    from bot.cli.backup import BackupError, hold_service_lock
    from bot.cli.dbcli import where
    from bot.flowfiles import first_error
    from storage.db import sqlite_file

    problem = first_error()
    if problem is not None:
        raise ConfigError(problem)
    if before_lock is not None:
        before_lock()
    path = sqlite_file(settings.database_url)
    if path is not None:
        try:
            hold_service_lock(path)
        except BackupError as exc:
            raise ConfigError(str(exc)) from None
    log.info("database: %s", where(settings))


def _port_free(host: str, port: int) -> None:
    """ConfigError in one sentence when LK3_HOST:LK3_PORT cannot be listened on (bound the
    way uvicorn binds, then let go)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"Setting LK3_HOST is wrong: {host!r} is not an address this "
                          f"machine can listen on ({exc.strerror}).") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"Port {port} on {host} is in use by another program (is "
                                  "lk3 serve already running?); stop it or set LK3_PORT.") \
                    from None
            raise ConfigError(f"lk3 cannot listen on {host}:{port}: {exc.strerror}.") from None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import serve

    _start(settings, before_lock=lambda: _port_free(settings.lk3_host, settings.lk3_port))
    return serve(settings)


def _process(args: argparse.Namespace, settings: Settings) -> int:
    from bot.pipeline.workers import process_forever
    from bot.service import build

    shards = settings.lk3_processors
    postgres = settings.database_url.startswith(("postgresql", "postgres"))
    if not postgres and not 1 <= args.shard <= shards:
        raise ConfigError(f"--shard must be between 1 and LK3_PROCESSORS ({shards}).")
    _start(settings)
    service = build(settings, shard=args.shard if not postgres else 1)
    print(f"lk3 process: shard {args.shard} of {shards}; Ctrl-C stops", file=sys.stderr)
    return process_forever(service, settings.lk3_poll_interval, nudged=args.nudged)


class _Typing:
    """Standard input for `lk3 chat`, knowing whether a typed line is being handled."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.busy = stream, False

    def isatty(self) -> bool:
        return self.stream.isatty()

    def readline(self) -> str:
        self.busy = False
        line = self.stream.readline()
        self.busy = bool(line)  # until the chat asks for the next line
        return line


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.chat import run_chat
    from bot.service import build

    _start(settings)
    service = build(settings)
    stdin = _Typing(sys.stdin)

    def interrupt(_signal: int, _frame: FrameType | None) -> None:
        # Between lines (every reply to the last one delivered) nothing is in flight, but
        # the read runs in a thread that asyncio would wait for at exit, until Enter: end
        # the process now. While a line is handled, stop as any Ctrl-C does.
        if not stdin.busy:
            sys.stdout.write("\n")
            sys.stdout.flush()
            os._exit(130)
        raise KeyboardInterrupt

    if stdin.isatty():
        signal.signal(signal.SIGINT, interrupt)
    return asyncio.run(run_chat(service, args.user, args.lang, stdin,  # type: ignore[arg-type]
                                sys.stdout))


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.dbcli import run

    return run(args, settings)


def _flow(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.flowcli import check, corpus_path, draw
    from bot.cli.flowcli import eval as evaluate

    if args.action == "eval":
        return evaluate(args.corpus, args.json, args.flow)
    if args.action == "train":
        from bot.cli.flowtrain import train

        return train(args.corpus or corpus_path())
    return check() if args.action == "check" else draw(args.flow)


def _cases(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.casecli import list_cases, show_case
    from bot.cli.dbcli import existing
    from bot.service import open_database

    if args.action in ("hold", "audit"):
        from bot.privacy.cli import cases

        return cases(args, settings)
    if args.action == "show":
        if not args.number:
            print("lk3: `lk3 cases show` needs a case number, e.g. LK3-2026-00042.",
                  file=sys.stderr)
            return 2
        existing(settings)
        return show_case(open_database(settings, auto_migrate=True), args.number)
    if args.number:
        print("lk3: `lk3 cases list` takes no case number; use `lk3 cases show NUMBER`.",
              file=sys.stderr)
        return 2
    existing(settings)
    return list_cases(open_database(settings, auto_migrate=True), args.status, args.json,
                      show_all=args.show_all, limit=args.limit)


def _privacy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.privacy.cli import run

    return run(args, settings)


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.keyscli import run

    return run(args, settings)


def _broadcast(args: argparse.Namespace, settings: Settings) -> int:
    from bot.broadcast.cli import run

    if args.broadcast_command == "run":  # a serving process, as `lk3 process` is
        from bot.pipeline.workers import broadcasts_forever
        from bot.service import build

        _start(settings)
        service = build(settings)
        print("lk3 broadcast run: the broadcast job and its messages' relay; Ctrl-C stops",
              file=sys.stderr)
        return broadcasts_forever(service, settings.lk3_poll_interval, nudged=args.nudged)
    return run(args, settings)


def _counselor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.casework import staff
    from bot.cli import counselorcli
    from bot.cli.dbcli import existing
    from bot.service import open_database

    if args.action == "list":
        existing(settings)
    db = open_database(settings, auto_migrate=True)
    if args.action == "add":
        if not args.name or not args.role:
            print("lk3: " + staff.text("staffcli.needs_name_role"), file=sys.stderr)
            return 2
        return counselorcli.add(db, name=args.name, role=args.role, capacity=args.capacity,
                                telegram_id=args.telegram_id, whatsapp=args.whatsapp,
                                username=args.username)
    if args.action == "passwd":
        return counselorcli.passwd_command(db, args)
    if args.action == "list":
        return counselorcli.list_counselors(db, args.json)
    if args.action == "remove":
        if not args.who:
            print("lk3: " + staff.text("staffcli.needs_who", command="remove"), file=sys.stderr)
            return 2
        return counselorcli.remove(db, args.who)
    if not args.role:
        print("lk3: " + staff.text("staffcli.needs_role"), file=sys.stderr)
        return 2
    return counselorcli.invite(db, args.role, args.name)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    if args.broadcast:
        from bot.bench import broadcastbench

        return broadcastbench.run(args, settings)
    if args.http:
        from bot.bench import httpbench

        return httpbench.run(args, settings)
    if args.relay:
        from bot.bench import relaybench

        return relaybench.run(rtt_ms=args.rtt_ms)
    from bot.bench import run

    return run(args.families, args.batch, args.workers)


HANDLERS: dict[str, Handler] = {"serve": _serve, "process": _process, "chat": _chat,
                                "db": _db, "flow": _flow, "cases": _cases,
                                "counselor": _counselor, "privacy": _privacy,
                                "keys": _keys, "broadcast": _broadcast, "bench": _bench}


def settings_level(settings: Settings) -> int:
    return int(logging.getLevelName(settings.log_level))


def _pipe_closed() -> int:
    """The reader of our output went away (`lk3 cases list | head`): stop quietly, as
    other command-line tools do. Output still buffered would fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def _serving(args: argparse.Namespace) -> bool:
    """A process that runs the service's work (and holds the service lock)."""
    return args.command in ("serve", "process", "chat") or \
        (args.command == "broadcast" and args.broadcast_command == "run")


def _opens_database(args: argparse.Namespace) -> bool:
    return args.command not in ("flow", "bench") and \
        not (args.command == "keys" and args.action == "new")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        if _opens_database(args):  # before any file beside the database is made or changed
            check_database(settings, serving=_serving(args))
        logging.basicConfig(level=settings.log_level, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for noisy in ("transitions", "alembic"):  # their INFO lines are per step / per run
            logging.getLogger(noisy).setLevel(max(logging.WARNING, settings_level(settings)))
        code = int(HANDLERS[args.command](args, settings))
        sys.stdout.flush()  # here, where a closed pipe can still be answered quietly
        return code
    except ConfigError as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _pipe_closed()
    except KeyboardInterrupt:
        return 130
