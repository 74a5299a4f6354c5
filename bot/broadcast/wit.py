"""Broadcast times: entered and shown in WIT (Asia/Jayapura, UTC+9, no daylight saving),
stored as UTC instants, whatever the server's time zone; quiet hours in WIT."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.clock import utc

WIT = ZoneInfo("Asia/Jayapura")
FORMAT = "%Y-%m-%d %H:%M"


class TimeError(ValueError):
    """A time an officer typed that is not one."""


def parse_wit(text: str) -> datetime:
    """"YYYY-MM-DD HH:MM" in WIT as a UTC instant."""
    try:
        local = datetime.strptime(text.strip(), FORMAT)
    except ValueError:
        raise TimeError(f"'{text}' bukan waktu seperti 2027-01-15 09:00 (WIT)") from None
    return local.replace(tzinfo=WIT).astimezone(UTC)


def show(when: datetime | None) -> str:
    """An instant in WIT; one stored without a zone (SQLite) is UTC, never the server's."""
    return "-" if when is None else utc(when).astimezone(WIT).strftime(FORMAT) + " WIT"


def quiet_hours(setting: str) -> tuple[time, time] | None:
    """BROADCAST_QUIET_HOURS "20:00-07:00" as (start, end) in WIT; None when empty."""
    if not setting.strip():
        return None
    start, _, end = setting.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise TimeError(f"BROADCAST_QUIET_HOURS '{setting}' is not like 20:00-07:00") from None


def quiet_until(now: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours `now` falls in end (a UTC instant), or None if not quiet now."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(WIT)
    t = local.timetz().replace(tzinfo=None)
    inside = (start <= t < end) if start <= end else (t >= start or t < end)
    if not inside:
        return None
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)
