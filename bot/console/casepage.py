"""/console/cases/{NUMBER}: one case, its live transcript, and what staff do to it.

A counselor reads the cases they hold; a supervisor every case. Opening another's case gets
403, and the attempt is an audit event (`console_forbidden`). Every view writes an access
record (bot.privacy.access, listed by `lk3 cases audit`): `console`, and for the live
transcript `console_live` when it brings new messages; a supervisor reading a case someone
else holds first says why (a reason from `access.REASONS`, once a shift), as with `/kasus`:
a break-glass view, its reason on the record.
Actions are bot.casework.caseops, the chat commands' operations, with the same rule: the
holder of a held case, or a supervisor. A reply reaches the family through the outbox
exactly as a chat reply does, and the counselor's phone chat gets a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from bot.casework import caseops, labels, staff
from bot.console import caseview
from bot.console.core import Console, Staff, outbox_written, to, to_login
from bot.console.texts import text
from bot.pipeline import held
from bot.privacy import access
from storage import consoleviews, counselors, queue
from storage.queue import CaseView


def _forbidden(console: Console, conn: Connection, who: Staff, number: str,
               case_id: int | None) -> Response:
    return console.forbidden(conn, who, who.words.t("forbidden"), case_id, number=number[:40])


def _not_found(console: Console, who: Staff, number: str) -> Response:
    return console.render("error.html", who, status=404,
                          message=who.words.s("unknown_case", number=number[:40]))


class Opened(NamedTuple):
    who: Staff
    row: Any  # the case's line (caseview.find)
    case: CaseView


def _open(console: Console, conn: Connection, request: Request, number: str, *,
          lock: bool = False, unsigned: Callable[[], Response] = to_login) -> Opened | Response:
    """Who asks and the case, when they may read it; otherwise the answer to give (sign in,
    404, or 403 with the attempt recorded). `lock`: the case row locked for an action."""
    who = console.signed_in(conn, request)
    if who is None:
        return unsigned()
    row = caseview.find(conn, number)
    case = None if row is None else (queue.locked if lock else queue.by_id)(conn, row.id)
    if row is None or case is None:
        return _not_found(console, who, number)
    if not caseops.may_read(who.me, case):
        return _forbidden(console, conn, who, number, row.id)
    return Opened(who, row, case)


def _glass(conn: Connection, who: Staff, case: CaseView, now: datetime,
           given: str | None = None) -> tuple[bool, str | None]:
    """(may the case be shown, the break-glass reason its access record keeps): a
    supervisor opening a case another counselor holds gives a reason first; the record of
    that view keeps it, and it covers their views of the case for a shift from then (those
    records need none: the grant says why)."""
    if not caseops.breaks_glass(who.me, case):
        return True, None
    if given:
        return True, given
    return access.reason_given(conn, case.id, f"counselor:{who.me.id}", now) is not None, None


def _why(console: Console, conn: Connection, who: Staff, case: CaseView,
         error: str | None = None) -> Response:
    """The question before a break-glass view: why open a case someone else holds."""
    holder = counselors.get(conn, case.assignee_id or 0)
    return console.render(
        "why.html", who, status=400 if error else 200, number=case.number,
        holder=holder.name if holder else "-", error=error,
        reasons=[(c, who.words.s(f"audit.reason.{c}")) for c in access.REASONS])


def _page(console: Console, request: Request, number: str,
          given: str | None = None) -> Response:
    now = console.now()
    with console.writing() as conn:
        found = _open(console, conn, request, number)
        if isinstance(found, Response):
            return found
        who, row, case = found
        may_show, why = _glass(conn, who, case, now, given)
        if not may_show:
            return _why(console, conn, who, case)
        access.record(conn, [case.id], f"counselor:{who.me.id}", "console", now, why)
        shown = caseview.page(conn, row, who.words, console.service.settings, now)
        notice = console.take_flash(conn, who)
        people = [(i, n) for i, n, role in consoleviews.staff_names(conn)
                  if i != who.me.id and role != counselors.ADMIN]  # no cases for an admin
    return console.render(
        "case.html", who, case=shown, notice=notice, may_act=caseops.may_act(who.me, case),
        outcomes=[(o, who.words.s(f"outcome.{o}")) for o in caseops.outcomes()],
        places=[(k, v["name"]) for k, v in labels.institutions().items()], people=people)


async def case_page(console: Console, request: Request) -> Response:
    return await console.run(_page, console, request, request.path_params["number"])


async def why(console: Console, request: Request) -> Response:
    """The break-glass reason chosen: the case page, its view recorded with it."""
    reason = str((await request.form()).get("reason", ""))
    if reason in access.REASONS:
        return await console.run(_page, console, request, request.path_params["number"],
                                 reason)
    return await console.run(_not_chosen, console, request, request.path_params["number"])


def _not_chosen(console: Console, request: Request, number: str) -> Response:
    with console.writing() as conn:
        found = _open(console, conn, request, number)
        if isinstance(found, Response):
            return found
        return _why(console, conn, found.who, found.case, found.who.words.t("why.none"))


def _live(console: Console, request: Request, number: str, after: int) -> Response:
    with console.writing() as conn:
        found = _open(console, conn, request, number, unsigned=lambda: Response(status_code=401))
        if isinstance(found, Response):
            return found
        who, row, case = found
        may_show, why = _glass(conn, who, case, console.now())
        if not may_show:  # the reason given has run out (a page left open past a shift)
            return Response(status_code=403)
        newest = consoleviews.last_message_id(conn, row.contact_id)
        if newest > after:
            access.record(conn, [case.id], f"counselor:{who.me.id}", "console_live",
                          console.now(), why)
        lines = caseview.transcript(conn, row, who.words, console.service.settings)
    return console.render("transcript.html", who, lines=lines,
                          last_id=max((ln.id for ln in lines), default=0))


async def live(console: Console, request: Request) -> Response:
    after = request.query_params.get("after", "0")
    return await console.run(_live, console, request, request.path_params["number"],
                             int(after) if after.isdigit() else 0)


Action = Callable[[caseops.Act, CaseView, dict[str, str]], caseops.Done]


def _reply(act: caseops.Act, case: CaseView, form: dict[str, str]) -> caseops.Done:
    words = form.get("text", "").strip()
    if not words:
        return caseops.Done("reply_empty", ok=False)
    done = caseops.to_family(act, case, words, [])
    if done.held is not None:  # waits for the family to write: the flash says so
        return done
    if done.ok:  # the counselor's phone chat shows it too
        staff.send(act.conn, act.me.id, text("reply_copy", staff.STAFF_LANGUAGE,
                                             number=case.number, text=words), act.now,
                   case_id=case.id)
        return caseops.Done("reply_sent", {"number": case.number}, case.id)
    return done


ACTIONS: dict[str, Action] = {
    "reply": _reply,
    "note": lambda act, case, f: caseops.note(act, case, f.get("text", "").strip()),
    "refer": lambda act, case, f: caseops.refer(act, case, f.get("institution", ""),
                                                f.get("reason", "")),
    "transfer": lambda act, case, f: caseops.transfer(act, case, f.get("to", "").strip()),
    "release": lambda act, case, f: caseops.release(act, case),
    "close": lambda act, case, f: caseops.close(act, case, f.get("outcome", "")),
}
CONSOLE_KEYS = frozenset({"reply_sent", "reply_empty"})  # results the console words itself


def _act(console: Console, request: Request, number: str, name: str,
         form: dict[str, str]) -> Response:
    with console.writing() as conn:
        found = _open(console, conn, request, number, lock=True)
        if isinstance(found, Response):
            return found
        who, case = found.who, found.case
        if not caseops.may_act(who.me, case):
            console.flash(conn, who, who.words.t("not_held", number=case.number))
            return to(f"/cases/{case.number}")
        act = caseops.Act(conn, who.me, console.now(), console.service.flows.bundle.catalog)
        done = ACTIONS[name](act, case, form)
        said = who.words.t(done.key, **done.params) if done.key in CONSOLE_KEYS \
            else who.words.s(done.key, **done.params)
        if done.held is not None and done.key != "message_held":  # what the family waits for
            said += " " + who.words.s("family_held", number=case.number,
                                      why=held.reason(done.held, who.words.lang))
        console.flash(conn, who, said)
    outbox_written()
    return to(f"/cases/{case.number}")


async def action(console: Console, request: Request) -> Response:
    name = request.path_params["action"]
    if name not in ACTIONS:
        return Response(status_code=404)
    form = {k: str(v)[:4000] for k, v in (await request.form()).items()}
    return await console.run(_act, console, request, request.path_params["number"], name,
                             form)
