"""Broadcast times in WIT whatever the server's time zone; quiet hours (issue 18 item 5)."""

from __future__ import annotations

import os
import time as systime
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.broadcast import wit


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Jayapura", "Pacific/Kiritimati"])
def server_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = str(request.param)
    systime.tzset()
    yield str(request.param)
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    systime.tzset()


def test_nine_wit_is_midnight_utc_whatever_tz(server_tz: str) -> None:
    """"09:00 WIT" is 00:00 UTC; "07:30 WIT" is 22:30 UTC the day before."""
    assert wit.parse_wit("2027-01-15 09:00") == datetime(2027, 1, 15, 0, 0, tzinfo=UTC)
    assert wit.parse_wit("2027-01-15 07:30") == datetime(2027, 1, 14, 22, 30, tzinfo=UTC)
    assert wit.show(datetime(2027, 1, 14, 22, 30, tzinfo=UTC)) == "2027-01-15 07:30 WIT"
    # as SQLite gives it back: no zone, meaning UTC (never the server's zone)
    assert wit.show(datetime(2027, 1, 14, 22, 30)) == "2027-01-15 07:30 WIT"


def test_quiet_hours_cross_midnight() -> None:
    """20:00-07:00 WIT: 21:00 and 06:59 are quiet until 07:00; 07:00 and 19:59 are not."""
    quiet = wit.quiet_hours("20:00-07:00")
    at = wit.parse_wit
    assert wit.quiet_until(at("2027-01-15 21:00"), quiet) == at("2027-01-16 07:00")
    assert wit.quiet_until(at("2027-01-16 06:59"), quiet) == at("2027-01-16 07:00")
    assert wit.quiet_until(at("2027-01-16 07:00"), quiet) is None
    assert wit.quiet_until(at("2027-01-16 19:59"), quiet) is None
    assert wit.quiet_until(at("2027-01-16 23:00"), wit.quiet_hours("")) is None


def test_a_typo_in_the_time_is_refused() -> None:
    """A time not like YYYY-MM-DD HH:MM is refused with a sentence, never guessed."""
    with pytest.raises(wit.TimeError, match="WIT"):
        wit.parse_wit("15-01-2027 9am")
