"""Settings: defaults, `.env`, the environment first, and a wrong one stops start-up in a line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings

LK3 = Path(sys.executable).with_name("lk3")
SETTINGS = ("DATABASE_URL", "LK3_HOST", "LK3_PORT", "LOG_LEVEL", "LK3_POLL_INTERVAL")


@pytest.fixture(autouse=True)
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting in the environment; the working directory is an empty folder."""
    for name in list(os.environ):
        if name.upper() in SETTINGS:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lk3(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    return subprocess.run([str(LK3), *args], cwd=cwd, env={**base, **env}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_defaults() -> None:
    """With nothing set the bot uses the SQLite file lk3.db and listens on 127.0.0.1:8000."""
    s = load_settings()
    assert s.database_url == "sqlite:///lk3.db"
    assert (s.lk3_host, s.lk3_port, s.log_level) == ("127.0.0.1", 8000, "INFO")


def test_dotenv_in_working_directory_is_read(bare: Path) -> None:
    """Values in .env in the working directory are used."""
    (bare / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\nLK3_PORT=8123\n"
                               "LOG_LEVEL=debug\n", encoding="utf-8")
    s = load_settings()
    assert (s.database_url, s.lk3_port, s.log_level) == ("sqlite:///from-dotenv.db", 8123,
                                                         "DEBUG")


def test_environment_beats_dotenv(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting in the environment wins over the same setting in .env."""
    (bare / ".env").write_text("LK3_PORT=8123\nLK3_HOST=0.0.0.0\n", encoding="utf-8")
    monkeypatch.setenv("LK3_PORT", "8200")
    s = load_settings()
    assert (s.lk3_port, s.lk3_host) == (8200, "0.0.0.0")


@pytest.mark.parametrize(("name", "value"), [
    ("LK3_PORT", "abc"), ("DATABASE_URL", "mysql://x"), ("LOG_LEVEL", "LOUD")])
def test_wrong_setting_stops_with_one_line(bare: Path, name: str, value: str) -> None:
    """A wrong setting exits 2 with one line on stderr naming it, and no traceback."""
    done = lk3("cases", "list", cwd=bare, env={name: value})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_wrong_setting_in_dotenv_stops_too(bare: Path) -> None:
    """A wrong value in .env stops start-up just like one in the environment."""
    (bare / ".env").write_text("LK3_PORT=abc\n", encoding="utf-8")
    done = lk3("cases", "list", cwd=bare, env={})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "LK3_PORT" in done.stderr, done.stderr


def test_env_example_copied_as_is_starts(bare: Path) -> None:
    """`.env.example` copied to `.env` unchanged is a valid configuration (channels off)."""
    example = Path(__file__).resolve().parents[1] / ".env.example"
    (bare / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    assert lk3("db", "upgrade", cwd=bare, env={}).returncode == 0  # `cases` never creates it
    done = lk3("cases", "list", cwd=bare, env={})
    assert done.returncode == 0, done.stderr
