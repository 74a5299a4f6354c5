"""What every channel sender offers the outbox relay, and the errors it may raise."""

from __future__ import annotations

from typing import Any, Protocol

from bot.pipeline.ratelimit import RateLimit


class SendError(Exception):
    """A send failed.

    `transient` ones are tried again until the row's deadline (bot.pipeline.relay): `rate_limited`
    ones (the provider said "too many"; `retry_after` is its own wait) hold the channel
    exactly that long and are no failure; `outage` ones (no answer, 5xx) pause the channel
    and probe it with one row (bot.pipeline.gate); others wait a backoff of their own.
    Permanent ones end the row with `final_status` ("failed", or "needs_template" for a
    WhatsApp message outside the 24-hour window) and may change the contact's status
    (`contact_status`: "unreachable" when the person blocked the bot, "opted_out").
    """

    def __init__(self, reason: str, *, transient: bool, retry_after: float | None = None,
                 code: str | None = None, contact_status: str | None = None,
                 final_status: str = "failed", rate_limited: bool = False,
                 outage: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient
        self.retry_after = retry_after
        self.code = code
        self.contact_status = contact_status
        self.final_status = final_status
        self.rate_limited = transient and (rate_limited or retry_after is not None)
        self.outage = transient and outage and not self.rate_limited


class Sender(Protocol):
    channel: str
    limit: RateLimit | None

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        """Deliver one message; return the provider's message id if it gives one."""
        ...


class Channel(Protocol):
    """A provider channel as the web app and the workers see it."""

    name: str
    sender: Sender
    routes: list[Any]  # Starlette routes (webhooks) this channel adds to the app

    async def start(self) -> None:
        """Begin receiving (start polling, or register the webhook)."""
        ...

    async def stop(self) -> None:
        """Stop receiving; what was stored stays stored."""
        ...
