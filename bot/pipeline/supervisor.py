"""`lk3 serve` runs the inbox processors and the broadcast job as child processes, and keeps
them running.

With LK3_PROCESSORS=N the serving process starts `lk3 process --shard K` for K = 1..N (on
PostgreSQL, N processors of any contact) and processes nothing itself: with shard 1 in a
thread of the serving process, its work waited for the interpreter lock with the webhooks
and the relay, and every family's reply waited for all three (`lk3 bench --http`: 499-588
msg/s, against 606-699 with every shard in a child; three runs each, in turns). The
broadcast job (bot.broadcast.feed) runs in a child of its own, `lk3 broadcast run`: in the
serving process its write transactions waited for the interpreter lock behind the relay and
the webhooks while they held SQLite's write lock, so families' replies waited for both
(measured with `lk3 bench --broadcast`). A child that exits is started again after a pause
that doubles while it keeps failing (1 s up to a minute; back to 1 s once it ran for a
minute), and the log says so. At Ctrl-C or SIGTERM each child gets SIGTERM, finishes or
rolls back its transaction, and stops; one that does not within `STOP_WAIT` is killed (its
transaction rolls back: nothing is lost). Ctrl-C in a terminal, and systemd's
`KillSignal=SIGINT`, reach the whole process group: the children stop at the moment the
serving process hears it, before it has begun its own stop (it may wait for a request in
flight), so from that signal on a child's exit is the stop, neither restarted nor an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bot.pipeline import wake

log = logging.getLogger(__name__)
FIRST_PAUSE, MAX_PAUSE = 1.0, 60.0
HEALTHY_AFTER = 60.0  # seconds a child must run before a restart counts as a first one
STOP_WAIT = 10.0
CHILD = "import sys; from bot.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Child:
    """One child process: what the log calls it, its `lk3` arguments, and whether it hears
    of each stored message (a line on its standard input; the processors, which write a
    line to their standard output after a batch with replies). Every child stops when its
    standard input ends (the serving process is gone)."""

    name: str
    args: tuple[str, ...]
    inbound: bool = False

    def command(self) -> list[str]:
        """Same Python, same settings (bot.pipeline.wake says how they are nudged); through
        the installed `lk3` beside that Python when there is one, so `ps` and
        `pgrep -f "lk3 process"` show the children as what they are."""
        script = Path(sys.executable).with_name("lk3")
        if script.is_file():
            return [sys.executable, str(script), *self.args]
        return [sys.executable, "-c", CHILD, *self.args]


def children(shards: int, broadcasts: bool) -> list[Child]:
    """A processor for each shard 1..shards, and the broadcast job if `broadcasts`."""
    found = [Child(f"processor for shard {k}", ("process", "--shard", str(k), "--nudged"), True)
             for k in range(1, shards + 1)]
    if broadcasts:
        found.append(Child("broadcast job", ("broadcast", "run", "--nudged")))
    return found


class Supervisor:
    """Starts and restarts each of its children."""

    def __init__(self, children: list[Child]) -> None:
        self.wanted = children
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.restarts: dict[str, int] = {c.name: 0 for c in children}
        self.stopping = asyncio.Event()
        self.interrupted = False  # this process got SIGINT or SIGTERM: the service stops
        self.tasks: list[asyncio.Task[None]] = []
        self._tell: Callable[[], None] | None = None
        self._nudging = False  # a nudge is on its way: the messages stored meanwhile share it
        self._handlers: dict[int, object] = {}  # the signal handlers before ours

    def start(self) -> None:
        if self.wanted:
            self._hear_stop()
        self.tasks = [asyncio.create_task(self._keep(child)) for child in self.wanted]
        if any(child.inbound for child in self.wanted):
            loop = asyncio.get_running_loop()

            def tell() -> None:  # from any thread
                if not self._nudging:
                    self._nudging = True
                    loop.call_soon_threadsafe(self._nudge)

            self._tell = tell
            wake.ON_INBOUND.append(tell)

    def _hear_stop(self) -> None:
        """Note SIGINT and SIGTERM as they arrive (module docstring), then hand them on to
        the handler before ours (uvicorn's, which begins the stop)."""
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers; its owner stops us by `stop`
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            before = self._handlers[sig] = signal.getsignal(sig)

            def heard(signum: int, frame: FrameType | None, before: object = before) -> None:
                self.interrupted = True
                with contextlib.suppress(RuntimeError):  # the loop is gone: nothing waits
                    loop.call_soon_threadsafe(self.stopping.set)  # ends a pause to restart
                if callable(before):
                    before(signum, frame)
                elif before == signal.SIG_DFL:  # what would have happened without us
                    signal.signal(signum, signal.SIG_DFL)
                    signal.raise_signal(signum)

            signal.signal(sig, heard)

    def _nudge(self) -> None:
        """A webhook stored a message: every processor looks now (a line on its input).
        One line covers every message stored before it is written; one stored after
        schedules the next (the flag is down before the lines go)."""
        self._nudging = False
        for child in self.wanted:
            proc = self.children.get(child.name)
            if child.inbound and proc is not None and proc.returncode is None \
                    and proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.write(b"\n")

    @staticmethod
    async def _hear(child: asyncio.subprocess.Process) -> None:
        """A line from a child: it wrote replies, the relay looks now."""
        assert child.stdout is not None
        async for _ in child.stdout:
            wake.OUTBOX.ring()

    async def _keep(self, want: Child) -> None:
        pause = FIRST_PAUSE
        while not self.stopping.is_set():
            started = time.monotonic()
            child = await asyncio.create_subprocess_exec(
                *want.command(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self.children[want.name] = child
            hearing = asyncio.create_task(self._hear(child))
            log.info("%s started (pid %d)", want.name, child.pid)
            code = await child.wait()
            await hearing
            if self.stopping.is_set() or self.interrupted:  # stopped with the service
                return
            if time.monotonic() - started >= HEALTHY_AFTER:
                pause = FIRST_PAUSE
            self.restarts[want.name] += 1
            log.error("%s (pid %d) exited with %s; starting it again in %.0f s", want.name,
                      child.pid, code, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), pause)
            pause = min(MAX_PAUSE, pause * 2)

    async def stop(self) -> None:
        self.stopping.set()
        for sig, before in self._handlers.items():
            if before is not None:  # None: a handler not set from Python, left alone
                signal.signal(sig, before)  # type: ignore[arg-type]
        self._handlers.clear()
        if self._tell in wake.ON_INBOUND:
            wake.ON_INBOUND.remove(self._tell)
        for child in self.children.values():
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        for name, child in self.children.items():
            try:
                await asyncio.wait_for(child.wait(), STOP_WAIT)
            except TimeoutError:
                log.warning("%s did not stop in %.0f s; killed", name, STOP_WAIT)
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
        await asyncio.gather(*self.tasks, return_exceptions=True)
