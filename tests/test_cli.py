"""The `lk3` command as an operator runs it, in a fresh working directory (SQLite lk3.db)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from flows.engine import Engine
from storage import inbox, migrate
from storage.db import make_engine, shard_of
from storage.models import InboxMessage

LK3 = Path(sys.executable).with_name("lk3")
SETTINGS = ("DATABASE_URL", "LK3_HOST", "LK3_PORT", "LOG_LEVEL", "LK3_POLL_INTERVAL",
            "LK3_PROCESSORS")
# greeting -> chat -> no danger -> agree -> adult -> domestic violence -> myself -> Mimika Baru
# -> skip the kampung -> not injured, perpetrator not near, no weapon, not getting worse,
# no child at risk, a safe place tonight, safe to keep chatting -> contact by this chat, skip
# the safe times, no message left, skip the codeword -> skip the account
FAMILY = ["halo", "1", "3", "1", "2", "2", "1", "1", "LEWATI", "2", "2", "2", "2", "2", "1",
          "1", "1", "LEWATI", "2", "LEWATI", "LEWATI"]
PROMPTS = ["greeting", "danger", "consent", "age", "category", "who", "distrik", "kampung",
           "risk.injured", "risk.perpetrator", "risk.weapon", "risk.escalation",
           "risk.children", "risk.safe_place", "risk.safe_chat", "contact_pref", "safe_times",
           "leave_message", "codeword", "account", "closing"]


def lk3(*args: str, cwd: Path, stdin: str = "",
        settings: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS} | (settings or {})
    done = subprocess.run([str(LK3), *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def case_number() -> str:
    return f"LK3-{datetime.now(UTC).year}-00001"


def chat_to_case(cwd: Path) -> str:
    done = lk3("chat", "--user", "u1", cwd=cwd, stdin="\n".join(FAMILY) + "\n")
    assert done.returncode == 0, done.stderr
    return done.stdout


def fragment(key: str) -> str:
    """A line of the Indonesian text for `key` with no placeholder in it."""
    text = Engine.load("intake").bundle.catalog.text(key, "id")
    return next(line for line in text.splitlines() if "{" not in line)


def test_help_lists_every_command(tmp_path: Path) -> None:
    """`lk3 --help` lists serve, process, chat, db, flow, cases, keys and bench."""
    done = lk3("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("serve", "process", "chat", "db", "flow", "cases", "keys", "bench"):
        assert re.search(rf"^\s+{command}\s+\w", done.stdout, re.M), command


def test_chat_from_a_pipe_prints_every_reply_and_the_case_number(tmp_path: Path) -> None:
    """Piped lines get one reply each, in order, ending with the case number; exit 0."""
    out = chat_to_case(tmp_path)
    # the P1 answer (domestic violence) brings the safety message once, and, with no staff
    # registered, the notice that the alert reached nobody (which, for an urgent case, stands
    # for the out-of-hours one), short beside the safety message's numbers; every other line
    # gets exactly one reply
    notices = out.count(fragment("alert_unsent.short"))
    assert notices == 1 and fragment("out_of_hours") not in out
    assert out.count(fragment("safety_p1")) == 1
    assert out.count("LK3: ") - notices - 1 == len(FAMILY)
    at = 0
    for key in PROMPTS:
        found = out.find(fragment(key), at)
        assert found >= 0, f"reply {key!r} missing or out of order"
        at = found
    closing = out[out.rfind("LK3: Terima kasih sudah menghubungi LK3."):]
    assert case_number() in closing.split("\nLK3: ")[0]
    assert (tmp_path / "lk3.db").exists()


def test_cases_list_json_shows_the_new_case(tmp_path: Path) -> None:
    """After a chat `lk3 cases list --json` prints the waiting case with its triage."""
    chat_to_case(tmp_path)
    done = lk3("cases", "list", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (case,) = json.loads(done.stdout)
    assert {k: case[k] for k in ("number", "status", "priority", "reasons", "category",
                                 "distrik", "channel")} == {
        "number": case_number(), "status": "waiting", "priority": "P1",
        "reasons": ["domestic_violence"], "category": "dv", "distrik": "mimika_baru",
        "channel": "console"}
    assert case["created_at"].endswith(("Z", "+00:00"))
    created = datetime.fromisoformat(case["created_at"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600


def test_cases_list_prints_a_table(tmp_path: Path) -> None:
    """`lk3 cases list` prints a header and one readable row per case."""
    chat_to_case(tmp_path)
    done = lk3("cases", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.strip().splitlines()
    assert re.split(r"\s{2,}", header)[:5] == ["NOMOR", "STATUS", "PRI", "KATEGORI", "DISTRIK"]
    (row,) = rows
    assert re.split(r"\s{2,}", row)[:5] == [case_number(), "menunggu", "P1", "KDRT",
                                            "Mimika Baru"]  # staff read words, not codes
    assert row.endswith("kekerasan dalam rumah tangga")  # and the reason in words


def test_empty_queue(tmp_path: Path) -> None:
    """With no cases the table says so and the JSON is an empty array."""
    assert lk3("db", "upgrade", cwd=tmp_path).returncode == 0  # listing never creates one
    assert lk3("cases", "list", cwd=tmp_path).stdout.strip() == (
        "Tidak ada kasus terbuka (--all untuk semua kasus, juga yang ditutup).")
    assert json.loads(lk3("cases", "list", "--json", cwd=tmp_path).stdout) == []


def test_chat_in_english_greets_in_english(tmp_path: Path) -> None:
    """`lk3 chat --lang en` greets a new family in English."""
    done = lk3("chat", "--lang", "en", "--user", "u2", cwd=tmp_path, stdin="hello\n")
    assert done.returncode == 0, done.stderr
    english = Engine.load("intake").bundle.catalog.text("greeting", "en").splitlines()[1]
    assert english in done.stdout
    assert fragment("greeting") not in done.stdout


def test_db_upgrade_then_current_report_head(tmp_path: Path) -> None:
    """`lk3 db upgrade` and `lk3 db current` both report the head revision."""
    head = migrate.head()
    for action in ("upgrade", "current"):
        done = lk3("db", action, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"database at revision {head}"
    assert (tmp_path / "lk3.db").exists()


def test_process_refuses_a_shard_outside_the_configured_processors(tmp_path: Path) -> None:
    """`lk3 process --shard 3` with LK3_PROCESSORS=2: one sentence naming both, exit 2."""
    (tmp_path / ".env").write_text("LK3_PROCESSORS=2\n", encoding="utf-8")
    done = lk3("process", "--shard", "3", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--shard" in lines[0] and "LK3_PROCESSORS (2)" in lines[0], lines


def test_process_handles_its_own_shard_only_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """`lk3 process --shard 2` of 2 answers the contacts of shard 2 and leaves shard 1's."""
    (tmp_path / ".env").write_text("LK3_PROCESSORS=2\nLK3_POLL_INTERVAL=0.05\n",
                                   encoding="utf-8")
    db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
    migrate.upgrade(db)
    users = [f"u{n}" for n in range(8)]
    with db.begin() as conn:
        for user in users:
            inbox.store(conn, channel="console", provider_message_id=f"p-{user}", sender=user,
                        payload={"text": "halo"}, now=datetime.now(UTC))
    ours = {u for u in users if shard_of(f"console:{u}", 2) == 1}
    assert ours and len(ours) < len(users)
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    proc = subprocess.Popen([str(LK3), "process", "--shard", "2"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # waiting for another process, not timing it
            with db.connect() as conn:
                done = {r[0] for r in conn.execute(select(InboxMessage.sender).where(
                    InboxMessage.processed_at.is_not(None)))}
            if done >= ours:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert done == ours  # shard 1 is left to `lk3 serve`
    assert proc.returncode == 0 and "Traceback" not in err, err
    db.dispose()


def test_chat_answers_a_family_of_any_shard_with_several_processors(tmp_path: Path) -> None:
    """With LK3_PROCESSORS=2 in the settings, a terminal family whose contact belongs to the
    second processor's shard is answered all the same."""
    user = next(f"u{n}" for n in range(100) if shard_of(f"console:u{n}", 2) == 1)
    done = lk3("chat", "--user", user, cwd=tmp_path, stdin="halo\n",
               settings={"LK3_PROCESSORS": "2"})
    assert done.returncode == 0, done.stderr
    greeting = Engine.load("intake").bundle.catalog.text("greeting", "id").splitlines()[1]
    assert greeting in done.stdout
