"""A family waiting on the person who holds their case is not left waiting silently (walk
U-10: "kaka jam brapa telpon?", "kaka sa tunggu dari tadi", four hours and no word; DOMAIN
Never 10).

Their first message the holder has not answered is kept on the case
(`cases.family_waiting_since`, `mark`, from bot.pipeline.routing), their danger words too
(`danger_waiting_since`, bot.pipeline.helddanger); staff's words to the family empty them
(bot.pipeline.handoff). The scheduler (bot.casework.scheduler) then, by flows/service.yaml:
- `held_wait_minutes` after that message (clock time, day or night): the family hears once
  that their counselor has it and when to expect an answer (outside service hours: when the
  office opens, with the 24-hour numbers), and the holder is reminded (`remind`);
- `held_wait_supervisor_service_minutes` of service time after that reminder, or, for danger
  words, by the target of the case's priority: the supervisors are told, once (`escalate`).
- DARURAT or danger-now words (`danger_now`, walk V-1: "malam ini sa mau minum racun saja" at
  21.00, the holder off duty, one page and then eleven hours of silence), or any danger
  words on a case that is P0 now: the P0 clock of a waiting P0 (`P0_AGAIN`, `page`). From
  the P0 target after the words, every `p0_realert_minutes`, on-duty staff and supervisors
  are paged again, each told what they can do (the holder: answer; a supervisor: take over
  with `/kasus NOMOR absen`), and the family hears the honest "belum ada petugas yang
  menjawab" with the 24-hour numbers as a waiting P0's family does (bot.casework.p0family;
  the scheduler). Until staff write to the family, or the case is released or closed.
A family who must not be written to first (paused, someone else reads the phone) hears it
with the reply to their next message instead, composed then (`with_reply`, the conversation
flag `OWED`); one who stopped, left with KELUAR or cannot be reached is not told, and the
holder reads why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.casework import labels, staff
from bot.pipeline import handoff
from bot.pipeline.apply import Batch, Conv, event_row
from bot.pipeline.held import holds, why_not
from flows.actions import PHONE_WATCHED, told_kinds, writes_as_child
from flows.catalog import Catalog
from flows.hours import ServiceHours, service_hours
from flows.loader import Bundle
from flows.text import command_of, fold, has_letters
from storage import cases, conversations, counselors, queue
from storage.queue import CaseView
from storage.rows import (
    DangerPaged,
    DangerWaits,
    FamilyWaits,
    Row,
    WaitEscalated,
    WaitReminded,
    write_rows,
)

TOLD = "family_waiting"  # the case events: the family told (or not) and the holder reminded
LATE = "family_waiting_late"  # the supervisors told: a family waits on the holder
DANGER_LATE = "held_danger_late"  # ...their danger words unanswered by the priority's target
DANGER_NOW = "held_danger_now"  # ...at once (bot.pipeline.helddanger)
P0_AGAIN = "held_p0_realert"  # staff paged again: danger now, nobody has written since
KINDS = (TOLD, DANGER_LATE, LATE, P0_AGAIN)
OWED = "wait_notice_owed"  # the conversation flag: told with the reply to their next words
WAITS = ("paused", "contact_constraint")  # why it is owed rather than dropped
TEXT = "held_wait"  # flows/catalog/<lang>.host.yaml: held_wait.open, held_wait.closed
# Words that ask for no answer: a thank-you (the `thanks` keyword) or one of these, with
# nothing else but a way of addressing the counselor or emoji ("ok kaka", "sip", "👍")
ACKS = frozenset({"ok", "oke", "okey", "okay", "sip", "siap", "baik", "noted", "mantap"})
ADDRESS = frozenset({"kaka", "kakak", "kak", "kk", "ka", "ibu", "bu", "pak", "mama", "e"})


def needs_answer(bundle: Bundle, text: str, media: object) -> bool:
    """Whether a family's message asks for an answer: not a thank-you or an "ok" alone (a
    counselor who does not answer "makasih kaka" keeps no family waiting)."""
    if media:
        return True
    if not has_letters(text):
        return bool(text.strip()) and text.strip().isdigit()  # "👍", "🙏": no; "2": yes
    if command_of(text, bundle.keywords, bundle.phrases) == "thanks":
        return False
    words = set(fold(text).split())  # "kaka?" calls for one; "ok kaka" does not
    return not (words & ACKS and words <= ACKS | ADDRESS)


def mark(conn: Connection, case_id: int, now: datetime, asks: bool = True) -> CaseView | None:
    """A family's message reached the person holding their case: from now, unless something
    of theirs waits already (or it asks for no answer), it waits on that person. The case
    as it is now."""
    case = queue.by_id(conn, case_id)
    if case is not None and asks and case.status == "claimed" and \
            case.family_waiting_since is None:
        write_rows(conn, [FamilyWaits(now, case.id)])  # at once: staff's words later in
        # this batch empty it after it, as they come after it
        case = replace(case, family_waiting_since=now)
    return case


def danger_now(conn: Connection, case_id: int, now: datetime) -> None:
    """DARURAT or danger-now words on a held case (the holder and supervisors were paged in
    this turn): they wait on staff from now, unless words of theirs wait already, and the
    P0 clock runs from them (`due`)."""
    case = mark(conn, case_id, now)
    if case is None or case.status != "claimed":
        return
    rows: list[Row] = [DangerPaged(now, case.id)]  # this turn's page is the first alert
    if case.danger_waiting_since is None:
        rows.insert(0, DangerWaits(now, case.id))
    write_rows(conn, rows)


def due(hours: ServiceHours, case: CaseView, now: datetime) -> str | None:
    """What a held case's waiting family needs at `now`, if anything (an event kind)."""
    since = case.family_waiting_since
    if case.status != "claimed" or since is None:
        return None
    if case.priority == "P0" and case.danger_waiting_since is not None:  # the P0 clock
        last = case.last_alert_at
        if now < hours.deadline("P0", case.danger_waiting_since) or (
                last is not None and now - last < hours.p0_realert):
            return None
        return P0_AGAIN
    if case.wait_reminded_at is None and now >= since + hours.held_wait:
        return TOLD
    if case.wait_escalated_at is not None:
        return None
    if case.danger_waiting_since is not None and \
            now >= hours.deadline(case.priority, case.danger_waiting_since):
        return DANGER_LATE
    if case.wait_reminded_at is not None and now >= supervisors_by(hours, case.wait_reminded_at):
        return LATE
    return None


def supervisors_by(hours: ServiceHours, reminded: datetime) -> datetime:
    """When supervisors hear of a family still waiting after the holder was reminded."""
    return hours.add_service_minutes(reminded, hours.held_wait_supervisor_minutes)


def act(conn: Connection, kind: str, case: CaseView, now: datetime, key: str, bundle: Bundle,
        hours: ServiceHours) -> dict[str, Any]:
    """Do what `due` said: the case event's data (`told`: the staff told)."""
    if kind == TOLD:
        return remind(conn, case, now, key, bundle, hours)
    if kind == P0_AGAIN:
        return page(conn, case, now, key)
    return escalate(conn, kind, case, now, key)


def page(conn: Connection, case: CaseView, now: datetime, key: str) -> dict[str, Any]:
    """On-duty staff and supervisors paged again about danger now on a held case nobody has
    answered: the holder to answer, a supervisor to take over, anyone else to reach them."""
    assert case.assignee_id is not None and case.danger_waiting_since is not None
    holder = counselors.get(conn, case.assignee_id)
    roster = counselors.roster(conn)
    ids = list(dict.fromkeys((*roster.on_duty, *roster.supervisors)))
    since = case.danger_waiting_since
    params = {"number": case.number, "reasons": labels.reasons(case.reasons),
              "name": holder.name if holder else "?",
              "duty": staff.text("held_p0.on_duty" if holder and holder.on_duty
                                 else "held_p0.off_duty"),
              "since": labels.wit(since, "%H.%M"), "waited": labels.waited(since, now)}
    told = []
    for cid in ids:
        text = f"{P0_AGAIN}.holder" if cid == case.assignee_id else P0_AGAIN \
            if cid in roster.supervisors else f"{P0_AGAIN}.other"
        if staff.send(conn, cid, staff.text(text, **params), now, case_id=case.id,
                      key=f"{key}:{cid}"):
            told.append(cid)
    write_rows(conn, [DangerPaged(now, case.id)])
    return {"since": since.isoformat(), "priority": case.priority, "told": told}


def remind(conn: Connection, case: CaseView, now: datetime, key: str, bundle: Bundle,
           hours: ServiceHours) -> dict[str, Any]:
    """The family told that their counselor has their message (or why not), the holder
    reminded, the case marked so."""
    assert case.assignee_id is not None and case.family_waiting_since is not None
    conv = conversations.load(conn, case.contact_id)
    why = why_not(conn, case.contact_id, conv, cases.events_of(conn, case.id))
    if why in WAITS and holds(conn, case.contact_id, case.id, now) is None:
        why = None  # they wrote a moment ago: it goes as a reply
    name = holder_name(conn, case.assignee_id)
    data: dict[str, Any] = {"since": case.family_waiting_since.isoformat(), "family": why is None}
    if why is None and conv is not None:
        body = notice(bundle, conv.language, conv.answers, conv.flags, case.distrik, name, now,
                      hours)
        handoff.notice(conn, case.contact_id, case.id, body, now, dedupe=f"{key}:family")
        line = staff.text("held_wait_told")
    elif why in WAITS:
        conversations.set_flag(conn, case.contact_id, OWED, True)
        data |= {"why": why, "owed": True}
        line = staff.text("held_wait_owed", why=labels.why(why))
    else:
        data["why"] = why
        line = staff.text("held_wait_not_told", why=labels.why(why))
    body = staff.text("held_wait_reminder", number=case.number,
                      since=labels.wit(case.family_waiting_since, "%H.%M"),
                      waited=labels.waited(case.family_waiting_since, now), told=line,
                      by=when(supervisors_by(hours, now), now))
    told = [case.assignee_id] if staff.send(conn, case.assignee_id, body, now, case_id=case.id,
                                            key=f"{key}:{case.assignee_id}") else []
    write_rows(conn, [WaitReminded(now, case.id)])
    return {**data, "told": told}


def escalate(conn: Connection, kind: str, case: CaseView, now: datetime,
             key: str) -> dict[str, Any]:
    """Supervisors told that the family waits on the holder (their danger words: `kind`
    DANGER_LATE), once for this wait."""
    assert case.assignee_id is not None and case.family_waiting_since is not None
    name = holder_name(conn, case.assignee_id)
    since = case.danger_waiting_since if kind == DANGER_LATE else case.family_waiting_since
    assert since is not None
    body = staff.text(kind, number=case.number, priority=case.priority,
                      reasons=labels.reasons(case.reasons), name=name,
                      since=labels.wit(since, "%H.%M"), waited=labels.waited(since, now),
                      reminded=labels.wit(case.wait_reminded_at, "%H.%M"))
    told = [cid for cid in supervisors(conn, case.assignee_id)
            if staff.send(conn, cid, body, now, case_id=case.id, key=f"{key}:{cid}")]
    write_rows(conn, [WaitEscalated(now, case.id)])
    return {"since": since.isoformat(), "priority": case.priority, "told": told}


def supervisors(conn: Connection, holder: int | None) -> list[int]:
    """Who hears that a held case's family waits: every supervisor but the holder; with
    none, everyone on duty but the holder."""
    roster = counselors.roster(conn)
    ids = [c for c in roster.supervisors if c != holder]
    return ids or [c for c in roster.on_duty if c != holder]


def holder_name(conn: Connection, counselor_id: int) -> str:
    holder = counselors.get(conn, counselor_id)
    return holder.name if holder else "?"


def when(at: datetime, now: datetime) -> str:
    """A time for staff in WIT: "13.22", or with its day when not today."""
    tz = service_hours().tz
    same = at.astimezone(tz).date() == now.astimezone(tz).date()
    return labels.wit(at, "%H.%M" if same else "%d-%m-%Y %H.%M")


def notice(bundle: Bundle, language: str, answers: dict[str, Any],
           flags: list[str] | tuple[str, ...], distrik: str | None, name: str, now: datetime,
           hours: ServiceHours) -> str:
    """What the family reads: their counselor has their message, and when to expect an
    answer (in service hours: soon, in those hours; outside: when the office opens, with
    the 24-hour numbers); for a child in "kamu", on a phone someone else reads that staff
    answer after they write."""
    key = form(bundle.catalog, language, f"{TEXT}.{'open' if hours.is_open(now) else 'closed'}",
               answers, flags)
    opens = hours.next_open(now)
    return bundle.catalog.text(key, language, {
        "name": name.split()[0], "next_open": labels.wit(opens, "%d-%m-%Y %H.%M"),
        "emergency_contacts": bundle.directory.contacts(
            language, distrik, first=told_kinds(answers, flags))})


def form(catalog: Catalog, language: str, key: str, answers: dict[str, Any],
         flags: list[str] | tuple[str, ...]) -> str:
    """`key`'s text for who writes: `.phone_watched`, then `.young`, where it exists."""
    texts = catalog.texts.get(language) or catalog.texts["id"]
    if PHONE_WATCHED in flags and f"{key}.{PHONE_WATCHED}" in texts:
        key = f"{key}.{PHONE_WATCHED}"
    if writes_as_child(answers) and f"{key}.young" in texts:
        key = f"{key}.young"
    return key


def with_reply(batch: Batch, conv: Conv, case: CaseView | None) -> str | None:
    """The family wrote while the notice was owed them: it, said with the reply to their
    words (composed now), and its case event; nothing once staff have answered since. The
    flag cleared either way."""
    snap = conv.snapshot
    if snap is None or OWED not in snap.flags:
        return None
    conv.snapshot = replace(snap, flags=tuple(f for f in snap.flags if f != OWED))
    conv.changed = True
    if case is None or case.assignee_id is None or case.wait_reminded_at is None:
        return None
    conn, now, hours = batch.need(), batch.now, service_hours()
    body = notice(batch.flows.bundle, snap.language, snap.answers, snap.flags, case.distrik,
                  holder_name(conn, case.assignee_id), now, hours)
    batch.rows.append(event_row(conv, TOLD, {"family": True, "with_reply": True}, now))
    return body
