"""An intake left half-way after consent and a category is filed for staff by the scheduler,
and the family who writes later reads what happened (walk S-6), through the real pipeline."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.casework.scheduler import Scheduler
from bot.service import Service
from storage import cases, conversations
from storage.models import Counselor
from tests.support import FrozenClock, days_pass, deliver
from tests.test_handoff import Person, add_staff, case_of, events

# walk S-6 (21-deadlines): consent, adult, a teen on glue, my child 13-17, Mimika Baru, no
# kampung, the risk answers, then a story at "Boleh kami meninggalkan pesan?" and silence
LEFT_AT_LEAVE_MESSAGE = ["halo", "1", "3", "1", "2", "5", "2", "16 tahun", "mimika baru",
                         "LEWATI", "tra", "tra", "1", "LEWATI", "LEWATI",
                         "sa pu anak laki2 isap lem aibon deng de pu teman2"]


def _staff_on_duty(service: Service) -> Person:
    _, sari = add_staff(service, "Sari", "c1")
    with service.db.begin() as conn:
        conn.execute(update(Counselor).values(on_duty=True))
    sari.unread()
    return sari


def _left_half_way(service: Service, clock: FrozenClock) -> tuple[Person, Scheduler]:
    """The mother of walk S-6, stopped at "Boleh kami meninggalkan pesan?"; the scheduler."""
    mama = Person(service, "62821")
    for text in LEFT_AT_LEAVE_MESSAGE:
        mama.say(text)
    return mama, Scheduler(service.db, clock, flows=service.flows)


def _case_or_none(service: Service, user: str) -> cases.CaseView | None:
    try:
        return case_of(service.db, user)
    except (AssertionError, LookupError, StopIteration):
        return None


def test_an_intake_left_after_the_risk_answers_is_filed_for_staff_after_four_hours(
        service: Service, clock: FrozenClock) -> None:
    """No case at 3 hours; at 4 a waiting case with her category, distrik and a teen's
    priority, "intake belum selesai" among its reasons; staff are alerted; she is sent
    nothing; a second run files nothing more."""
    sari = _staff_on_duty(service)
    mama, scheduler = _left_half_way(service, clock)
    clock.advance(hours=3)
    scheduler.run_once()
    assert _case_or_none(service, "62821") is None
    clock.advance(hours=1, minutes=1)
    assert scheduler.run_once() >= 1
    deliver(service)
    case = case_of(service.db, "62821")
    assert (case.status, case.category, case.distrik) == ("waiting", "teen", "mimika_baru")
    assert case.priority == "P2" and "intake_incomplete" in case.reasons
    alerts = [str(p["text"]) for p in sari.unread()]
    assert any(case.number in t and "intake belum selesai" in t for t in alerts), alerts
    assert mama.unread() == []  # not written to: she may not be safe to write to
    with service.db.connect() as conn:  # her last-wrote time is hers (bot.pipeline.held)
        wrote = conversations.last_inbound_at(conn, case.contact_id)
    assert wrote is not None and clock() - wrote > timedelta(hours=4)
    assert scheduler.run_once() == 0


def test_returning_two_days_later_she_hears_her_answers_were_passed_on(
        service: Service, clock: FrozenClock) -> None:
    """"halo kaka, kapan petugas telpon?" two days on: she reads that her answers went to
    staff as her case, and may finish the questions; finishing them takes the reason away."""
    _staff_on_duty(service)
    mama, scheduler = _left_half_way(service, clock)
    clock.advance(hours=5)
    scheduler.run_once()
    number = case_of(service.db, "62821").number
    clock.advance(days=2)
    said = mama.say("halo kaka, kapan petugas telpon?")
    assert any(f"jawaban Anda sudah kami teruskan ke petugas LK3 sebagai kasus {number}" in t
               for t in said), said
    clock.advance(days=2)
    said = mama.say("sa su tunggu lama")  # away again: the resume question says it too
    assert any(t.startswith("Selamat datang kembali. Walaupun pertanyaannya belum selesai, "
                            f"jawaban Anda sudah kami teruskan ke petugas LK3 sebagai kasus "
                            f"{number}; karena Anda belum memberi tahu cara menghubungi Anda, "
                            "petugas membalas di sini setelah Anda menulis") for t in said), said
    said = mama.say("1")
    assert not any("Setelah pertanyaan-pertanyaan ini selesai" in t for t in said), said
    for text in ("1", "LEWATI", "LEWATI"):
        said = mama.say(text)
    case = case_of(service.db, "62821")
    assert case.number == number and "intake_incomplete" not in case.reasons, said


def test_an_intake_without_consent_or_category_is_not_filed(
        service: Service, clock: FrozenClock) -> None:
    """Consent refused, or left before the category: no case, however long she is away."""
    _staff_on_duty(service)
    for user, answers in (("62831", ["halo", "1", "3", "3"]),  # refused
                          ("62832", ["halo", "1", "3", "1", "2"])):  # at the category
        person = Person(service, user)
        for text in answers:
            person.say(text)
    scheduler = Scheduler(service.db, clock, flows=service.flows)
    clock.advance(days=2)
    scheduler.run_once()
    for user in ("62831", "62832"):
        assert _case_or_none(service, user) is None


def _filed_and_taken(service: Service, clock: FrozenClock) -> tuple[Person, Person, str]:
    """Walk T-4 (27): filed at "Boleh kami meninggalkan pesan?", then Sari takes it."""
    sari = _staff_on_duty(service)
    mama, scheduler = _left_half_way(service, clock)
    clock.advance(hours=4, minutes=1)
    scheduler.run_once()
    number = case_of(service.db, "62821").number
    sari.unread()
    sari.say(f"/ambil {number}")
    return mama, sari, number


def test_a_filed_intake_is_not_written_to_first_before_she_said_messages_may_be_left(
        service: Service, clock: FrozenClock) -> None:
    """She never answered the leave-message or contact questions: Sari's /ambil and the
    scheduler's "belum sempat" three days on wait for her to write (a contact constraint
    on the case); her next message brings them, the takeover first."""
    mama, _, number = _filed_and_taken(service, clock)
    assert any(e["kind"] == "contact_constraint" and e["data"]["constraint"] ==
               "wait_for_writer" for e in events(service.db, number))
    deliver(service)
    assert mama.unread() == []
    days_pass(service, clock, 3)  # unanswered: flagged, then returned to the queue
    assert mama.unread() == []
    said = mama.say("halo kaka, kapan petugas telpon?")
    assert said[0].startswith("Sekarang Anda dilayani oleh Sari"), said


def test_a_filed_intake_where_she_said_how_to_reach_her_is_written_to(
        service: Service, clock: FrozenClock) -> None:
    """Stopped after choosing to be called on this phone (at the leave-message question): no
    constraint, Sari's /ambil reaches her at once; one filed before, who comes
    back and answers "ya" there, is written to after that too."""
    sari = _staff_on_duty(service)
    told = Person(service, "62822")
    for text in [*LEFT_AT_LEAVE_MESSAGE[:-3], "2", "pagi jam 9"]:  # this phone, a time
        told.say(text)
    scheduler = Scheduler(service.db, clock, flows=service.flows)
    clock.advance(hours=4, minutes=1)
    scheduler.run_once()
    number = case_of(service.db, "62822").number
    assert not any(e["kind"] == "contact_constraint" for e in events(service.db, number))
    sari.say(f"/ambil {number}")
    deliver(service)
    assert next(str(p["text"]) for p in told.unread()).startswith("Sekarang Anda dilayani")

    mama, _ = _left_half_way(service, clock)
    clock.advance(hours=4, minutes=1)
    scheduler.run_once()
    mine = case_of(service.db, "62821").number
    clock.advance(days=1)
    assert "Boleh kami meninggalkan pesan" in mama.say("halo")[-1]
    assert "kata sandi" in mama.say("iya")[0]  # yes
    clock.advance(hours=2)
    sari.say(f"/ambil {mine}")
    deliver(service)
    assert next(str(p["text"]) for p in mama.unread()).startswith("Sekarang Anda dilayani")


def test_a_filed_intake_waits_from_her_last_message_not_from_the_filing(
        service: Service, clock: FrozenClock) -> None:
    """Filed 4 hours after she stopped (walk T-11): the case is created at her last message,
    so Sari's /ambil an hour later records 5 hours' wait, and the P2 deadline counts from
    then; a case an intake opens as she writes is created at that message."""
    sari = _staff_on_duty(service)
    _, scheduler = _left_half_way(service, clock)
    stopped = clock()
    clock.advance(hours=4, minutes=1)
    scheduler.run_once()
    case = case_of(service.db, "62821")
    assert case.created_at == stopped
    clock.advance(minutes=59)
    sari.say(f"/ambil {case.number}")
    claim = next(e for e in events(service.db, case.number) if e["kind"] == "claim")
    assert claim["data"]["waited_minutes"] == 300, claim

    other = Person(service, "62822")
    other.intake()
    assert case_of(service.db, "62822").created_at == clock()


def test_kapan_petugas_telpon_with_more_words_at_the_kampung_question_is_answered(
        service: Service, clock: FrozenClock) -> None:
    """Walk T-3: stopped at the kampung question, filed; "halo kaka, kapan petugas telpon?
    sa tunggu dari pagi" there hears her case number and the question again, and is not
    kept as her kampung; a kampung given in two parts is still the answer."""
    _staff_on_duty(service)
    mama = Person(service, "62821")
    for text in LEFT_AT_LEAVE_MESSAGE[:9]:  # ... "mimika baru": the kampung question
        said = mama.say(text)
    assert "kampung" in said[-1]
    clock.advance(hours=4, minutes=1)
    Scheduler(service.db, clock, flows=service.flows).run_once()
    number = case_of(service.db, "62821").number
    clock.advance(hours=1)
    said = mama.say("halo kaka, kapan petugas telpon? sa tunggu dari pagi")
    assert any(f"sebagai kasus {number}" in t and "petugas membalas di sini setelah Anda "
               "menulis, tidak lebih dulu" in t for t in said), said  # no contact said yet
    assert "kampung" in said[-1], said
    with service.db.connect() as conn:
        row = conversations.load(conn, case_of(service.db, "62821").contact_id)
    assert row is not None and "kampung" not in row.answers
    said = mama.say("kwamki baru, dekat gereja")
    with service.db.connect() as conn:
        row = conversations.load(conn, case_of(service.db, "62821").contact_id)
    assert row is not None and row.answers.get("kampung") == "kwamki baru, dekat gereja", said
