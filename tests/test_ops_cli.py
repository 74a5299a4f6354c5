"""Clean edges of the `lk3` command: help pages, closed pipes, a busy port, Ctrl-C in chat."""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from storage import migrate
from storage.db import make_engine
from tests.support import FrozenClock
from tests.test_ops_db import _env, lk3, one_line
from tests.test_ops_writers import write_case

LK3 = Path(sys.executable).with_name("lk3")
REPO = Path(__file__).resolve().parent.parent
COMMANDS = ["serve", "process", "chat", "db", "db upgrade", "db downgrade", "db current",
            "db backup", "db restore", "flow", "cases", "counselor", "keys", "bench"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_help_has_a_description_and_an_example(tmp_path: Path,
                                                                command: str) -> None:
    """`lk3 COMMAND --help` says what the command does and shows an example of it."""
    done = lk3(*command.split(), "--help", cwd=tmp_path)
    assert done.returncode == 0
    usage, description, *_ = done.stdout.split("\n\n")
    assert usage.startswith(f"usage: lk3 {command}")
    assert len(description.split()) >= 8, description
    examples = done.stdout.split("examples:\n", 1)[1]
    assert f"lk3 {command}" in examples
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`lk3 cases list --json | head -c 100`: no traceback, the exit status of a closed pipe."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        for n in range(300):  # far more than a pipe holds
            write_case(conn, "family", n, FrozenClock()())
    engine.dispose()
    proc = subprocess.Popen([str(LK3), "cases", "list", "--json", "--limit", "0"], cwd=tmp_path,
                            env=_env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    """`lk3 serve` on a port another program listens on: one sentence naming it, exit 2."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = lk3("serve", cwd=tmp_path, LK3_PORT=str(port))
    assert done.returncode == 2
    assert f"Port {port} on 127.0.0.1 is in use" in one_line(done)


def _read_until(fd: int, text: bytes, seen: bytearray, within: float) -> bool:
    """Read the terminal until `text` shows (waiting on the child, not timing it)."""
    deadline = time.monotonic() + within
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return text in seen


def test_ctrl_c_ends_an_interactive_chat_at_once(tmp_path: Path) -> None:
    """Ctrl-C at the chat's prompt ends `lk3 chat` with status 130, without waiting for Enter."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: lk3 chat on a terminal
        os.chdir(tmp_path)
        os.execve(str(LK3), [str(LK3), "chat"], _env(None))
    seen = bytearray()
    status = None
    try:
        assert _read_until(fd, b"Anda: ", seen, 60), seen
        os.write(fd, b"\x03")  # the terminal turns it into SIGINT
        deadline = time.monotonic() + 20
        while status is None and time.monotonic() < deadline:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
            else:
                _read_until(fd, b"\0", seen, 0.2)
        assert status == 130, bytes(seen)
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert b"Traceback" not in seen


def test_license_is_an_spdx_string() -> None:
    """pyproject.toml names the license as an SPDX string, with a setuptools that reads it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert project["build-system"]["requires"] == ["setuptools>=77"]
