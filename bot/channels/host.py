"""What a channel adapter needs of the running service, and nothing more: the settings, the
database its webhooks store into, the clock, and where its sender is registered for the relay.

The composition root (bot.service.Service) has these; an adapter names this Protocol, not the
root, so channels never import what composes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from bot.channels.base import Sender
from bot.config import Settings


class Host(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Engine: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def senders(self) -> dict[str, Sender]: ...
