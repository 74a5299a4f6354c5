"""Chat commands for LK3 staff, on any channel a counselor is registered on.

Indonesian names with English aliases. A plain message goes to the family of the active case.
Everything a counselor does is a case event with who and when. What a counselor reads (the
queue, the brief on a case just taken, my cases, the history) is in bot.counselorviews.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import yaml
from sqlalchemy import Connection, Table, insert

from bot import alerts, handoff, labels, staff
from bot import counselorviews as views
from flows.catalog import Catalog
from flows.hours import service_hours
from flows.loader import FLOWS_DIR
from flows.text import clean
from storage import cases, conversations, counselors, inbox, queue
from storage.counselors import CounselorRow
from storage.models import Referral
from storage.queue import CaseView

ALIASES = {
    "antrian": "queue", "queue": "queue", "ambil": "take", "take": "take",
    "kasus": "cases", "cases": "cases", "catatan": "note", "note": "note",
    "rujuk": "refer", "refer": "refer", "alihkan": "transfer", "transfer": "transfer",
    "lepas": "release", "release": "release", "selesai": "close", "close": "close",
    "riwayat": "history", "history": "history", "siaga": "duty", "duty": "duty",
    "bantuan": "help", "help": "help", "start": "help", "daftar": "help", "register": "help",
}


@dataclass
class Ctx:
    conn: Connection
    me: CounselorRow
    now: datetime
    family_texts: Catalog

    def say(self, key: str, case_id: int | None = None,
            choices: list[dict[str, Any]] | None = None, **params: Any) -> None:
        staff.say(self.conn, self.me.id, key, self.now, case_id=case_id, choices=choices,
                  **params)

    def audit(self, case_id: int | None, kind: str, **data: Any) -> None:
        cases.add_events(self.conn, [{"case_id": case_id, "contact_id": None,
                                      "actor": f"counselor:{self.me.id}", "kind": kind,
                                      "data": data, "created_at": self.now}])


def handle(conn: Connection, counselor_id: int, msg: inbox.Pending, family_texts: Catalog,
           now: datetime) -> None:
    """One message from a counselor: a command, a button, or words for the family."""
    me = counselors.get(conn, counselor_id)
    assert me is not None
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
    if case is None or case.status != "claimed":
        return None
    return case if case.assignee_id == ctx.me.id or ctx.me.supervises else None


def _needs_active(fn: Callable[[Ctx, CaseView, str], None]) -> Callable[[Ctx, str], None]:
    def run(ctx: Ctx, args: str) -> None:
        case = _active(ctx)
        if case is None:
            return ctx.say("no_active")
        fn(ctx, case, args)

    return run


def take(ctx: Ctx, args: str) -> None:
    number = args.split()[0] if args.split() else None
    outcome, case = queue.claim(ctx.conn, ctx.me.id, ctx.now, number)
    if outcome == "full":
        return ctx.say("full", capacity=ctx.me.capacity)
    if case is None:
        return ctx.say("gone", suffix=f" ({number})" if number else "")
    counselors.set_active_case(ctx.conn, ctx.me.id, case.id)
    conversations.set_flag(ctx.conn, case.contact_id, "with_person", True)
    ctx.audit(case.id, "claim", counselor=ctx.me.name,
              waited_minutes=int((ctx.now - case.created_at).total_seconds() // 60))
    views.brief(ctx, case)
    handoff.tell_family(ctx.conn, ctx.family_texts, case.id, "handoff.joined", ctx.now,
                        name=ctx.me.name.split()[0])


@_needs_active
def note(ctx: Ctx, case: CaseView, args: str) -> None:
    if not args:
        return ctx.say("note_empty")
    ctx.audit(case.id, "note", text=args)
    ctx.say("note_saved", case_id=case.id, number=case.number)


def _institutions() -> dict[str, dict[str, str]]:
    raw = yaml.safe_load((FLOWS_DIR / "referrals.yaml").read_text(encoding="utf-8"))
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in raw.items()}


@_needs_active
def refer(ctx: Ctx, case: CaseView, args: str) -> None:
    places = _institutions()
    code, _, reason = args.partition(" ")
    if not code:
        lines = "\n".join(f"{k} — {v['name']} ({v['for']})" for k, v in places.items())
        return ctx.say("refer_list", lines=lines)
    if code.lower() not in places:
        return ctx.say("refer_unknown", code=code)
    if not reason.strip():
        return ctx.say("refer_no_reason")
    conv = conversations.load(ctx.conn, case.contact_id)
    agreed = bool(conv and conv.answers.get("consent") == "agree_refer")
    basis = "consent" if agreed else "vital_interest" if case.priority == "P0" else None
    if basis is None:
        return ctx.say("refer_no_consent")
    name = places[code.lower()]["name"]
    ctx.conn.execute(insert(cast(Table, Referral.__table__)).values(
        case_id=case.id, institution=code.lower(), reason=reason.strip(), legal_basis=basis,
        counselor_id=ctx.me.id, created_at=ctx.now))
    ctx.audit(case.id, "referral", institution=code.lower(), reason=reason.strip(),
              legal_basis=basis)
    ctx.say("refer_saved", case_id=case.id, number=case.number, institution=name,
            basis=labels.basis(basis))


@_needs_active
def transfer(ctx: Ctx, case: CaseView, args: str) -> None:
    target = counselors.by_name(ctx.conn, args) if args else None
    if target is None or target.id == ctx.me.id:
        return ctx.say("transfer_unknown", name=args)
    if not queue.has_room(ctx.conn, target.id):
        return ctx.say("transfer_full", name=target.name, capacity=target.capacity)
    queue.transfer(ctx.conn, case.id, target.id, ctx.now)
    counselors.set_active_case(ctx.conn, target.id, case.id)
    counselors.set_active_case(ctx.conn, ctx.me.id, None)
    ctx.audit(case.id, "transfer", to=target.name, to_id=target.id)
    ctx.say("transfer_done", case_id=case.id, number=case.number, name=target.name)
    staff.say(ctx.conn, target.id, "transferred_to_you", ctx.now, case_id=case.id,
              number=case.number, priority=case.priority, by=ctx.me.name,
              reasons=labels.reasons(case.reasons))
    handoff.tell_family(ctx.conn, ctx.family_texts, case.id, "handoff.transferred", ctx.now,
                        name=target.name.split()[0])


@_needs_active
def release(ctx: Ctx, case: CaseView, args: str) -> None:
    queue.release(ctx.conn, case.id, ctx.now)
    counselors.set_active_case(ctx.conn, ctx.me.id, None)
    conversations.set_flag(ctx.conn, case.contact_id, "with_person", False)
    ctx.audit(case.id, "release")
    ctx.say("released", case_id=case.id, number=case.number)
    handoff.tell_family(ctx.conn, ctx.family_texts, case.id, "handoff.released", ctx.now,
                        case_number=case.number)
    fresh = queue.by_id(ctx.conn, case.id)
    if fresh is not None:
        alerts.announce(ctx.conn, fresh, ctx.now)


@_needs_active
def close(ctx: Ctx, case: CaseView, args: str) -> None:
    outcomes = service_hours().outcomes
    outcome = args.split()[0].lower() if args.split() else ""
    if outcome not in outcomes:
        return ctx.say("close_outcome", outcomes=" | ".join(outcomes))
    queue.close(ctx.conn, case.id, outcome, ctx.now)
    counselors.set_active_case(ctx.conn, ctx.me.id, None)
    ctx.audit(case.id, "close", outcome=outcome)
    ctx.say("closed", case_id=case.id, number=case.number, outcome=labels.outcome(outcome))
    handoff.tell_family(ctx.conn, ctx.family_texts, case.id, "handoff.closed", ctx.now,
                        case_number=case.number)
    conversations.start_over(ctx.conn, case.contact_id, "feedback", ctx.now)
    handoff.tell_family(ctx.conn, ctx.family_texts, case.id, "feedback", ctx.now)


def duty(ctx: Ctx, args: str) -> None:
    counselors.set_duty(ctx.conn, ctx.me.id, not ctx.me.on_duty)
    ctx.audit(None, "duty", on=not ctx.me.on_duty)
    ctx.say("duty_off" if ctx.me.on_duty else "duty_on")


def show_help(ctx: Ctx, args: str) -> None:
    ctx.say("help", outcomes=" | ".join(service_hours().outcomes))


def to_family(ctx: Ctx, text: str, media: list[dict[str, str]]) -> None:
    case = _active(ctx)
    if case is None:
        return ctx.say("no_active")
    if not text and not media:
        return
    if conversations.contact(ctx.conn, case.contact_id)[2] == "stopped":
        return ctx.say("family_stopped", number=case.number)
    handoff.counselor_to_family(ctx.conn, ctx.me.id, case.id, text, media, ctx.now)
    ctx.audit(case.id, "message", length=len(text), media=len(media))


COMMANDS: dict[str, Callable[[Ctx, str], None]] = {
    "queue": views.show_queue, "take": take, "cases": views.my_cases, "note": note,
    "refer": refer, "transfer": transfer, "release": release, "close": close,
    "history": _needs_active(views.history), "duty": duty, "help": show_help,
}
