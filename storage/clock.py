"""Time as stored: always UTC, aware; SQLite hands back naive values, read as UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def utcnow() -> datetime:
    return datetime.now(UTC)
