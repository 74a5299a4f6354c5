"""`lk3 privacy ...` and `lk3 cases hold|audit`: staff words in Indonesian, JSON with codes.

list: open requests (--all: closed ones too). refuse: with a reason the family is told.
erase / export / correct: do the request. purge: the retention rules (--dry-run: count only).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path

from bot.casework import labels, staff
from bot.config import ConfigError, Settings
from bot.privacy import access, correct, erase, export, provider, requests, retention
from bot.privacy.erase import Outcome
from flows.catalog import Catalog
from storage import privacy as store
from storage.clock import utcnow
from storage.db import sqlite_file


def export_dir(settings: Settings) -> Path:
    """LK3_EXPORT_DIR, else `lk3-exports` beside the SQLite database (or in the working
    folder for PostgreSQL)."""
    if settings.lk3_export_dir:
        path = Path(settings.lk3_export_dir).expanduser().absolute()
        if path.exists() and not path.is_dir():
            raise ConfigError(f"Setting LK3_EXPORT_DIR is wrong: {path} is not a folder.")
        return path
    db = sqlite_file(settings.database_url)
    return (db.parent if db is not None else Path.cwd()) / "lk3-exports"


@cache
def family_texts() -> Catalog:
    return labels.family_texts()


def _request_id(text: str | None) -> int:
    found = store.parse_label(text or "")
    if found is None:
        raise ConfigError(staff.text("privacy.cli.request_needed"))
    return found


# What each action takes: anything else given is refused before anything is done (an
# `erase P-4 --dry-run` must never erase while its operator expects a preview).
TAKES = {"list": {"show_all", "json"}, "refuse": {"request", "reason"},
         "erase": {"request"}, "export": {"request", "send", "handed_over"},
         "correct": {"request", "field", "value"}, "purge": {"dry_run", "json"}}
SPELLED = {"request": "REQUEST", "reason": "--reason", "send": "--send",
           "handed_over": "--handed-over", "field": "--field",
           "value": "--value", "dry_run": "--dry-run", "show_all": "--all", "json": "--json"}


def _only_what_it_takes(args: argparse.Namespace) -> None:
    given = [name for name in SPELLED
             if getattr(args, name, None) not in (None, False)]
    extra = [SPELLED[name] for name in given if name not in TAKES[args.action]]
    if not extra:
        return
    key = f"privacy.cli.not_taken.{args.action}"
    raise ConfigError(staff.text(key if staff.has(key) else "privacy.cli.not_taken",
                                 action=args.action, options=", ".join(extra)))


def _print(out: Outcome) -> int:
    stream = sys.stdout if out.code == 0 else sys.stderr
    print("\n".join(out.lines), file=stream)
    return out.code


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.dbcli import existing
    from bot.service import open_database

    _only_what_it_takes(args)
    existing(settings)
    db = open_database(settings, auto_migrate=True)
    now, actor = utcnow(), access.cli_actor()
    action = args.action
    if action == "list":
        return requests.list_requests(db, args.json, args.show_all, now)
    if action == "purge":
        done = retention.dry_run(db, now) if args.dry_run else \
            retention.purge(db, now, actor)
        return _counts(done, args.dry_run, args.json)
    request_id = _request_id(args.request)
    if action == "refuse":
        if args.reason not in requests.REASONS:
            raise ConfigError(staff.text("privacy.cli.reason_needed",
                                         reasons=", ".join(requests.REASONS)))
        return _print(requests.refuse(db, request_id, args.reason, actor, now,
                                      family_texts()))
    if action == "erase":
        return _print(erase.erase(db, request_id, actor, now, family_texts(),
                                  provider.twilio(settings), export_dir(settings)))
    if action == "export":
        return _print(export.export(db, request_id, export_dir(settings), family_texts(),
                                    now, args.send, actor, handed_over=args.handed_over))
    if not args.field or args.value is None:
        raise ConfigError(staff.text("privacy.cli.field_needed"))
    return _print(correct.correct(db, request_id, args.field, args.value, actor, now,
                                  family_texts()))


def _counts(done: dict[str, int], dry: bool, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"dry_run": dry, "removed": done}, indent=2))
        return 0
    print(staff.text("privacy.purge_dry" if dry else "privacy.purge_done"))
    for rule in retention.RULES:
        print("  " + staff.text("privacy.purge_line", count=done.get(rule, 0),
                                rule=staff.text(f"privacy.rule.{rule}")))
    return 0


def cases(args: argparse.Namespace, settings: Settings) -> int:
    """`lk3 cases hold NUMBER --reason ...` (or --release) and `lk3 cases audit NUMBER`."""
    from bot.cli.dbcli import existing
    from bot.service import open_database

    if not args.number:
        raise ConfigError(staff.text("privacy.cli.number_needed", action=args.action))
    existing(settings)
    db = open_database(settings, auto_migrate=True)
    if args.action == "audit":
        return access.audit(db, args.number, args.json)
    return _print(erase.hold(db, args.number, args.reason, access.cli_actor(), utcnow(),
                             release=args.release))
