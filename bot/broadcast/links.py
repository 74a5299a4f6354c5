"""The links a poster carries to subscribe, and their QR code (segno: PNG or SVG)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import ConfigError, Settings

KEYWORD = "LANGGANAN"


def links(settings: Settings) -> dict[str, str]:
    """Telegram t.me/<bot>?start=langganan and WhatsApp wa.me/<number>?text=LANGGANAN, for
    the channels that are configured."""
    out: dict[str, str] = {}
    if settings.telegram_bot_username:
        out["telegram"] = (f"https://t.me/{settings.telegram_bot_username.lstrip('@')}"
                           f"?start={KEYWORD.lower()}")
    if settings.twilio_whatsapp_from:
        number = re.sub(r"\D", "", settings.twilio_whatsapp_from)
        out["whatsapp"] = f"https://wa.me/{number}?text={KEYWORD}"
    if not out:
        raise ConfigError("No link to make: set TELEGRAM_BOT_USERNAME (the bot's @name) or "
                          "TWILIO_WHATSAPP_FROM.")
    return out


def write_qr(link: str, path: Path) -> None:
    """A QR code of `link` for a poster: PNG or SVG by the file's ending."""
    import segno  # only here: the service never needs it

    if path.suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"--qr {path}: the file must end in .png or .svg")
    segno.make(link, error="m").save(str(path), scale=10, border=4)
