"""The supervisors' reports against a database built with known times: first response median
and p90 per priority, SLA attainment, cases waiting past their target now, counts in words,
SVG charts, and a CSV without identities whose formula-like cells are escaped."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from bot.service import Service
from storage import cases, conversations
from storage.models import Case, CaseEvent
from tests.support import FrozenClock
from tests.test_console_support import add_staff, client, console_app, sign_in, visible_text

PERIOD = {"from": "2026-11-30", "to": "2026-11-30"}


def opened(db: Engine, user: str, priority: str, at: datetime, *, answered_after: float | None,
           category: str = "dv", distrik: str = "mimika_baru", **closed: object) -> str:
    """A case opened at `at`, first answered `answered_after` minutes later (None: never)."""
    with db.begin() as conn:
        contact = conversations.touch_contact(conn, "test", user, at)
        case_id, number = cases.create(conn, contact_id=contact.id, channel="test", now=at,
                                       data={"priority": priority, "reasons": ["children_at_risk"],
                                             "category": category, "distrik": distrik,
                                             "legal_basis": "consent", "status": "waiting"})
        values: dict[str, object] = dict(closed)
        if answered_after is not None:
            values |= {"status": closed.get("status", "claimed"),
                       "first_response_at": at + timedelta(minutes=answered_after)}
        if values:
            conn.execute(update(Case).where(Case.id == case_id).values(**values))
    return number


def build(service: Service, clock: FrozenClock) -> dict[str, str]:
    """Monday 30-11-2026 09:30 WIT: five P1 (answered after 10, 20, 30, 50, 90 minutes; the
    target is 60 service minutes), two P0 (3 and 7 minutes; target 5), a P2 not yet due, a
    P0 never answered; then the clock goes to 12:00 WIT."""
    at, db = clock(), service.db
    made = {}
    for n, minutes in enumerate((10, 20, 30, 50, 90)):
        made[f"p1-{n}"] = opened(db, f"fam-p1-{n}", "P1", at, answered_after=minutes)
    made["p0-fast"] = opened(db, "fam-p0a", "P0", at, answered_after=3, status="closed",
                             outcome="dirujuk", closed_at=at + timedelta(hours=1),
                             satisfaction=5)
    made["p0-slow"] = opened(db, "fam-p0b", "P0", at, answered_after=7, status="closed",
                             outcome="selesai", closed_at=at + timedelta(hours=2),
                             satisfaction=3)
    made["p2"] = opened(db, "fam-p2", "P2", at, answered_after=None,
                        category="@SUM(1+1)", distrik='=HYPERLINK("http://evil.example")')
    made["p0-late"] = opened(db, "fam-p0c", "P0", at + timedelta(hours=1), answered_after=None)
    clock.advance(hours=2, minutes=30)
    return made


async def test_figures_median_p90_and_sla_attainment(service: Service,
                                                     clock: FrozenClock) -> None:
    """P1: median 30 min, p90 90 min, 80% within target (4/5); P0: median 5, p90 7, 1/2 of
    the answered plus the late one: 33% (1/3); the unanswered P0 is waiting past target."""
    made = build(service, clock)
    add_staff(service.db, "Yohana", clock(), role="supervisor")
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        page = await http.get("/console/reports", params=PERIOD)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "P1 risiko tinggi 5 5 30 menit 1 jam 30 menit 80% (4/5)" in text
    assert "P0 darurat 3 2 5 menit 7 menit 33% (1/3)" in text
    assert "P2 perlu segera 1 0 - - -" in text
    assert "Menunggu melewati target sekarang (1)" in text and made["p0-late"] in text
    assert "9 kasus masuk antrean" in text
    assert "KDRT" in text and "Mimika Baru" in text  # words, not codes
    assert "Kepuasan: 2 jawaban, rata-rata 4.0 dari 5." in text
    assert page.text.count("<svg") >= 6 and "<script>" not in page.text  # drawn, no inline JS


async def test_csv_has_no_identities_and_escapes_formulas(service: Service,
                                                         clock: FrozenClock) -> None:
    """One row per case of the period; no family's id; a cell starting with = or @ gets a
    leading quote; the download is recorded."""
    build(service, clock)
    add_staff(service.db, "Yohana", clock(), role="supervisor")
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        r = await http.get("/console/reports/cases.csv", params=PERIOD)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    # staff read the columns and values in Indonesian, and nothing as an empty cell (walk
    # V-17: `case, opened_wit, met_target`, `yes`/`no`, `'-` in every empty cell)
    assert rows[0] == ["Kasus", "Dibuat (WIT)", "Prioritas", "Alasan", "Kategori", "Distrik",
                       "Kanal", "Status", "Respon pertama (menit)", "Sesuai target", "Hasil",
                       "Kepuasan", "Ditutup (WIT)"] and len(rows) == 10
    assert "fam-" not in r.text
    p2 = next(row for row in rows if row[2] == "P2")
    assert p2[4] == "'@SUM(1+1)" and p2[5] == "'=HYPERLINK(\"http://evil.example\")"
    assert p2[9] == "belum (target belum lewat)" and p2[10] == p2[12] == ""
    assert {row[9] for row in rows[1:]} <= {"ya", "tidak", "belum (target belum lewat)"}
    assert "'-" not in r.text and ",yes," not in r.text and ",no," not in r.text
    assert all(not cell.startswith(("=", "@", "+", "-")) for row in rows for cell in row)
    with service.db.connect() as conn:
        exports = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "console_export")).scalars().all()
    assert exports == [{"first": "2026-11-30", "last": "2026-11-30", "rows": 9}]


async def test_reports_are_for_supervisors_only(service: Service, clock: FrozenClock) -> None:
    """A counselor gets 403 for the reports and the CSV."""
    build(service, clock)
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        assert (await http.get("/console/reports")).status_code == 403
        assert (await http.get("/console/reports/cases.csv")).status_code == 403
        assert "Laporan" not in (await http.get("/console/queue")).text


async def test_each_table_downloads_as_its_own_csv(service: Service, clock: FrozenClock) -> None:
    """Every table and chart of the page has its CSV: the figures as on the page, counts in
    words, formula-like cells escaped, no family's id; an unknown table is 404; counselors
    get 403."""
    build(service, clock)
    add_staff(service.db, "Yohana", clock(), role="supervisor")
    add_staff(service.db, "Sari", clock())
    got: dict[str, list[list[str]]] = {}
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        page = (await http.get("/console/reports", params=PERIOD)).text
        for name in ("response", "late", "priority", "category", "distrik", "day", "hour",
                     "outcome", "workload"):
            assert f'/console/reports/{name}.csv?from=2026-11-30&amp;to=2026-11-30' in page
            r = await http.get(f"/console/reports/{name}.csv", params=PERIOD)
            assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
            assert "fam-" not in r.text
            got[name] = list(csv.reader(io.StringIO(r.text)))
        assert (await http.get("/console/reports/nothing.csv")).status_code == 404
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        assert (await http.get("/console/reports/priority.csv")).status_code == 403
    assert got["response"][0][0] == "Prioritas"
    assert ["P1", "5", "5", "30.0", "90.0", "80"] in got["response"]
    assert ["P2", "1", "0", "", "", ""] in got["response"]
    assert ["KDRT", "8"] in got["category"] and ["'@SUM(1+1)", "1"] in got["category"]
    assert ["Mimika Baru", "8"] in got["distrik"]
    assert any(row[0].startswith("'=HYPERLINK") for row in got["distrik"])
    assert got["day"][1:] == [["2026-11-30", "9"]]
    assert ["09.00", "8"] in got["hour"] and ["10.00", "1"] in got["hour"]
    assert len(got["late"]) == 2 and got["late"][1][1] == "P0"
    assert ["Yohana", "0", "0", "0", "0"] in got["workload"]
