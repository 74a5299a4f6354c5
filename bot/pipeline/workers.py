"""Background workers: the outbox relay and scheduler of `lk3 serve`, and the inbox processor
and broadcast job, in the serving process (tests, `lk3 chat`) or in processes of their own."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import TYPE_CHECKING

from bot.pipeline import wake
from bot.pipeline.beats import Heart, heart_of
from bot.service import Service
from storage.checkpoints import Checkpointer
from storage.db import sqlite_file

if TYPE_CHECKING:
    from bot.broadcast.feed import Feeder
    from bot.channels.base import Channel
    from bot.pipeline.relay import Relay

log = logging.getLogger(__name__)
SCHEDULER_EVERY = 30.0  # seconds of wall time between runs; decisions use the service clock
BROADCAST_EVERY = 1.0  # the broadcast feeder queues a second's worth of rows at a time


def settle() -> None:
    """Once a process has started (flows loaded, engine built): what it made so far lives as
    long as the process, so the cyclic garbage collector stops scanning it (`gc.freeze`),
    and young objects are collected less often. Each message makes thousands of short-lived
    objects that reference counting frees; with the defaults the collector took about a
    tenth of a processor's time (measured with `lk3 bench`)."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def heart(service: Service) -> Heart:
    p = service.processor
    return heart_of(service.db, service.clock, p.shard, p.postgres)


class _Stop:
    """How this process (`lk3 process`, `lk3 broadcast run`: a process of its own) stops on
    SIGINT or SIGTERM. The first signal stops it: KeyboardInterrupt, or, while an event loop
    runs, its main task cancelled (raised inside a task, KeyboardInterrupt left "Task
    exception was never retrieved"; the loop's own `add_signal_handler` resets SIGTERM to
    its default when the loop closes, so a second signal then killed the process). Any
    later signal does nothing: raised while the first unwound through `threading` it broke
    a lock ("release unlocked lock")."""

    stopping = False
    cancel: Callable[[], object] | None = None


_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # SIGINT first: see _stoppable


def _interrupt(_signal: int, _frame: FrameType | None) -> None:
    if _Stop.stopping:
        return
    _Stop.stopping = True
    if _Stop.cancel is not None:
        _Stop.cancel()
        return
    raise KeyboardInterrupt


def process_forever(service: Service, interval: float, nudged: bool = False) -> int:
    """`lk3 process`: only the inbox processor, for one shard, until Ctrl-C or SIGTERM.

    It waits for new messages on `wake.INBOX`, rung by PostgreSQL's NOTIFY, or (`nudged`:
    a child of `lk3 serve`) by a line on standard input, which the serving process writes
    when a webhook stored a message; after a batch it writes a line to standard output, so
    the serving process's relay looks at once. Polling every `interval` stays the fallback.
    A stop in the middle of a batch rolls its transaction back: the batch stays in the
    inbox for the next start. A database error is logged and the batch tried again later.
    """
    processor, beating = service.processor, heart(service)
    quiet = threading.Event()
    wake.listen(service.db, wake.INBOX, quiet)

    def once() -> int:
        beating.beat()
        return processor.run_once()

    try:
        _forever("processor", once, lambda done: 0 if done else interval, wake.INBOX,
                 interval, nudged)
    except KeyboardInterrupt:
        quiet.set()
        beating.stop()
    _stopped()
    return 0


def broadcast_feeder(service: Service) -> Feeder:
    from bot.broadcast.cli import feeder

    return feeder(service.db, service.settings, service.clock)


def broadcasts_forever(service: Service, interval: float, nudged: bool = False) -> int:
    """`lk3 broadcast run`: the broadcast job (bot.broadcast.feed), once a second, and a
    relay of its own for the broadcast messages, until Ctrl-C or SIGTERM. `lk3 serve` runs
    it so, as a child (`nudged`: it stops when its standard input ends), and relays the
    rest itself: a family's reply never shares a process with 200 broadcast sends a second
    (lk3 bench --broadcast). Only the channels' senders are built here; webhooks stay with
    `lk3 serve`. A stop in the middle of a run rolls its transaction back (a message the
    provider took is recorded first); a database error is logged and tried again later."""
    from bot.channels.setup import build_channels

    _stoppable(nudged)
    with contextlib.suppress(KeyboardInterrupt):  # stopped while it starts, too
        feeder, channels = broadcast_feeder(service), build_channels(service)
        relay = service.relay(only="broadcasts")
        settle()
        asyncio.run(_broadcasting(feeder, relay, interval, channels))
    _stopped()
    return 0


async def _now(once: Callable[[], int]) -> int:
    """`once` in the event loop's own thread: the job's write transactions, run in a worker
    thread beside the relay, held SQLite's write lock 15-40 ms while waiting for the
    interpreter (5 ms alone), and families' messages waited for them (lk3 bench
    --broadcast); the relay's sends wait for the job instead, which costs nobody."""
    return once()


async def _broadcasting(feeder: Feeder, relay: Relay, interval: float,
                        channels: list[Channel]) -> None:
    """The job and its relay until SIGINT or SIGTERM, which from here on cancel the main
    task (`_Stop`) instead of raising KeyboardInterrupt in whatever code ran."""
    loop, main = asyncio.get_running_loop(), asyncio.current_task()
    assert main is not None
    _Stop.cancel = lambda: loop.call_soon_threadsafe(main.cancel)

    async def again(name: str, once: Callable[[], Awaitable[int]],
                    pause: Callable[[], float]) -> None:
        while True:
            try:
                await once()
            except Exception:
                log.exception("%s failed; retrying in %.1fs", name, interval * 10)
                await asyncio.sleep(interval * 10)
            await asyncio.sleep(pause())

    try:
        await asyncio.gather(
            again("broadcast job", lambda: _now(feeder.run_once), lambda: BROADCAST_EVERY),
            again("broadcast relay", relay.run_once, lambda: relay.rest(interval)))
    except asyncio.CancelledError:
        pass  # stopped (any further signal does nothing: _interrupt)
    finally:
        _Stop.cancel = None
        for channel in channels:  # the HTTP clients released (never started: no webhook)
            with contextlib.suppress(Exception):
                await getattr(channel, "close", channel.stop)()


def _forever(name: str, once: Callable[[], int], pause: Callable[[int], float],
             bell: wake.Bell, interval: float, nudged: bool) -> None:
    """A process of one job: `once` again and again, waiting `pause(what once did)` seconds
    (or until `bell` rings) in between, until SIGTERM (as `lk3 serve` stops its children)
    or Ctrl-C, even when started with SIGINT ignored (a background job of a shell inherits
    that, and Python then raises no KeyboardInterrupt): both raise KeyboardInterrupt here.
    `nudged`: a line on standard output after a run that did something."""
    _stoppable(nudged)
    settle()
    while True:
        try:
            done = once()
        except Exception:
            log.exception("%s failed; retrying in %.1fs", name, interval * 10)
            time.sleep(interval * 10)
            continue
        if done and nudged:
            sys.stdout.write("\n")  # replies may be waiting: the relay looks now
            sys.stdout.flush()
        if (seconds := pause(done)) > 0:
            bell.wait(seconds)


def _stoppable(nudged: bool) -> None:
    """SIGTERM and Ctrl-C raise KeyboardInterrupt (see `_forever`); `nudged`: a child of
    `lk3 serve`, which reads its standard input (`_nudges`)."""
    # SIGINT first: one who sees SIGTERM caught (tests read /proc) may send both at once,
    # and a SIGINT before its handler raised out of here, so the process ended while
    # SIGTERM came, by then back to its default at Python's exit (-15, seen under load)
    for signum in _SIGNALS:
        signal.signal(signum, _interrupt)
    if nudged:
        threading.Thread(target=_nudges, daemon=True, name="lk3-nudges").start()


def _stopped() -> None:
    """Stopped cleanly: from here on SIGINT and SIGTERM are ignored by the system itself.
    Python puts its own handlers (`_interrupt`) back to the default at interpreter exit, so
    a SIGTERM sent together with a SIGINT but delivered that late killed a process that had
    already stopped (-15, seen under load). Not done in `_interrupt`: there, a signal
    already caught but not yet handled found SIG_IGN and Python printed "Signal 15 ignored
    due to race condition"; here both were handled by `_interrupt` before."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _nudges() -> None:
    """A child of `lk3 serve`: each line on standard input is a new message somewhere (a
    processor looks now; the broadcast job does not care). The input ends when the serving
    process is gone, even killed with SIGKILL: the child stops too (as on SIGTERM), rather
    than live on beside the next `lk3 serve`'s own child."""
    for _ in sys.stdin:
        wake.INBOX.ring()
    log.warning("lk3 serve is gone (standard input closed); this process stops")
    os.kill(os.getpid(), signal.SIGTERM)


class Workers:
    """The relay and scheduler of the serving process, and its processor where `processes`;
    each looks again when rung (bot.pipeline.wake) or after its poll interval. A stop lets
    the current transaction finish first. On a SQLite file, a thread copies the write-ahead
    log (storage.checkpoints). `processes` and `broadcasts`: the inbox processor and the
    broadcast job run here too (in tests and `lk3 chat`; `lk3 serve` runs both in child
    processes, bot.pipeline.supervisor)."""

    def __init__(self, service: Service, interval: float, broadcasts: bool = True,
                 processes: bool = True) -> None:
        self.service, self.interval, self.broadcasts = service, interval, broadcasts
        self.processes = processes
        self.stopping = asyncio.Event()
        self.quiet = threading.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.heart: Heart | None = None
        self.checkpoints: Checkpointer | None = None

    def start(self) -> None:
        # here, not at the top: the scheduler brings the privacy jobs and through them both
        # channels' clients, which `lk3 process` never uses (138 -> 117 MiB resident each)
        from bot.casework.scheduler import Scheduler
        from bot.privacy import provider

        relay = self.service.relay(only=None if self.broadcasts else "replies")
        if (path := sqlite_file(self.service.db.url.render_as_string())) is not None:
            self.checkpoints = Checkpointer(path)  # the log copied off the writers' path
            self.checkpoints.start()
        scheduler = Scheduler(self.service.db, self.service.clock,
                              bundle=self.service.flows.bundle, flows=self.service.flows,
                              deleter=provider.twilio(self.service.settings))
        self.tasks = [
            asyncio.create_task(self._loop("relay", relay.run_once, rest=relay.rest)),
            asyncio.create_task(self._loop("replies", lambda: relay.run_once(replies_only=True),
                                           bell=wake.OUTBOX)),
            asyncio.create_task(self._loop("scheduler", lambda: asyncio.to_thread(
                scheduler.run_once), every=SCHEDULER_EVERY)),
        ]
        if self.processes:  # PostgreSQL: NOTIFY of a stored message rings INBOX
            wake.listen(self.service.db, wake.INBOX, self.quiet)
            beating = self.heart = heart(self.service)

            def process() -> int:
                beating.beat()
                done = self.service.processor.run_once()
                if done:
                    wake.OUTBOX.ring()
                return done

            self.tasks.append(asyncio.create_task(self._loop(
                "processor", lambda: asyncio.to_thread(process), bell=wake.INBOX)))
        if self.broadcasts:
            feeder = broadcast_feeder(self.service)
            self.tasks.append(asyncio.create_task(self._loop(
                "broadcasts", lambda: asyncio.to_thread(feeder.run_once),
                every=BROADCAST_EVERY, steady=True)))

    async def _loop(self, name: str, once: object, every: float | None = None,
                    bell: wake.Bell | None = None, steady: bool = False,
                    rest: Callable[[float], float] | None = None) -> None:
        """Run `once` again at once while it finds work, else after a pause; `steady`: after
        `every` always; `rest`: the worker says how long (0: at once). The broadcast job
        queues 2 s ahead: run back to back it would queue a few rows a transaction, busy all
        the time, slowing the relay and replies (measured with `lk3 bench --broadcast`)."""
        while not self.stopping.is_set():
            try:
                done = await once()  # type: ignore[operator]
            except Exception:
                log.exception("%s failed; retrying in %.1fs", name, self.interval * 10)
                done = 0
                await self._pause(self.interval * 10)
            if rest is not None:
                if (seconds := rest(every or self.interval)) > 0:
                    await self._pause(seconds, bell)
            elif not done or steady:
                await self._pause(every or self.interval, bell)

    async def _pause(self, seconds: float, bell: wake.Bell | None = None) -> None:
        if bell is not None and not self.stopping.is_set():
            await asyncio.to_thread(bell.wait, seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def stop(self) -> None:
        self.stopping.set()
        self.quiet.set()
        wake.INBOX.ring()  # the waiting loops see the stop now
        wake.OUTBOX.ring()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.heart is not None:
            await asyncio.to_thread(self.heart.stop)
        if self.checkpoints is not None:
            await asyncio.to_thread(self.checkpoints.stop)
