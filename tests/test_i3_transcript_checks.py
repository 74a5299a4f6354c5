"""Checks the transcript runner's `expect` keys cannot express, for the i3_ transcripts,
and the known gaps found while reading them (strict xfails: a fix makes them fail loudly,
then the marker goes and a golden transcript takes over)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.service import Service
from storage import cases
from storage.models import Case, CaseEvent, InboxMessage, MessageLog
from tests.support import Family, FrozenClock
from tests.test_transcripts import TRANSCRIPTS, USER, load, play

# A known gap: the test states the rule and must fail today, on an assertion.
GAP = partial(pytest.mark.xfail, strict=True, raises=AssertionError)

REFUSED = TRANSCRIPTS / "i3_consent_refused.yaml"
CLOSING = "Terima kasih sudah menghubungi LK3. Nomor kasus Anda: LK3-2026-00001."
P1_VIOLENCE = "Terima kasih sudah cerita. Anda tidak salah dan berhak aman."
# adult, DV, myself, Mimika Baru, no risk, contact by chat ... up to the optional account
TO_ACCOUNT = ["halo", "1", "3", "1", "2", "2", "1", "1", "LEWATI", "2", "2", "2", "2", "2", "1",
              "1", "1", "pagi", "2", "LEWATI"]
PAPUAN = "sa pu paitua pukul sa tiap malam"


def rows(service: Service, model: Any, *columns: str) -> list[dict[str, Any]]:
    """Rows through the model's table, so JSON columns decode alike on both backends."""
    table = model.__table__
    with service.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(*(table.c[c] for c in columns)).order_by(table.c.id))]


def user_words(path: Path) -> list[str]:
    """What the family typed in a transcript, the short choices left out."""
    return [t["user"] for t in load(path)["turns"] if len(t.get("user", "")) > 6]


def test_consent_refused_keeps_no_words_in_the_message_log(service: Service,
                                                           clock: FrozenClock) -> None:
    """UU PDP minimisation: after a refusal the contact's messages are counted, not kept."""
    play(service, clock, load(REFUSED)["turns"])
    logged = [r for r in rows(service, MessageLog, "direction", "text", "media")
              if r["direction"] == "in"]
    assert len(logged) == len(load(REFUSED)["turns"])  # every message counted
    assert all(r["text"] == "" and not r["media"] for r in logged), logged
    assert rows(service, Case, "id") == []


def test_consent_refused_keeps_no_words_in_the_inbox(service: Service,
                                                     clock: FrozenClock) -> None:
    """UU PDP minimisation: no inbox row of a refusing contact keeps what they typed."""
    play(service, clock, load(REFUSED)["turns"])
    payloads = [r["payload"] for r in rows(service, InboxMessage, "payload")]
    assert len(payloads) == len(load(REFUSED)["turns"])
    assert all(p == {"redacted": True} for p in payloads), payloads


def test_consent_refused_keeps_no_words_in_the_audit(service: Service,
                                                     clock: FrozenClock) -> None:
    """UU PDP minimisation: no audit event of a refusing contact holds what they typed."""
    play(service, clock, load(REFUSED)["turns"])
    audit = json.dumps([r["data"] for r in rows(service, CaseEvent, "data")])
    for words in user_words(REFUSED):
        assert words not in audit, words


@pytest.fixture
def crisis_in_account(service: Service) -> tuple[Family, list[str]]:
    """A DV intake whose optional account says, in Papuan Malay, 'my husband hits me'."""
    fam = Family(service, USER)
    for m in TO_ACCOUNT:
        fam.say(m)
    return fam, fam.say(PAPUAN)


def test_crisis_words_in_the_account_get_the_numbers_then_the_closing(
        crisis_in_account: tuple[Family, list[str]]) -> None:
    """Danger words in the last answer: the violence numbers first, then the closing; no
    question stands between the family and the help."""
    _, replies = crisis_in_account
    assert replies[0].startswith(P1_VIOLENCE) and "110" in replies[0], replies
    assert any(r.startswith(CLOSING) for r in replies[1:]), replies
    assert not any("\n1. " in r for r in replies)


def test_crisis_words_in_the_account_reach_the_case(
        service: Service, crisis_in_account: tuple[Family, list[str]]) -> None:
    """Danger words in the last answer add their reason to the case."""
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert "violence_words" in case.reasons, case.reasons


def test_mistyped_keeps_the_words_on_the_case(service: Service) -> None:
    """'salah ketik' after danger words is recorded; the words' reason stays on the case and
    the dispute is shown to staff beside it."""
    fam = Family(service, USER)
    for m in ["halo", "1", "3", "1", "2", "9"]:
        fam.say(m)
    assert fam.say("saya dipukul suami")[0].startswith(P1_VIOLENCE)
    fam.say("salah ketik")
    # the words stay told: their violence questions come (answered no), whatever the category
    for m in ["6", "1", "1", "LEWATI", "2", "2", "2", "2", "2", "1", "1", "1", "pagi", "2",
              "LEWATI", "LEWATI"]:
        fam.say(m)
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert case.priority == "P1", case
    assert {"violence_words", "mistyped_crisis"} <= set(case.reasons), case.reasons
