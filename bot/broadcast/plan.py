"""Creating a broadcast: the audience resolved once into its snapshot, and the preview an
officer reads before sending (recipients by channel and language, exclusions by reason,
estimated duration at the configured rates, blockers)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.broadcast import audience as rules
from bot.broadcast.message import text_for, variable_problem
from bot.broadcast.rates import Rates
from storage import audience, broadcasts
from storage.rows import EventRow, write_rows

CHUNK = 2_000  # subscribers whose facts are read and judged at a time


@dataclass(frozen=True)
class Request:
    topic: str
    texts: dict[str, str]
    template_sid: str | None = None
    at: datetime | None = None
    distrik: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    actor: str = "cli:?"


@dataclass
class Preview:
    recipients: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, lang)
    deferred: int = 0  # in the snapshot, but in a conversation now: sent when it ends
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> people
    seconds: dict[str, float] = field(default_factory=dict)  # channel -> estimated
    days: dict[str, int] = field(default_factory=dict)  # channel -> days the limit needs
    blockers: list[dict[str, str]] = field(default_factory=list)  # {"code": ..., params}
    members: broadcasts.Snapshot = field(default_factory=broadcasts.Snapshot)

    def as_dict(self) -> dict[str, Any]:
        return {"recipients": [{"channel": c, "language": lang, "count": n}
                               for (c, lang), n in sorted(self.recipients.items())],
                "deferred": self.deferred, "excluded": dict(sorted(self.excluded.items())),
                "estimated_seconds": self.seconds, "days": self.days,
                "blockers": self.blockers}


def person_key(channel: str, user: str, phone: str | None = None) -> str:
    """One person per phone number, however it was written: a WhatsApp address is one, and a
    contact on another channel who gave a number to be called on in the intake is known by
    it (a family on Telegram and WhatsApp gets one message per broadcast)."""
    digits = re.sub(r"\D", "", (user if channel == "whatsapp" else phone) or "")
    if channel != "whatsapp" and len(digits) < 8:  # no number given, or not one
        return f"{channel}:{user}"
    return "phone:" + (f"62{digits[1:]}" if digits.startswith("0") else digits)


def preview(conn: Connection, req: Request, now: datetime, resting: frozenset[str],
            rates: Rates, known_topics: tuple[str, ...]) -> Preview:
    out = Preview()
    if req.topic not in known_topics:
        out.blockers.append({"code": "unknown_topic", "topic": req.topic})
        return out
    if not req.texts.get("id", "").strip():
        out.blockers.append({"code": "empty_text"})
    ids = audience.subscribers(conn, req.topic)
    seen: set[str] = set()  # phone numbers: a contact is one person on its own channel
    for start in range(0, len(ids), CHUNK):  # the facts of CHUNK people held at a time
        part = ids[start:start + CHUNK]
        found = audience.facts(conn, part, req.topic)
        for cid in part:
            _consider(out, req, found[cid], rules.reason(found[cid], now, resting), seen)
    _estimate(out, rates)
    _check_template(out, req)
    return out


def _consider(out: Preview, req: Request, f: audience.Facts, why: str | None,
              seen: set[str]) -> None:
    """One subscriber: in the snapshot, deferred, or left out with the reason."""
    if req.channels and f.channel not in req.channels:
        return
    if req.distrik and f.distrik not in req.distrik:
        return
    key = person_key(f.channel, f.user, f.phone)
    if key in seen and why in (None, *rules.WAIT):
        why = "same_person"
    if why is not None and why not in rules.WAIT:
        out.excluded[why] += 1
        return
    if key.startswith("phone:"):  # other keys are the contact's own: never met twice
        seen.add(key)
    out.deferred += why is not None
    out.recipients[(f.channel, f.language)] += 1
    out.members.add(f.contact_id, f.channel, f.language)


def _estimate(out: Preview, rates: Rates) -> None:
    per_channel = Counter[str]()
    for (channel, _), n in out.recipients.items():
        per_channel[channel] += n
    for channel, n in per_channel.items():
        out.seconds[channel] = round(n / rates.broadcast_mps(channel), 1)
        if channel == "whatsapp":
            out.days[channel] = math.ceil(n / rates.whatsapp_daily())


def _check_template(out: Preview, req: Request) -> None:
    languages = {lang for (c, lang) in out.recipients if c == "whatsapp"}
    if not languages:
        return
    if not req.template_sid:
        out.blockers.append({"code": "no_template"})
    for language in sorted(languages):
        problem = variable_problem(text_for(req.texts, language))
        if problem:
            out.blockers.append({"code": f"variable.{problem}", "language": language})


def create(conn: Connection, req: Request, out: Preview, now: datetime) -> int:
    """The broadcast and its snapshot (a draft, or scheduled with `at`), audited."""
    bid = broadcasts.create(conn, {
        "topic": req.topic, "status": "scheduled" if req.at else "draft",
        "texts": req.texts, "template_sid": req.template_sid, "distrik": list(req.distrik),
        "channels": list(req.channels), "scheduled_at": req.at, "created_by": req.actor,
        "created_at": now, "started_at": None, "finished_at": None}, out.members)
    audit(conn, bid, req.actor, "broadcast_created", now, recipients=len(out.members),
          scheduled_at=req.at.isoformat() if req.at else None)
    return bid


def audit(conn: Connection, bid: int, actor: str, kind: str, now: datetime,
          **data: Any) -> None:
    """Who created, started, cancelled a broadcast: in the audit trail (case_events)."""
    write_rows(conn, [EventRow(None, None, actor, kind, {"broadcast": bid, **data}, now)])
