"""What every channel sender offers the outbox relay, and the errors it may raise."""

from __future__ import annotations

from typing import Any, Protocol


class SendError(Exception):
    """A send failed. `transient` ones are retried; `retry_after` is the provider's own wait."""

    def __init__(self, reason: str, *, transient: bool, retry_after: float | None = None,
                 code: str | None = None) -> None:
        super().__init__(reason)
        self.transient = transient
        self.retry_after = retry_after
        self.code = code


class Sender(Protocol):
    channel: str

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        """Deliver one message; return the provider's message id if it gives one."""
        ...
