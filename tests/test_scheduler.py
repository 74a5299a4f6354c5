"""Deadlines that act (bot/casework/scheduler.py): re-alerts, overdue alerts, flags and returns."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, select

from bot.casework import labels, staff
from bot.casework.scheduler import Scheduler
from bot.pipeline.workers import Workers
from bot.service import Service
from storage import cases, conversations, counselors, outbox, queue
from storage.models import OutboxMessage
from tests.support import CollectingSender, FrozenClock, deliver, flows
from tests.test_handoff import Person, add_staff, case_of

WIT = timezone(timedelta(hours=9))


def wit(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIT).astimezone(UTC)


def hire(db: Engine, clock: FrozenClock, name: str, role: str = "counselor",
         duty: bool = True) -> int:
    """A counselor reachable on the test channel as account `name`."""
    with db.begin() as conn:
        cid = counselors.add(conn, name=name, role=role, now=clock(),
                             accounts=[("test", name)])
        counselors.set_duty(conn, cid, duty)
    return cid


def open_case(db: Engine, clock: FrozenClock, priority: str, user: str = "fam") -> int:
    with db.begin() as conn:
        contact = conversations.touch_contact(conn, "test", user, clock())
        case_id, _ = cases.create(conn, contact_id=contact.id, channel="test", data={
            "priority": priority, "reasons": [f"reason {priority}"],
            "legal_basis": "consent", "status": "waiting"}, now=clock())
    return case_id


def view(db: Engine, case_id: int) -> queue.CaseView:
    with db.connect() as conn:
        found = queue.by_id(conn, case_id)
    assert found is not None
    return found


def texts(db: Engine, recipient: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.payload).where(
            OutboxMessage.recipient == recipient).order_by(OutboxMessage.id))
        return [p["text"] for (p,) in rows]


def payloads(db: Engine, recipient: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.payload).where(
            OutboxMessage.recipient == recipient).order_by(OutboxMessage.id))
        return [p for (p,) in rows]


def events(db: Engine, case_id: int) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return [e for e in cases.events_of(conn, case_id) if e["actor"] == "scheduler"]


def run_at(scheduler: Scheduler, clock: FrozenClock, when: datetime) -> int:
    clock.now = when
    return scheduler.run_once()


def claim(db: Engine, clock: FrozenClock, counselor_id: int, case_id: int) -> None:
    number = view(db, case_id).number
    with db.begin() as conn:
        status, case = queue.claim(conn, counselor_id, clock(), number)
        assert status == "ok" and case is not None
        counselors.set_active_case(conn, counselor_id, case.id)


def test_p0_re_alerts_every_three_minutes_until_claimed(db: Engine, clock: FrozenClock) -> None:
    """A waiting P0 pages on-duty staff and supervisors from 5 minutes, every 3, until taken."""
    ani = hire(db, clock, "ani")
    hire(db, clock, "budi", role="supervisor", duty=False)
    t0 = clock()
    case_id = open_case(db, clock, "P0")
    sched = Scheduler(db, clock)
    number = view(db, case_id).number
    assert run_at(sched, clock, t0 + timedelta(minutes=4, seconds=59)) == 0
    assert run_at(sched, clock, t0 + timedelta(minutes=5)) == 1
    page = staff.text("p0_realert", number=number, waited="5 menit", reasons="reason P0",
                      distrik="distrik belum diketahui")  # as the first alert: not "· -"
    assert page.endswith("reason P0 · distrik belum diketahui")  # (walk V-17)
    assert texts(db, "ani") == [page] and texts(db, "budi") == [page]
    assert payloads(db, "ani")[0]["choices"][0]["value"] == f"take:{number}"
    assert run_at(sched, clock, t0 + timedelta(minutes=7, seconds=59)) == 0
    assert run_at(sched, clock, t0 + timedelta(minutes=8)) == 1
    assert texts(db, "ani")[-1] == staff.text("p0_realert", number=number, waited="8 menit",
                                              reasons="reason P0",
                                              distrik="distrik belum diketahui")
    clock.now = t0 + timedelta(minutes=9)
    claim(db, clock, ani, case_id)
    assert run_at(sched, clock, t0 + timedelta(minutes=13)) == 0  # (flagged from 14: no reply)
    assert len(texts(db, "ani")) == 2 and len(texts(db, "budi")) == 2
    got = events(db, case_id)
    assert [(e["kind"], e["created_at"]) for e in got] == [
        ("p0_realert", t0 + timedelta(minutes=5)),
        ("p0_family_update", t0 + timedelta(minutes=5)),  # the family hears (test_p0_family)
        ("p0_realert", t0 + timedelta(minutes=8))]
    assert got[2]["data"]["alert"] == 2


def test_p0_pages_at_night_too(db: Engine, clock: FrozenClock) -> None:
    """Outside service hours a P0 still pages whoever is on duty after 5 clock minutes."""
    hire(db, clock, "ani")
    clock.now = wit(12, 5, 2)  # Saturday 02:00 WIT
    open_case(db, clock, "P0")
    assert run_at(Scheduler(db, clock), clock, wit(12, 5, 2, 5)) == 1
    assert texts(db, "ani")[0].startswith("DARURAT")


def test_a_page_before_the_deadline_does_not_delay_the_p0_realert(
        db: Engine, clock: FrozenClock) -> None:
    """The new-case page at creation counts as an alert: the next one comes at 5 minutes."""
    hire(db, clock, "ani")
    t0 = clock()
    case_id = open_case(db, clock, "P0")
    with db.begin() as conn:
        queue.mark_alerted(conn, case_id, t0)
    sched = Scheduler(db, clock)
    assert run_at(sched, clock, t0 + timedelta(minutes=5)) == 1
    assert run_at(sched, clock, t0 + timedelta(minutes=7)) == 0
    assert run_at(sched, clock, t0 + timedelta(minutes=8)) == 1


def test_p1_overdue_after_sixty_service_minutes(db: Engine, clock: FrozenClock) -> None:
    """A P1 waiting an hour of service time is re-announced; supervisors hear it too."""
    hire(db, clock, "ani")
    hire(db, clock, "budi", role="supervisor", duty=False)
    t0 = clock()  # Monday 09:30 WIT
    case_id = open_case(db, clock, "P1")
    number = view(db, case_id).number
    sched = Scheduler(db, clock)
    assert run_at(sched, clock, t0 + timedelta(minutes=59)) == 0
    assert run_at(sched, clock, t0 + timedelta(minutes=60)) == 1
    overdue = staff.text("overdue", number=number, priority="P1", waited="1 jam")
    assert texts(db, "ani") == [overdue] and texts(db, "budi") == [overdue]
    assert run_at(sched, clock, t0 + timedelta(minutes=119)) == 0  # not again within the hour
    assert [e["kind"] for e in events(db, case_id)] == ["overdue_alert"]


def test_p2_overdue_reaches_supervisors_even_off_duty(db: Engine, clock: FrozenClock) -> None:
    """A P2 past its target goes to on-duty counselors and every supervisor."""
    hire(db, clock, "ani")
    hire(db, clock, "cici", duty=False)
    hire(db, clock, "budi", role="supervisor", duty=False)
    open_case(db, clock, "P2")
    assert run_at(Scheduler(db, clock), clock, clock() + timedelta(days=1)) == 1
    assert len(texts(db, "ani")) == 1 and len(texts(db, "budi")) == 1
    assert texts(db, "cici") == []


def test_p2_on_friday_afternoon_is_due_on_monday(db: Engine, clock: FrozenClock) -> None:
    """One working day from Friday 14:00 WIT is Monday 14:00 WIT, not Saturday."""
    hire(db, clock, "ani")
    clock.now = wit(12, 4, 14)
    open_case(db, clock, "P2")
    sched = Scheduler(db, clock)
    for when in (wit(12, 5, 14), wit(12, 6, 23), wit(12, 7, 13, 59)):
        assert run_at(sched, clock, when) == 0
    assert run_at(sched, clock, wit(12, 7, 14)) == 1


def test_a_holiday_is_skipped(db: Engine, clock: FrozenClock) -> None:
    """A P2 from Thursday 24 December 14:00 is due Monday 28th 14:00 (25th is a holiday)."""
    hire(db, clock, "ani")
    clock.now = wit(12, 24, 14)
    open_case(db, clock, "P2")
    sched = Scheduler(db, clock)
    for when in (wit(12, 25, 14), wit(12, 26, 12), wit(12, 28, 13, 59)):
        assert run_at(sched, clock, when) == 0
    assert run_at(sched, clock, wit(12, 28, 14)) == 1


def test_p1_at_night_is_due_an_hour_after_opening(db: Engine, clock: FrozenClock) -> None:
    """A P1 opened at 23:00 WIT is not overdue until 09:00 the next working day."""
    hire(db, clock, "ani")
    clock.now = wit(12, 1, 23)  # Tuesday night
    open_case(db, clock, "P1")
    sched = Scheduler(db, clock)
    assert run_at(sched, clock, wit(12, 2, 8, 59)) == 0
    assert run_at(sched, clock, wit(12, 2, 9)) == 1


def test_claimed_without_a_message_is_flagged_then_returned(
        db: Engine, clock: FrozenClock) -> None:
    """No message to the family within the target: supervisors are told, then it goes back."""
    ani = hire(db, clock, "ani")
    hire(db, clock, "cici")
    hire(db, clock, "budi", role="supervisor", duty=False)
    t0 = clock()
    case_id = open_case(db, clock, "P1")
    number = view(db, case_id).number
    claim(db, clock, ani, case_id)
    sched = Scheduler(db, clock)
    assert run_at(sched, clock, t0 + timedelta(minutes=59)) == 0
    assert run_at(sched, clock, t0 + timedelta(minutes=60)) == 1
    assert texts(db, "budi") == [staff.text("no_response", number=number, priority="P1",
                                            name="ani", waited="1 jam")]
    assert texts(db, "ani") == [] and texts(db, "cici") == []
    assert view(db, case_id).flagged_at == t0 + timedelta(minutes=60)
    assert run_at(sched, clock, t0 + timedelta(minutes=89)) == 0
    assert run_at(sched, clock, t0 + timedelta(minutes=90)) == 1
    back = view(db, case_id)
    assert (back.status, back.assignee_id, back.flagged_at) == ("waiting", None, None)
    assert texts(db, "ani") == [staff.text("returned_to_you", number=number)]
    again = staff.text("returned_to_queue", number=number)
    assert texts(db, "cici") == [again] and texts(db, "budi")[-1] == again
    assert payloads(db, "cici")[0]["choices"][0]["value"] == f"take:{number}"
    with db.connect() as conn:
        holder = counselors.get(conn, ani)
    assert holder is not None and holder.active_case_id is None
    assert run_at(sched, clock, t0 + timedelta(minutes=91)) == 0  # no overdue echo
    got = events(db, case_id)
    assert [e["kind"] for e in got] == ["no_response_flag", "returned_to_queue"]
    assert got[1]["data"]["counselor_id"] == ani


def test_a_message_to_the_family_stops_the_flag(db: Engine, clock: FrozenClock) -> None:
    """A claimed case whose holder has answered is never flagged."""
    ani = hire(db, clock, "ani")
    hire(db, clock, "budi", role="supervisor", duty=False)
    case_id = open_case(db, clock, "P1")
    claim(db, clock, ani, case_id)
    with db.begin() as conn:
        queue.first_response(conn, case_id, clock() + timedelta(minutes=10))
    assert run_at(Scheduler(db, clock), clock, clock() + timedelta(days=3)) == 0
    assert texts(db, "budi") == []


def test_a_released_p0_is_paged_again(db: Engine, clock: FrozenClock) -> None:
    """After a claim and a release the P0 pages anew: outbox keys do not repeat."""
    ani = hire(db, clock, "ani")
    t0 = clock()
    case_id = open_case(db, clock, "P0")
    sched = Scheduler(db, clock)
    assert run_at(sched, clock, t0 + timedelta(minutes=5)) == 1
    claim(db, clock, ani, case_id)
    with db.begin() as conn:
        queue.release(conn, case_id, clock())
    assert run_at(sched, clock, t0 + timedelta(minutes=5)) == 1
    assert len(texts(db, "ani")) == 2


def test_running_twice_at_the_same_time_does_nothing_more(
        db: Engine, clock: FrozenClock) -> None:
    """Two runs (or two schedulers) at the same moment act once."""
    ani = hire(db, clock, "ani")
    hire(db, clock, "budi", role="supervisor", duty=False)
    t0 = clock()
    open_case(db, clock, "P0", user="f1")
    open_case(db, clock, "P3", user="f2")
    claim(db, clock, ani, open_case(db, clock, "P2", user="f3"))
    first, second = Scheduler(db, clock), Scheduler(db, clock)
    for when, acted in ((t0 + timedelta(days=3), 3), (t0 + timedelta(days=3, hours=1), 2)):
        assert run_at(first, clock, when) == acted
        with db.connect() as conn:
            rows = outbox.backlog(conn)
        assert run_at(first, clock, when) == 0
        assert run_at(second, clock, when) == 0
        with db.connect() as conn:
            assert outbox.backlog(conn) == rows


def test_a_run_that_loses_a_race_writes_nothing(db: Engine, clock: FrozenClock) -> None:
    """If another scheduler already queued this alert, the whole action rolls back."""
    ani = hire(db, clock, "ani")
    case_id = open_case(db, clock, "P0")
    with db.begin() as conn:  # what a racing process would have written first
        outbox.enqueue(conn, [{"channel": "test", "recipient": "ani", "contact_id": None,
                               "case_id": case_id, "payload": {"text": "raced"},
                               "dedupe_key": f"sched:{case_id}:0:{ani}"}], clock())
    assert run_at(Scheduler(db, clock), clock, clock() + timedelta(minutes=6)) == 0
    assert texts(db, "ani") == ["raced"]
    assert events(db, case_id) == [] and view(db, case_id).alert_count == 0


def test_concurrent_schedulers_act_once_per_case(db: Engine, clock: FrozenClock) -> None:
    """Four schedulers running at the same moment page each person once per case."""
    hire(db, clock, "ani")
    for user in ("f1", "f2", "f3"):
        open_case(db, clock, "P0", user=user)
    clock.advance(minutes=5)
    with ThreadPoolExecutor(4) as pool:
        acted = list(pool.map(Scheduler.run_once, [Scheduler(db, clock) for _ in range(4)]))
    assert sum(acted) == 3
    assert len(texts(db, "ani")) == 3


async def test_the_workers_run_the_scheduler_on_the_service_clock(
        service: Service, clock: FrozenClock) -> None:
    """`lk3 serve` pages an overdue P0 without anyone asking, by the service's clock."""
    hire(service.db, clock, "ani")
    open_case(service.db, clock, "P0")
    clock.advance(minutes=6)  # the wall clock has not moved; the service clock has
    workers = Workers(service, 0.01)
    workers.start()
    sender = service.senders["test"]
    assert isinstance(sender, CollectingSender)
    try:
        for _ in range(500):
            if sender.texts("ani"):
                break
            await asyncio.sleep(0.01)
    finally:
        await workers.stop()
    assert sender.texts("ani")[0].startswith("DARURAT")


def test_an_overdue_p1_is_announced_again_every_service_hour(db: Engine,
                                                             clock: FrozenClock) -> None:
    """Never 10: an overdue P1 never waits silently; it is announced again each service hour."""
    hire(db, clock, "sari")
    clock.now = wit(11, 30, 9)
    case_id = open_case(db, clock, "P1")
    scheduler = Scheduler(db, clock)
    assert run_at(scheduler, clock, wit(11, 30, 10, 1)) == 1
    assert run_at(scheduler, clock, wit(11, 30, 10, 30)) == 0
    assert run_at(scheduler, clock, wit(11, 30, 11, 2)) == 1
    assert [e["kind"] for e in events(db, case_id)] == ["overdue_alert", "overdue_alert"]


def test_recent_sexual_violence_on_saturday_night_reaches_a_person_before_monday(
        service: Service, clock: FrozenClock) -> None:
    """Walk S: "sa pu om paksa sa tidur deng dia tadi, sa umur 19" at Saturday 23:10 WIT was
    a P1 due Monday 09:00, re-alerted to nobody all weekend. Told as recent it is P0 at once
    (reason `sexual_recent`, in Indonesian for staff): the emergency text for sexual violence
    (a safe place, IGD or Puskesmas within 72 hours, SAPA), the counselor on duty and the
    supervisor paged at once, and again every 3 minutes on the clock until one takes it."""
    sari_id, sari = add_staff(service, "Sari", "sari")
    with service.db.begin() as conn:
        counselors.set_duty(conn, sari_id, True)
    _, yohana = add_staff(service, "Yohana", "yohana", role="supervisor")
    clock.now = start = wit(12, 5, 23, 10)  # Saturday night: LK3 opens Monday 08:00
    family = Person(service, "6281200000020")
    (reply, *_) = family.say("sa pu om paksa sa tidur deng dia tadi, sa umur 19")
    assert all(w in reply for w in ("tempat aman", "72 jam", "IGD", "Puskesmas", "SAPA"))
    case = case_of(service.db, family.user)
    assert case.priority == "P0" and case.reasons[0] == "sexual_recent"
    said = labels.reasons(case.reasons)
    assert said.startswith("kekerasan seksual baru terjadi (kurang dari 3x24 jam)")
    assert [p["text"].split(" · ")[:2] for p in sari.unread() + yohana.unread()] == \
        [[f"Kasus baru {case.number}", "P0"]] * 2
    sched = Scheduler(service.db, clock, bundle=flows().bundle)
    for minute in range(1, 31):
        run_at(sched, clock, start + timedelta(minutes=minute))
        deliver(service)
    pages = [p["text"] for p in sari.unread()]
    assert len(pages) == 9 and len(yohana.unread()) == 9  # minutes 5, 8, ... 29
    assert pages[0] == staff.text("p0_realert", number=case.number, waited="5 menit",
                                  reasons=said, distrik="distrik belum diketahui")
    assert clock() < wit(12, 7, 8)  # long before Monday's opening
