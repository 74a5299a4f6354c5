"""The engine's vocabulary: what goes into a step and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


@dataclass(frozen=True)
class Media:
    """A reference to media kept by the provider (never the bytes themselves)."""

    kind: str  # photo | voice | document | location | video | audio
    ref: str  # provider file id or URL, or "lat,lon" for a location
    mime: str = ""


@dataclass(frozen=True)
class Inbound:
    """One message from a person, normalised by a channel adapter."""

    channel: str
    sender: str  # the provider's user id (chat id, whatsapp:+62...)
    provider_message_id: str
    text: str = ""
    payload: str = ""  # button payload, when the person pressed a button
    media: tuple[Media, ...] = ()

    @property
    def contact_key(self) -> str:
        return f"{self.channel}:{self.sender}"


@dataclass(frozen=True)
class Choice:
    """One numbered option shown with a reply: number, stored value, label."""

    number: int
    value: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message to send, as a catalog key with parameters, not yet rendered."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    choices: tuple[tuple[str, str], ...] = ()  # (value, label key)


@dataclass(frozen=True)
class Event:
    """Something the host must record: consent, a case, an alert, an audit entry."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """A conversation as stored: where it is and what it knows."""

    flow: str
    state: str
    language: str = DEFAULT_LANGUAGE
    answers: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    misses: int = 0
    flow_version: int = 0
    case_number: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Turn:
    """The result of one step: replies to send, events to record, the new snapshot."""

    replies: tuple[Reply, ...]
    events: tuple[Event, ...]
    snapshot: Snapshot
