"""`lk3 serve` runs the processors of the other shards itself, and keeps them running.

With LK3_PROCESSORS=N > 1 the serving process takes shard 1 and starts `lk3 process --shard
K` for K = 2..N as child processes (on PostgreSQL, N-1 more processors of any contact). A
child that exits is started again after a pause that doubles while it keeps failing (1 s up
to a minute; back to 1 s once it ran for a minute), and the log says so. At Ctrl-C or
SIGTERM each child gets SIGTERM, finishes or rolls back its batch, and stops; one that does
not within `STOP_WAIT` is killed (its transaction rolls back: nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable

from bot.pipeline import wake

log = logging.getLogger(__name__)
FIRST_PAUSE, MAX_PAUSE = 1.0, 60.0
HEALTHY_AFTER = 60.0  # seconds a child must run before a restart counts as a first one
STOP_WAIT = 10.0
CHILD = "import sys; from bot.cli import main; sys.exit(main())"


def command(shard: int) -> list[str]:
    """The child process for one shard: `lk3 process --shard K`, same Python, same settings;
    nudged through its standard input and output (bot.pipeline.wake)."""
    return [sys.executable, "-c", CHILD, "process", "--shard", str(shard), "--nudged"]


class Supervisor:
    """Starts and restarts one child per shard 2..shards."""

    def __init__(self, shards: int) -> None:
        self.shards = list(range(2, shards + 1))
        self.children: dict[int, asyncio.subprocess.Process] = {}
        self.restarts: dict[int, int] = dict.fromkeys(self.shards, 0)
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self._tell: Callable[[], None] | None = None

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._keep(shard)) for shard in self.shards]
        if self.shards:
            loop = asyncio.get_running_loop()

            def tell() -> None:  # from any thread
                loop.call_soon_threadsafe(self._nudge)

            self._tell = tell
            wake.ON_INBOUND.append(tell)

    def _nudge(self) -> None:
        """A webhook stored a message: every child looks now (a line on its input)."""
        for child in self.children.values():
            if child.returncode is None and child.stdin is not None:
                with contextlib.suppress(Exception):
                    child.stdin.write(b"\n")

    @staticmethod
    async def _hear(child: asyncio.subprocess.Process) -> None:
        """A line from a child: it wrote replies, the relay looks now."""
        assert child.stdout is not None
        async for _ in child.stdout:
            wake.OUTBOX.ring()

    async def _keep(self, shard: int) -> None:
        pause = FIRST_PAUSE
        while not self.stopping.is_set():
            started = time.monotonic()
            child = await asyncio.create_subprocess_exec(
                *command(shard), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self.children[shard] = child
            hearing = asyncio.create_task(self._hear(child))
            log.info("processor for shard %d started (pid %d)", shard, child.pid)
            code = await child.wait()
            await hearing
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_AFTER:
                pause = FIRST_PAUSE
            self.restarts[shard] += 1
            log.error("processor for shard %d (pid %d) exited with %s; starting it again in "
                      "%.0f s", shard, child.pid, code, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), pause)
            pause = min(MAX_PAUSE, pause * 2)

    async def stop(self) -> None:
        self.stopping.set()
        if self._tell in wake.ON_INBOUND:
            wake.ON_INBOUND.remove(self._tell)
        for child in self.children.values():
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        for shard, child in self.children.items():
            try:
                await asyncio.wait_for(child.wait(), STOP_WAIT)
            except TimeoutError:
                log.warning("processor for shard %d did not stop in %.0f s; killed", shard,
                            STOP_WAIT)
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
        await asyncio.gather(*self.tasks, return_exceptions=True)
