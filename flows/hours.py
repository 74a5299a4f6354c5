"""LK3 service hours, holidays and response targets (flows/service.yaml), in WIT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from flows.definition import FlowError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRIORITIES = ("P0", "P1", "P2", "P3")


@dataclass(frozen=True)
class Target:
    minutes: int = 0  # clock minutes
    service_minutes: int = 0  # minutes counted only while the service is open


@dataclass(frozen=True)
class ServiceHours:
    tz: timezone
    days: frozenset[int]  # 0 = Monday
    open: time
    close: time
    holidays: frozenset[date]
    targets: dict[str, Target]
    p0_realert: timedelta
    return_after: timedelta
    outcomes: tuple[str, ...]
    p1_realert_minutes: int = 60  # service minutes between alerts for an overdue P1
    p0_family_update: timedelta = timedelta(minutes=30)  # a waiting P0's family hears again
    writer_reply: timedelta = timedelta(minutes=10)  # staff's words are a reply this long
    # an intake left half-way with consent and a category is filed for staff this long after
    # the family's last message, if that was no longer than `incomplete_within` ago
    incomplete_after: timedelta = timedelta(hours=4)
    incomplete_within: timedelta = timedelta(days=14)
    # a family waiting this long on the person holding their case is told so, the holder
    # reminded; supervisors hear it this much service time after the reminder
    held_wait: timedelta = timedelta(minutes=120)
    held_wait_supervisor_minutes: int = 60
    # danger words again, of a kind told before, this soon after the holder wrote: their
    # numbers are not said again (the holder is talking with them)
    held_quiet: timedelta = timedelta(minutes=10)

    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(self.tz)
        return self._workday(local.date()) and self.open <= local.time() < self.close

    def _workday(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def next_open(self, when: datetime) -> datetime:
        """When the service next opens (or `when` itself if it is open now)."""
        if self.is_open(when):
            return when
        local = when.astimezone(self.tz)
        day = local.date()
        if local.time() >= self.open:
            day += timedelta(days=1)
        while not self._workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.open, self.tz)

    def add_service_minutes(self, start: datetime, minutes: int) -> datetime:
        """`start` plus `minutes` of open service time."""
        at, left = self.next_open(start), timedelta(minutes=minutes)
        while True:
            local = at.astimezone(self.tz)
            closing = datetime.combine(local.date(), self.close, self.tz)
            if at + left <= closing:
                return at + left
            left -= closing - at
            at = self.next_open(closing)

    def deadline(self, priority: str, created_at: datetime) -> datetime:
        """When the first human response is due for a case of this priority."""
        target = self.targets[priority]
        if target.minutes:
            return created_at + timedelta(minutes=target.minutes)
        return self.add_service_minutes(created_at, target.service_minutes)

    def day_minutes(self) -> int:
        return (self.close.hour * 60 + self.close.minute) - (self.open.hour * 60 + self.open.minute)


def _target(raw: Any, day_minutes: int, where: str) -> Target:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise FlowError(f"{where}: one of minutes, service_minutes or working_days")
    ((kind, value),) = raw.items()
    if kind == "minutes":
        return Target(minutes=int(value))
    if kind == "service_minutes":
        return Target(service_minutes=int(value))
    if kind == "working_days":
        return Target(service_minutes=int(value) * day_minutes)
    raise FlowError(f"{where}: unknown kind '{kind}'")


def load_hours(path: Path) -> ServiceHours:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tz = timezone(timedelta(hours=float(raw["timezone_offset_hours"])))
        opening, closing = time.fromisoformat(raw["open"]), time.fromisoformat(raw["close"])
        days = frozenset(DAYS.index(str(d).lower()[:3]) for d in raw["days"])
        holidays = frozenset(date.fromisoformat(str(d)) for d in raw.get("holidays") or [])
    except FileNotFoundError as exc:
        raise FlowError(f"{path}: service hours file not found") from exc
    except (KeyError, ValueError, TypeError, yaml.YAMLError) as exc:
        raise FlowError(f"{path}: {type(exc).__name__}: {exc}") from exc
    if closing <= opening:
        raise FlowError(f"{path}: close must be after open")
    day = (closing.hour * 60 + closing.minute) - (opening.hour * 60 + opening.minute)
    targets = {p: _target((raw.get("targets") or {}).get(p), day, f"{path}: targets.{p}")
               for p in PRIORITIES}
    outcomes = tuple(str(o) for o in raw.get("outcomes") or ())
    if not outcomes:
        raise FlowError(f"{path}: outcomes: needs at least one outcome code")
    return ServiceHours(tz, days, opening, closing, holidays, targets,
                        timedelta(minutes=int(raw.get("p0_realert_minutes", 3))),
                        timedelta(minutes=int(raw.get("return_after_minutes", 30))), outcomes,
                        int(raw.get("p1_realert_service_minutes", 60)),
                        timedelta(minutes=int(raw.get("p0_family_update_minutes", 30))),
                        timedelta(minutes=int(raw.get("writer_reply_minutes", 10))),
                        timedelta(hours=float(raw.get("incomplete_intake_hours", 4))),
                        timedelta(days=float(raw.get("incomplete_intake_within_days", 14))),
                        timedelta(minutes=int(raw.get("held_wait_minutes", 120))),
                        int(raw.get("held_wait_supervisor_service_minutes", 60)),
                        timedelta(minutes=int(raw.get("held_quiet_minutes", 10))))


@cache
def service_hours() -> ServiceHours:
    return load_hours(Path(__file__).resolve().parent / "service.yaml")
