"""`lk3 counselor ...` and the supervisor views of `lk3 cases`, run as the real command."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, update

from storage import cases, conversations, counselors, queue
from storage.db import make_engine
from storage.rows import EventRow, write_rows
from tests.test_cli import FAMILY, case_number, chat_to_case, lk3

WIT_OFFSET = timedelta(hours=9)


@contextmanager
def database(cwd: Path) -> Iterator[Connection]:
    """A transaction on the same lk3.db the command uses (migrated first by the command)."""
    assert lk3("db", "upgrade", cwd=cwd).returncode == 0
    engine = make_engine(f"sqlite:///{cwd / 'lk3.db'}")
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def new_case(conn: Connection, user: str, priority: str, created: datetime,
             status: str = "waiting") -> tuple[int, str]:
    contact = conversations.touch_contact(conn, "console", user, created)
    return cases.create(conn, contact_id=contact.id, channel="console", now=created, data={
        "priority": priority, "reasons": [f"reason {user}"], "category": "dv",
        "distrik": "mimika_baru", "legal_basis": "consent", "status": status})


def counselor_list(cwd: Path) -> list[dict[str, Any]]:
    done = lk3("counselor", "list", "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return found


def one_sentence(text: str) -> str:
    line = text.strip()
    assert "\n" not in line and line.endswith("."), text
    return line


def test_help_lists_counselor(tmp_path: Path) -> None:
    """`lk3 --help` lists the counselor command with its help text."""
    done = lk3("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert re.search(r"^\s+counselor\s+\w", done.stdout, re.M)


def test_add_then_list_as_json(tmp_path: Path) -> None:
    """`counselor add` prints id and name; `list --json` has role, duty, capacity, accounts."""
    done = lk3("counselor", "add", "--name", "Maria Kogoya", "--role", "supervisor",
               "--telegram-id", "111222333", "--whatsapp", "+62 812-3456-7890", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\b1\b.*Maria Kogoya", done.stdout)
    done = lk3("counselor", "add", "--name", "Yosep", "--role", "counselor", "--capacity", "2",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    maria, yosep = counselor_list(tmp_path)
    assert maria == {"id": 1, "name": "Maria Kogoya", "role": "supervisor", "on_duty": False,
                     "capacity": 5, "open_cases": 0, "accounts": [
                         {"channel": "telegram", "id": "111222333"},
                         {"channel": "whatsapp", "id": "whatsapp:+6281234567890"}]}
    assert {k: yosep[k] for k in ("id", "name", "role", "capacity", "accounts")} == {
        "id": 2, "name": "Yosep", "role": "counselor", "capacity": 2, "accounts": []}


def test_list_prints_a_table(tmp_path: Path) -> None:
    """`counselor list` prints a header and one row per counselor, in Indonesian (the role
    and duty in words); none says so."""
    assert lk3("db", "upgrade", cwd=tmp_path).returncode == 0  # read-only commands need a DB
    assert lk3("counselor", "list", cwd=tmp_path).stdout.strip() == "Belum ada petugas."
    assert json.loads(lk3("counselor", "list", "--json", cwd=tmp_path).stdout) == []
    lk3("counselor", "add", "--name", "Maria", "--role", "admin", "--whatsapp",
        "whatsapp:+628111222333", cwd=tmp_path)
    header, row = lk3("counselor", "list", cwd=tmp_path).stdout.strip().splitlines()
    assert header.split() == ["ID", "NAMA", "PERAN", "SIAGA", "KAPASITAS", "TERBUKA", "AKUN"]
    assert row.split() == ["1", "Maria", "admin", "tidak", "5", "0", "whatsapp:+628111222333"]


def test_duplicate_accounts_are_refused_in_one_sentence(tmp_path: Path) -> None:
    """The same Telegram id or WhatsApp number (in any spelling) twice: one sentence, exit 2."""
    assert lk3("counselor", "add", "--name", "A", "--role", "counselor", "--telegram-id", "42",
               "--whatsapp", "+6281299", cwd=tmp_path).returncode == 0
    for option, value in (("--telegram-id", "42"), ("--whatsapp", "whatsapp:+62 812 99")):
        done = lk3("counselor", "add", "--name", "B", "--role", "counselor", option, value,
                   cwd=tmp_path)
        assert done.returncode == 2
        assert "sudah milik A (id 1)" in one_sentence(done.stderr)
    assert [c["name"] for c in counselor_list(tmp_path)] == ["A"]


def test_bad_role_name_and_numbers_are_refused(tmp_path: Path) -> None:
    """An unknown role, a taken name, a bad number or capacity: exit 2, nothing added."""
    assert lk3("counselor", "add", "--name", "A", "--role", "boss",
               cwd=tmp_path).returncode == 2
    assert lk3("counselor", "add", "--name", "A", "--role", "counselor",
               cwd=tmp_path).returncode == 0
    for extra in (["--name", "a"], ["--name", "B", "--whatsapp", "0812"],
                  ["--name", "B", "--telegram-id", "@bob"], ["--name", "B", "--capacity", "0"]):
        done = lk3("counselor", "add", "--role", "counselor", *extra, cwd=tmp_path)
        assert done.returncode == 2, extra
        one_sentence(done.stderr)
    assert len(counselor_list(tmp_path)) == 1


def test_remove_by_name_or_id_and_unknown(tmp_path: Path) -> None:
    """`counselor remove` takes a name or an id; an unknown one prints one sentence, exit 1."""
    for name in ("Maria", "Yosep", "Petrus"):
        lk3("counselor", "add", "--name", name, "--role", "counselor", cwd=tmp_path)
    assert lk3("counselor", "remove", "yosep", cwd=tmp_path).returncode == 0
    assert lk3("counselor", "remove", "3", cwd=tmp_path).returncode == 0
    assert [c["name"] for c in counselor_list(tmp_path)] == ["Maria"]
    for who in ("Nobody", "2", "99"):
        done = lk3("counselor", "remove", who, cwd=tmp_path)
        assert done.returncode == 1, who
        one_sentence(done.stderr)


def test_remove_returns_held_cases_to_the_queue(tmp_path: Path) -> None:
    """A removed counselor's claimed cases go back to waiting, with an audit event."""
    lk3("counselor", "add", "--name", "Maria", "--role", "counselor", "--telegram-id", "7",
        cwd=tmp_path)
    now = datetime.now(UTC)
    with database(tmp_path) as conn:
        _, number = new_case(conn, "fam", "P2", now - timedelta(minutes=20))
        assert queue.claim(conn, 1, now)[0] == "ok"
    assert counselor_list(tmp_path)[0]["open_cases"] == 1
    done = lk3("counselor", "remove", "Maria", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert number in done.stdout
    (case,) = json.loads(lk3("cases", "list", "--json", cwd=tmp_path).stdout)
    assert (case["status"], case["assignee"]) == ("waiting", None)
    shown = lk3("cases", "show", number, cwd=tmp_path).stdout
    assert re.search(r"operator server\s+dikembalikan ke antrean\s+.*petugas dihapus dari daftar",
                     shown)
    # the Telegram id is free again for someone new
    assert lk3("counselor", "add", "--name", "Yosep", "--role", "counselor", "--telegram-id",
               "7", cwd=tmp_path).returncode == 0


def test_invite_code_registers_a_counselor(tmp_path: Path) -> None:
    """`counselor invite` prints a one-time code that redeem() turns into that counselor."""
    done = lk3("counselor", "invite", "--role", "supervisor", "--name", "Ibu Rina",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    code = re.search(r"/daftar (\w+)", done.stdout)
    assert code, done.stdout
    assert lk3("counselor", "invite", cwd=tmp_path).returncode == 2  # --role is needed
    with database(tmp_path) as conn:
        now = datetime.now(UTC)
        assert counselors.redeem(conn, code[1], "telegram", "555", now) is not None
        assert counselors.redeem(conn, code[1], "telegram", "556", now) is None
    (rina,) = counselor_list(tmp_path)
    assert {k: rina[k] for k in ("name", "role", "accounts")} == {
        "name": "Ibu Rina", "role": "supervisor",
        "accounts": [{"channel": "telegram", "id": "555"}]}


def test_cases_list_shows_assignee_waiting_and_deadline(tmp_path: Path) -> None:
    """Open cases show assignee, waiting time and deadline in words; closed ones on request."""
    lk3("counselor", "add", "--name", "Maria", "--role", "counselor", cwd=tmp_path)
    now = datetime.now(UTC)
    with database(tmp_path) as conn:
        _, late = new_case(conn, "a", "P0", now - timedelta(minutes=30))
        held_id, held = new_case(conn, "b", "P0", now - timedelta(minutes=40))
        done_id, closed = new_case(conn, "c", "P0", now - timedelta(minutes=50))
        _, fresh = new_case(conn, "d", "P0", now - timedelta(seconds=30))
        assert queue.claim(conn, 1, now - timedelta(minutes=10), held)[0] == "ok"
        queue.first_response(conn, held_id, now - timedelta(minutes=38))
        queue.close(conn, done_id, "selesai", now - timedelta(minutes=1))
    got = {c["number"]: c for c in json.loads(lk3("cases", "list", "--json",
                                                  cwd=tmp_path).stdout)}
    assert {n: (c["assignee"], c["deadline_state"]) for n, c in got.items()} == {
        late: (None, "overdue"), held: ("Maria", "met"), fresh: (None, "ok")}  # open only
    assert 29 <= got[late]["waiting_minutes"] <= 31
    assert 9 <= got[held]["waiting_minutes"] <= 11
    deadline = datetime.fromisoformat(got[late]["deadline"].replace("Z", "+00:00"))
    assert got[late]["deadline"].endswith("Z")
    assert abs((deadline - (now - timedelta(minutes=25))).total_seconds()) < 2
    (gone,) = json.loads(lk3("cases", "list", "--status", "closed", "--json",
                             cwd=tmp_path).stdout)
    assert (gone["number"], gone["deadline_state"], gone["waiting_minutes"]) == (
        closed, "closed", None)
    table = lk3("cases", "list", cwd=tmp_path).stdout.strip().splitlines()
    assert re.split(r"\s{2,}", table[0]) == [
        "NOMOR", "STATUS", "PRI", "KATEGORI", "DISTRIK", "DIBUAT (WIT)", "PETUGAS", "MENUNGGU",
        "TENGGAT", "ALASAN"]
    rows = {cells[0]: cells for cells in (re.split(r"\s{2,}", line) for line in table[1:])}
    assert list(rows) == [held, late, fresh]  # most urgent, then longest waiting
    assert rows[late][1:5] == ["menunggu", "P0", "KDRT", "Mimika Baru"]
    assert re.fullmatch(r"- (29|30|31) menit lewat (24|25|26) menit reason a",
                        " ".join(rows[late][6:]))
    # answered: no one waits (a walk-through read "15 menit" as the family still waiting)
    assert " ".join([rows[held][1], *rows[held][6:]]) == "dipegang Maria - terpenuhi reason b"
    assert rows[fresh][6:] == ["-", "kurang dari 1 menit", "jatuh tempo dalam 4 menit",
                               "reason d"]
    (row,) = lk3("cases", "list", "--status", "closed", cwd=tmp_path).stdout.splitlines()[1:]
    assert re.split(r"\s{2,}", row)[1:2] + re.split(r"\s{2,}", row)[6:] == [
        "ditutup", "-", "-", "-", "reason c"]
    out = lk3("cases", "list", "--all", "--limit", "2", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in out[1:]] == [held, late, "Ditampilkan"]
    assert out[3] == ("Ditampilkan 2 dari 4; 2 lagi tidak ditampilkan (--limit N untuk lebih "
                      "banyak, --limit 0 untuk semua).")


def test_cases_show_prints_header_transcript_and_events(tmp_path: Path) -> None:
    """`cases show NUMBER` prints the case, the family's conversation and the audit trail."""
    chat_to_case(tmp_path)
    number = case_number()
    done = lk3("cases", "show", number.lower(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    head, rest = done.stdout.split("\nJawaban keluarga (")
    transcript, events = ("Percakapan (" + rest.split("\nPercakapan (")[1]).split(
        "\nKejadian (")
    events = "Kejadian (" + events
    fields = dict(re.split(r":\s+", line, maxsplit=1) for line in head.strip().splitlines()[:-1])
    assert {k: fields[k] for k in ("Kasus", "Status", "Prioritas", "Alasan", "Kategori",
                                   "Distrik", "Kanal", "Petugas", "Diambil", "Hasil",
                                   "Kepuasan")} == {
        "Kasus": number, "Status": "menunggu", "Prioritas": "P1",
        "Alasan": "kekerasan dalam rumah tangga", "Kategori": "KDRT", "Distrik": "Mimika Baru",
        "Kanal": "console", "Petugas": "-",
        "Diambil": "-", "Hasil": "-", "Kepuasan": "-"}
    created = datetime.strptime(fields["Dibuat"], "%Y-%m-%d %H:%M")
    wit_now = (datetime.now(UTC) + WIT_OFFSET).replace(tzinfo=None)
    assert abs((wit_now - created).total_seconds()) < 600  # shown in WIT
    lines = transcript.splitlines()
    assert lines[0].startswith("Percakapan (")
    said = [m[1] for m in (re.match(r"  \S+ \S+  (\w+): ", line) for line in lines[1:]) if m]
    assert said[:2] == ["Keluarga", "Bot"]
    assert said.count("Keluarga") == len(FAMILY) <= said.count("Bot")
    assert re.search(r"Keluarga: halo$", transcript, re.M)
    assert number in transcript  # the closing message names the case
    assert events.startswith("Kejadian (")
    assert re.search(r"^  \S+ \S+  bot\s+kasus dibuka\s+status: menunggu, prioritas: P1", events,
                     re.M)


def test_cases_show_names_the_counselor_who_wrote(tmp_path: Path) -> None:
    """Log rows written by a counselor show as Petugas NAME; their events name them too, and
    the server's operator and the scheduler are said in words."""
    lk3("counselor", "add", "--name", "Maria", "--role", "counselor", "--telegram-id", "9",
        cwd=tmp_path)
    now = datetime.now(UTC)
    with database(tmp_path) as conn:
        case_id, number = new_case(conn, "fam", "P2", now - timedelta(minutes=5))
        contact = conversations.touch_contact(conn, "console", "fam", now)
        cases.log_messages(conn, [
            {"contact_id": contact.id, "case_id": case_id, "inbox_id": None,
             "direction": direction, "text": text, "truncated": False,
             "original_length": len(text), "media": None, "author": author,
             "created_at": now + timedelta(seconds=i)}
            for i, (direction, author, text) in enumerate([
                ("in", "family", "tolong"), ("out", "bot", "Pesan diterima.\n\nTunggu."),
                ("out", "counselor:1", "Halo, saya Maria")])])
        write_rows(conn, [EventRow(case_id, contact.id, "counselor:1", "claimed",
                                   {"priority": "P2"}, now),
                          EventRow(case_id, contact.id, "cli:root", "privacy_export_sent",
                                   {"parts": 1}, now),
                          EventRow(case_id, contact.id, "scheduler", "subscribed",
                                   {"topic": "all", "added": []}, now)])
        conn.execute(update(cases.CASES).where(cases.CASES.c.id == case_id)
                     .values(satisfaction=4))
    out = lk3("cases", "show", number, cwd=tmp_path).stdout
    assert re.search(r"Keluarga: tolong\n.*Bot: Pesan diterima\.\n\n\s+Tunggu\.\n"
                     r".*Petugas Maria: Halo, saya Maria\n", out)
    # staff read who in words, not codes (walk V-17: `counselor:1 (Sari Wenda)`, `cli:root`,
    # `subscribed`, `parts: 1`)
    assert re.search(r"  Maria \(petugas\)\s+claimed\s+prioritas: P2$", out, re.M)
    assert re.search(r"  operator server \(root\)\s+salinan data dikirim\s+jumlah pesan: 1$",
                     out, re.M)
    assert re.search(r"  sistem \(terjadwal\)\s+keluarga mulai menerima info LK3\s+topik: ", out,
                     re.M)
    assert "counselor:1" not in out and "cli:" not in out
    assert re.search(r"^Kepuasan:\s+4$", out, re.M)


def test_cases_show_unknown_number(tmp_path: Path) -> None:
    """An unknown case number prints one sentence and exits 1; no number at all exits 2."""
    assert lk3("db", "upgrade", cwd=tmp_path).returncode == 0  # read-only commands need a DB
    done = lk3("cases", "show", "LK3-1999-00001", cwd=tmp_path)
    assert done.returncode == 1
    assert "LK3-1999-00001" in one_sentence(done.stderr)
    assert done.stdout == ""
    assert lk3("cases", "show", cwd=tmp_path).returncode == 2
