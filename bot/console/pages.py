"""The queue page (most urgent first, then longest waiting; it refreshes itself), taking a
case ("Ambil berikutnya", "Ambil"), my cases, and duty on/off: the chat commands' operations
(bot.casework.caseops), the same rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from bot.casework import caseops, casetiming, labels
from bot.console.core import Console, Staff, outbox_written, to, to_login
from bot.console.texts import Words
from bot.pipeline import held
from storage import caseviews, outbox, queue
from storage.clock import utc

QUEUE_ROWS = 100


@dataclass(frozen=True)
class Row:
    number: str
    priority: str
    priority_words: str
    reasons: str
    category: str
    distrik: str
    waited: str
    deadline: str
    state: str  # ok | overdue | met | closed
    assignee: str
    held: str = ""  # "menunggu keluarga menulis": messages to the family wait for them


def row_of(case: Any, words: Words, now: Any, waits: dict[int, int] | None = None) -> Row:
    lang = words.lang
    t = casetiming.timing(case, casetiming.service(), now, lang)
    held = (waits or {}).get(case.id, 0)
    return Row(case.number, case.priority, words.priority(case.priority),
               labels.reasons(case.reasons, lang), labels.category(case.category, lang),
               labels.distrik(case.distrik, lang),
               labels.waited(utc(case.created_at), now, lang), t.label, t.state,
               str(getattr(case, "assignee", None) or "-"),
               words.s("held_mark_count", count=held) if held else "")


def _lists(console: Console, conn: Connection, who: Staff) -> dict[str, Any]:
    now, words = console.now(), who.words
    waiting = caseviews.case_lines(conn, ("waiting",), QUEUE_ROWS)
    mine = queue.held_by(conn, who.me.id)
    held = caseviews.case_lines(conn, ("claimed",), QUEUE_ROWS) if who.me.supervises else []
    waits = outbox.held_counts(conn, [c.id for c in [*waiting, *mine, *held]])
    return {"waiting": [row_of(c, words, now, waits) for c in waiting],
            "waiting_count": queue.count(conn, ("waiting",)),
            "mine": [row_of(c, words, now, waits) for c in mine],
            "held": [row_of(c, words, now, waits) for c in held]}


def _queue(console: Console, request: Request, fragment: bool) -> Response:
    with console.writing() as conn:
        who = console.signed_in(conn, request)
        if who is None:
            return to_login()
        lists = _lists(console, conn, who)
        notice = None if fragment else console.take_flash(conn, who)
    template = "queue_rows.html" if fragment else "queue.html"
    return console.render(template, who, notice=notice, **lists)


async def queue_page(console: Console, request: Request) -> Response:
    return await console.run(_queue, console, request, False)


async def queue_rows(console: Console, request: Request) -> Response:
    """The queue's tables alone, for the page's script to swap in every few seconds."""
    return await console.run(_queue, console, request, True)


def _take(console: Console, request: Request, number: str | None) -> Response:
    with console.writing() as conn:
        who = console.signed_in(conn, request)
        if who is None:
            return to_login()
        act = caseops.Act(conn, who.me, console.now(), console.service.flows.bundle.catalog)
        done, case = caseops.take(act, number)
        said = who.words.s(done.key, **done.params)
        if done.held is not None:  # the family learns a person took over when they write
            said += " " + who.words.s("family_held", number=done.params.get("number", ""),
                                      why=held.reason(done.held, who.words.lang))
        console.flash(conn, who, said)
    if case is None:
        return to("/queue")
    outbox_written()
    return to(f"/cases/{case.number}")


async def take(console: Console, request: Request) -> Response:
    form = await request.form()
    number = str(form.get("number") or "").strip() or None
    return await console.run(_take, console, request, number)


def _duty(console: Console, request: Request, on: bool) -> Response:
    with console.writing() as conn:
        who = console.signed_in(conn, request)
        if who is None:
            return to_login()
        act = caseops.Act(conn, who.me, console.now(), console.service.flows.bundle.catalog)
        done = caseops.duty(act, on)
        console.flash(conn, who, who.words.s(done.key, **done.params))
    return to("/queue")


async def duty(console: Console, request: Request) -> Response:
    form = await request.form()
    return await console.run(_duty, console, request, form.get("on") == "1")
