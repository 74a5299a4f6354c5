"""The composition root: settings -> database, flow engine, processor and relay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from bot.broadcast.rates import Rates
from bot.casework import intakeview
from bot.channels.base import Sender
from bot.config import ConfigError, Settings
from bot.pipeline.failures import RelayPolicy
from bot.pipeline.processor import Processor
from bot.pipeline.relay import Relay
from flows.definition import FlowError
from flows.engine import Engine as FlowEngine
from storage import crypto, keys, migrate
from storage.clock import utcnow
from storage.db import make_engine, sqlite_file


@dataclass
class Service:
    settings: Settings
    db: Engine
    flows: FlowEngine
    processor: Processor
    clock: Callable[[], datetime]
    senders: dict[str, Sender] = field(default_factory=dict)

    def relay(self, recipient: str | None = None, only: str | None = None) -> Relay:
        """The outbox relay; `only` "replies" or "broadcasts" where `lk3 serve` and its
        `lk3 broadcast run` child share the work (the replies' rate then leaves a
        broadcast its share, bot.broadcast.rates)."""
        shares = {}
        if only == "replies":
            rates = Rates.of(self.settings)
            shares = {c: rates.broadcast_mps(c) for c in ("telegram", "whatsapp")}
        return Relay(self.db, self.senders, self.clock, recipient=recipient,
                     policy=RelayPolicy.of(self.settings), only=only, shares=shares)


def install_keys(settings: Settings, db: Engine) -> crypto.Ring:
    """The data keys for this database, installed for the process (storage.crypto): from
    LK3_DATA_KEYS, or the SQLite database's key file (made on first start). Before any
    sealed column is read or written, the migrations' included."""
    try:
        ring = keys.ring_for(settings.lk3_data_keys, db)
    except keys.KeysError as exc:
        raise ConfigError(str(exc)) from None
    crypto.install(ring)
    return ring


def check_keys(settings: Settings, db: Engine, ring: crypto.Ring) -> None:
    """ConfigError when the database holds data sealed with a key the ring lacks."""
    path = sqlite_file(settings.database_url)
    source = "LK3_DATA_KEYS" if settings.lk3_data_keys.strip() or path is None \
        else f"the key file {keys.key_file(path)}"
    try:
        keys.check(db, ring, source)
    except keys.KeysError as exc:
        raise ConfigError(str(exc)) from None


def open_database(settings: Settings, auto_migrate: bool) -> Engine:
    """Connect and install the data keys; migrate the SQLite default by itself, insist on
    `lk3 db upgrade` elsewhere."""
    db = make_engine(settings.database_url)
    try:
        ring = install_keys(settings, db)
        if auto_migrate and db.dialect.name == "sqlite":
            migrate.upgrade(db)
        elif migrate.current(db) != migrate.head():
            raise ConfigError("The database at DATABASE_URL is not up to date; "
                              "run `lk3 db upgrade` first.")
        check_keys(settings, db, ring)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"DATABASE_URL cannot be used: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0]}") from None
    return db


def build(settings: Settings, *, auto_migrate: bool = True,
          clock: Callable[[], datetime] = utcnow, shard: int = 1) -> Service:
    """The service; its processor takes contact shard `shard` of LK3_PROCESSORS (1-based:
    `lk3 serve` is 1, each `lk3 process --shard K` another)."""
    db = open_database(settings, auto_migrate)
    try:
        flows = FlowEngine.load("intake")
    except FlowError as exc:
        raise ConfigError(f"The intake flow is invalid: {exc}") from None
    intakeview.warm()  # staff texts and questions read now, not under a write lock later
    shards = settings.lk3_processors
    processor = Processor(db, flows, clock, shard=(shard - 1, shards) if shards > 1 else None)
    return Service(settings, db, flows, processor, clock)
