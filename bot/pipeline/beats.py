"""Processors say they are alive; a shard whose messages wait with nobody is reported.

A processor beats every `EVERY` (its id, its shard, the time) in the database, the only
state processes share. `/healthz` answers 503 naming a shard that has a pending message
older than `STALL` and no beat within `TIMEOUT`: its families are getting no answer (an
`lk3 process --shard K` not started, or one that died and was not restarted).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from storage import beats
from storage.clock import utc
from storage.db import writing

log = logging.getLogger(__name__)
EVERY = timedelta(seconds=5)
TIMEOUT = timedelta(seconds=20)
STALL = timedelta(seconds=30)
FORGET_AFTER = timedelta(days=1)


class Heart:
    """One processor's beats: at most one write every `EVERY`."""

    def __init__(self, db: Engine, clock: Callable[[], datetime], shard: int,
                 shards: int) -> None:
        self.db, self.clock, self.shard, self.shards = db, clock, shard, shards
        self.id = uuid.uuid4().hex
        self.last: datetime | None = None

    def beat(self) -> None:
        now = self.clock()
        if self.last is not None and now - self.last < EVERY:
            return
        with writing(self.db) as conn:
            beats.beat(conn, self.id, self.shard, self.shards, socket.gethostname(),
                       os.getpid(), now)
            if self.last is None:
                beats.prune(conn, now - FORGET_AFTER)
        self.last = now

    def stop(self) -> None:
        """A clean stop: no longer counted as alive."""
        try:
            with writing(self.db) as conn:
                beats.forget(conn, self.id)
        except Exception:  # the database went away: the beat simply ages out
            log.warning("could not unregister processor %s", self.id)


def stalled(conn: Connection, shards: int, now: datetime) -> dict[int, datetime]:
    """Shards (1-based; 0 on PostgreSQL: any contact) with a message pending longer than
    STALL and no processor alive for them: the oldest such message's arrival."""
    waiting = {k: utc(v) for k, v in beats.oldest_pending(conn, shards).items()
               if utc(v) <= now - STALL}
    if not waiting:
        return {}
    alive = beats.live(conn, now - TIMEOUT)
    covered = {beats.ANY} if any(s == beats.ANY for s, _, _ in alive) else \
        {s for s, n, _ in alive if n == shards}
    if beats.ANY in covered:
        return {}
    return {k: v for k, v in waiting.items() if k not in covered}


def heart_of(db: Engine, clock: Callable[[], datetime], shard: tuple[int, int] | None,
             postgres: bool) -> Heart:
    """The heart of a processor taking `shard` (0-based index, count; None: every contact)."""
    if postgres:
        return Heart(db, clock, beats.ANY, 1)
    index, count = shard if shard is not None else (0, 1)
    return Heart(db, clock, index + 1, count)
