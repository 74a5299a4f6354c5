"""A P0 reaches people and nobody waits silently: supervisors paged whatever their duty flag,
and the family of a P0 nobody takes told honestly, with the 24-hour numbers, every so often.
Through the real pipeline (test channel) and the real scheduler, on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from bot.casework import p0family, staff
from bot.casework.scheduler import Scheduler
from bot.service import Service
from storage import cases, conversations, outbox
from storage.models import MessageLog, OutboxMessage
from tests.support import CHANNEL, FrozenClock, deliver, flows
from tests.test_handoff import Person, add_staff, case_of
from tests.test_held_for_writer import WATCHED

WIT = timezone(timedelta(hours=9))
SUNDAY_2AM = datetime(2026, 12, 6, 2, 0, tzinfo=WIT).astimezone(UTC)
# perpetrator near with a weapon (P0), then "not safe to keep chatting": a paused P0 family
PAUSED_P0 = ["halo", "1", "3", "2", "2", "2", "1", "1", "LEWATI", "2", "1", "1", "1", "2", "2",
             "1", "2"]


def no_answer_yet(language: str = "id", distrik: str | None = None,
                  first: tuple[str, ...] = ()) -> str:
    bundle = flows().bundle
    return bundle.catalog.text(p0family.TEXT, language, {
        "emergency_contacts": bundle.directory.contacts(language, distrik, first=first)})


def texts(person: Person) -> list[str]:
    return [p["text"] for p in person.unread()]


def family_updates(service: Service, user: str) -> list[dict[str, Any]]:
    case_id = case_of(service.db, user).id
    with service.db.connect() as conn:
        return [{"at": e["created_at"], **e["data"]} for e in cases.events_of(conn, case_id)
                if e["kind"] == p0family.KIND]


def minutes_heard(service: Service, clock: FrozenClock, family: Person, start: datetime,
                  last: int, first: int = 1) -> dict[int, list[str]]:
    """The scheduler's worker from minute `first` to `last` after `start` (twice a minute, as
    two processes might): what the family got, by minute."""
    scheduler = Scheduler(service.db, clock, bundle=flows().bundle)
    heard = {}
    for minute in range(first, last + 1):
        clock.now = start + timedelta(minutes=minute)
        scheduler.run_once()
        scheduler.run_once()
        deliver(service)
        if got := texts(family):
            heard[minute] = got
    return heard


# -- P0 reaches people ---------------------------------------------------------------------


def test_an_off_duty_supervisor_gets_the_p0_alert_and_every_re_alert(
        service: Service, clock: FrozenClock) -> None:
    """No counselor on duty, the one supervisor off duty: she gets the new P0's alert (saying
    nobody is on duty) and every re-alert; a counselor off duty is not paged."""
    _, sari = add_staff(service, "Sari", "c1")
    _, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family = Person(service, "62811")
    t0 = clock()
    family.say("DARURAT")
    case = case_of(service.db, "62811")
    assert case.priority == "P0"
    (alert,) = yohana.unread()
    assert alert["text"].startswith(f"Kasus baru {case.number} · P0")
    # no distrik yet (DARURAT as the first message): said in words, not "-"
    assert " · distrik belum diketahui" in alert["text"]
    assert alert["text"].endswith("\n" + staff.text("nobody_on_duty"))
    assert alert["choices"][0]["value"] == f"take:{case.number}"
    minutes_heard(service, clock, family, t0, 11)
    realerts = texts(yohana)
    assert [t.split(")")[0] for t in realerts] == [
        f"DARURAT {case.number} belum diambil ({m} menit" for m in (5, 8, 11)]
    assert texts(sari) == []


def test_a_case_raised_to_p0_reaches_an_off_duty_supervisor(service: Service) -> None:
    """A waiting case that becomes P0 (DARURAT) is announced again to the off-duty
    supervisor when nobody is on duty."""
    _, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family = Person(service, "62811")
    number = family.intake()
    assert texts(yohana)[0].startswith(f"Kasus baru {number} · P1")
    family.say("DARURAT")
    (raised,) = texts(yohana)
    assert raised.startswith(f"Kasus naik ke P0: {number}")
    assert raised.endswith("\n" + staff.text("nobody_on_duty"))


def test_a_family_whose_alert_reached_nobody_is_told_so_with_the_numbers(
        service: Service) -> None:
    """The danger texts say "Pesan ini kami teruskan ke petugas LK3". With no staff registered,
    the alert reaches nobody: the family hears that it did not, in the emergency message
    whose numbers are just above it (119 first to one who spoke of dying), before its
    question. With a supervisor, it is not said."""
    short = flows().bundle.catalog.text("alert_unsent.short", "id")
    alone = Person(service, "62811")
    (heard,) = [p["text"] for p in alone.say_raw("sa mo gantung diri malam ini")]
    assert heard.startswith("Terima kasih sudah memberi tahu kami. Nyawa Anda berharga.")
    assert heard.endswith(f"{short}\nApakah Anda aman sekarang?")
    assert heard.index("healing119") < heard.index("Polisi") < heard.index("belum sampai")
    # a boy beaten by the police: in the emergency message, whose numbers do not put 110
    # first (seen in a walk-through), not after the note on complaining about the police
    beaten = Person(service, "62813")
    heard = [p["text"] for p in beaten.say_raw(
        "tolong sa pu ade 15 thn dong tahan di pos polisi trus dong pukul de, kepala berdarah")]
    assert heard[0].endswith(f"{short}\nApakah anak itu aman sekarang?"), heard
    assert heard[0].index("Polisi") > heard[0].index("SAPA") > heard[0].index("Terluka")
    assert not any("belum sampai" in t for t in heard[1:]), heard
    add_staff(service, "Yohana", "s1", role="supervisor")
    other = Person(service, "62812")
    assert not any("belum sampai" in p["text"]
                   for p in other.say_raw("sa mo gantung diri malam ini"))


def test_the_unsent_alert_comes_before_the_question_not_after_it(service: Service) -> None:
    """Walk O: "Maaf, pemberitahuan ... belum sampai" came after "Berapa usia Anda?" (a
    mother whose story was read as danger, a P1 case opened at her consent) and after "are
    you safe now?": the question is the last thing the family sees, the notice just before
    it, after the danger texts that said staff were told."""
    mother = Person(service, "62812")
    for text in ["selamat siang kk", "sa pu paitua pukul sa tadi malam, sa takut", "1",
                 "tra"]:
        mother.say(text)
    heard = [p["text"] for p in mother.say_raw("iya sa setuju")]  # her case opens, urgent
    assert case_of(service.db, "62812").priority in ("P0", "P1"), heard
    assert heard[-2].startswith("Maaf, pemberitahuan ke petugas LK3 belum sampai"), heard
    assert "TePSA" in heard[-2]  # no numbers in this turn before it: they are in it
    assert heard[-1] == "Berapa usia Anda?", heard


def test_a_p2_case_whose_alert_reached_nobody_hears_no_notice(service: Service) -> None:
    """A parenting question (P3) with nobody on duty: the closing says when staff answer;
    no "belum sampai" and no list of emergency numbers beside it."""
    parent = Person(service, "62814")
    heard: list[str] = []
    # chat, no danger, agree, adult, economy, myself, Mimika Baru, no kampung, not injured,
    # this chat, no safe times, no message, no codeword, no account
    for text in ["halo", "1", "3", "1", "2", "6", "1", "1", "LEWATI", "2", "1", "LEWATI", "2",
                 "LEWATI", "LEWATI"]:
        heard = parent.say(text)
    assert case_of(service.db, "62814").priority in ("P2", "P3"), heard
    assert not any("belum sampai" in t for t in heard), heard


# -- nobody left waiting silently -------------------------------------------------------------


def test_the_family_of_an_untaken_p0_hears_at_the_target_then_every_30_minutes(
        service: Service, clock: FrozenClock) -> None:
    """P0 at 02:00 Sunday WIT, nobody takes it: the family is told at the first re-alert
    after the 5-minute target, not at the 3-minute re-alerts after it, again 30 minutes later;
    once a counselor holds the case, never."""
    clock.now = SUNDAY_2AM
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    family.say("DARURAT")
    heard = minutes_heard(service, clock, family, SUNDAY_2AM, 40)
    assert heard == {5: [no_answer_yet()], 35: [no_answer_yet()]}
    assert [(u["at"], u["told"]) for u in family_updates(service, "62811")] == [
        (SUNDAY_2AM + timedelta(minutes=5), True), (SUNDAY_2AM + timedelta(minutes=35), True)]
    with service.db.connect() as conn:  # in the transcript as the bot's words, sent once
        logged = [t for t in conn.execute(select(MessageLog.text).where(  # sealed: compared
            MessageLog.author == "bot")).scalars() if t == no_answer_yet()]  # when opened
        keys = conn.execute(select(OutboxMessage.dedupe_key).where(
            OutboxMessage.recipient == "62811", OutboxMessage.dedupe_key.like("sched:%"))
            ).scalars().all()
    assert len(logged) == 2 and len(keys) == 2 and all(k.endswith(":family") for k in keys)

    sari.say("/ambil")
    assert texts(family)[0].startswith("Sekarang Anda dilayani oleh Sari")
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 70, first=41) == {}
    assert len(family_updates(service, "62811")) == 2


def test_the_update_is_in_the_familys_language(service: Service, clock: FrozenClock) -> None:
    """An English-speaking family gets the update in English."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    family.say("LANGUAGE")
    family.say("DARURAT")
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 5) == {5: [no_answer_yet("en")]}
    assert family_updates(service, "62811")[0]["language"] == "en"


def test_a_child_who_spoke_of_dying_is_told_as_a_child_with_119_first(
        service: Service, clock: FrozenClock) -> None:
    """A boy of 14 who wrote he would hang himself tonight, and nobody took the case: the
    update says "kamu", sends him to an adult he trusts, and lists the self-harm line before
    the police, as his emergency message did (it had said "Anda" and put 110 first)."""
    clock.now = SUNDAY_2AM
    boy = Person(service, "62811")
    boy.say("sa umur 14, sa mo gantung diri malam ini")
    (update,) = minutes_heard(service, clock, boy, SUNDAY_2AM, 5)[5]
    assert "kamu" in update and "orang dewasa yang kamu percaya" in update
    assert "Anda" not in update
    numbers = [line for line in update.splitlines() if line.startswith("•")]
    assert "119" in numbers[0] and "110" not in numbers[0]


def test_the_update_names_the_health_post_of_the_cases_distrik(
        service: Service, clock: FrozenClock) -> None:
    """A P0 from Mimika Baru: the numbers again, with that distrik's nearest health post."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    for words in PAUSED_P0[:-1]:  # P0, not yet asked whether it is safe to chat
        family.say(words)
    assert case_of(service.db, "62811").distrik == "mimika_baru"
    heard = minutes_heard(service, clock, family, SUNDAY_2AM, 5)
    # violence told (the perpetrator near, armed): its numbers first
    assert heard == {5: [no_answer_yet("id", "mimika_baru", first=("violence",))]}
    assert "Puskesmas Timika" in heard[5][0]


def test_a_paused_family_is_never_messaged(service: Service, clock: FrozenClock) -> None:
    """A P0 family who said it is not safe to chat gets nothing from the scheduler; staff are
    paged, and the case event says why the family was not told."""
    clock.now = SUNDAY_2AM
    _, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family = Person(service, "62811")
    for words in PAUSED_P0:
        family.say(words)
    case = case_of(service.db, "62811")
    assert (case.priority, case.status) == ("P0", "waiting")
    assert "not_safe_to_chat" in case.reasons
    yohana.unread()
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 40) == {}
    assert len(texts(yohana)) == 12  # re-alerts at 5, 8, ... 38
    assert [(u["at"], u["told"], u["why"]) for u in family_updates(service, "62811")] == [
        (SUNDAY_2AM + timedelta(minutes=5), False, "paused"),
        (SUNDAY_2AM + timedelta(minutes=35), False, "paused")]


def test_a_family_whose_phone_is_read_by_someone_else_is_never_messaged_first(
        service: Service, clock: FrozenClock) -> None:
    """DARURAT, then "paitua suka cek sa pu hp": the scheduler writes nothing first to a
    phone her husband reads, not even after she writes again (unlike KELUAR); the events say
    why, and that the update is owed to her next message."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    family.say("DARURAT")
    family.say("paitua suka cek sa pu hp")
    family.unread()
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 10) == {}
    family.say("halo")
    family.unread()
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 40, first=11) == {}
    assert {u.get("why") for u in family_updates(service, "62811") if not u["told"]} == {
        "contact_constraint"}


def test_the_withheld_update_comes_with_the_reply_to_her_next_message_once(
        service: Service, clock: FrozenClock) -> None:
    """Walk S-3: "paitua suka cek sa pu hp", then danger now (P0) at 21:00 Saturday, the
    intake up to its first risk question; nobody takes the case, and the updates at 21:05,
    21:35 and 22:05 are withheld. At 22:33 she writes "halo": the reply says, once, that no
    officer has answered yet, with the numbers, before the question; her next words bring
    nothing more, the scheduler still writes nothing first, and the update withheld after
    that comes with her next message again."""
    evening = datetime(2026, 12, 5, 21, 0, tzinfo=WIT).astimezone(UTC)
    clock.now = evening
    add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    for words in ["paitua suka cek sa pu hp", "1", "1", "1", "1", "2", "2", "1", "mimika baru",
                  "LEWATI"]:
        family.say(words)
    assert case_of(service.db, "62811").priority == "P0"
    family.unread()
    assert minutes_heard(service, clock, family, evening, 92) == {}
    assert [(u["at"], u["told"]) for u in family_updates(service, "62811")] == [
        (evening + timedelta(minutes=m), False) for m in (5, 35, 65)]

    clock.now = evening + timedelta(minutes=93)
    heard = [p["text"] for p in family.say_raw("halo")]
    update = [t for t in heard if t.startswith("Maaf, belum ada petugas LK3 yang menjawab.")]
    assert len(update) == 1 and len(heard) == 3, heard
    assert heard[0] == "Halo, terima kasih sudah menulis." and heard[1] == update[0]
    assert "SAPA" in update[0] and "Puskesmas Timika" in update[0]
    assert heard[2].endswith("Apakah ada yang terluka dan butuh pertolongan medis?")
    assert family_updates(service, "62811")[-1] == {
        "at": clock(), "told": True, "language": "id", "with_reply": True}
    assert not any("belum ada petugas" in p["text"] for p in family.say_raw("2"))

    heard_later = minutes_heard(service, clock, family, evening, 130, first=94)
    assert heard_later == {}
    last = family_updates(service, "62811")[-1]
    assert (last["told"], last["why"], last["owed"]) == (False, "contact_constraint", True)
    assert last["at"] >= clock.now - timedelta(minutes=10)
    again = [p["text"] for p in family.say_raw("sa masih tunggu")]
    assert sum("belum ada petugas" in t for t in again) == 1, again


def test_an_update_owed_when_a_counselor_took_the_case_is_not_said(
        service: Service, clock: FrozenClock) -> None:
    """Withheld at minute 5; Sari takes the case at 20 and gives it back at 25 (both held
    for her): when she writes, she hears of both, not "no officer has answered yet"."""
    clock.now = SUNDAY_2AM
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    family.say("DARURAT")
    family.say(WATCHED)
    family.unread()
    minutes_heard(service, clock, family, SUNDAY_2AM, 19)
    number = case_of(service.db, "62811").number
    sari.say(f"/ambil {number}")
    clock.now = SUNDAY_2AM + timedelta(minutes=25)
    sari.say("/lepas")
    assert family.unread() == []
    clock.now = SUNDAY_2AM + timedelta(minutes=26)
    heard = [p["text"] for p in family.say_raw("halo")]
    assert heard[0].startswith("Sekarang Anda dilayani oleh Sari"), heard
    assert not any("belum ada petugas" in t for t in heard), heard
    assert [u["told"] for u in family_updates(service, "62811")] == [False]
    with service.db.connect() as conn:
        conv = conversations.load(conn, case_of(service.db, "62811").contact_id)
    assert conv is not None and p0family.OWED not in conv.flags


def test_keluar_leaves_the_update_owed_and_darurat_gets_its_short_form(
        service: Service, clock: FrozenClock) -> None:
    """Owed, then KELUAR (she hides the chat): not with that reply; her next words bring
    it. Owed again, then DARURAT: the emergency message gives the numbers, so the update is
    its short form inside it, not a second list of numbers."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    family.say("DARURAT")
    family.say(WATCHED)
    family.unread()
    minutes_heard(service, clock, family, SUNDAY_2AM, 6)
    assert not any("belum ada petugas" in p["text"] for p in family.say_raw("KELUAR"))
    heard = [p["text"] for p in family.say_raw("halo")]
    assert sum("belum ada petugas" in t for t in heard) == 1, heard

    minutes_heard(service, clock, family, SUNDAY_2AM, 40, first=7)
    assert family_updates(service, "62811")[-1]["told"] is False
    short = flows().bundle.catalog.text(f"{p0family.TEXT}.short", "id")
    heard = [p["text"] for p in family.say_raw("DARURAT")]
    assert sum(short in t for t in heard) == 1, heard
    assert not any(no_answer_yet(first=("violence",)) in t for t in heard), heard


def test_a_family_that_stopped_is_never_messaged(service: Service, clock: FrozenClock) -> None:
    """BERHENTI after DARURAT: the family gets nothing more; the event says they stopped."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    family.say("DARURAT")
    family.say("BERHENTI")
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 10) == {}
    assert [u["why"] for u in family_updates(service, "62811")] == ["stopped"]


def test_after_keluar_the_family_hears_only_once_they_write_again(
        service: Service, clock: FrozenClock) -> None:
    """KELUAR after DARURAT (someone may see the phone): no update; once the family writes
    again, the next one is sent."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    family.say("DARURAT")
    family.say("KELUAR")
    assert minutes_heard(service, clock, family, SUNDAY_2AM, 20) == {}
    family.say("halo")
    heard = minutes_heard(service, clock, family, SUNDAY_2AM, 35, first=21)
    assert heard == {35: [no_answer_yet()]}
    assert [(u["told"], u.get("why")) for u in family_updates(service, "62811")] == [
        (False, "quick_exit"), (True, None)]


def test_a_scheduler_that_loses_the_race_for_the_update_writes_nothing(
        service: Service, clock: FrozenClock) -> None:
    """The family update has the re-alert's dedupe key: if a racing scheduler already queued
    it, this one's whole action rolls back (no second message, no event)."""
    clock.now = SUNDAY_2AM
    family = Person(service, "62811")
    family.say("DARURAT")
    case = case_of(service.db, "62811")
    with service.db.begin() as conn:  # what the racing process wrote first
        outbox.enqueue(conn, [{"channel": CHANNEL, "recipient": "62811",
                               "contact_id": case.contact_id, "case_id": case.id,
                               "payload": {"text": "raced", "choices": []},
                               "dedupe_key": f"sched:{case.id}:0:family"}], clock())
    clock.now = SUNDAY_2AM + timedelta(minutes=5)
    assert Scheduler(service.db, clock, bundle=flows().bundle).run_once() == 0
    deliver(service)
    assert texts(family) == ["raced"]
    assert family_updates(service, "62811") == []
