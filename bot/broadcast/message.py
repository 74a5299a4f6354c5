"""A broadcast message as each channel carries it: on Telegram the text with who sends it and
how to stop, and a button that stops them; on WhatsApp an approved template (ContentSid)
whose variable is the text, checked before anything is queued (Twilio 63013/63021: empty,
too long, line breaks, many spaces)."""

from __future__ import annotations

import re
from typing import Any

from flows.catalog import Catalog
from flows.commands import COMMAND_BUTTON

MAX_VARIABLES = 1024  # template and its variables together (Twilio 63021); the text alone
MANY_SPACES = re.compile(r" {4,}")
FOOTER = "broadcast.footer"
STOP_BUTTON = "broadcast.stop_button"


def text_for(texts: dict[str, str], language: str) -> str:
    """The text in the person's language, or the Indonesian one."""
    return texts.get(language) or texts["id"]


def variable_problem(value: str) -> str | None:
    """Why WhatsApp would refuse `value` as a template variable (a code: empty, line_breaks,
    many_spaces, too_long), or None."""
    if not value.strip():
        return "empty"
    if "\n" in value or "\t" in value:
        return "line_breaks"
    if MANY_SPACES.search(value):
        return "many_spaces"
    if len(value) > MAX_VARIABLES:
        return "too_long"
    return None


def payload(channel: str, bid: int, texts: dict[str, str], language: str,
            template_sid: str | None, catalog: Catalog) -> dict[str, Any]:
    """The outbox payload for one recipient."""
    body = text_for(texts, language)
    footer = catalog.text(FOOTER, language)
    out: dict[str, Any] = {"text": f"{body}\n\n{footer}", "choices": [], "broadcast": bid}
    if channel == "telegram":  # a button that works as BERHENTI INFO (flows.commands)
        out["choices"] = [{"number": 1, "label": catalog.text(STOP_BUTTON, language),
                           "value": f"{COMMAND_BUTTON}unsubscribe"}]
    if channel == "whatsapp":
        out["template"] = {"sid": template_sid, "variables": {"1": body}}
    return out
