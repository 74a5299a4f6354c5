"""Codes stored on cases, as LK3 staff read them: words, durations and times in WIT.

Cases keep codes (`premarital`, `mimika_baru`, `domestic_violence`, `waiting`); JSON output
keeps them too. What a person reads says them in the staff language: categories (a short
staff label from `flows/counselor/<lang>.yaml`, else the family catalog's), distrik (the list
labels of `flows/lists.yaml`), reasons (`flows/intake.triage.yaml`), statuses, outcomes,
legal bases and kinds of danger (`flows/counselor/<lang>.yaml`), durations (`lewat 5 menit`,
`jatuh tempo dalam 4 hari`) and times (WIT, whatever the database hands back). There is no
language per staff member yet: every function takes one, defaulting to `STAFF_LANGUAGE`.
A code with no words (a value from an older version) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from bot.casework import staff
from bot.casework.staff import STAFF_LANGUAGE
from flows.catalog import Catalog, load_catalog
from flows.definition import Flow, read_yaml
from flows.hours import service_hours
from flows.loader import FLOWS_DIR, _load_lists, parse_flow
from flows.triage import TriageRules, describe, intake_rules
from storage.clock import utc

CATEGORY = "category"  # the intake's category question, and the answer it saves


@dataclass(frozen=True)
class Intake:
    """What staff output needs of the intake: its texts (with the list labels), its states
    (the questions and their choices) and its reasons. The same files the engine loads (and
    `lk3 flow check` validates), read without the crisis words and the rest of a bundle."""

    catalog: Catalog
    flow: Flow
    triage: TriageRules


@cache
def intake() -> Intake:
    """The intake as shipped, read once per process."""
    lists, list_labels = _load_lists(FLOWS_DIR / "lists.yaml")
    path = FLOWS_DIR / "intake.yaml"
    return Intake(load_catalog(FLOWS_DIR / "catalog", extra=list_labels),
                  parse_flow(read_yaml(path), str(path), lists), intake_rules())


def family_texts() -> Catalog:
    return intake().catalog


def _staff_word(key: str, language: str) -> str | None:
    return staff.text(key, language) if staff.has(key, language) else None


def _family_word(key: str, language: str) -> str | None:
    texts = family_texts().texts
    table = texts.get(language) or texts[STAFF_LANGUAGE]
    return table.get(key)


def category(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """`dv` -> `KDRT` (the staff's short label, else the family's words); None -> `-`."""
    if not code:
        return "-"
    return _staff_word(f"category.{code}", language) or \
        _family_word(f"category.{code}", language) or code


def category_of(code: str | None, events: Iterable[dict[str, Any]],
                language: str = STAFF_LANGUAGE) -> str:
    """A case's category in words, said to be the bot's guess where it is one: the family
    missed the category question until the bot moved on keeping what it had offered from
    their story (a `moved_on` event with `kept`, flows.misses.keep_offer), and neither they
    (UBAH) nor staff (a correction) answered it since (`events`: the case's, in order)."""
    said = category(code, language)
    return staff.text("category_guessed", language, category=said) \
        if code is not None and guessed(code, events) else said


def guessed(code: str, events: Iterable[dict[str, Any]]) -> bool:
    """The category `code` is the one the bot kept after misses, never confirmed since."""
    kept: str | None = None
    for e in events:
        data = e.get("data") or {}
        if e["kind"] == "moved_on" and data.get("state") == CATEGORY and "kept" in data:
            kept = data["kept"]
        elif (e["kind"] == "answer_taken_back" and data.get("state") == CATEGORY) or \
                (e["kind"] == "privacy_corrected" and data.get("field") == CATEGORY):
            kept = None
    return kept == code


def family_language(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """The language the family writes in: `en` -> `Inggris`; None (no conversation) -> `-`."""
    if not code:
        return "-"
    return _staff_word(f"language.{code}", language) or code


def distrik(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """`mimika_baru` -> `Mimika Baru` (flows/lists.yaml); None -> `-`."""
    if not code:
        return "-"
    return _family_word(f"list.distrik.{code}", language) or code


def distrik_in_alert(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """The distrik in an alert to staff: `distrik belum diketahui` before the family named it
    (a P0 before consent), not `-` (walk V-17: the P0 re-alert ended in "· -")."""
    return distrik(code, language) if code else staff.text("distrik_unknown", language)


def reasons(codes: Iterable[str], language: str = STAFF_LANGUAGE) -> str:
    return describe(codes, language)


def word(kind: str, code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """A code of a kind the staff texts name: status, outcome, basis, danger, event."""
    if code is None or code == "":
        return "-"
    return _staff_word(f"{kind}.{code}", language) or code


def media(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """What a message carried: `voice` -> `pesan suara`; a kind with no words (a sticker
    of a channel not named yet) or none -> `lampiran`, never `-` nor its code (walk T-10)."""
    return (_staff_word(f"media.{code}", language) if code else None) or \
        staff.text("media.other", language)


def topic(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """A broadcast topic (flows/broadcast.yaml): `pengasuhan` -> `Kelas pengasuhan anak dan
    keluarga`; `all` -> `Semua info di atas`."""
    if not code:
        return "-"
    return _family_word(f"list.broadcast_topics.{code}", language) or code


def why(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """Why a message to the family waits (bot.pipeline.held): `queued` -> `pesan sebelumnya
    masih ditahan`; a family's status too (`stopped`)."""
    return word("why", code, language)


def status(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    return word("status", code, language)


def outcome(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    return word("outcome", code, language)


def state(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """A conversation's step (flows/intake.yaml) as staff name it: `closing` -> penutup."""
    return word("state", code, language)


def choice(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    """A consent choice: `agree_refer` -> setuju, boleh dirujuk."""
    return word("choice", code, language)


def basis(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    return word("basis", code, language)


def groups(codes: Iterable[str], language: str = STAFF_LANGUAGE) -> str:
    """Kinds of danger, e.g. `menyakiti diri / bunuh diri, kekerasan`."""
    return ", ".join(word("danger", g, language) for g in codes) or "-"


def duration(delta: timedelta, language: str = STAFF_LANGUAGE) -> str:
    """`kurang dari 1 menit`, `45 menit`, `2 jam 5 menit`, `2 hari 23 jam` (from two days;
    the hours too, so a deadline a minute short of 3 days never reads `2 hari`)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return staff.text("duration.moment", language)
    if minutes < 60:
        return staff.text("duration.minutes", language, n=minutes)
    if minutes < 48 * 60:
        hours = staff.text("duration.hours", language, n=minutes // 60)
        if minutes % 60 == 0:
            return hours
        return f"{hours} {staff.text('duration.minutes', language, n=minutes % 60)}"
    days = staff.text("duration.days", language, n=minutes // (24 * 60))
    extra = minutes % (24 * 60) // 60
    return f"{days} {staff.text('duration.hours', language, n=extra)}" if extra else days


def waited(since: datetime, now: datetime, language: str = STAFF_LANGUAGE) -> str:
    return duration(now - since, language)


def wit(value: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (UTC; naive from SQLite) in WIT; None -> `-`."""
    if value is None:
        return "-"
    return utc(value).astimezone(service_hours().tz).strftime(form)


@cache
def institutions() -> dict[str, dict[str, str]]:
    """The referral places by code (flows/referrals.yaml): name and what they are for."""
    raw = read_yaml(FLOWS_DIR / "referrals.yaml")
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in raw.items()}


def institution(code: str) -> str:
    """A referral place as staff read it (its code where the file no longer has it)."""
    return institutions().get(code, {}).get("name", code)
