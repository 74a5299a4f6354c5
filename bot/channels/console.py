"""The terminal channel: `lk3 chat` talks to the bot through the real inbox and outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from bot.channels.split import choice_lines
from bot.pipeline.ratelimit import RateLimit

CHANNEL = "console"


def format_payload(payload: dict[str, Any]) -> str:
    """Text with its numbered choices underneath, as a family would read it on WhatsApp."""
    choices = payload.get("choices") or []
    text = str(payload.get("text", ""))
    return f"{text}\n{choice_lines(choices)}" if choices else text


class ConsoleSender:
    """Prints replies for one terminal user; other recipients' rows are not ours to print."""

    channel = CHANNEL
    limit: RateLimit | None = None

    def __init__(self, out: TextIO, on_sent: Callable[[], None] | None = None) -> None:
        self.out = out
        self.on_sent = on_sent

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        self.out.write(f"\nLK3: {format_payload(payload)}\n")
        self.out.flush()
        if self.on_sent:
            self.on_sent()
        return None
