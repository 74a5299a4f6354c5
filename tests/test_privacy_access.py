"""Who looked at a case: every viewing path writes one access record, `lk3 cases audit`
lists them; the commands as an operator runs them, exports kept private (mode 600)."""

from __future__ import annotations

import getpass
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.casework.scheduler import Scheduler
from bot.cli.caseshow import show
from bot.privacy import access
from bot.privacy.cli import family_texts
from bot.privacy.export import export
from bot.service import Service
from storage import accesslog, cases
from storage.models import CaseAccess, CaseEvent
from tests.support import FrozenClock
from tests.test_cli import FAMILY, case_number, lk3
from tests.test_console_support import add_staff, client, console_app, family_case, sign_in
from tests.test_handoff import Person
from tests.test_scheduler import hire, open_case
from tests.test_staff_growth import write_lock_held


def records(db: Engine) -> list[tuple[str, str, str | None]]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(  # type: ignore[misc]
            CaseAccess.actor, CaseAccess.via, CaseAccess.reason).order_by(CaseAccess.id))]


def test_each_viewing_path_writes_one_record(service: Service, clock: FrozenClock,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`cases show`, `/riwayat`, `/kasus` and a DATA export: one record each, with who
    and through what; a supervisor opening someone else's case says why first, from the
    reasons offered (break-glass), and the record keeps the reason's code."""
    family = Person(service, "fam")
    number = family.intake()
    holder = hire(service.db, clock, "yos")
    boss = hire(service.db, clock, "sup", role="supervisor", duty=False)
    counselor, supervisor = Person(service, "yos"), Person(service, "sup")
    counselor.say(f"/ambil {number}")
    assert records(service.db) == []
    assert show(service.db, number, now=clock()) == 0
    access.drain(service.db)  # SQLite: from the journal, as the scheduler's next run does
    assert records(service.db) == [(access.cli_actor(), "cases_show", None)]
    counselor.say("/riwayat")
    counselor.say("/kasus")
    assert records(service.db)[1:] == [(f"counselor:{holder}", "riwayat", None),
                                       (f"counselor:{holder}", "kasus", None)]
    asked = supervisor.say(f"/kasus {number}")  # someone else's case: why?
    assert "dipegang yos" in asked[0] and "darurat (keluarga dalam bahaya)" in asked[0]
    assert supervisor.say(f"/kasus {number} entah") == asked  # not one of the reasons
    assert len(records(service.db)) == 3  # nothing opened, nothing recorded
    assert supervisor.say(f"/kasus {number} Darurat") == [f"Kasus aktif sekarang {number}."]
    assert supervisor.say(f"/kasus {number}") == [f"Kasus aktif sekarang {number}."]  # shift
    assert records(service.db)[3:] == [(f"counselor:{boss}", "kasus", "emergency"),
                                       (f"counselor:{boss}", "kasus", None)]
    capsys.readouterr()


def test_cases_show_records_without_waiting_for_a_writer(sqlite_db: Engine,
                                                        clock: FrozenClock) -> None:
    """SQLite, a writer holding the lock: `cases show` still answers at once; its record
    waits in the journal (mode 600) and reaches the table on the scheduler's next run."""
    case_id = open_case(sqlite_db, clock, "P2")
    with sqlite_db.connect() as conn:
        number = cases.number_of(conn, case_id)
    with write_lock_held(sqlite_db):
        assert show(sqlite_db, number, now=clock()) == 0
    journal = accesslog.path_of(sqlite_db)
    assert journal is not None and stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert records(sqlite_db) == []
    Scheduler(sqlite_db, clock).run_once()
    assert [via for _, via, _ in records(sqlite_db)] == ["cases_show"]
    assert access.drain(sqlite_db) == 0  # moved once


def test_a_data_export_is_recorded_too(service: Service, clock: FrozenClock,
                                       tmp_path: Path) -> None:
    """An export reads the case: one record `export`."""
    family = Person(service, "fam")
    family.intake()
    family.say("DATA")
    out = export(service.db, 1, tmp_path, family_texts(), clock(), False, "cli:maria")
    assert out.code == 0
    access.drain(service.db)
    assert records(service.db) == [("cli:maria", "export", None)]


def test_the_commands_as_an_operator_runs_them(tmp_path: Path) -> None:
    """`lk3 privacy list`, `lk3 cases hold`, `lk3 cases show` then `lk3 cases audit`, and
    `lk3 privacy export` writing its copy beside the database, folder 700 and file 600."""
    chat = lk3("chat", "--user", "u1", cwd=tmp_path,
               stdin="\n".join([*FAMILY, "DATA"]) + "\n")
    assert chat.returncode == 0, chat.stderr
    listed = lk3("privacy", "list", "--json", cwd=tmp_path)
    (req,) = json.loads(listed.stdout)
    assert (req["request"], req["kind"], req["cases"]) == ("P-1", "data", [case_number()])
    held = lk3("cases", "hold", case_number(), "--reason", "proses hukum UU TPKS",
               cwd=tmp_path)
    assert held.returncode == 0 and "ditahan" in held.stdout
    assert lk3("cases", "show", case_number(), cwd=tmp_path).returncode == 0
    audit = lk3("cases", "audit", case_number(), cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    lines = audit.stdout.splitlines()
    assert lines[0].startswith(f"Catatan akses kasus {case_number()} (1)")
    assert f"operator server ({getpass.getuser()})" in lines[1] and "lk3 cases show" in lines[1]
    made = lk3("privacy", "export", "P-1", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Salinan data Anda" in made.stdout
    folder = tmp_path / "lk3-exports"
    (copy,) = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    wrong = lk3("privacy", "erase", "P-1", cwd=tmp_path)
    assert wrong.returncode == 1 and "hapus data (HAPUS)" in wrong.stderr


async def test_the_console_is_a_viewing_path_too(service: Service, clock: FrozenClock,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The console's case page: one access record a view; its live transcript one when it
    brings new messages. A supervisor opening Sari's case is asked why first and sees
    nothing of it until a reason is chosen; the reason covers 8 hours from when it was given
    (views in between do not stretch it), then is asked again.
    `lk3 cases audit` says who by name and how and why in words; the case's history does
    not fill with views."""
    case = await family_case(service, "fam-look", "P2")
    sari = add_staff(service.db, "Sari Wenda", clock())
    boss = add_staff(service.db, "Yohana", clock(), role="supervisor")
    async with client(console_app(service)) as http:
        await sign_in(http, "sari wenda")
        await http.post("/console/take", data={"number": case.number})
        assert records(service.db) == []  # taking is an action, not a view
        assert (await http.get(f"/console/cases/{case.number}")).status_code == 200
        nothing_new = await http.get(f"/console/cases/{case.number}/live?after={10 ** 9}")
        news = await http.get(f"/console/cases/{case.number}/live?after=0")
        assert nothing_new.status_code == news.status_code == 200
    seen_by_sari = [(f"counselor:{sari}", "console", None),
                    (f"counselor:{sari}", "console_live", None)]
    assert records(service.db) == seen_by_sari
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        asked = await http.get(f"/console/cases/{case.number}")
        assert asked.status_code == 200 and "dipegang Sari Wenda" in asked.text
        assert "keluarga dalam bahaya" in asked.text and "Kirim ke keluarga" not in asked.text
        assert (await http.get(f"/console/cases/{case.number}/live?after=0")).status_code == 403
        unchosen = await http.post(f"/console/cases/{case.number}/why", data={"reason": "x"})
        assert unchosen.status_code == 400 and "Pilih salah satu alasan" in unchosen.text
        assert records(service.db) == seen_by_sari  # nothing shown, nothing recorded
        opened = await http.post(f"/console/cases/{case.number}/why",
                                 data={"reason": "holder_absent"})
        assert opened.status_code == 200 and "Kirim ke keluarga" in opened.text
        for _ in range(31):  # a view every 15 minutes (the session's idle limit is 30)
            clock.advance(minutes=15)
            again = await http.get(f"/console/cases/{case.number}")  # same shift: not asked
            assert "Kirim ke keluarga" in again.text
        clock.advance(minutes=60)  # 8 h 45 min after the reason, 1 h after the last view
        assert "Kirim ke keluarga" not in (await http.get(
            f"/console/cases/{case.number}")).text  # asked again: views did not stretch it
    assert records(service.db) == [*seen_by_sari,  # the reason once, where it was given
                                   (f"counselor:{boss}", "console", "holder_absent"),
                                   *[(f"counselor:{boss}", "console", None)] * 31]
    with service.db.connect() as conn:
        kinds = conn.execute(select(CaseEvent.kind)).scalars().all()
    assert not [k for k in kinds if "view" in k]
    capsys.readouterr()
    assert access.audit(service.db, case.number, as_json=False) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Catatan akses kasus {case.number} (34), waktu dalam WIT:"
    assert "Sari Wenda" in out[1] and "konsol, halaman kasus" in out[1]
    assert "konsol, percakapan berjalan" in out[2]
    assert "Yohana" in out[3] and \
        "alasan: pemegang kasus tidak membalas atau tidak bertugas" in out[3]
    assert "console" not in "\n".join(out) and "holder_absent" not in "\n".join(out)


def test_a_journal_from_before_a_reset_never_stops_the_p0_realerts(
        sqlite_db: Engine, clock: FrozenClock) -> None:
    """Walk V-2: `lk3 cases show` wrote the journal; the database was reset (or restored);
    the journal's line named a case this database did not have, and every scheduler run
    failed on a foreign key, the P0 re-alerts with it. Lines for cases this database does
    not have under that number are kept aside, never written to another family's case, and
    the P0 is re-alerted."""
    from datetime import timedelta

    from tests.test_scheduler import run_at, texts

    journal = accesslog.path_of(sqlite_db)
    assert journal is not None
    hire(sqlite_db, clock, "ani")
    t0 = clock()
    case_id = open_case(sqlite_db, clock, "P0")
    with sqlite_db.connect() as conn:
        number = cases.number_of(conn, case_id)
    stale = [{"case_id": 99, "number": "LK3-2026-00099", "actor": "cli:root",
              "via": "cases_show", "reason": None, "created_at": t0},  # no such case
             {"case_id": case_id, "number": "LK3-2025-00001", "actor": "cli:root",
              "via": "cases_show", "reason": None, "created_at": t0}]  # another family's
    accesslog.append(journal, stale)
    sched = Scheduler(sqlite_db, clock)
    assert run_at(sched, clock, t0 + timedelta(minutes=5)) == 1
    assert texts(sqlite_db, "ani") and number in texts(sqlite_db, "ani")[0]
    assert records(sqlite_db) == []  # nothing written to this database's case
    kept = Path(f"{journal}.unmatched").read_text().splitlines()
    assert [json.loads(line)["number"] for line in kept] == ["LK3-2026-00099", "LK3-2025-00001"]
    assert stat.S_IMODE(Path(f"{journal}.unmatched").stat().st_mode) == 0o600
    assert show(sqlite_db, number, now=clock()) == 0  # a view of this database's case: kept
    assert access.drain(sqlite_db) == 1 and [v for _, v, _ in records(sqlite_db)] == \
        ["cases_show"]
