"""Faults an operator's audit found: health that waited on writers, settings and paths that
were accepted and failed later (or touched files first), and a Ctrl-C that looked like a
crash."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bot.cli.backup import service_lock_path
from bot.config import ConfigError, Settings, load_settings
from bot.pipeline.processor import Processor
from bot.privacy.cli import export_dir
from bot.service import Service
from bot.web import create_app
from storage import accesslog, keys
from storage.db import make_engine, reading, shard_of, sqlite_file, writing
from tests.support import CHANNEL, FrozenClock, flows, send
from tests.test_staff_growth import write_lock_held
from tests.test_web import LK3, SETTINGS, free_port


@contextlib.contextmanager
def stopped_writer(db: Engine) -> Iterator[None]:
    """What a processor stopped (SIGSTOP) in the middle of a write transaction holds: the
    writers' turn (`<db>-writers.lock`) and SQLite's write lock, for the block."""
    path = sqlite_file(db.url.render_as_string(False))
    assert path is not None
    turn = os.open(f"{path}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(turn, fcntl.LOCK_EX)
    try:
        with write_lock_held(db):
            yield
    finally:
        os.close(turn)


async def test_healthz_answers_while_a_stopped_processor_holds_the_write_lock(
        sqlite_db: Engine, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    """A processor stopped while it holds the write lock: /healthz still answers at once,
    503 naming the shard whose message waits over 30 s, and says so in the log."""
    settings = Settings.model_validate({"DATABASE_URL": sqlite_db.url.render_as_string(False),
                                        "LK3_PROCESSORS": 2})
    service = Service(settings, sqlite_db, flows(), Processor(sqlite_db, flows(), clock), clock)
    user = next(f"62813{n:05d}" for n in range(1000)
                if shard_of(f"{CHANNEL}:62813{n:05d}", 2) == 1)
    send(service, user, "halo")  # shard 2's, and nobody takes shard 2
    clock.advance(seconds=31)
    app = create_app(service, run_workers=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://lk3") as client:
        with stopped_writer(sqlite_db), caplog.at_level(logging.ERROR):
            r = await asyncio.wait_for(client.get("/healthz"), 5)
    assert r.status_code == 503
    assert (r.json()["status"], r.json()["stalled_shards"]) == ("stalled", [2])
    assert any("shard 2" in rec.getMessage() for rec in caplog.records)


def _alive(pid: int) -> bool:
    """A process that has not ended (a zombie nobody reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _soon(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_ctrl_c_to_serve_stops_its_children_without_restarting_or_an_error(
        tmp_path: Path) -> None:
    """Ctrl-C to `lk3 serve`'s process group (a terminal's Ctrl-C, systemd's KillSignal=SIGINT)
    while a request is in flight: the children stop with it, none is started again, no
    "starting it again" error, and every child is gone when `lk3 serve` has exited."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k.upper() not in SETTINGS},
           "LK3_PORT": str(port), "LK3_POLL_INTERVAL": "30"}
    proc = subprocess.Popen([str(LK3), "serve"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # its own process group, as in a terminal
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")))
    reader.start()

    def started() -> list[int]:
        return [int(pid) for pid in re.findall(r"started \(pid (\d+)\)", "".join(lines))]

    ready = ("Uvicorn running", "lk3 process: shard 1", "lk3 process: shard 2",
             "lk3 broadcast run:")  # the service and its children, each past its start
    try:
        assert _soon(lambda: all(r in "".join(lines) for r in ready) or
                     proc.poll() is not None, 60) and proc.poll() is None, lines
        children = started()
        assert len(children) == 3, lines  # two processors and the broadcast job
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(b"POST /console/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Sec-Fetch-Site: same-origin\r\nContent-Length: 30\r\n"
                           b"Expect: 100-continue\r\n"
                           b"Content-Type: application/x-www-form-urlencoded\r\n\r\nusername=")
            # "100 Continue" comes when the handler waits for the body: the request is in
            # flight (a signal before the server had read the headers would close the socket)
            assert client.recv(100).startswith(b"HTTP/1.1 100"), lines
            os.killpg(proc.pid, signal.SIGINT)
            assert _soon(lambda: not any(map(_alive, children))), lines
            client.sendall(b"ani&password=01234567")  # the request ends, the service too
            client.recv(100)
        proc.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log = "".join(lines)
    assert proc.returncode == 0, log
    assert "starting it again" not in log and "ERROR" not in log, log
    assert started() == children, log  # none started again
    assert not any(map(_alive, children))


def lk3(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`lk3 ARGS` with only these settings (a free port: a command that wrongly starts
    serving is stopped by the timeout, and fails)."""
    base = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    done = subprocess.run([str(LK3), *args], cwd=cwd, text=True, capture_output=True,
                          env={**base, "LK3_PORT": str(free_port()), **env}, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The sentence a refused start-up prints (exit 2, one line, nothing else)."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("lk3: "), \
        done.stderr
    return lines[0]


def _state(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every entry of a folder: its mode and (files) content."""
    return {p.name: (p.stat().st_mode, p.read_bytes() if p.is_file() else b"")
            for p in folder.iterdir()}


@pytest.mark.parametrize("command", [("serve",), ("db", "upgrade")])
def test_a_database_url_naming_a_folder_or_another_file_changes_nothing(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    """DATABASE_URL at an existing folder, or at a file that is not a SQLite database: one
    sentence naming DATABASE_URL and the path, exit 2, and no mode or file changed."""
    folder, notes = tmp_path / "data", tmp_path / "notes.txt"
    folder.mkdir(mode=0o755)
    notes.write_text("root:x:0:0:not a database\n")
    notes.chmod(0o644)
    before = _state(tmp_path)
    for path in (folder, notes):
        line = one_line(lk3(*command, cwd=tmp_path, DATABASE_URL=f"sqlite:///{path}"))
        assert "DATABASE_URL" in line and str(path) in line
        assert _state(tmp_path) == before


@pytest.mark.parametrize(("command", "url"), [
    (("serve",), "sqlite:///{tmp}/nonexistent/dir/lk3.db"), (("chat",), "sqlite:///sub/lk3.db"),
    (("process", "--shard", "1"), "sqlite:///sub/lk3.db"),
    (("db", "upgrade"), "sqlite:///sub/lk3.db")])
def test_a_database_folder_that_does_not_exist_is_one_sentence(
        tmp_path: Path, command: tuple[str, ...], url: str) -> None:
    """A DATABASE_URL whose folder is missing (absolute or relative): one sentence naming
    DATABASE_URL and the folder, exit 2, nothing made."""
    folder = tmp_path / ("nonexistent/dir" if "{tmp}" in url else "sub")
    line = one_line(lk3(*command, cwd=tmp_path, DATABASE_URL=url.format(tmp=tmp_path)))
    assert "DATABASE_URL" in line and f"folder {folder} " in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "url"), [
    (("serve",), "sqlite:///"), (("process", "--shard", "1"), "sqlite://"),
    (("chat",), "sqlite:///")])
def test_an_in_memory_database_is_refused_by_serving_commands(
        tmp_path: Path, command: tuple[str, ...], url: str) -> None:
    """`DATABASE_URL=sqlite:///` (each process its own empty database) stops serve, process
    and chat with one sentence naming DATABASE_URL, rather than "no such table" later."""
    assert "DATABASE_URL" in one_line(lk3(*command, cwd=tmp_path, DATABASE_URL=url))


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the environment or a .env: only what a test sets."""
    for name in list(os.environ):
        if name.upper() in {f.alias for f in Settings.model_fields.values()}:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("value", ["25:00-99:99", "20:00-07:60", "24:00-07:00"])
def test_quiet_hours_that_are_not_times_stop_start_up(
        no_settings: None, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """BROADCAST_QUIET_HOURS must be two real times of day; "25:00-99:99" stops start-up
    with a sentence naming it (the broadcast job no longer crashes on it later)."""
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", value)
    with pytest.raises(ConfigError, match="Setting BROADCAST_QUIET_HOURS is wrong"):
        load_settings()
    for good in ("22:00-06:30", ""):
        monkeypatch.setenv("BROADCAST_QUIET_HOURS", good)
        assert load_settings().broadcast_quiet_hours == good


def test_a_telegram_webhook_needs_an_https_address(
        no_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram in webhook mode with PUBLIC_BASE_URL http://: one sentence naming it (Telegram
    would refuse setWebhook for ever); https:// starts, and so does http:// to a Bot API
    server of our own (TELEGRAM_API_BASE_URL elsewhere, as the tests' fake)."""
    for name, value in (("TELEGRAM_BOT_TOKEN", "123456789:AAtoken"),
                        ("TELEGRAM_WEBHOOK_SECRET", "s3cret"),
                        ("PUBLIC_BASE_URL", "http://lk3.example.go.id")):
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=r"Setting PUBLIC_BASE_URL is wrong.*https"):
        load_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://lk3.example.go.id")
    assert load_settings().telegram_on
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot")
    assert load_settings().telegram_on


def test_what_a_run_makes_beside_the_database_is_ignored_by_git(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a repository folder (as `make run` uses it), the data key file, the lock files, the
    access journal, a restore's copy and DATA exports never show in `git status`."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_bytes((Path(__file__).parents[1] / ".gitignore").read_bytes())
    monkeypatch.chdir(repo)
    settings = Settings.model_validate({"DATABASE_URL": "sqlite:///lk3.db"})  # the default
    path = sqlite_file(settings.database_url)
    assert path is not None
    engine = make_engine(settings.database_url)
    keys.ring_for("", engine)  # the key file, as a first start makes it
    with writing(engine) as conn, reading(engine) as reader:  # -wal, -shm, writers' lock
        reader.exec_driver_sql("SELECT 1").all()
        conn.exec_driver_sql("CREATE TABLE t (x)")
        service_lock_path(path).touch()
        journal = accesslog.path_of(engine)
        assert journal is not None
        journal.touch()
        Path(f"{journal}.taking").touch()
        Path(f"{path}.before-restore-20261205T083000Z").touch()
        (export_dir(settings) / "P-1.json").parent.mkdir()
        (export_dir(settings) / "P-1.json").touch()
        made = {p.name for p in repo.iterdir()} - {".git", ".gitignore"}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                                cwd=repo, capture_output=True, text=True, check=True).stdout
    engine.dispose()
    assert {"lk3.db", "lk3.db.key", "lk3.db-wal", "lk3.db-writers.lock",
            "lk3.db-service.lock", "lk3-exports"} <= made
    assert status.splitlines() == ["?? .gitignore"]


def test_a_backup_to_a_folder_that_is_not_there_is_one_sentence(
        sqlite_db: Engine, tmp_path: Path) -> None:
    """`lk3 db backup DIR/` (a trailing slash: a folder) with DIR missing says so and writes
    no file named DIR; with DIR there, the copy goes inside it."""
    url = sqlite_db.url.render_as_string(False)
    target = tmp_path / "x" / "bk"
    target.parent.mkdir()
    line = one_line(lk3("db", "backup", f"{target}/", cwd=tmp_path, DATABASE_URL=url))
    assert f"no folder {target}" in line
    assert not target.exists()
    target.mkdir()
    done = lk3("db", "backup", f"{target}/", cwd=tmp_path, DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert [p.suffix for p in target.iterdir()] == [".db"]


def test_a_misspelt_setting_in_env_stops_start_up_and_names_the_right_one(
        tmp_path: Path) -> None:
    """TELEGRAM_TOKEN in .env (for TELEGRAM_BOT_TOKEN) used to be ignored, the channel left
    off in silence; an unknown LK3_ name in the environment likewise. Both stop every
    command with one sentence that names it and the setting meant."""
    (tmp_path / ".env").write_text("TELEGRAM_TOKEN=123:AA\n", encoding="utf-8")
    done = subprocess.run([str(LK3), "flow", "check"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**_clean_env(), "HOME": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("lk3: Setting TELEGRAM_TOKEN (in .env) is not one lk3 "
                                   "reads; did you mean TELEGRAM_BOT_TOKEN?")
    (tmp_path / ".env").unlink()
    typo = subprocess.run([str(LK3), "flow", "check"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**_clean_env(), "LK3_PROCESORS": "2"})
    assert typo.returncode == 2 and "LK3_PROCESORS (in the environment)" in typo.stderr
    assert "did you mean LK3_PROCESSORS?" in typo.stderr
    fine = subprocess.run([str(LK3), "flow", "check"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=_clean_env())
    assert fine.returncode == 0 and "is not one lk3 reads" not in fine.stderr


def _clean_env() -> dict[str, str]:
    """This process's environment without lk3's settings (the tests' own may be set)."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith(
        ("LK3_", "TELEGRAM_", "TWILIO_", "DATABASE_URL"))}
