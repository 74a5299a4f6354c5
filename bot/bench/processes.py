"""A system under test in a process of its own, for `lk3 bench --http` and `--broadcast`: a
free port, the process started with its output to a log (SIGTERM at the end), waiting until
it answers /healthz, and the CPU time of it and its children (Linux's /proc)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bot.bench.httpbench_api import Poster, WireError

START = 90.0  # seconds a system may take to answer its first webhook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A system under test in its own process; SIGTERM at the end (killed after 20 s)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return "\n".join(lines[-15:]) or "(no output)"


async def ready(name: str, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the system answers /healthz (any status below 500)."""
    started, health = time.perf_counter(), Poster(port, {})
    try:
        while True:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, WireError):
                if await health.request("GET", "/healthz") < 500:
                    return
            if proc.poll() is not None or time.perf_counter() - started > START:
                raise RuntimeError(f"{name} did not start:\n{tail(log)}")
            await asyncio.sleep(0.1)
    finally:
        health.close()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user and system) used so far by process `pid` and its living
    descendants, read from /proc; 0.0 for a process that is gone or where there is no
    /proc. A child that ended before the reading is not counted."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            parents[int(entry.name)] = int(fields[1])  # ppid: the 4th field of stat
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime, stime
    tree, found = {pid}, True
    while found:
        found = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                found = True
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")
