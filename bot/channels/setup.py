"""Which provider channels run, from the settings: each one is on only when configured."""

from __future__ import annotations

import logging

from bot.channels.base import Channel
from bot.channels.host import Host

log = logging.getLogger(__name__)


def build_channels(service: Host) -> list[Channel]:
    """The configured channels; each one that is off is said so in one line."""
    channels: list[Channel] = []
    # Each provider module adds itself here: `channels.append(module.build(service))` when
    # its settings are present, else one log line saying it is off.
    if service.settings.telegram_on:
        from bot.channels import telegram
        channels.append(telegram.build(service))
    else:
        log.info("channel telegram is off: TELEGRAM_BOT_TOKEN is not set")
    if service.settings.whatsapp_on:
        from bot.channels import whatsapp
        channels.append(whatsapp.build(service))
    else:
        log.info("channel whatsapp is off: TWILIO_ACCOUNT_SID is not set")
    return channels
