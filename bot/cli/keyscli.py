"""`lk3 keys new|status|rotate`: the data keys that seal personal fields (storage.crypto).

Rotation, step by step (README, "Encryption at rest"): `lk3 keys new`, put that line first
in LK3_DATA_KEYS (or the key file) with the old key after it, restart the service, run
`lk3 keys rotate` (while the service runs; stopped, it continues when run again), and once
`lk3 keys status` shows no value under the old key, remove it.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine

from bot.config import ConfigError, Settings
from storage import crypto, keys, rekey


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "new":
        print(keys.new_key())
        print("lk3: a new data key: put it first in LK3_DATA_KEYS (or the key file), keep "
              "the old keys after it, restart, then run `lk3 keys rotate`; keep a copy apart "
              "from the backups", file=sys.stderr)
        return 0
    if args.batch < 1:
        raise ConfigError("--batch must be at least 1.")
    from bot.cli.dbcli import existing
    from bot.service import open_database

    existing(settings)
    db = open_database(settings, auto_migrate=True)
    try:
        if args.action == "status":
            return _status(db)
        return _rotate(db, args.batch)
    finally:
        db.dispose()


def _status(db: Engine) -> int:
    ring = crypto.current()
    counts = rekey.status(db)
    for kid in [*ring.ids, *sorted(set(counts) - set(ring.ids))]:
        role = "newest, seals new values" if kid == ring.newest.kid else \
            "older" if kid in ring.by_id else "not among the keys"
        print(f"{kid:<16} {counts.get(kid, 0):>10} values  ({role})")
    return 0


def _rotate(db: Engine, batch: int) -> int:
    ring = crypto.current()

    def progress(table: str, n: int) -> None:
        print(f"{table}: {n} values sealed again", file=sys.stderr)

    done = rekey.rotate(db, batch=batch, progress=progress)
    left = {k: n for k, n in rekey.status(db).items() if k != ring.newest.kid and n}
    print(f"{sum(done.values())} values sealed again with key {ring.newest.kid}")
    if left:
        print(f"still under other keys: {', '.join(f'{k} {n}' for k, n in left.items())} "
              "(written meanwhile by a process with other keys? run it again)")
        return 1
    older = [k for k in ring.ids if k != ring.newest.kid]
    if older:
        print(f"no value uses {', '.join(older)} any more: it may be removed from the keys "
              "(keep it as long as backups made before today may be restored)")
    return 0
