"""Where a case stands against its first-response target, as staff read it (`lk3 cases
list|show`): how long it has waited, its deadline, and a label in the staff language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.casework import labels, staff
from bot.config import ConfigError
from flows.definition import FlowError
from flows.hours import ServiceHours, service_hours
from storage.clock import maybe_utc, utc


@dataclass(frozen=True)
class Timing:
    """How long a case has waited, and where it stands against its first-response target."""

    waiting_minutes: int | None  # waiting: since opened; claimed: since claimed; closed: None
    deadline: datetime
    state: str  # ok | overdue | met | closed
    label: str  # for staff: jatuh tempo dalam X, lewat X, terpenuhi...; closed: -


def timing(row: Any, hours: ServiceHours, now: datetime,
           language: str = staff.STAFF_LANGUAGE) -> Timing:
    created, claimed = utc(row.created_at), maybe_utc(row.claimed_at)
    answered = maybe_utc(row.first_response_at)
    deadline = hours.deadline(row.priority, created)
    if row.status == "closed":
        return Timing(None, deadline, "closed", "-")
    since = claimed if row.status == "claimed" and claimed is not None else created
    waited = max(0, int((now - since).total_seconds() // 60))
    if answered is not None:
        late = answered - deadline
        label = staff.text("deadline.met", language) if late <= timedelta(0) else staff.text(
            "deadline.met_late", language, duration=labels.duration(late, language))
        return Timing(waited, deadline, "met", label)
    if now > deadline:
        return Timing(waited, deadline, "overdue", staff.text(
            "deadline.overdue", language, duration=labels.duration(now - deadline, language)))
    return Timing(waited, deadline, "ok", staff.text(
        "deadline.due", language, duration=labels.duration(deadline - now, language)))


# UU TPKS Pasal 41: a report of sexual violence to a social service unit goes on to the
# police within 3x24 hours of the victim reporting (DOMAIN.md, Never 3); LK3 to confirm that
# it applies to them (reference/domain-lk3.md)
TPKS_REASONS = ("sexual_violence", "sexual_words")
TPKS_WITHIN = timedelta(hours=72)


def tpks_due(reasons: Sequence[str], created: datetime) -> datetime | None:
    """When the UU TPKS report to the police is due for a case of these reasons, if it is
    one of sexual violence."""
    return utc(created) + TPKS_WITHIN if any(r in TPKS_REASONS for r in reasons) else None


def tpks_line(reasons: Sequence[str], created: datetime,
              language: str = staff.STAFF_LANGUAGE) -> str | None:
    """The UU TPKS deadline in the staff's words, or None."""
    due = tpks_due(reasons, created)
    return staff.text("tpks.due", language, due=labels.wit(due)) if due else None


def waited(t: Timing, language: str = staff.STAFF_LANGUAGE) -> str:
    """How long the family has waited, in words: "-" once answered or closed (a
    walk-through: a case a counselor had answered read "Menunggu: 15 menit")."""
    if t.waiting_minutes is None or t.state == "met":
        return "-"
    return labels.duration(timedelta(minutes=t.waiting_minutes), language)


def service() -> ServiceHours:
    try:
        return service_hours()
    except FlowError as exc:
        raise ConfigError(f"The service hours are invalid: {exc}") from None
