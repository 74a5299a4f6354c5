"""Background workers in the serving process: inbox processor, outbox relay, scheduler."""

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
from collections.abc import Callable
from types import FrameType

from bot.casework.scheduler import Scheduler
from bot.pipeline import wake
from bot.pipeline.beats import Heart, heart_of
from bot.service import Service

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


def _interrupt(_signal: int, _frame: FrameType | None) -> None:
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
    signal.signal(signal.SIGTERM, _interrupt)  # as `lk3 serve` stops its children
    # Ctrl-C stops it even when started with SIGINT ignored (a background job of a shell
    # inherits that, and Python then raises no KeyboardInterrupt)
    signal.signal(signal.SIGINT, _interrupt)
    quiet = threading.Event()
    wake.listen(service.db, wake.INBOX, quiet)
    if nudged:
        threading.Thread(target=_nudges, daemon=True, name="lk3-nudges").start()
    settle()
    try:
        while True:
            try:
                beating.beat()
                done = processor.run_once()
            except Exception:
                log.exception("processor failed; retrying in %.1fs", interval * 10)
                time.sleep(interval * 10)
                continue
            if done and nudged:
                sys.stdout.write("\n")  # replies may be waiting: the relay looks now
                sys.stdout.flush()
            if not done:
                wake.INBOX.wait(interval)
    except KeyboardInterrupt:
        quiet.set()
        beating.stop()
        return 0


def _nudges() -> None:
    """A child of `lk3 serve`: each line on standard input is a new message somewhere. The
    input ends when the serving process is gone, even killed with SIGKILL: the child stops
    too (as on SIGTERM), rather than live on beside the next `lk3 serve`'s own child."""
    for _ in sys.stdin:
        wake.INBOX.ring()
    log.warning("lk3 serve is gone (standard input closed); this processor stops")
    os.kill(os.getpid(), signal.SIGTERM)


class Workers:
    """The processor, relay and scheduler of the serving process; each looks again when
    rung (bot.pipeline.wake) or after its poll interval. A stop lets the current transaction finish
    first."""

    def __init__(self, service: Service, interval: float) -> None:
        self.service, self.interval = service, interval
        self.stopping = asyncio.Event()
        self.quiet = threading.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.heart: Heart | None = None

    def start(self) -> None:
        relay = self.service.relay()
        beating = heart(self.service)

        def process() -> int:
            beating.beat()
            done = self.service.processor.run_once()
            if done:
                wake.OUTBOX.ring()
            return done

        self.heart = beating
        wake.listen(self.service.db, wake.INBOX, self.quiet)
        scheduler = Scheduler(self.service.db, self.service.clock,
                              bundle=self.service.flows.bundle)
        from bot.broadcast.cli import feeder as broadcast_feeder

        feeder = broadcast_feeder(self.service.db, self.service.settings, self.service.clock)
        self.tasks = [
            asyncio.create_task(self._loop("processor", lambda: asyncio.to_thread(process),
                                           bell=wake.INBOX)),
            asyncio.create_task(self._loop("relay", relay.run_once, bell=wake.OUTBOX,
                                           rest=relay.rest)),
            asyncio.create_task(self._loop("scheduler", lambda: asyncio.to_thread(
                scheduler.run_once), every=SCHEDULER_EVERY)),
            asyncio.create_task(self._loop("broadcasts", lambda: asyncio.to_thread(
                feeder.run_once), every=BROADCAST_EVERY, steady=True)),
        ]

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
