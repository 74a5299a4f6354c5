"""/console/reports and /console/reports/cases.csv: how the service did in a period (WIT
days, `from` and `to` inclusive; default the last 30 days), for supervisors only. Charts are
SVG drawn on the server. The CSV has one row per case with no identity (no contact, no name,
no free text), and every cell a spreadsheet could run as a formula is escaped. Each view and
each download is an audit event."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from bot.casework import casetiming, labels
from bot.console import charts, figures
from bot.console.core import Console, Staff, to_login
from storage import reports

DEFAULT_DAYS = 30
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
WORK_KINDS = ("claim", "message", "note", "referral", "transfer", "release", "close")


def safe(cell: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a `'`; the
    views' `-` for nothing is an empty cell (walk V-17: `'-` in every empty cell)."""
    if cell is None or cell == "-":
        return ""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def period(request: Request, today: date) -> tuple[date, date]:
    """(first day, last day) in WIT from `from`/`to` (YYYY-MM-DD); the last 30 days else."""
    try:
        first = date.fromisoformat(request.query_params["from"])
        last = date.fromisoformat(request.query_params["to"])
    except (KeyError, ValueError):
        return today - timedelta(days=DEFAULT_DAYS - 1), today
    return (first, last) if first <= last else (last, first)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    tz = casetiming.service().tz
    return (datetime.combine(first, time(0), tz),
            datetime.combine(last + timedelta(days=1), time(0), tz))


def _allowed(console: Console, conn: Connection, request: Request) -> Staff | Response:
    who = console.signed_in(conn, request)
    if who is None:
        return to_login()
    if not who.me.supervises:
        return console.forbidden(conn, who, who.words.t("reports.forbidden"),
                                 page=request.url.path)
    return who


def _minutes(value: float | None, lang: str) -> str:
    return "-" if value is None else labels.duration(timedelta(minutes=value), lang)


def _context(who: Staff, found: list[reports.CaseFacts], late: list[figures.Late],
             work: list[reports.Workload], first: date, last: date,
             now: datetime) -> dict[str, Any]:
    w, lang, hours = who.words, who.words.lang, casetiming.service()
    answers = figures.responses(found, hours, now)
    by = {"priority": [(w.priority(p), n) for p, n in sorted(
              figures.counts([c.priority for c in found]))],
          "category": [(labels.category(k or None, lang), n)
                       for k, n in figures.counts([c.category for c in found])],
          "distrik": [(labels.distrik(k or None, lang), n)
                      for k, n in figures.counts([c.distrik for c in found])]}
    outcomes = [(labels.outcome(k or None, lang), n) for k, n in
                figures.counts([c.outcome for c in found if c.status == "closed"])]
    happy = figures.satisfaction(found)
    days = figures.by_day(found, hours, first, last + timedelta(days=1))
    sla = [(w.priority(r.priority), round(100 * r.attainment)) for r in answers
           if r.attainment is not None]  # a priority with nothing due has no bar, not 0%
    return {
        "first": first.isoformat(), "last": last.isoformat(), "total": len(found),
        "by": by, "answers": answers, "late": late, "outcomes": outcomes, "happy": happy,
        "work": work, "minutes": lambda v: _minutes(v, lang), "days": days,
        "hours": figures.by_hour(found, hours),
        "charts": {
            "priority": charts.bars(w.t("reports.by_priority"), by["priority"]),
            "category": charts.bars(w.t("reports.by_category"), by["category"]),
            "distrik": charts.bars(w.t("reports.by_distrik"), by["distrik"]),
            "sla": charts.bars(w.t("reports.sla_chart"), [(k, float(v)) for k, v in sla],
                               [f"{v}%" for _, v in sla]),
            "day": charts.bars(w.t("reports.by_day"),
                               [(d.strftime("%d-%m"), n) for d, n in days]),
            "hour": charts.bars(w.t("reports.by_hour"),
                                [(f"{h:02d}.00", n) for h, n in figures.by_hour(found, hours)]),
            "outcome": charts.bars(w.t("reports.outcomes"), outcomes),
        },
    }


def _read(conn: Connection, who: Staff, request: Request,
          now: datetime) -> tuple[date, date, dict[str, Any]]:
    """The period asked for and the page's figures for it."""
    first, last = period(request, now.astimezone(casetiming.service().tz).date())
    start, end = _bounds(first, last)
    found = reports.cases_opened(conn, start, end)
    late = figures.waiting_past_target(reports.open_cases(conn), casetiming.service(), now)
    work = reports.workload(conn, start, end, WORK_KINDS)
    return first, last, _context(who, found, late, work, first, last, now)


def _page(console: Console, request: Request) -> Response:
    now = console.now()
    with console.writing() as conn:
        who = _allowed(console, conn, request)
        if not isinstance(who, Staff):
            return who
        first, last, ctx = _read(conn, who, request, now)
        console.audit(conn, who, "console_report", first=first.isoformat(), last=last.isoformat())
    return console.render("reports.html", who, **ctx)


async def report_page(console: Console, request: Request) -> Response:
    return await console.run(_page, console, request)


def header(who: Staff) -> list[str]:
    """The case CSV's columns in the staff's language (walk V-17: `case, opened_wit,
    met_target` in English for Indonesian staff)."""
    t, s = who.words.t, who.words.s
    return [s("field.number"), t("reports.csv.opened"), s("field.priority"),
            s("field.reasons"), s("field.category"), s("field.distrik"), s("field.channel"),
            s("field.status"), t("reports.csv.first_response"), t("reports.csv.met_target"),
            s("field.outcome"), s("field.satisfaction"), t("reports.csv.closed")]


def _row(c: reports.CaseFacts, who: Staff, now: datetime) -> list[Any]:
    """A case in words; what is not there yet (no outcome, not closed) an empty cell."""
    hours, lang = casetiming.service(), who.lang
    met = who.words.t(f"reports.csv.met.{figures.met_target(c, hours, now)}")
    return [c.number, labels.wit(c.created_at), c.priority, labels.reasons(c.reasons, lang),
            labels.category(c.category, lang) if c.category else "",
            labels.distrik(c.distrik, lang) if c.distrik else "", c.channel,
            labels.status(c.status, lang), figures.first_response_minutes(c), met,
            labels.outcome(c.outcome, lang) if c.outcome else "",
            "" if c.satisfaction is None else c.satisfaction,
            labels.wit(c.closed_at) if c.closed_at else ""]


def _csv(console: Console, request: Request) -> Response:
    now = console.now()
    with console.writing() as conn:
        who = _allowed(console, conn, request)
        if not isinstance(who, Staff):
            return who
        first, last = period(request, now.astimezone(casetiming.service().tz).date())
        found = reports.cases_opened(conn, *_bounds(first, last))
        console.audit(conn, who, "console_export", first=first.isoformat(), last=last.isoformat(),
               rows=len(found))
    name = f"lk3-cases-{first.isoformat()}-{last.isoformat()}.csv"
    return _csv_response(name, header(who), [_row(c, who, now) for c in found])


async def cases_csv(console: Console, request: Request) -> Response:
    return await console.run(_csv, console, request)


def tables(who: Staff, ctx: dict[str, Any]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The page's tables and charts as (header, rows), each a CSV of its own; counts and
    staff names only, no family's identity."""
    t, s = who.words.t, who.words.s
    count = t("reports.cases")
    counted = {name: ([s(f"field.{name}"), count], [list(r) for r in ctx["by"][name]])
               for name in ("priority", "category", "distrik")}
    return {
        **counted,
        "response": ([s("field.priority"), count, t("reports.answered"),
                      t("reports.median") + " (min)", t("reports.p90") + " (min)",
                      t("reports.sla") + " (%)"],
                     [[r.priority, r.cases, r.answered, r.median_minutes, r.p90_minutes,
                       None if r.attainment is None else round(100 * r.attainment)]
                      for r in ctx["answers"]]),
        "late": ([s("field.number"), s("field.priority"), s("field.status"),
                  s("field.deadline"), t("reports.late_by") + " (min)"],
                 [[c.number, c.priority, labels.status(c.status, who.lang), labels.wit(c.deadline),
                   int(c.late_by.total_seconds() // 60)] for c in ctx["late"]]),
        "day": ([t("reports.day"), count], [[d.isoformat(), n] for d, n in ctx["days"]]),
        "hour": ([t("reports.hour"), count], [[f"{h:02d}.00", n] for h, n in ctx["hours"]]),
        "outcome": ([s("field.outcome"), count], [list(r) for r in ctx["outcomes"]]),
        "workload": ([t("reports.person"), t("reports.holding"), t("reports.taken"),
                      t("reports.messages"), t("reports.closed")],
                     [[p.name, p.holding, p.done.get("claim", 0), p.done.get("message", 0),
                       p.done.get("close", 0)] for p in ctx["work"]]),
    }


def _csv_response(name: str, header: list[str], rows: list[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe(h) for h in header])
    writer.writerows([safe(cell) for cell in row] for row in rows)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


def _table_csv(console: Console, request: Request) -> Response:
    now = console.now()
    name = request.path_params["table"]
    with console.writing() as conn:
        who = _allowed(console, conn, request)
        if not isinstance(who, Staff):
            return who
        first, last, ctx = _read(conn, who, request, now)
        found_tables = tables(who, ctx)
        if name not in found_tables:
            return console.render("error.html", who, status=404,
                                  message=who.words.t("reports.no_table"))
        console.audit(conn, who, "console_export", table=name, first=first.isoformat(),
               last=last.isoformat())
    header, rows = found_tables[name]
    return _csv_response(f"lk3-{name}-{first.isoformat()}-{last.isoformat()}.csv", header, rows)


async def table_csv(console: Console, request: Request) -> Response:
    return await console.run(_table_csv, console, request)
