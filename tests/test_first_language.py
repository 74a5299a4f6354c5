"""A first message in English is answered in English (found in a walk-through as families
write: "hello, my husband beats me when he is drunk" got the whole greeting in Indonesian)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.types import Inbound
from tests.support import flows

ENGINE = flows()
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "language"), [
    ("hello, my husband beats me when he is drunk. I am scared for my kids", "en"),
    ("I want to ask about LK3", "en"),
    ("my name is not important, i need help", "en"),
    # Papuan Malay and Indonesian, with an English word or two, stay Indonesian
    ("halo kak, sa mau tanya", "id"),
    ("sa pu suami hit me", "id"),
    ("sa takut, please help", "id"),
    ("selamat pagi, saya mau tanya jam buka", "id"),
    ("ok", "id"),
])
def test_the_first_message_sets_the_language(text: str, language: str) -> None:
    turn = ENGINE.step(None, Inbound("test", "u1", "m1", text=text), NOW, "id")
    assert turn.snapshot.language == language
    said = "\n".join(ENGINE.bundle.catalog.render(r, turn.snapshot.language, {}).text
                     for r in turn.replies)
    assert ("I am an automatic assistant" in said) is (language == "en"), said


def test_a_language_the_channel_gave_is_kept() -> None:
    """A channel that knows the person's language (a Telegram client set to English) keeps
    it; only the Indonesian default is read from the message."""
    turn = ENGINE.step(None, Inbound("test", "u1", "m1", text="halo kak, sa mau tanya"), NOW,
                       "en")
    assert turn.snapshot.language == "en"


def test_a_later_message_does_not_switch() -> None:
    """Only the first message decides; later the family switches with BAHASA/LANGUAGE."""
    first = ENGINE.step(None, Inbound("test", "u1", "m1", text="halo"), NOW, "id")
    turn = ENGINE.step(first.snapshot, Inbound("test", "u1", "m2",
                                               text="I want to ask about LK3"), NOW, "id")
    assert turn.snapshot.language == "id"


@pytest.mark.parametrize("text", ["help", "Help me", "please help me!"])
def test_a_plea_for_help_in_english_is_the_emergency_word_in_english(text: str) -> None:
    """Walk U-22: "help" alone read as violence, in Indonesian, and the greeting and consent
    after it in Indonesian: it is DARURAT's answer, in English; "tolong" stays Indonesian."""
    turn = ENGINE.step(None, Inbound("test", "u1", "m1", text=text), NOW, "id")
    assert turn.snapshot.language == "en" and turn.replies[0].key == "emergency", turn.replies
    said = ENGINE.bundle.catalog.render(turn.replies[0], "en", {}).text
    assert said.startswith("Your safety comes first"), said
    tolong = ENGINE.step(None, Inbound("test", "u1", "m1", text="tolong"), NOW, "id")
    assert tolong.snapshot.language == "id" and tolong.replies[0].key == "emergency"


def test_telegrams_help_command_is_the_menu_not_an_emergency() -> None:
    """A review: "/help", the most-tapped command of any Telegram bot, folded to "help" and
    paged on-duty staff as a P0."""
    turn = ENGINE.step(None, Inbound("test", "u1", "m1", text="/help"), NOW, "id")
    assert turn.replies[0].key == "menu" and not any(
        e.kind == "case_upsert" for e in turn.events), turn.replies
