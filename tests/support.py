"""Test helpers: a frozen clock, a collecting sender, and a family talking to the pipeline."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from bot.casework.scheduler import Scheduler
from bot.channels.console import format_payload
from bot.config import Settings
from bot.pipeline.processor import Processor, process_all
from bot.pipeline.relay import Relay
from bot.service import Service
from flows.engine import Engine as FlowEngine
from storage import crypto, inbox, keys
from storage.models import Base

CHANNEL = "test"
_ids = itertools.count(1)


class FrozenClock:
    """Time stands still until a test moves it."""

    def __init__(self, start: datetime = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)) -> None:
        self.now = start  # 09:30 WIT on a Monday

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class CollectingSender:
    """Keeps what the relay hands over, per recipient, in order."""

    channel: str = CHANNEL
    limit: Any = None
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        self.sent.append((recipient, payload))
        return f"prov-{len(self.sent)}"

    def texts(self, recipient: str) -> list[str]:
        return [format_payload(p) for r, p in self.sent if r == recipient]


_FLOWS: FlowEngine | None = None


def flows() -> FlowEngine:
    """One engine per test session: building it is the expensive part, stepping is not."""
    global _FLOWS
    if _FLOWS is None:
        _FLOWS = FlowEngine.load("intake")
    return _FLOWS


def make_service(db: Engine, clock: FrozenClock) -> Service:
    settings = Settings.model_validate({"DATABASE_URL": db.url.render_as_string(False)})
    service = Service(settings, db, flows(), Processor(db, flows(), clock), clock)
    service.senders[CHANNEL] = CollectingSender()
    return service


def send(service: Service, user: str, text: str = "", *, message_id: str | None = None,
         payload: dict[str, Any] | None = None) -> int | None:
    """Store one inbound message as an adapter would; None when it was a duplicate."""
    body = payload if payload is not None else {"text": text}
    with service.db.begin() as conn:
        return inbox.store(conn, channel=CHANNEL, sender=user, payload=body,
                           provider_message_id=message_id or f"m{next(_ids)}",
                           now=service.clock())


def days_pass(service: Service, clock: FrozenClock, days: int) -> None:
    """The scheduler's run each day for `days` days, everything it sends delivered."""
    scheduler = Scheduler(service.db, clock)
    for _ in range(days):
        clock.advance(days=1)
        scheduler.run_once()
        deliver(service)


def deliver(service: Service) -> None:
    """Process everything pending and relay every reply."""
    relay = Relay(service.db, service.senders, service.clock)
    while process_all(service.processor) or asyncio.run(relay.run_once()):
        pass


@dataclass
class Family:
    """A person writing to the bot on the test channel; `say` returns the bot's answers."""

    service: Service
    user: str
    seen: int = 0

    def say(self, text: str = "", **kw: Any) -> list[str]:
        send(self.service, self.user, text, **kw)
        deliver(self.service)
        sender = self.service.senders[CHANNEL]
        assert isinstance(sender, CollectingSender)
        texts = sender.texts(self.user)
        new, self.seen = texts[self.seen:], len(texts)
        return new


# Sealed columns by name (storage.crypto): a plain SELECT's columns are matched to them.
SEALED: dict[str, list[Any]] = {}
for _table in Base.metadata.sorted_tables:
    for _column in _table.columns:
        if crypto.sealed_type(_column) is not None:
            SEALED.setdefault(_column.name, []).append(_column.type)


def _opened(name: str, value: Any) -> Any:
    """A value as its column's type reads it: the sealed column of that name whose
    additional data opens it (a value moved between columns opens in none: an error)."""
    kinds = SEALED.get(name, [])
    if not kinds or value is None:
        return value
    for kind in kinds:
        try:
            return kind.read(value)
        except (crypto.SealError, ValueError):
            continue
    raise AssertionError(f"no sealed column named {name} opens {value!r}")


def read_sql(conn: Connection, sql: str, **params: Any) -> list[Any]:
    """A plain SELECT, its sealed columns opened as the models' types open them (matched by
    result column name): rows with attribute and index access, `_asdict()` for a dict."""
    result = conn.execute(text(sql), params)
    kind = namedtuple("Row", list(result.keys()), rename=True)  # type: ignore[misc]
    names = list(result.keys())
    return [kind(*(_opened(n, v) for n, v in zip(names, row, strict=True))) for row in result]


def install_test_keys() -> None:
    """In a helper process a test starts: the test session's data keys (conftest puts them
    in LK3_DATA_KEYS, which the process inherits)."""
    keys.install_line(os.environ["LK3_DATA_KEYS"])
