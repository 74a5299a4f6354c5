"""`lk3 counselor passwd` and `lk3 counselor add --username`, run as the real command: the
console sign-in name and password an operator sets, checked by signing in."""

from __future__ import annotations

from pathlib import Path

from bot.console.passwords import default
from storage import staffauth
from storage.db import make_engine
from tests.test_cli import lk3

GOOD = "matahari-timika-9"


def login_of(cwd: Path, username: str) -> staffauth.Login | None:
    engine = make_engine(f"sqlite:///{cwd / 'lk3.db'}")
    try:
        with engine.connect() as conn:
            return staffauth.find_login(conn, username)
    finally:
        engine.dispose()


def test_passwd_from_stdin_sets_a_password_that_signs_in(tmp_path: Path) -> None:
    """`passwd NAME --password-stdin` stores an argon2id hash (never the password) that the
    console accepts for the name as added, in any letter case."""
    assert lk3("counselor", "add", "--name", "Maria Kogoya", "--role", "supervisor",
               cwd=tmp_path).returncode == 0
    assert login_of(tmp_path, "maria kogoya").password_hash is None  # type: ignore[union-attr]
    done = lk3("counselor", "passwd", "Maria Kogoya", "--password-stdin", cwd=tmp_path,
               stdin=GOOD + "\n")
    assert done.returncode == 0, done.stderr
    assert "nama pengguna: maria kogoya" in done.stdout and GOOD not in done.stdout
    login = login_of(tmp_path, "MARIA KOGOYA")
    assert login is not None and login.password_hash is not None
    assert login.password_hash.startswith("$argon2id$") and GOOD not in login.password_hash
    assert default().check(login.password_hash, GOOD)
    assert not default().check(login.password_hash, GOOD + "x")


def test_username_at_add_replaces_the_name_for_signing_in(tmp_path: Path) -> None:
    """With --username the console name is that (lower case), not the counselor's name; a
    username already taken is refused in one sentence."""
    done = lk3("counselor", "add", "--name", "Yosep Wanma", "--role", "counselor",
               "--username", "Yosep", cwd=tmp_path)
    assert done.returncode == 0 and "Nama pengguna konsol: yosep" in done.stdout
    assert login_of(tmp_path, "yosep") is not None
    assert login_of(tmp_path, "yosep wanma") is None
    taken = lk3("counselor", "add", "--name", "Yosep", "--role", "counselor", cwd=tmp_path)
    assert taken.returncode == 2
    assert taken.stderr.strip() == ("lk3: Nama pengguna konsol 'yosep' sudah dipakai; beri "
                                    "nama lain dengan --username.")


def test_passwd_refuses_short_passwords_and_unknown_people(tmp_path: Path) -> None:
    """A password under 10 characters, or a name nobody has, changes nothing (exit 1)."""
    assert lk3("counselor", "add", "--name", "Sari", "--role", "counselor",
               cwd=tmp_path).returncode == 0
    short = lk3("counselor", "passwd", "Sari", "--password-stdin", cwd=tmp_path,
                stdin="pendek\n")
    assert short.returncode == 1 and "paling sedikit 10 karakter" in short.stderr
    assert login_of(tmp_path, "sari").password_hash is None  # type: ignore[union-attr]
    nobody = lk3("counselor", "passwd", "Nobody", "--password-stdin", cwd=tmp_path,
                 stdin=GOOD + "\n")
    assert nobody.returncode == 1 and "Tidak ada petugas 'Nobody'" in nobody.stderr
