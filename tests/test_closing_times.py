"""The closing keeps to the safe times a family gave.

Found in a walk-through: a family who said to call only in the afternoon ("sore jam 4-6,
waktu de pigi kerja") was told at the close that staff would call "secepatnya, juga di luar
jam layanan". A call at the wrong hour can reach the phone while the person who hurts them
holds it. Staff see the safe times with the case; the family now hears them said back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.service import Service
from flows.types import Inbound, Snapshot, Turn
from tests.support import Family, FrozenClock, flows

ENGINE = flows()
CATALOG = ENGINE.bundle.catalog
NOW = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # 10:30 WIT, a Monday: service hours
SAFE = "sore jam 4-6, waktu de pigi kerja"
IN_HOURS = "pagi jam 9 sampe 12, waktu de pigi kerja"  # staff may keep to it
# chat, no danger now, agree, adult, domestic violence, myself, Mimika Baru, skip the
# kampung; then the risk questions: injured (yes makes it P0) or not, and the rest no; a
# safe place and safe to chat; contact by this chat; the safe times; no message left; no
# codeword; no account
BEFORE_RISK = ["halo", "1", "3", "1", "2", "2", "1", "1", "LEWATI"]
AFTER_RISK = ["2", "2", "2", "2", "1", "1", "1"]


def intake(injured: str, safe_times: str, now: datetime = NOW) -> tuple[Turn, Snapshot]:
    snap: Snapshot | None = None
    turn = None
    script = [*BEFORE_RISK, injured, *AFTER_RISK, safe_times, "2", "LEWATI", "LEWATI"]
    for i, text in enumerate(script):
        turn = ENGINE.step(snap, Inbound("test", "u1", f"m{i}", text=text), now, "id")
        snap = turn.snapshot
        if snap.state == "emergency_check":  # an injury is P0: "safe now" and on
            turn = ENGINE.step(snap, Inbound("test", "u1", f"s{i}", text="1"), now, "id")
            snap = turn.snapshot
    assert turn is not None and snap is not None
    assert snap.state == "closing", (snap.state, script)
    return turn, snap


def closing(turn: Turn) -> str:
    return "\n".join(CATALOG.render(r, "id", {"case_number": "LK3-2026-00001"}).text
                     for r in turn.replies)


@pytest.mark.parametrize("injured", ["1", "2"], ids=["P0", "P1-or-lower"])
def test_the_closing_says_the_safe_times_back(injured: str) -> None:
    """In service hours, or for a P0 (staff answer it at any hour), the time is said back."""
    said = SAFE if injured == "1" else IN_HOURS
    turn, snap = intake(injured, said)
    text = closing(turn)
    assert snap.answers["safe_times"] == said
    assert "Nomor kasus Anda: LK3-2026-00001" in text
    assert f"Petugas akan berusaha memakai waktu aman yang Anda sebut: {said}." in text


def test_a_p0_closing_does_not_promise_any_hour_beside_the_safe_times() -> None:
    """A walk-through read "secepatnya, juga di luar jam layanan" next to "sore jam 4-6
    waktu de pigi kerja": the P0 promise keeps to the safe times, said once (another read
    "pada waktu aman yang Anda sebut" twice in one closing)."""
    text = closing(intake("1", SAFE)[0])
    assert "secepatnya." in text and "di luar jam layanan" not in text
    assert text.count("waktu aman yang Anda sebut") == 1, text


@pytest.mark.parametrize("late", ["malam jam 8 sampe jam 10, habis anak2 tidur", "sabtu pagi",
                                  "evenings after my shift, 7pm"])
def test_a_safe_time_outside_the_hours_is_not_promised_at_the_close(late: str) -> None:
    """Walk O: told that staff would write first in the chat, the family then read "Petugas
    akan berusaha memakai waktu aman yang Anda sebut: malam jam 8 ...". The closing says
    the same as the question did: staff write first in this chat in service hours."""
    turn, snap = intake("2", late)
    text = closing(turn)
    assert snap.answers["safe_times"] == late
    assert late not in text and "berusaha memakai waktu aman" not in text, text
    assert "menulis dulu di chat ini pada jam layanan" in text
    assert "Nomor kasus Anda: LK3-2026-00001" in text


@pytest.mark.parametrize("none", ["LEWATI", "tra", "kapan saja", "Tidak."])
def test_without_safe_times_the_closing_says_nothing_of_them(none: str) -> None:
    """LEWATI, or a no ("tra" was saved as the safe times and said back at the close)."""
    turn, snap = intake("2", none)
    assert snap.answers["safe_times"] == "skipped"
    text = closing(turn)
    assert "Nomor kasus Anda" in text and "waktu aman" not in text and "skipped" not in text


@pytest.mark.parametrize(("now", "said"), [
    (datetime(2026, 12, 6, 20, 0, tzinfo=UTC), "mulai hari ini, 08.00 WIT"),  # Mon 05.00
    (datetime(2026, 12, 7, 11, 0, tzinfo=UTC), "mulai besok, 08.00 WIT"),  # Mon 20.00
    (datetime(2026, 12, 4, 11, 0, tzinfo=UTC), "mulai Senin, 07-12-2026 08.00 WIT"),  # Fri
], ids=["early-morning", "evening", "weekend"])
def test_out_of_hours_the_closing_says_when_staff_start_plainly(now: datetime,
                                                                said: str) -> None:
    """A walk-through read "mulai Senin, 07-12-2026 08.00 WIT" early that Monday morning:
    today and tomorrow are said as such, a later day with its name and date."""
    turn, _ = intake("2", "LEWATI", now)
    assert said in closing(turn)


def test_a_case_opened_by_the_closing_out_of_hours_is_told_when_once(
        service: Service, clock: FrozenClock) -> None:
    """Walk K: the closing said "Petugas akan menghubungi Anda ... mulai besok, 08.00 WIT",
    and the next message "Saat ini di luar jam layanan LK3 ... mulai 08-12-2026 08.00 WIT":
    the same thing twice. Through the pipeline at 19.30 WIT, the closing alone says it."""
    clock.advance(hours=10)  # Monday 19.30 WIT
    family = Family(service, "6281100000077")
    said: list[str] = []
    # chat, no danger, agree, adult, economy, myself, Mimika Baru, no kampung, not injured,
    # this chat, no safe times, no message, no codeword, no account
    for text in ["halo", "1", "3", "1", "2", "6", "1", "1", "LEWATI", "2", "1", "LEWATI", "2",
                 "LEWATI", "LEWATI"]:
        said = family.say(text)
    assert said[0].startswith("Terima kasih sudah menghubungi LK3"), said
    assert "besok" in said[0] and "08.00 WIT" in said[0]
    out_of_hours = CATALOG.text("out_of_hours", "id").splitlines()[0][:30]
    assert not any(out_of_hours in s for s in said), said


def office_visit(visit: str, contact: str = "4") -> tuple[list[Turn], Snapshot]:
    """The intake to its close, coming to the office (`contact`) and able to come `visit`."""
    snap: Snapshot | None = None
    turns = []
    for i, text in enumerate([*BEFORE_RISK, "2", *AFTER_RISK[:-1], contact, visit, "LEWATI"]):
        turns.append(ENGINE.step(snap, Inbound("test", "u1", f"m{i}", text=text), NOW, "id"))
        snap = turns[-1].snapshot
    assert snap is not None and snap.state == "closing", snap
    return turns, snap


@pytest.mark.parametrize("contact", ["4", "sa mo datang ke kantor saja"])
def test_a_family_coming_to_the_office_is_told_when_and_where(contact: str) -> None:
    """Walk O: after "datang ke kantor", the family was asked when it was safe to be
    called, and the closing said neither when the office is open nor where. Now: the hours
    and the place, when they could come, and the same at the close; no safe time to call,
    no message left, no codeword for a call."""
    turns, snap = office_visit("selasa pagi", contact)
    said = [closing(t) for t in turns[-3:]]
    assert snap.answers["contact"] == "office" and snap.answers["visit_time"] == "selasa pagi"
    assert not {"safe_times", "leave_message", "codeword"} & set(snap.answers)
    place = "Senin–Jumat 08.00–15.00 WIT, di Kantor Dinas Sosial Kabupaten Mimika (LK3), Timika"
    assert place in said[0] and "Kapan kira-kira Anda bisa datang?" in said[0]
    assert "menghubungi Anda?" not in said[0]  # not "when is it safe to contact you?"
    assert place in said[2] and "Nomor kasus Anda: LK3-2026-00001" in said[2]
    assert "sebutkan nomor kasus Anda" in said[2] and "waktu aman" not in said[2]


def test_a_visit_when_the_office_is_closed_is_told_so() -> None:
    """Walk O: "hari sabtu bisa ka?" was never answered: the office is closed then, and
    staff will write in this chat to find a time; the closing promises no Saturday."""
    turns, _ = office_visit("hari sabtu bisa ka?")
    told = closing(turns[-2])
    assert told.startswith("Pada waktu itu kantor tutup: kantor LK3 buka Senin–Jumat")
    assert "sabtu" not in closing(turns[-1]).lower()
