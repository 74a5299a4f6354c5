"""The console's words: `console.*` texts of flows/catalog/<lang>.console.yaml (Indonesian
first, English for staff whose language is en), and the staff catalog's for what the chat
commands also say (bot.casework.staff)."""

from __future__ import annotations

from typing import Any

from bot.casework import labels, staff
from flows.types import LANGUAGES

DEFAULT = "id"


def language(code: str | None) -> str:
    return code if code in LANGUAGES else DEFAULT


def text(key: str, lang: str, /, **params: Any) -> str:
    """A console text: `console.<key>` in `lang`."""
    return labels.family_texts().text(f"console.{key}", language(lang), params)


def staff_text(key: str, lang: str, /, **params: Any) -> str:
    """A text the chat commands say too (bot.casework.staff's catalog)."""
    return staff.text(key, language(lang), **params)


class Words:
    """Bound to one staff member's language, for templates: `t('key')`, `s('key')`."""

    def __init__(self, lang: str) -> None:
        self.lang = language(lang)

    def t(self, key: str, **params: Any) -> str:
        return text(key, self.lang, **params)

    def s(self, key: str, **params: Any) -> str:
        return staff_text(key, self.lang, **params)

    def priority(self, code: str) -> str:
        return text(f"priority.{code}", self.lang) if code in ("P0", "P1", "P2", "P3") \
            else code
