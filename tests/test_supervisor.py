"""Processors an operator cannot get wrong: `lk3 serve` runs and restarts every shard's
processor itself, and /healthz names a shard whose families get no answer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select

from bot.config import Settings
from bot.pipeline.beats import Heart
from bot.pipeline.processor import Processor
from bot.service import Service
from storage import inbox
from storage.clock import utcnow
from storage.db import make_engine, shard_of
from storage.models import InboxMessage, ProcessorBeat
from tests.support import CHANNEL, FrozenClock, flows, send
from tests.test_web import LK3, SETTINGS, free_port, health, wait_healthy


def _service(db: Engine, clock: FrozenClock, processors: int) -> Service:
    settings = Settings.model_validate({"DATABASE_URL": db.url.render_as_string(False),
                                        "LK3_PROCESSORS": processors})
    return Service(settings, db, flows(), Processor(db, flows(), clock), clock)


def _user_of_shard(shard: int, shards: int, channel: str = CHANNEL) -> str:
    return next(f"62812{n:05d}" for n in range(1000)
                if shard_of(f"{channel}:62812{n:05d}", shards) == shard - 1)


async def test_healthz_names_a_shard_whose_messages_wait_with_nobody(
        db: Engine, clock: FrozenClock) -> None:
    """A message of shard 2 waits 31 s and no processor of shard 2 is alive: 503 naming it;
    once that shard's processor beats, 200. A message younger than 30 s is not a stall."""
    service = _service(db, clock, 2)
    postgres = db.dialect.name == "postgresql"
    if not postgres:  # shard 1's processor is alive; PostgreSQL's processors take anyone
        Heart(db, clock, 1, 2).beat()
    send(service, _user_of_shard(2, 2), "halo")
    clock.advance(seconds=29)
    assert (await health(service)).status_code == 200
    clock.advance(seconds=2)
    r = await health(service)
    assert r.status_code == 503
    assert r.json()["status"] == "stalled"
    assert r.json()["stalled_shards"] == ([0] if postgres else [2])
    assert r.json()["oldest_waiting_seconds"] == 31
    Heart(db, clock, 0 if postgres else 2, 1 if postgres else 2).beat()
    assert (await health(service)).status_code == 200
    clock.advance(seconds=25)  # that processor stopped beating: stalled again
    assert (await health(service)).status_code == 503


def _wait(what: str, check: Callable[[], bool], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}")


def _answered(db: Engine, message_id: str) -> bool:
    with db.connect() as conn:
        return conn.execute(select(InboxMessage.processed_at).where(
            InboxMessage.provider_message_id == message_id)).scalar() is not None


def _pid_of_shard(db: Engine, shard: int) -> int | None:
    with db.connect() as conn:
        return conn.execute(select(ProcessorBeat.pid).where(ProcessorBeat.shard == shard)
                            .order_by(ProcessorBeat.beat_at.desc())).scalars().first()


def _store(db: Engine, user: str, message_id: str) -> None:
    with db.begin() as conn:
        inbox.store(conn, channel="test", provider_message_id=message_id, sender=user,
                    payload={"text": "halo"}, now=utcnow())


def _serve(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen[str], int]:
    """`lk3 serve` on a free port, in `tmp_path`, with only these settings."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k.upper() not in SETTINGS},
           "LK3_PORT": str(port), **settings}
    return subprocess.Popen([str(LK3), "serve"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE), port


def _stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, and what it wrote on stderr; killed if it does not stop in 40 s (and once
    stopped, nothing more)."""
    if proc.poll() is not None:
        return ""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=40)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_runs_restarts_and_stops_every_shards_processor(tmp_path: Path) -> None:
    """`lk3 serve` with LK3_PROCESSORS=2 answers families of both shards without any `lk3
    process` started by hand, each shard in a child process (the serving process processes
    nothing); a killed shard-2 processor is started again and its families answered;
    SIGTERM stops the service and its children."""
    proc, port = _serve(tmp_path, LK3_PROCESSORS="2", LK3_POLL_INTERVAL="0.05")
    db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    first, second = _user_of_shard(1, 2, "test"), _user_of_shard(2, 2, "test")
    try:
        wait_healthy(proc, port)
        _store(db, first, "a1")
        _store(db, second, "b1")
        _wait("both shards answered", lambda: _answered(db, "a1") and _answered(db, "b1"))
        child, first_child = _pid_of_shard(db, 2), _pid_of_shard(db, 1)
        assert child is not None and first_child is not None
        assert len({child, first_child, proc.pid}) == 3
        # `ps` / `pgrep -f "lk3 process"` show it as what it is (not `python -c ...`)
        argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        shown = b" ".join(argv)
        assert b"/lk3 process --shard 2" in shown, shown
        os.kill(child, signal.SIGKILL)
        _wait("shard 2 started again", lambda: _pid_of_shard(db, 2) not in (None, child))
        _store(db, second, "b2")
        _wait("shard 2 answered after the restart", lambda: _answered(db, "b2"))
        restarted = _pid_of_shard(db, 2)
        assert restarted is not None
        err = _stop(proc)
    finally:
        _stop(proc)
        db.dispose()
    assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn ends by the signal it got
    assert "exited with -9; starting it again" in err
    _wait("the children stopped with the service",
          lambda: not _alive(restarted) and not _alive(first_child), 10)


def _broadcast_job_of(parent: int) -> int | None:
    """The pid of `parent`'s child running `lk3 broadcast run` (Linux: read from /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"broadcast" in args and b"run" in args:
            return int(entry.name)
    return None


def test_serve_runs_the_broadcast_job_in_a_child_it_restarts(tmp_path: Path) -> None:
    """`lk3 serve` (even with one processor) runs the broadcast job as a child process of
    its own; killed, it is started again; SIGTERM stops it with the service."""
    proc, port = _serve(tmp_path, LK3_PROCESSORS="1")
    try:
        wait_healthy(proc, port)
        _wait("the broadcast job started", lambda: _broadcast_job_of(proc.pid) is not None)
        first = _broadcast_job_of(proc.pid)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _wait("the broadcast job started again",
              lambda: _broadcast_job_of(proc.pid) not in (None, first))
        again = _broadcast_job_of(proc.pid)
        assert again is not None
        err = _stop(proc)
    finally:
        _stop(proc)
    assert f"broadcast job (pid {first}) exited with -9; starting it again" in err
    _wait("the broadcast job stopped with the service", lambda: not _alive(again), 10)


def _has_event_loop(pid: int) -> bool:
    try:
        return any("eventpoll" in os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler yet (Linux: /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt")),
                 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def _migrated(tmp_path: Path) -> dict[str, str]:
    """The environment for a command run in `tmp_path`, whose database is upgraded."""
    env = {**{k: v for k, v in os.environ.items() if k.upper() not in SETTINGS},
           "LK3_POLL_INTERVAL": "0.05"}
    assert subprocess.run([str(LK3), "db", "upgrade"], cwd=tmp_path, env=env,
                          capture_output=True).returncode == 0
    return env


def test_a_processor_stops_quietly_on_two_signals(tmp_path: Path) -> None:
    """`lk3 process` given SIGINT and SIGTERM at once (its handlers set) exits 0 with no
    traceback: the second signal does not interrupt the first one's clean-up."""
    env = _migrated(tmp_path)
    for _ in range(3):
        proc = subprocess.Popen([str(LK3), "process", "--shard", "1"], cwd=tmp_path, env=env,
                                text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait("its stop handlers are set", lambda pid=proc.pid: _catches_sigterm(pid))
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err


def test_the_broadcast_job_stops_quietly_on_two_signals_at_any_moment(tmp_path: Path) -> None:
    """`lk3 broadcast run` (as `lk3 serve`'s child is, which may get Ctrl-C and SIGTERM at
    once) stops with exit 0 and no traceback, whether the signals come while it starts or
    while its event loop runs (a relay thread exists): before, one raised in a task's code
    left "Task exception was never retrieved" and a traceback in the service's log."""
    env = _migrated(tmp_path)
    for running in (False, True):
        proc = subprocess.Popen([str(LK3), "broadcast", "run"], cwd=tmp_path, env=env,
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait("its stop handlers are set", lambda pid=proc.pid: _catches_sigterm(pid))
        if running:  # the event loop exists (its epoll descriptor)
            _wait("its event loop started", lambda pid=proc.pid: _has_event_loop(pid))
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
        assert proc.returncode == 0, (running, proc.returncode, err)
        assert "Traceback" not in err and "never retrieved" not in err, err
