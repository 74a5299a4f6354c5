"""A channel's gate in the outbox relay: when its provider may be asked to send.

Three reasons to wait, none of which costs a reply its chance:

- **Held** (a rate limit): the provider said "too many" (Telegram 429 with retry_after,
  Twilio 429/63018/20429). The whole channel waits exactly as long as it was told (without
  a wait given: 1, 2, 4 ... 60 s while it keeps saying so). Not a failure.
- **Open** (an outage): the provider did not answer, or answered 5xx. The channel pauses
  (1, 2, 4 ... `pause_max` seconds), then one row goes out as a probe; the gate stays shut
  while it is out. The probe's answer decides: delivered (or any answer of the provider's
  own) closes the gate and everything due goes out again, in order; another outage pauses
  longer. Only the probes are attempts; the other rows keep waiting their turn.
- **Closed**: send.

Time is handed in, so a gate is tested with a frozen clock. A gate lives in its relay
process: with several relays each finds the outage by itself (one probe each).
"""

from __future__ import annotations

from datetime import datetime, timedelta

RATE_WAIT_MAX = 60.0  # seconds, for "too many" answers that do not say how long


class Gate:
    def __init__(self, pause_min: float = 1.0, pause_max: float = 15.0) -> None:
        self.pause_min, self.pause_max = pause_min, max(pause_min, pause_max)
        self.outages = 0  # outage answers in a row
        self.limited = 0  # "too many" answers in a row that gave no wait
        self.open_until: datetime | None = None  # paused by an outage until then
        self.held_until: datetime | None = None  # held by a rate limit until then
        self.probe: int | None = None  # the outbox row out as a probe

    def admits(self, now: datetime) -> int | None:
        """How many rows may be taken now: None any, 1 a probe, 0 none."""
        if self.held_until is not None and now < self.held_until:
            return 0
        if self.probe is not None:
            return 0
        if self.open_until is not None:
            return 1 if now >= self.open_until else 0
        return None

    def probing(self, row_id: int) -> None:
        self.probe = row_id

    def may_send(self, now: datetime, row_id: int) -> bool:
        """May this row (taken earlier in a batch) go now?"""
        if self.held_until is not None and now < self.held_until:
            return False
        return self.open_until is None or self.probe == row_id

    def reopens(self, now: datetime) -> datetime:
        """When a row held back now may be tried again."""
        return max([t for t in (self.open_until, self.held_until) if t is not None] or [now])

    def delivered(self) -> None:
        """The provider took a message: whatever it was, it is back."""
        self.outages = self.limited = 0
        self.open_until = self.probe = None

    def answered(self) -> None:
        """The provider answered with a refusal of its own (not an outage): it is up."""
        self.delivered()

    def outage(self, now: datetime) -> datetime:
        """No answer, or 5xx: pause, longer each time; returns when to probe."""
        self.outages += 1
        pause = min(self.pause_max, self.pause_min * 2.0 ** (self.outages - 1))
        self.open_until = now + timedelta(seconds=pause)
        self.probe = None
        return self.open_until

    def rate_limited(self, now: datetime, wait: float | None) -> datetime:
        """"Too many": hold the channel exactly `wait` seconds (or a growing guess)."""
        if wait is None:
            self.limited += 1
            wait = min(RATE_WAIT_MAX, 2.0 ** (self.limited - 1))
        self.outages = 0
        self.open_until = self.probe = None  # it answered: no outage
        self.held_until = now + timedelta(seconds=max(0.0, wait))
        return self.held_until

    def undecided(self, now: datetime) -> None:
        """The probe ended without the provider's verdict (not sent, or our own error):
        another row may probe now."""
        if self.probe is not None:
            self.probe = None
            self.open_until = now if self.open_until is None else min(self.open_until, now)
