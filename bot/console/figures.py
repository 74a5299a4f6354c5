"""The service's figures for a period, from the cases opened in it (storage.reports).

First human response time: from the case entering the queue to the first counselor message
to the family (`first_response_at`; the bot's time before the case opened is not counted),
median and p90 (nearest rank) per priority. SLA attainment: answered by the priority's
target (flows/service.yaml, service hours aware) out of the cases whose target has passed or
that were answered; a case not answered and not yet due counts in neither. Days and hours
are WIT.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flows.hours import ServiceHours
from storage.reports import CaseFacts

PRIORITIES = ("P0", "P1", "P2", "P3")


def p90(values: list[float]) -> float:
    """The 90th percentile, nearest rank: the smallest value with 90% at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Response:
    priority: str
    cases: int
    answered: int
    median_minutes: float | None
    p90_minutes: float | None
    met: int
    due: int  # cases whose target counts: answered, or past the target unanswered

    @property
    def attainment(self) -> float | None:
        return None if self.due == 0 else self.met / self.due


def responses(cases: list[CaseFacts], hours: ServiceHours, now: datetime) -> list[Response]:
    out = []
    for priority in PRIORITIES:
        mine = [c for c in cases if c.priority == priority]
        minutes = [(c.first_response_at - c.created_at).total_seconds() / 60
                   for c in mine if c.first_response_at is not None]
        met = due = 0
        for c in mine:
            deadline = hours.deadline(priority, c.created_at)
            if c.first_response_at is not None:
                due += 1
                met += c.first_response_at <= deadline
            elif now > deadline:
                due += 1
        out.append(Response(priority, len(mine), len(minutes),
                            statistics.median(minutes) if minutes else None,
                            p90(minutes) if minutes else None, met, due))
    return out


@dataclass(frozen=True)
class Late:
    number: str
    priority: str
    status: str
    deadline: datetime
    late_by: timedelta


def waiting_past_target(open_cases: list[CaseFacts], hours: ServiceHours,
                        now: datetime) -> list[Late]:
    """Open cases nobody has answered yet whose target has passed, most urgent first."""
    late = []
    for c in open_cases:
        deadline = hours.deadline(c.priority, c.created_at)
        if c.first_response_at is None and now > deadline:
            late.append(Late(c.number, c.priority, c.status, deadline, now - deadline))
    return sorted(late, key=lambda x: (x.priority, -x.late_by))


def counts(values: list[str | None]) -> list[tuple[str, int]]:
    """Value -> how many, most first (None as '')."""
    return Counter(v or "" for v in values).most_common()


def by_day(cases: list[CaseFacts], hours: ServiceHours, start: date,
           end: date) -> list[tuple[date, int]]:
    """Cases opened per WIT day in [start, end), every day listed."""
    found = Counter(c.created_at.astimezone(hours.tz).date() for c in cases)
    days = (end - start).days
    return [(start + timedelta(days=n), found.get(start + timedelta(days=n), 0))
            for n in range(days)]


def by_hour(cases: list[CaseFacts], hours: ServiceHours) -> list[tuple[int, int]]:
    """Cases opened per hour of the day (WIT), 0..23."""
    found = Counter(c.created_at.astimezone(hours.tz).hour for c in cases)
    return [(h, found.get(h, 0)) for h in range(24)]


@dataclass(frozen=True)
class Satisfaction:
    answers: int
    average: float | None
    spread: list[tuple[int, int]]  # score 1..5 -> how many


def satisfaction(cases: list[CaseFacts]) -> Satisfaction:
    scores = [c.satisfaction for c in cases if c.satisfaction is not None]
    found = Counter(scores)
    return Satisfaction(len(scores), statistics.mean(scores) if scores else None,
                        [(s, found.get(s, 0)) for s in range(1, 6)])


def first_response_minutes(c: CaseFacts) -> int | None:
    if c.first_response_at is None:
        return None
    return int((c.first_response_at - c.created_at).total_seconds() // 60)


def met_target(c: CaseFacts, hours: ServiceHours, now: datetime) -> str:
    """yes | no | pending (not answered, not yet due)."""
    deadline = hours.deadline(c.priority, c.created_at)
    if c.first_response_at is not None:
        return "yes" if c.first_response_at <= deadline else "no"
    return "no" if now > deadline else "pending"
