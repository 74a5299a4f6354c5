"""Service hours, holidays and response targets (flows/hours.py), all in WIT."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from flows.definition import FlowError
from flows.hours import ServiceHours, Target, load_hours, service_hours

WIT = timezone(timedelta(hours=9))
SMALL = """\
timezone_offset_hours: 9
days: [mon, tue, wed, thu, fri]
open: "08:00"
close: "12:00"
holidays: [2026-12-25]
targets:
  P0: {minutes: 5}
  P1: {service_minutes: 60}
  P2: {working_days: 1}
  P3: {working_days: 2}
p0_realert_minutes: 2
return_after_minutes: 45
outcomes: [selesai]
"""


def wit(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIT)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "service.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hours(tmp_path: Path) -> ServiceHours:
    return load_hours(write(tmp_path, SMALL))


def test_open_only_on_working_days_between_open_and_close(hours: ServiceHours) -> None:
    """Open Monday to Friday from open (inclusive) to close (exclusive), nowhere else."""
    assert hours.is_open(wit(7, 8))  # Monday 08:00
    assert hours.is_open(wit(7, 11, 59))
    assert not hours.is_open(wit(7, 7, 59))
    assert not hours.is_open(wit(7, 12))
    assert not hours.is_open(wit(5, 10))  # Saturday
    assert not hours.is_open(wit(6, 10))  # Sunday


def test_a_holiday_is_closed(hours: ServiceHours) -> None:
    """A listed holiday is closed even though it is a weekday."""
    assert not hours.is_open(wit(25, 10))  # Friday, Christmas
    assert hours.is_open(wit(24, 10))


def test_times_are_read_in_wit_whatever_zone_they_come_in(hours: ServiceHours) -> None:
    """01:00 UTC is 10:00 WIT: open; 05:00 UTC is 14:00 WIT: closed; Sunday 23:30 UTC is
    Monday 08:30 WIT: open."""
    assert hours.is_open(datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 12, 7, 5, 0, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 12, 6, 23, 30, tzinfo=UTC))  # Sunday UTC, Monday WIT


def test_next_open_is_now_when_open_and_later_the_same_morning(hours: ServiceHours) -> None:
    """Open now: now; before opening on a working day: that day's opening."""
    assert hours.next_open(wit(7, 10)) == wit(7, 10)
    assert hours.next_open(wit(7, 6)) == wit(7, 8)


def test_next_open_skips_the_weekend(hours: ServiceHours) -> None:
    """Friday after closing, Saturday and Sunday all lead to Monday 08:00."""
    for when in (wit(4, 13), wit(5, 10), wit(6, 23, 59)):
        assert hours.next_open(when) == wit(7, 8)


def test_next_open_skips_a_holiday(hours: ServiceHours) -> None:
    """Thursday 24 December after closing: Friday is Christmas, so Monday 28th."""
    assert hours.next_open(wit(24, 13)) == wit(28, 8)


def test_service_minutes_stop_at_closing_and_resume_at_opening(hours: ServiceHours) -> None:
    """Monday 11:30 plus 60 service minutes is Tuesday 08:30."""
    assert hours.add_service_minutes(wit(7, 11, 30), 60) == wit(8, 8, 30)
    assert hours.add_service_minutes(wit(7, 11), 60) == wit(7, 12)  # up to closing exactly


def test_service_minutes_from_outside_hours_start_at_opening(hours: ServiceHours) -> None:
    """Monday 23:00 plus 60 service minutes is Tuesday 09:00."""
    assert hours.add_service_minutes(wit(7, 23), 60) == wit(8, 9)


def test_service_minutes_cross_weekend_and_holiday(hours: ServiceHours) -> None:
    """Thursday 24th 11:00 plus 120 service minutes is Monday 28th 09:00."""
    assert hours.add_service_minutes(wit(24, 11), 120) == wit(28, 9)


def test_working_days_targets_count_whole_service_days(hours: ServiceHours) -> None:
    """P2 (one working day) from Monday 10:00 is Tuesday 10:00; P3 (two) from Thursday 24th
    10:00 is Tuesday 29th 10:00, Christmas and the weekend skipped."""
    assert hours.targets["P2"] == Target(service_minutes=240)
    assert hours.deadline("P2", wit(7, 10)) == wit(8, 10)
    assert hours.deadline("P3", wit(24, 10)) == wit(29, 10)


def test_p0_target_counts_the_clock_not_service_hours(hours: ServiceHours) -> None:
    """P0 at 03:00 on a Saturday is due at 03:05 the same night."""
    assert hours.deadline("P0", wit(5, 3)) == wit(5, 3, 5)


def test_escalation_intervals_are_configurable(hours: ServiceHours) -> None:
    """p0_realert_minutes and return_after_minutes are read from the file."""
    assert hours.p0_realert == timedelta(minutes=2)
    assert hours.return_after == timedelta(minutes=45)
    assert hours.outcomes == ("selesai",)


def test_the_shipped_file_has_the_documented_defaults() -> None:
    """flows/service.yaml: P0 5 min, P1 60 service min, P2 1 and P3 3 working days of 7 h."""
    shipped = service_hours()
    assert shipped.tz.utcoffset(None) == timedelta(hours=9)
    assert shipped.targets == {"P0": Target(minutes=5), "P1": Target(service_minutes=60),
                               "P2": Target(service_minutes=420),
                               "P3": Target(service_minutes=3 * 420)}
    assert shipped.p0_realert == timedelta(minutes=3)
    assert shipped.return_after == timedelta(minutes=30)
    assert datetime(2026, 12, 25).date() in shipped.holidays


def test_close_before_open_is_refused_naming_the_file(tmp_path: Path) -> None:
    """close earlier than open fails at load with the file's path in the message."""
    path = write(tmp_path, SMALL.replace('close: "12:00"', 'close: "07:00"'))
    with pytest.raises(FlowError, match="close must be after open") as err:
        load_hours(path)
    assert str(path) in str(err.value)


def test_an_unknown_target_kind_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A target kind other than minutes, service_minutes or working_days fails at load."""
    path = write(tmp_path, SMALL.replace("P2: {working_days: 1}", "P2: {hours: 7}"))
    with pytest.raises(FlowError, match=r"targets\.P2: unknown kind 'hours'") as err:
        load_hours(path)
    assert str(path) in str(err.value)


def test_a_missing_target_is_refused(tmp_path: Path) -> None:
    """Every priority needs a target."""
    path = write(tmp_path, SMALL.replace("  P3: {working_days: 2}\n", ""))
    with pytest.raises(FlowError, match=r"targets\.P3"):
        load_hours(path)


def test_a_bad_time_or_missing_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    """An unreadable time and a missing file both fail as FlowError with the path."""
    path = write(tmp_path, SMALL.replace('open: "08:00"', 'open: "8 pagi"'))
    with pytest.raises(FlowError, match=re.escape(str(path))):
        load_hours(path)
    with pytest.raises(FlowError, match="not found"):
        load_hours(tmp_path / "missing.yaml")
