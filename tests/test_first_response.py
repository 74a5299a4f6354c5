"""The first response is when a person's words reached the family, not when a held message
was written (walk S-13), through the real pipeline with a frozen clock."""

from __future__ import annotations

from bot.casework.scheduler import Scheduler
from bot.service import Service
from tests.support import FrozenClock
from tests.test_handoff import add_staff, by_number
from tests.test_held_for_writer import LATER, watched_case


def test_a_held_counselor_message_is_the_first_response_when_it_goes(
        service: Service, clock: FrozenClock) -> None:
    """Her phone is read by her husband: the counselor's words wait, and `Respon pertama`
    is the time they went with the reply to her next message."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    sari.say(f"/ambil {number}")
    clock.advance(minutes=5)
    sari.say("Halo ibu, sa Sari. Ibu aman?")
    assert by_number(service.db, number).first_response_at is None  # held: not heard yet
    clock.advance(hours=3)
    sent = clock()
    assert any("Halo ibu, sa Sari" in t for t in family.say("halo"))
    assert by_number(service.db, number).first_response_at == sent
    clock.advance(minutes=2)
    sari.say("Ibu bisa cerita?")
    assert by_number(service.db, number).first_response_at == sent  # the first, only


def test_a_claim_whose_words_wait_for_the_family_is_not_returned_to_the_queue(
        service: Service, clock: FrozenClock) -> None:
    """Days later, the counselor who wrote (held) keeps the case: no return to the queue (an
    urgent case is flagged to a supervisor once: test_held_for_writer); the family writes,
    and it is answered then."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    sari.say(f"/ambil {number}")
    sari.say("Halo ibu, sa Sari.")
    clock.advance(days=5)
    scheduler = Scheduler(service.db, clock)
    scheduler.run_once()  # the flag (urgent), then nothing more
    clock.advance(days=5)
    assert scheduler.run_once() == 0
    case = by_number(service.db, number)
    assert case.status == "claimed"
    family.say("halo")
    case = by_number(service.db, number)
    assert (case.status, case.first_response_at) == ("claimed", clock())
