"""Chat commands for LK3 staff, on any channel a counselor is registered on.

Indonesian names with English aliases. A plain message goes to the family of the active case.
Everything a counselor does is a case event with who and when. What a counselor reads (the
queue, the brief on a case just taken, my cases, the history) is in bot.casework.counselorviews.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from bot.casework import caseops, labels
from bot.casework import counselorviews as views
from bot.casework.counselorctx import Ctx
from flows.catalog import Catalog
from flows.text import clean
from storage import counselors, erasure, inbox, queue
from storage.queue import CaseView

ALIASES = {
    "antrian": "queue", "queue": "queue", "ambil": "take", "take": "take",
    "kasus": "cases", "cases": "cases", "catatan": "note", "note": "note",
    "rujuk": "refer", "refer": "refer", "alihkan": "transfer", "transfer": "transfer",
    "lepas": "release", "release": "release", "selesai": "close", "close": "close",
    "riwayat": "history", "history": "history", "siaga": "duty", "duty": "duty",
    "bantuan": "help", "help": "help", "start": "help", "daftar": "help", "register": "help",
}


def handle(conn: Connection, counselor_id: int, msg: inbox.Pending, family_texts: Catalog,
           now: datetime) -> None:
    """One message from a counselor: a command, a button, or words for the family."""
    me = counselors.get(conn, counselor_id)
    assert me is not None
    counselors.wrote(conn, msg.channel, msg.sender, now)
    if me.active_case_id is not None:  # their words may quote that family: erased with it
        erasure.link_staff_message(conn, msg.id, me.active_case_id)
    ctx = Ctx(conn, me, now, family_texts)
    text = clean(str(msg.payload.get("text") or ""))
    button = str(msg.payload.get("payload") or "")
    if button.startswith("take:"):
        return take(ctx, button.removeprefix("take:"))
    if text.startswith("/"):  # a mistyped command is never sent to a family
        word, _, args = text[1:].partition(" ")
        command = ALIASES.get(word.split("@")[0].lower())
        if command is None:
            return ctx.say("unknown_command", word=word[:30])
        return COMMANDS[command](ctx, args.strip())
    # each item says which provider holds it, so the family's channel can fetch it
    to_family(ctx, text, [{**m, "channel": msg.channel} for m in msg.payload.get("media") or []])


def _active(ctx: Ctx) -> CaseView | None:
    """The active case, if it is still open and this counselor may act on it."""
    if ctx.me.active_case_id is None:
        return None
    case = queue.by_id(ctx.conn, ctx.me.active_case_id)
    return case if case is not None and caseops.may_act(ctx.me, case) else None


def _needs_active(fn: Callable[[Ctx, CaseView, str], None]) -> Callable[[Ctx, str], None]:
    def run(ctx: Ctx, args: str) -> None:
        case = _active(ctx)
        if case is None:
            return ctx.say("no_active")
        fn(ctx, case, args)

    return run


def take(ctx: Ctx, args: str) -> None:
    done, case = caseops.take(ctx, args.split()[0] if args.split() else None)
    if case is None:
        return ctx.tell(done)
    views.brief(ctx, case)


@_needs_active
def note(ctx: Ctx, case: CaseView, args: str) -> None:
    ctx.tell(caseops.note(ctx, case, args))


@_needs_active
def refer(ctx: Ctx, case: CaseView, args: str) -> None:
    code, _, reason = args.partition(" ")
    if not code:
        lines = "\n".join(f"{k} — {v['name']} ({v['for']})"
                          for k, v in labels.institutions().items())
        return ctx.say("refer_list", lines=lines)
    ctx.tell(caseops.refer(ctx, case, code, reason))


@_needs_active
def transfer(ctx: Ctx, case: CaseView, args: str) -> None:
    ctx.tell(caseops.transfer(ctx, case, args))


@_needs_active
def release(ctx: Ctx, case: CaseView, args: str) -> None:
    ctx.tell(caseops.release(ctx, case))


@_needs_active
def close(ctx: Ctx, case: CaseView, args: str) -> None:
    ctx.tell(caseops.close(ctx, case, args.split()[0].lower() if args.split() else ""))


DUTY_ON = {"", "on", "aktif", "ya", "mulai", "masuk"}
DUTY_OFF = {"off", "tidak", "selesai", "berhenti", "stop", "keluar", "pulang"}


def duty(ctx: Ctx, args: str) -> None:
    """/siaga is always going on duty (a walk-through's staff typed it to start the day and
    switched themselves off); /siaga off goes off. Each reply says how to switch back."""
    word = args.split()[0].lower() if args.split() else ""
    if word not in DUTY_ON | DUTY_OFF:
        return ctx.say("duty_usage", word=word[:30])
    ctx.tell(caseops.duty(ctx, word not in DUTY_OFF))


def show_help(ctx: Ctx, args: str) -> None:
    ctx.say("help", outcomes=" | ".join(caseops.outcomes()))


def to_family(ctx: Ctx, text: str, media: list[dict[str, str]]) -> None:
    case = _active(ctx)
    if case is None:
        return ctx.say("no_active")
    if not text and not media:
        return
    if not media and text.isdigit() and len(text) <= 2:  # a choice answered, not words
        return ctx.say("bare_number", word=text)
    done = caseops.to_family(ctx, case, text, media)
    if not done.ok or done.held is not None:  # refused, or waits for the family to write
        ctx.tell(done)


COMMANDS: dict[str, Callable[[Ctx, str], None]] = {
    "queue": views.show_queue, "take": take, "cases": views.my_cases, "note": note,
    "refer": refer, "transfer": transfer, "release": release, "close": close,
    "history": _needs_active(views.history), "duty": duty, "help": show_help,
}
