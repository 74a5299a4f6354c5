"""Which provider channels run, from the settings: each one is on only when configured."""

from __future__ import annotations

import logging

from bot.channels.base import Channel
from bot.service import Service

log = logging.getLogger(__name__)


def build_channels(service: Service) -> list[Channel]:
    """The configured channels; each one that is off is said so in one line."""
    channels: list[Channel] = []
    # Each provider module adds itself here: `channels.append(module.build(service))` when
    # its settings are present, else one log line saying it is off.
    return channels
