"""Broadcast codes as staff read them (flows/counselor/<lang>.broadcast.yaml): statuses,
recipient states, reasons, channels and blockers in words; JSON keeps the codes."""

from __future__ import annotations

from typing import Any

from bot.casework import staff


def word(kind: str, code: str, language: str = staff.STAFF_LANGUAGE, /, **params: Any) -> str:
    """`code` of `kind` (status, state, reason, channel, blocker) in words; an unknown code
    as it is, so a new one shows rather than fails."""
    key = f"bc_{kind}.{code}"
    return staff.text(key, language, **params) if staff.has(key, language) else code


def blocker(found: dict[str, str], language: str = staff.STAFF_LANGUAGE, /) -> str:
    params = {k: v for k, v in found.items() if k != "code"}
    return word("blocker", found["code"], language, **params)
