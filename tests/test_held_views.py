"""What staff read about messages that wait for a family who must not be written to first:
a case the scheduler returns to the queue, the console's queue and case page.

Through the real pipeline, scheduler and console (its test client), with a frozen clock,
as tests/test_held_for_writer.py.
"""

from __future__ import annotations

import asyncio

from bot.casework import staff
from bot.casework.scheduler import Scheduler
from bot.service import Service
from tests.support import FrozenClock
from tests.test_console_cases import outbox_to
from tests.test_console_support import add_staff, client, console_app, sign_in, visible_text
from tests.test_handoff import Person
from tests.test_held_for_writer import JOINED, LATER, watched_case

HELD_TWO = "Pesan ke keluarga: 2 ditahan, dikirim segera setelah keluarga menulis lagi."


def _taken_while_held(service: Service, clock: FrozenClock) -> tuple[Person, str]:
    """A P0 of a phone someone else reads, taken by Sari 30 minutes after she wrote: the
    takeover waits for her."""
    add_staff(service.db, "Sari Wenda", clock(), telegram="c1")  # console and chat
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    Person(service, "c1").say(f"/ambil {number}")
    return family, number


async def test_a_case_the_scheduler_returns_says_what_waits_for_the_family(
        service: Service, clock: FrozenClock) -> None:
    """Sari took it and never wrote: returned to the queue, she and the supervisor read that
    two messages wait for the family (the takeover and that she left), and so does the
    queue; nothing reaches the family until she writes, then both, oldest first."""
    family, number = await asyncio.to_thread(_taken_while_held, service, clock)
    add_staff(service.db, "Budi", clock(), role="supervisor", telegram="c9")
    sched = Scheduler(service.db, clock)
    clock.advance(minutes=6)
    assert sched.run_once() == 1  # flagged: no message to the family
    clock.advance(minutes=31)
    assert sched.run_once() == 1  # back to the queue

    you = staff.text("returned_to_you", number=number)
    assert outbox_to(service, "c1")[-1] == f"{you}\n{HELD_TWO}"
    assert outbox_to(service, "c9")[-1] == \
        f"{staff.text('returned_to_queue', number=number)}\n{HELD_TWO}"
    async with client(console_app(service)) as http:
        await sign_in(http, "budi")
        queue_page = visible_text((await http.get("/console/queue")).text)
    assert f"{number}" in queue_page and "2 pesan menunggu keluarga menulis" in queue_page

    assert await asyncio.to_thread(family.unread) == []
    heard = await asyncio.to_thread(family.say, "halo")
    assert heard[0].startswith(JOINED)
    assert heard[1].startswith("Maaf, petugas yang memegang kasus")  # handoff.returned


async def test_the_case_page_says_messages_wait_for_the_family(
        service: Service, clock: FrozenClock) -> None:
    """The console's case page, to the counselor holding it: the held takeover as a line
    under the case's details; once she wrote, the line is gone."""
    family, number = await asyncio.to_thread(_taken_while_held, service, clock)
    async with client(console_app(service)) as http:
        await sign_in(http, "sari wenda")
        page = visible_text((await http.get(f"/console/cases/{number}")).text)
        assert "Pesan ke keluarga 1 ditahan, dikirim segera setelah keluarga menulis " \
            "lagi." in page.replace(":", "")
        heard = await asyncio.to_thread(family.say, "halo")
        clock.advance(minutes=LATER)
        page = visible_text((await http.get(f"/console/cases/{number}")).text)
    assert heard[0].startswith(JOINED)
    assert "ditahan, dikirim segera" not in page
