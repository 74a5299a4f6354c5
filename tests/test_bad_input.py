"""Odd, empty, huge or broken messages get a polite answer and are never lost."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text

from bot.service import Service
from tests.support import Family, deliver, flows, read_sql, send

USER = "6281100000002"
GREETING = "Selamat pagi. Ini layanan LK3"
DANGER = "Sebelum lanjut: apakah Anda atau orang lain"
REPROMPT = "Maaf, saya belum mengerti. Balas dengan nomor pilihan:"
DANGER_CHOICES = "1. Ya, sekarang\n2. Tidak sekarang, tapi saya takut\n3. Tidak"
ACCOUNT = "Jika mau, ceritakan singkat apa yang terjadi"
# the closing's first line with the first case number of the year
CLOSING = flows().bundle.catalog.text("closing", "id").splitlines()[0].format(
    case_number="LK3-2026-00001")

# (input, how the message log keeps it)
ODD = {
    "empty": ("", ""),
    "whitespace": (" \t\n  ", ""),
    "emoji": ("🎉✨👀", "🎉✨👀"),
    "control": ("\x00\x07abc", "abc"),
    "arabic": ("مرحبا، أحتاج مساعدة", "مرحبا، أحتاج مساعدة"),
    "hebrew": ("\u200fשלום, אני צריכה עזרה", "שלום, אני צריכה עזרה"),
    # (not "HALO???", a greeting now: greeted back with the question)
    "shout_keyword_like": ("WOI???", "WOI???"),
    "slash_start": ("/start", "/start"),
    "superscript_digit": ("²", "²"),  # isdigit() but not a number int() reads (hypothesis)
    "circled_digit": ("①", "①"),
}


def rows(service: Service, sql: str, **params: Any) -> list[Any]:
    with service.db.connect() as conn:
        return read_sql(conn, sql, **params)


def last_inbound(service: Service) -> Any:
    """The newest inbound row of the message log."""
    return rows(service, "SELECT text, truncated, original_length FROM messages "
                         "WHERE direction = 'in' ORDER BY id DESC")[0]


def state(service: Service) -> str:
    return str(rows(service, "SELECT state FROM conversations")[0].state)


def answers(service: Service) -> dict[str, Any]:
    (raw,) = rows(service, "SELECT answers FROM conversations")[0]
    return raw if isinstance(raw, dict) else dict(json.loads(raw))


def nothing_pending(service: Service) -> bool:
    """Every inbound message was processed, none failed."""
    left = rows(service, "SELECT id FROM inbox WHERE processed_at IS NULL "
                         "OR last_error IS NOT NULL")
    return not left


@pytest.fixture
def fam(service: Service) -> Family:
    return Family(service, USER)


@pytest.fixture
def at_danger(fam: Family) -> Family:
    """A family at the danger question (a numbered choice)."""
    fam.say("halo")
    assert fam.say("1")[0].startswith(DANGER)
    return fam


@pytest.fixture
def at_account(at_danger: Family) -> Family:
    """A family at the optional account (free text)."""
    # no danger, agree, adult, economy, myself, Mimika Baru, no kampung, not injured,
    # contact by this chat, no safe times, no message left
    for answer in ["3", "1", "2", "6", "1", "1", "LEWATI", "2", "1", "LEWATI", "2"]:
        at_danger.say(answer)
    assert at_danger.say("LEWATI")[0].startswith(ACCOUNT)  # no codeword
    return at_danger


@pytest.mark.parametrize("odd", ODD, ids=list(ODD))
def test_odd_first_message_gets_greeting(service: Service, fam: Family, odd: str) -> None:
    """Whatever the first message is, the answer is the greeting, and the message is logged."""
    sent, logged = ODD[odd]
    (reply,) = fam.say(sent)
    assert reply.startswith(GREETING)
    assert last_inbound(service).text == logged
    assert nothing_pending(service)


@pytest.mark.parametrize("odd", ODD, ids=list(ODD))
def test_odd_answer_to_choice_reprompts(service: Service, at_danger: Family, odd: str) -> None:
    """A message that is no choice re-asks with the numbered choices; state and log kept."""
    sent, logged = ODD[odd]
    (reply,) = at_danger.say(sent)
    assert reply == f"{REPROMPT}\n{DANGER_CHOICES}"
    assert state(service) == "danger"
    assert last_inbound(service).text == logged
    assert nothing_pending(service)


@pytest.mark.parametrize("tears", ["😭😭😭", "🙏😢🙏", "💔"])
def test_tears_at_a_choice_question_are_heard(service: Service, at_danger: Family,
                                              tears: str) -> None:
    """Walk N: a mother who could only send crying faces read "Maaf, saya belum mengerti".
    She reads that her message arrived, that DARURAT is there, and that she may write in her
    own words; the question stays, and nothing is lost."""
    (reply,) = at_danger.say(tears)
    assert reply.startswith("Pesan Anda sudah kami terima. Bila Anda dalam bahaya sekarang, "
                            "ketik DARURAT.")
    assert reply.endswith(DANGER_CHOICES)
    assert state(service) == "danger"
    assert last_inbound(service).text == tears
    assert nothing_pending(service)


def test_a_story_at_a_choice_question_is_thanked_and_the_question_asked_again(
        service: Service, at_danger: Family) -> None:
    """A mother told why she wrote at the consent question and read "Maaf, saya belum
    mengerti" (a walk-through): now thanks, then the question with its numbers; her words
    are kept, the question stays."""
    at_danger.say("3")
    story = "sa pu anak susah diatur, tra mau sekolah lagi, sa bingung"
    (reply,) = at_danger.say(story)
    assert reply.startswith("Terima kasih sudah bercerita. Mohon jawab dulu pertanyaan ini")
    assert "\n1. Setuju, data dipakai untuk konsultasi" in reply
    assert state(service) == "consent" and last_inbound(service).text == story


def test_a_voice_note_at_a_choice_question_is_said_to_be_kept(service: Service) -> None:
    """A voice note at the greeting (a walk-through: "Maaf, saya belum mengerti"): the bot
    says it cannot hear it here and that it is kept for staff (the message log keeps its
    media: test_media.py), then the choices, at the same question."""
    from flows.types import Inbound, Media, Snapshot

    engine = flows()
    now = service.clock()
    snap = Snapshot(engine.flow.name, "greeting", "id", {}, (), 0, engine.flow.version, None,
                    now)
    voice = Inbound("test", "u1", "m1", text="",
                    media=(Media("voice", "tg:abc", "audio/ogg"),))
    turn = engine.step(snap, voice, now, "id")
    said = engine.bundle.catalog.render(turn.replies[0], "id", {}).text
    assert said.startswith("Maaf, pesan suara, foto, atau file belum bisa saya baca di sini")
    assert "petugas LK3 bisa melihatnya setelah kasus Anda tercatat" in said  # none yet
    assert turn.snapshot.state == "greeting" and turn.replies[0].choices
    with_case = replace(snap, case_number="LK3-2026-00001")
    said = engine.bundle.catalog.render(
        engine.step(with_case, voice, now, "id").replies[0], "id", {}).text
    assert "pesannya tetap kami simpan untuk petugas" in said
    # a photo with words that answer nothing ("ini bukti"), the second miss, when a person
    # is offered, then a voice note: still that it is kept, never "saya belum mengerti"
    photo = Inbound("test", "u1", "m2", text="ini bukti",
                    media=(Media("photo", "tg:def", "image/jpeg"),))
    saids = []
    for sent in (photo, voice):
        turn = engine.step(turn.snapshot, sent, now, "id")
        saids.append(engine.bundle.catalog.render(turn.replies[0], "id", {}).text)
    assert all(s.startswith("Maaf, pesan suara, foto, atau file belum bisa saya baca")
               for s in saids), saids
    assert "Ketik PETUGAS" in saids[0] and turn.snapshot.state == "greeting"


@pytest.mark.parametrize("blank", ["", "   ", "\x00\x07"], ids=["empty", "spaces", "control"])
def test_blank_free_text_asks_again(service: Service, at_account: Family, blank: str) -> None:
    """An empty account is not taken as the answer: the bot asks again and mentions LEWATI."""
    (reply,) = at_account.say(blank)
    assert reply == "Maaf, pesannya kosong. Silakan tulis jawaban Anda, atau ketik LEWATI."
    assert state(service) == "account"


def test_long_message_is_logged_truncated(service: Service, at_account: Family) -> None:
    """A 10,000-character account closes the intake; the log keeps it truncated, marked so."""
    (reply,) = at_account.say("a" * 10_000)
    assert reply.startswith(CLOSING)
    logged = last_inbound(service)
    assert (logged.truncated, logged.original_length) == (True, 10_000)
    assert 0 < len(logged.text) < 10_000
    assert nothing_pending(service)


@pytest.mark.parametrize("odd", ["emoji", "arabic", "hebrew", "control"])
def test_odd_account_is_kept_as_written(service: Service, at_account: Family, odd: str) -> None:
    """Emoji, right-to-left or control-laden text is a valid account: kept (cleaned) in answers."""
    sent, logged = ODD[odd]
    assert at_account.say(sent)[0].startswith(CLOSING)
    assert answers(service)["account"] == logged


def test_lost_state_restarts_at_greeting(service: Service, at_danger: Family) -> None:
    """A conversation whose state left the flow: an apology, the greeting, answers kept, audited."""
    at_danger.say("3")  # danger: no -> consent
    with service.db.begin() as conn:
        conn.execute(text("UPDATE conversations SET state = 'no_such_state'"))
    apology, greeting = at_danger.say("1")
    assert apology.startswith("Maaf, percakapan kita perlu dimulai lagi dari awal.")
    assert greeting.startswith(GREETING)
    assert state(service) == "greeting"
    assert answers(service)["danger"] == "no"
    assert len(rows(service, "SELECT id FROM case_events WHERE kind = 'state_lost'")) == 1


@pytest.mark.parametrize("typed", ["Lanjut chat", "lanjut CHAT!", "1.", " 1 ", "1. Lanjut chat"])
def test_choice_typed_as_label_or_with_punctuation(fam: Family, typed: str) -> None:
    """A choice typed as its label, or its number with punctuation, is understood."""
    fam.say("halo")
    assert fam.say(typed)[0].startswith(DANGER)


def test_label_word_picks_that_choice(service: Service, at_danger: Family) -> None:
    """'Tidak' typed at the danger question picks 3 (no) and moves on to consent."""
    assert at_danger.say("tidak")[0].startswith("Persetujuan penggunaan data")
    assert answers(service)["danger"] == "no"


@pytest.mark.parametrize("number", ["99", "4", "0"])
def test_number_out_of_range_reprompts(service: Service, at_danger: Family, number: str) -> None:
    """A number that is not on the list re-asks the same question with its choices."""
    assert at_danger.say(number) == [f"{REPROMPT}\n{DANGER_CHOICES}"]
    assert state(service) == "danger"


def test_the_same_story_sent_three_times_at_once_is_answered_once(
        service: Service, fam: Family) -> None:
    """A walk-through: "sa pu suami pukul sa tadi" three times in one burst brought the
    violence text and the welcome three times (six messages). The story is logged each time
    and answered once; short answers are never merged ("1", "1" may answer two questions)."""
    story = "sa pu suami pukul sa tadi"
    for _ in range(3):
        send(service, USER, story)
    deliver(service)
    sender = service.senders["test"]
    said = sender.texts(USER)
    assert len(said) == 2 and said[0].startswith("Terima kasih sudah cerita"), said
    assert len(rows(service, "SELECT id FROM messages WHERE direction = 'in'")) == 3
    assert nothing_pending(service)


def test_a_nod_is_no_place_name(service: Service) -> None:
    """Walk U-26: "iya" at "(Boleh dilewati) Nama kampung atau kelurahan?" was kept as her
    kampung, and staff read "iya". Asked once more, plainly; a second nod leaves the
    question; a place written with a yes is kept."""
    from flows.types import Inbound, Snapshot

    engine = flows()
    now = service.clock()
    answers = {"mode": "chat", "consent": "agree", "category": "dv", "distrik": "mimika_baru"}
    snap = Snapshot(engine.flow.name, "kampung", "id", answers, (), 0, engine.flow.version,
                    None, now)
    nod = engine.step(snap, Inbound("test", "u1", "m1", text="iya"), now, "id")
    said = engine.bundle.catalog.render(nod.replies[0], "id", {}).text
    assert said.startswith("Mohon tulis nama kampung") and nod.snapshot.state == "kampung"
    again = engine.step(nod.snapshot, Inbound("test", "u1", "m2", text="👍"), now, "id")
    assert again.snapshot.answers["kampung"] == "skipped" and again.snapshot.state != "kampung"
    place = engine.step(snap, Inbound("test", "u1", "m3", text="iya kwamki baru"), now, "id")
    assert place.snapshot.answers["kampung"] == "iya kwamki baru"
