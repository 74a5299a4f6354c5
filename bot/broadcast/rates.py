"""The pace broadcasts may take: 80% of each provider's rate and of WhatsApp's daily limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHARE = 0.8


@dataclass(frozen=True)
class Rates:
    telegram_mps: float = 25.0  # TELEGRAM_BROADCAST_MPS
    whatsapp_mps: float = 10.0  # WHATSAPP_MPS
    daily_limit: int = 250  # WHATSAPP_DAILY_LIMIT
    other_mps: float = 10.0  # test and console channels

    @classmethod
    def of(cls, settings: Any) -> Rates:
        return cls(settings.telegram_broadcast_mps, settings.whatsapp_mps,
                   settings.whatsapp_daily_limit)

    def broadcast_mps(self, channel: str) -> float:
        full = {"telegram": self.telegram_mps, "whatsapp": self.whatsapp_mps}.get(
            channel, self.other_mps)
        return full * SHARE

    def whatsapp_daily(self) -> int:
        """Unique WhatsApp recipients broadcasts may reach in a moving 24 hours."""
        return max(1, int(self.daily_limit * SHARE))
