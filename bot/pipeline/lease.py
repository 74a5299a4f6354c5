"""Outbox leases that belong to a live relay process.

A relay registers in `relay_owners` (its host, and who its process is) and beats every
`timeout / 3` seconds; the rows it takes carry its id. Before taking rows a relay looks at
the other holders of rows being sent. A holder is dead when

- it is not registered (any more);
- it ran on this machine (same boot, same pid namespace) and its process is gone, or the
  pid now belongs to a newer process: known at once, so a restarted service takes over the
  rows its previous process was sending straight away;
- it has not beaten for `timeout` seconds (a relay on another machine, or one that hung).

A dead holder's rows go back in line, due now, and it is forgotten. A live holder's rows
are never touched: two live relays never send the same row. A relay that finds it was
taken for dead (its beat finds no registration: it hung longer than `timeout`) drops the
rest of its batch and registers again under a new id.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from storage import relays
from storage.clock import utc

log = logging.getLogger(__name__)
FORGET_AFTER = timedelta(days=1)  # stopped relays' registrations are pruned after this


@dataclass(frozen=True)
class Process:
    host: str
    machine: str  # boot id and pid namespace; "" where the system does not tell
    pid: int
    start: str  # the process start time in clock ticks since boot; "" unknown


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc, None when there is no such process."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text.rpartition(")")[2].split()  # the name in parentheses may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else ("?", "")


@functools.cache
def _machine() -> str:
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    boot = _read("/proc/sys/kernel/random/boot_id")
    return f"{boot}/{namespace}" if boot and namespace else ""


def process_of(pid: int) -> Process:
    """Who process `pid` of this machine is (its start time tells a reused pid apart)."""
    stat = _stat(pid)
    return Process(socket.gethostname(), _machine(), pid, stat[1] if stat else "")


@functools.cache
def current_process() -> Process:
    return process_of(os.getpid())


def gone(holder: relays.Owner, here: Process) -> bool:
    """True when `holder` ran on this machine and its process no longer runs."""
    if not here.machine or holder.machine != here.machine or holder.host != here.host:
        return False  # another machine (or no way to tell): only its beats tell
    stat = _stat(holder.pid)
    if stat is None or stat[0] in ("Z", "X"):
        return True
    return bool(holder.pid_start) and stat[1] != holder.pid_start  # the pid was reused


class Lease:
    """This relay's registration: its id on the rows it takes, its beats, its take-overs."""

    def __init__(self, timeout: float = 15.0, process: Process | None = None) -> None:
        self.process = process or current_process()
        self.timeout = timedelta(seconds=timeout)
        self.beat_every = self.timeout / 3
        self.id = uuid.uuid4().hex
        self.last_beat: datetime | None = None

    def keep(self, conn: Connection, now: datetime) -> None:
        """Register, or beat when one is due. Taken for dead meanwhile: a new id."""
        if self.last_beat is not None and now - self.last_beat < self.beat_every:
            return
        if self.last_beat is not None and relays.beat(conn, self.id, now):
            self.last_beat = now
            return
        if self.last_beat is not None:
            log.warning("outbox relay %s was taken for dead (silent over %ss); its rows went "
                        "to other relays", self.id[:8], self.timeout.total_seconds())
            self.id = uuid.uuid4().hex
        else:
            relays.prune(conn, now - FORGET_AFTER)
        p = self.process
        relays.register(conn, relays.Owner(self.id, p.host, p.machine, p.pid, p.start, now),
                        now)
        self.last_beat = now

    def take_over(self, conn: Connection, now: datetime) -> list[int]:
        """Rows of dead holders back in line; their ids."""
        freed: list[int] = []
        for holder in relays.holders(conn, but=self.id):
            silent = holder.beat_at is None or now - utc(holder.beat_at) >= self.timeout
            if silent or gone(holder, self.process):
                ids = relays.release_rows_of(conn, holder.id, now)
                log.warning("outbox relay %s is gone; %d rows it was sending are sent again "
                            "(one may arrive twice)", holder.id[:8], len(ids))
                freed += ids
        return freed
