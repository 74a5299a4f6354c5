"""Send rate limits: a token bucket for the whole channel, a minimum gap per recipient.

Time is handed in (seconds), so the limits are tested with a frozen clock. The state lives in
the relay process: with several relay processes each keeps its own count, so run one relay
per channel or divide the rates between them.
"""

from __future__ import annotations


class RateLimit:
    def __init__(self, per_second: float, per_recipient_gap: float = 0.0) -> None:
        self.rate = self.full = per_second
        self.gap = per_recipient_gap
        self.tokens = per_second
        self.updated: float | None = None
        self.last_sent: dict[str, float] = {}

    def leave(self, share: float) -> None:
        """Leave `share` a second of the full rate to another process (0: take it all)."""
        self.rate = max(1.0, self.full - share)
        self.tokens = min(self.tokens, self.rate)

    def room(self, now: float) -> int:
        """How many messages the channel's rate lets go now (counting nothing)."""
        tokens = self.tokens if self.updated is None else \
            min(self.rate, self.tokens + (now - self.updated) * self.rate)
        return int(tokens)

    def delay(self, recipient: str, now: float) -> float:
        """Seconds to wait before sending to `recipient`; 0 means send now (and it counts)."""
        if self.updated is not None:
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        wait_recipient = 0.0
        if recipient in self.last_sent:
            wait_recipient = max(0.0, self.last_sent[recipient] + self.gap - now)
        wait_bucket = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        wait = max(wait_recipient, wait_bucket)
        if wait > 0:
            return wait
        self.tokens -= 1
        self.last_sent[recipient] = now
        if len(self.last_sent) > 10_000:  # forget recipients whose gap is long past
            self.last_sent = {r: t for r, t in self.last_sent.items() if t + self.gap > now}
        return 0.0
