"""`lk3 cases list` (the queue as a table or JSON) and `lk3 cases show NUMBER`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, select

from bot.config import ConfigError
from flows.definition import FlowError
from flows.hours import ServiceHours, service_hours
from flows.triage import describe
from storage import cases, counselors
from storage.clock import maybe_utc, utc, utcnow

WIT = timezone(timedelta(hours=9))
CASES = cases.CASES
LOG = cases.LOG
PEOPLE = counselors.COUNSELORS


@dataclass(frozen=True)
class Timing:
    """How long a case has waited, and where it stands against its first-response target."""

    waiting_minutes: int | None  # waiting: since opened; claimed: since claimed; closed: None
    deadline: datetime
    state: str  # ok | overdue | met | closed
    label: str  # for the table: -, met, due in X, OVERDUE by X


def duration(delta: timedelta) -> str:
    """A short human duration: 4 mnt, 2 jam 5 mnt, 3 hari."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} mnt"
    if minutes < 48 * 60:
        return f"{minutes // 60} jam {minutes % 60} mnt"
    return f"{minutes // (24 * 60)} hari"


def timing(row: Any, hours: ServiceHours, now: datetime) -> Timing:
    created, claimed = utc(row.created_at), maybe_utc(row.claimed_at)
    answered = maybe_utc(row.first_response_at)
    deadline = hours.deadline(row.priority, created)
    if row.status == "closed":
        return Timing(None, deadline, "closed", "-")
    since = claimed if row.status == "claimed" and claimed is not None else created
    waited = max(0, int((now - since).total_seconds() // 60))
    if answered is not None:
        late = answered - deadline
        label = "met" if late <= timedelta(0) else f"met, {duration(late)} late"
        return Timing(waited, deadline, "met", label)
    if now > deadline:
        return Timing(waited, deadline, "overdue", f"OVERDUE by {duration(now - deadline)}")
    return Timing(waited, deadline, "ok", f"due in {duration(deadline - now)}")


def _hours() -> ServiceHours:
    try:
        return service_hours()
    except FlowError as exc:
        raise ConfigError(f"The service hours are invalid: {exc}") from None


def _iso(value: datetime) -> str:
    return utc(value).isoformat().replace("+00:00", "Z")


def _wit(value: datetime | None) -> str:
    return "-" if value is None else utc(value).astimezone(WIT).strftime("%Y-%m-%d %H:%M")


_COLUMNS = (CASES.c.id, CASES.c.number, CASES.c.status, CASES.c.priority, CASES.c.reasons,
            CASES.c.category, CASES.c.distrik, CASES.c.channel, CASES.c.legal_basis,
            CASES.c.contact_id, CASES.c.created_at, CASES.c.claimed_at,
            CASES.c.first_response_at, CASES.c.closed_at, CASES.c.outcome,
            CASES.c.satisfaction, PEOPLE.c.name.label("assignee"))


def _select() -> Any:
    return select(*_COLUMNS).select_from(
        CASES.outerjoin(PEOPLE, PEOPLE.c.id == CASES.c.assignee_id))


def list_cases(db: Engine, status: str | None, as_json: bool) -> int:
    hours, now = _hours(), utcnow()
    stmt = _select()
    if status:
        stmt = stmt.where(CASES.c.status == status)
    with db.connect() as conn:
        rows = conn.execute(stmt.order_by(CASES.c.priority, CASES.c.created_at,
                                          CASES.c.id)).all()
    timings = [timing(r, hours, now) for r in rows]
    if as_json:
        print(json.dumps([{
            "number": r.number, "status": r.status, "priority": r.priority,
            "reasons": list(r.reasons), "category": r.category, "distrik": r.distrik,
            "channel": r.channel, "legal_basis": r.legal_basis,
            "created_at": _iso(r.created_at), "assignee": r.assignee,
            "waiting_minutes": t.waiting_minutes, "deadline": _iso(t.deadline),
            "deadline_state": t.state,
        } for r, t in zip(rows, timings, strict=True)], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no cases")
        return 0
    who = max(8, *(len(r.assignee or "-") for r in rows))
    print(f"{'NUMBER':16} {'STATUS':8} {'PRI':3} {'CATEGORY':10} {'DISTRIK':18} "
          f"{'CREATED (WIT)':16} {'ASSIGNEE':{who}} {'WAITING':13} {'DEADLINE':22} REASONS")
    for r, t in zip(rows, timings, strict=True):
        waiting = "-" if t.waiting_minutes is None else duration(
            timedelta(minutes=t.waiting_minutes))
        print(f"{r.number:16} {r.status:8} {r.priority:3} {r.category or '-':10} "
              f"{r.distrik or '-':18} {_wit(r.created_at):16} {r.assignee or '-':{who}} "
              f"{waiting:13} {t.label:22} {describe(r.reasons)}")
    return 0


def _counselor_id(author: str | None) -> int | None:
    """`counselor:3` (the message log's author, the audit trail's actor) -> 3."""
    kind, _, rest = str(author or "").partition(":")
    return int(rest) if kind == "counselor" and rest.isdigit() else None


class _Names:
    """Counselor names by id, removed counselors included (their history stays theirs)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[int, str | None] = {}

    def of(self, counselor_id: int) -> str | None:
        if counselor_id not in self.known:
            person = counselors.get(self.conn, counselor_id)
            self.known[counselor_id] = person.name if person else None
        return self.known[counselor_id]

    def speaker(self, direction: str, author: str | None) -> str:
        """Keluarga, Bot, or Petugas NAME: from the log row's author where it says so."""
        if direction == "in":
            return "Keluarga"
        cid = _counselor_id(author)
        if cid is None:
            return "Bot"
        name = self.of(cid)
        return f"Petugas {name}" if name else "Petugas"

    def actor(self, actor: str) -> str:
        cid = _counselor_id(actor)
        name = None if cid is None else self.of(cid)
        return f"{actor} ({name})" if name else actor


def _media(media: Any) -> str:
    if not media:
        return ""
    kinds = [str(m.get("kind") or m.get("type") or "media") if isinstance(m, dict) else "media"
             for m in media]
    return " " + " ".join(f"[{k}]" for k in kinds)


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _summary(data: Any, limit: int = 100) -> str:
    if not data:
        return ""
    if isinstance(data, dict):
        text = ", ".join(f"{k}={_value(v)}" for k, v in data.items())
    else:
        text = json.dumps(data, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def transcript(conn: Connection, contact_id: int,
               names: _Names) -> list[tuple[datetime, str, str]]:
    """Every message to and from the case's contact, in order: (time, who, text)."""
    rows = conn.execute(
        select(LOG.c.direction, LOG.c.author, LOG.c.text, LOG.c.truncated,
               LOG.c.original_length, LOG.c.media, LOG.c.created_at)
        .where(LOG.c.contact_id == contact_id).order_by(LOG.c.created_at, LOG.c.id)).all()
    out = []
    for r in rows:
        text = r.text or ("" if r.media else "(no text kept)")
        if r.truncated:
            text += f" … ({r.original_length} characters)"
        out.append((utc(r.created_at), names.speaker(r.direction, r.author),
                    text + _media(r.media)))
    return out


def show_case(db: Engine, number: str) -> int:
    hours, now = _hours(), utcnow()
    with db.connect() as conn:
        row = conn.execute(_select().where(CASES.c.number == number.strip().upper())
                           ).one_or_none()
        if row is None:
            print(f"lk3: no case {number.strip()}; `lk3 cases list` shows the numbers.",
                  file=sys.stderr)
            return 1
        names = _Names(conn)
        messages = transcript(conn, row.contact_id, names)
        events = [{**e, "actor": names.actor(str(e["actor"]))}
                  for e in cases.events_of(conn, row.id)]
    t = timing(row, hours, now)
    waited = "-" if t.waiting_minutes is None else duration(timedelta(
        minutes=t.waiting_minutes))
    fields = [
        ("Case", row.number), ("Status", row.status), ("Priority", row.priority),
        ("Reasons", describe(row.reasons)), ("Category", row.category or "-"),
        ("Distrik", row.distrik or "-"), ("Channel", row.channel),
        ("Assignee", row.assignee or "-"), ("Created", _wit(row.created_at)),
        ("Claimed", _wit(row.claimed_at)), ("First response", _wit(row.first_response_at)),
        ("Closed", _wit(row.closed_at)), ("Waiting", waited),
        ("Deadline", f"{_wit(t.deadline)} ({t.label if t.state != 'closed' else 'closed'})"),
        ("Outcome", row.outcome or "-"),
        ("Satisfaction", "-" if row.satisfaction is None else str(row.satisfaction)),
    ]
    width = max(len(k) for k, _ in fields) + 1
    print("\n".join(f"{k + ':':{width}} {v}" for k, v in fields))
    print("(times in WIT, UTC+9)")
    print(f"\nTranscript ({len(messages)} messages)")
    for when, who, text in messages:
        lines = text.splitlines() or [""]
        print(f"  {_wit(when)}  {who}: {lines[0]}")
        for more in lines[1:]:
            print(f"  {'':16}  {'':{len(who)}}  {more}".rstrip())
    if not messages:
        print("  (none)")
    print(f"\nEvents ({len(events)})")
    actor = max([10, *(len(e["actor"]) for e in events)])
    kind = max([12, *(len(str(e["kind"])) for e in events)])
    for e in events:
        print(f"  {_wit(e['created_at'])}  {e['actor']:{actor}} {e['kind']:{kind}} "
              f"{_summary(e['data'])}".rstrip())
    if not events:
        print("  (none)")
    return 0
