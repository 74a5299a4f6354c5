"""No dead ends at rest (walk S): after "numbers only" a message offers the welcome's choice
again; after refusing consent, words that go on bring the consent question with why it is
needed; the same reminder is never said whole more than twice in a row; BERHENTI with no
case says none is kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.service import Service
from flows.types import Inbound, Snapshot, Turn
from storage import cases
from tests.support import Family, flows

ENGINE = flows()
CATALOG = ENGINE.bundle.catalog
NOW = datetime(2026, 12, 4, 11, 30, tzinfo=UTC)  # 20:30 WIT
CASE = "LK3-2026-00001"
NUMBERS_ONLY = ["malam", "3"]
REFUSED = ["malam", "1", "3", "3"]  # chat; no danger; consent refused


def step(snap: Snapshot | None, said: str) -> Turn:
    """One engine step a minute after the last; a case_upsert gives the case a number."""
    now = snap.updated_at + timedelta(minutes=1) if snap and snap.updated_at else NOW
    turn = ENGINE.step(snap, Inbound("test", "6281200000007", "m", said), now, "id")
    if turn.snapshot.case_number is None and any(e.kind == "case_upsert" for e in turn.events):
        turn = replace(turn, snapshot=replace(turn.snapshot, case_number=CASE))
    return turn


def run(messages: list[str]) -> tuple[Snapshot, list[Turn]]:
    snap: Snapshot | None = None
    turns = []
    for said in messages:
        turns.append(step(snap, said))
        snap = turns[-1].snapshot
    assert snap is not None
    return snap, turns


def keys(turn: Turn) -> list[str]:
    return [r.key for r in turn.replies]


@pytest.mark.parametrize("said", ["1", "2", "malam", "sa mau cerita", "LEWATI"])
def test_a_message_after_numbers_only_offers_the_welcome_choice_again(said: str) -> None:
    """After "3 (numbers only)" a reply ("1", "malam", "sa mau cerita") gets the welcome's
    choice again, plainly (walk S: "Ketik ULANG..." eleven times); then "1" is the chat."""
    snap, turns = run([*NUMBERS_ONLY, said])
    assert keys(turns[-1]) == ["helplines.back", "greeting.again"], keys(turns[-1])
    assert turns[-1].replies[-1].choices  # the three ways, as buttons
    assert step(snap, "1").snapshot.state == "danger"


def test_danger_told_after_numbers_only_keeps_its_text_and_petugas() -> None:
    """Danger words after "numbers only": their text first, the conversation stays at rest
    (PETUGAS puts her through there), and the reminder names PETUGAS, short from the third."""
    snap, turns = run([*NUMBERS_ONLY, "sa pu paitua pukul sa", "1", "1", "1"])
    said = [keys(t) for t in turns[2:]]
    assert said[0] == ["crisis.p1.violence", "helplines.idle.told"], said
    assert said[1:] == [["helplines.idle.told"], ["helplines.idle.told.short"],
                        ["helplines.idle.told.short"]], said
    assert snap.state == "helplines"
    after = step(snap, "PETUGAS")
    assert keys(after) == ["human_requested.rest"]
    assert any(e.kind == "case_upsert" for e in after.events)


@pytest.mark.parametrize("said", ["sa mau cerita", "sa mau lanjut", "1",
                                  "io sa pu paitua minum terus marah2 di rumah"])
def test_words_that_go_on_after_refusing_ask_consent_again(said: str) -> None:
    """After refusing consent, "sa mau cerita", "sa mau lanjut", "1" or a story get why consent
    is needed and the consent question again (walk S: the same "Ketik ULANG" line)."""
    snap, turns = run([*REFUSED, said])
    assert keys(turns[-1]) == ["refused.ask", "consent.short"], keys(turns[-1])
    assert snap.state == "consent"
    assert "consent_asked_again" in [e.kind for e in turns[-1].events]
    assert "persetujuan" in CATALOG.text("refused.ask", "id")


@pytest.mark.parametrize("said", ["ok", "oke", "iya kak", "tra usah", "3", "halo", "👍"])
def test_words_that_end_it_after_refusing_are_not_asked_consent(said: str) -> None:
    """"ok", "tra usah", "3" again, "halo" or a 👍 after refusing: no consent question (ordinary
    messages that must not trigger it); the reminder, whole at most twice in a row."""
    snap, turns = run([*REFUSED, said, said, said])
    assert snap.state == "refused"
    said_keys = [keys(t)[-1] for t in turns[-3:]]
    assert said_keys[:2] == ["refused.idle", "refused.idle"], said_keys
    assert said_keys[2] == "refused.idle.short", said_keys


def test_after_a_refusal_with_a_case_the_record_line_is_short_from_the_third() -> None:
    """A refusal after an emergency (a case for vital interest), then more of the story: each
    is recorded for staff and she is told so, whole twice, then short (walk S, 01: nine times
    the same "Pesan Anda kami catat..."); no consent question over the danger line."""
    snap, turns = run(["malam", "1", "1", "1", "3", "io makin sering", "io ada 3 anak",
                       "io sa bisa ke mama pu rumah"])
    assert snap.case_number == CASE and snap.state == "refused_after_emergency"
    said = [keys(t) for t in turns[-3:]]
    assert said == [["refused.idle.case"], ["refused.idle.case"], ["refused.idle.case.short"]]
    assert "110" in CATALOG.text("refused.idle.case.short", "id")


def test_the_same_urgent_reprompt_is_short_from_the_third_time() -> None:
    """In danger now, words the bot cannot read: "Maaf, belum saya mengerti. Kami membaca..."
    twice, then a short form (walk S, 12: seven times in a row)."""
    snap, _ = run(["malam", "1", "1", "1", "1", "2"])
    assert "p0_alerted" in snap.flags
    turns = [step(snap, "mama jemaat")]
    for said in ["SP5", "pastori"]:  # (a fourth at an optional question: left)
        turns.append(step(turns[-1].snapshot, said))
    said_keys = [keys(t)[0] for t in turns]
    assert said_keys == ["reprompt_urgent", "reprompt_urgent", "reprompt_urgent.short"], \
        said_keys
    assert all(t.replies[0].choices for t in turns)  # the numbers stay


def test_stop_with_no_case_says_no_case_is_kept() -> None:
    """BERHENTI mid-intake with no case: no "kasus yang sudah ada tetap ada" (walk S, 07), at
    the stop and when she writes again."""
    _, turns = run(["malam", "1", "3", "1", "2", "1", "BERHENTI", "sa pu anak ada lihat hp"])
    stop, back = turns[-2], turns[-1]
    assert keys(stop) == ["stopped.no_case"]
    assert keys(back)[0] == "stopped.back.no_case"
    for said in [CATALOG.text("stopped.no_case", "id"), CATALOG.text("stopped.back.no_case", "id")]:
        assert "kasus yang sudah ada" not in said.lower()


def test_stop_with_a_case_keeps_saying_the_case_stays(service: Service) -> None:
    """BERHENTI with a case (danger now) still says the case is kept, and it is."""
    fam = Family(service, "6281200000070")
    for said in ["malam", "1", "1", "1", "1", "2"]:
        fam.say(said)
    reply = fam.say("BERHENTI")
    assert "Kasus yang sudah ada tidak dihapus otomatis" in reply[0], reply
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
        kinds = [r.kind for r in conn.execute(text("SELECT kind FROM case_events"))]
    assert case.priority == "P0" and "emergency" in kinds


def test_asking_for_a_person_after_numbers_only_offers_the_welcome_choice() -> None:
    """Walk T-9: after "3 (numbers only)", "kaka sa mau bicara deng petugas saja" read that
    staff can contact her once she answers the consent question, and no question followed.
    She reads how to be put through and the welcome's choice again; "1" then goes on."""
    snap = None
    turns = []
    for i, said in enumerate(["halo", "3", "kaka sa mau bicara deng petugas saja", "1"]):
        turn = ENGINE.step(snap, Inbound("test", "u1", f"m{i}", text=said), NOW)
        turns.append(turn)
        snap = turn.snapshot
    asked = [r.key for r in turns[2].replies]
    assert asked[0] == "human_requested.no_consent.start" and asked[-1].startswith("greeting")
    assert turns[2].replies[-1].choices, asked
    assert turns[3].snapshot.state == "danger"


def test_an_erasure_asked_mid_intake_says_she_may_stop_or_go_on() -> None:
    """Walk T-6: right after "sa mau hapus sa pu data" the next question asked for more of
    it, as if not heard. She reads that she may stop here (BERHENTI) or go on; at rest
    (the closing) there is no question to go on with, and no such line."""
    flow = ENGINE.flow
    answers = {"mode": "chat", "consent": "agree", "age": "adult", "category": "dv"}
    snap = Snapshot(flow.name, "who", "id", answers, (), 0, flow.version, None, NOW)
    turn = ENGINE.step(snap, Inbound("test", "u1", "m1", text="sa mau hapus sa pu data"), NOW)
    keys = [r.key for r in turn.replies]
    assert keys[:2] == ["privacy.erase", "privacy.erase.go_on"] and keys[-1] == "who", keys
    closed = replace(snap, state="closing", case_number="LK3-2026-00001")
    keys = [r.key for r in ENGINE.step(closed, Inbound("test", "u1", "m2",
                                                      text="sa mau hapus sa pu data"),
                                       NOW).replies]
    assert "privacy.erase.go_on" not in keys, keys
