"""The engine's vocabulary: what goes into a step and what comes out of it."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")
_SET = object.__setattr__
_UNSET = object()


def made_often(cls: type[T]) -> type[T]:
    """For a frozen dataclass made for every message: an `__init__` that sets the instance's
    attributes in one call, where the one dataclasses writes makes one `object.__setattr__`
    call per field (about twice as slow). Everything else is the dataclass's own: equality,
    hashing, `replace`, and refusing assignment afterwards."""
    own = fields(cls)  # type: ignore[arg-type]
    scope: dict[str, Any] = {"_set": _SET, "_unset": _UNSET}
    params, fill = [], []
    for f in own:
        if f.default is not MISSING:
            scope[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        elif f.default_factory is not MISSING:
            scope[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_unset")
            fill.append(f"    if {f.name} is _unset: {f.name} = _f_{f.name}()\n")
        else:
            params.append(f.name)
    values = ", ".join(f"{f.name!r}: {f.name}" for f in own)
    source = (f"def __init__(self, {', '.join(params)}):\n{''.join(fill)}"
              f"    _set(self, '__dict__', {{{values}}})\n")
    exec(source, scope)  # the dataclass's own field names, nothing else
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


@made_often
@dataclass(frozen=True)
class Media:
    """A reference to media kept by the provider (never the bytes themselves)."""

    kind: str  # photo | voice | document | location | video | audio
    ref: str  # provider file id or URL, or "lat,lon" for a location
    mime: str = ""


@made_often
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


class Choice(NamedTuple):
    """One numbered option shown with a reply: number, stored value, label. A tuple: it is
    hashed each time a reply's payloads are looked up (`bot.pipeline.apply`), in C."""

    number: int
    value: str
    label: str


@made_often
@dataclass(frozen=True)
class Reply:
    """One message to send, as a catalog key with parameters, not yet rendered."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    choices: tuple[tuple[str, str], ...] = ()  # (value, label key)


@made_often
@dataclass(frozen=True)
class Event:
    """Something the host must record: consent, a case, an alert, an audit entry."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@made_often
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


@made_often
@dataclass(frozen=True)
class Turn:
    """The result of one step: replies to send, events to record, the new snapshot."""

    replies: tuple[Reply, ...]
    events: tuple[Event, ...]
    snapshot: Snapshot
