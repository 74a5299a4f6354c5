"""`lk3 db upgrade|downgrade|current|backup|restore`, and the checks every command shares:
where the database is, and that a command which only reads never creates one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.cli.backup import BackupError, Copy, backup, no_service, restore
from bot.config import ConfigError, Settings
from storage import crypto, keys, migrate
from storage.db import make_engine, sqlite_file

PG_TOOLS = {"backup": "pg_dump, e.g. `pg_dump --format=custom --file=lk3.dump \"$DATABASE_URL\"`",
            "restore": "pg_restore, e.g. `pg_restore --clean --if-exists "
                       "--dbname=\"$DATABASE_URL\" lk3.dump`"}


def existing(settings: Settings) -> None:
    """For commands that only read: ConfigError unless the SQLite file is there already
    (run from another folder, `lk3` would otherwise make an empty lk3.db and say `no
    cases`)."""
    path = sqlite_file(settings.database_url)
    if path is None or path.exists():
        return
    raise ConfigError(f"There is no database at {path} (DATABASE_URL "
                      f"{settings.database_url}); run lk3 in the folder that holds it and its "
                      ".env, set DATABASE_URL, or create it with `lk3 db upgrade`.")


def where(settings: Settings) -> str:
    """The database in words for a log line: its file, or the URL without the password."""
    path = sqlite_file(settings.database_url)
    if path is not None:
        return str(path)
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _cases(n: int) -> str:
    return f"{n} case{'s' * (n != 1)}"


def _size(copy: Copy) -> str:
    return f"{copy.size / 1_000_000:.1f} MB" if copy.size >= 100_000 else f"{copy.size} bytes"


def _copies(args: argparse.Namespace, path: Path) -> int:
    if args.action == "backup":
        made = backup(path, args.file)  # the text: a trailing `/` means a folder
        print(f"backup of {path} written to {made.path}: {_cases(made.cases)}, revision "
              f"{made.revision or 'base'}, {_size(made)}")
        return 0
    done, saved = restore(path, Path(args.file))
    if saved is not None:
        print(f"the database as it was is kept in {saved.path}")
    print(f"restored {done.path} from {Path(args.file).absolute()}: {_cases(done.cases)}, "
          f"revision {done.revision or 'base'}")
    if done.revision != migrate.head():
        print(f"the backup is at an older revision; run `lk3 db upgrade` (head is "
              f"{migrate.head()}) or start `lk3 serve`, which upgrades SQLite by itself")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = sqlite_file(settings.database_url)
    try:
        args.revision = getattr(args, "revision", None)
        if args.action in ("backup", "restore"):
            if not args.file:
                raise ConfigError(f"`lk3 db {args.action}` needs a FILE, e.g. "
                                  f"`lk3 db {args.action} /var/backups/lk3/lk3-2026-12-05.db`.")
            if path is None:
                raise ConfigError(f"`lk3 db {args.action}` copies SQLite databases; on "
                                  f"PostgreSQL use {PG_TOOLS[args.action]}.")
            if args.action == "backup":
                existing(settings)
            return _copies(args, path)
        if args.action != "upgrade":
            existing(settings)
        if args.revision:
            migrate.known(args.revision)  # before an upgrade would create the file
        new = path is not None and not path.exists()
        db = make_engine(settings.database_url)
        try:
            if args.action in ("upgrade", "downgrade"):  # 0013 seals and opens the data
                _keys(settings, db, create=args.action == "upgrade")
            if args.action == "upgrade":
                migrate.upgrade(db, args.revision or "head")
                if new:
                    print(f"lk3: created a new database at {path}", file=sys.stderr)
            elif args.action == "downgrade":
                _downgrade(args, db, path)
            print(f"database at revision {migrate.current(db) or 'base'}")
        finally:
            db.dispose()
    except (migrate.MigrationError, BackupError) as exc:
        raise ConfigError(str(exc)) from None
    except DBAPIError as exc:  # unreachable server, a folder that is not there...
        reason = str(exc.orig or exc).splitlines()[0]
        raise ConfigError(f"The database at {where(settings)} cannot be used: {reason}.") \
            from None
    return 0


def _keys(settings: Settings, db: Engine, create: bool) -> None:
    try:
        crypto.install(keys.ring_for(settings.lk3_data_keys, db, create=create))
    except keys.KeysError as exc:
        raise ConfigError(str(exc)) from None


def _downgrade(args: argparse.Namespace, db: Engine, path: Path | None) -> None:
    now = migrate.current(db)
    if not args.revision:
        raise ConfigError(f"`lk3 db downgrade` needs the revision to go down to, e.g. "
                          f"`lk3 db downgrade {_below(now)}` (`base` drops every table); "
                          f"the database is at {now or 'base'}.")
    to = migrate.target(db, args.revision)
    lost = migrate.losses(db, to)
    if lost and not args.yes:
        raise ConfigError(f"Going down to {to or 'base'} would delete {', '.join(lost)}; "
                          "make a backup first (`lk3 db backup FILE`), then run the same "
                          "command with --yes.")
    if path is None:
        migrate.downgrade(db, to or "base")
        return
    with no_service(path):
        migrate.downgrade(db, to or "base")


def _below(now: str | None) -> str:
    known = migrate.revisions()
    if now not in known or known.index(now) == 0:
        return "base"
    return known[known.index(now) - 1]
