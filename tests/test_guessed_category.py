"""A category the bot kept after misses is shown to staff as its guess, not as the family's.

The category question left after four messages not understood keeps what the bot offered
from the story (flows.misses.keep_offer: a `moved_on` event with `kept`); the family never
confirmed it. `lk3 cases show`, the console's case page and the counselor's brief at /ambil
say "(ditebak bot, belum dikonfirmasi keluarga)" beside it; a category the family chose is
shown as before. Through the real service on a frozen clock.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.casework import labels, staff
from bot.cli import caseshow
from bot.service import Service
from tests.support import FrozenClock
from tests.test_console_support import add_staff, client, console_app, sign_in, visible_text
from tests.test_handoff import Person, case_of
from tests.test_story_answers import GRANDMOTHER, NOT_UNDERSTOOD

CARE = labels.category("care")
GUESSED = staff.text("category_guessed", category=CARE)
MARK = "(ditebak bot, belum dikonfirmasi keluarga)"


def grandmother(service: Service, user: str, confirm: bool = False) -> str:
    """Her story offers "Lansia"; chat, no danger now, consent, adult; then at the category
    question either "IYA" or four messages not understood; the rest skipped to the closing
    (the case row takes the category there). Returns the case number."""
    family = Person(service, user)
    for words in [GRANDMOTHER, "1", "tidak", "1", "2"]:
        family.say(words)
    for words in ["iya"] if confirm else NOT_UNDERSTOOD[:4]:
        family.say(words)
    for _ in range(25):
        if case_of(service.db, user).category is not None:
            break
        family.say("LEWATI")
    case = case_of(service.db, user)
    assert case.category == "care"
    return case.number


def test_guessed_reads_only_a_kept_category_never_answered_since() -> None:
    """The mark goes with the kept code only, and not once the family answered the question
    again (UBAH) or staff corrected the answer."""
    kept = {"kind": "moved_on", "data": {"state": "category", "kept": "care"}}
    assert labels.guessed("care", [kept])
    assert not labels.guessed("dv", [kept])
    assert not labels.guessed("care", [{"kind": "moved_on", "data": {"state": "category"}}])
    assert not labels.guessed("care", [kept, {"kind": "answer_taken_back",
                                              "data": {"state": "category"}}])
    assert not labels.guessed("care", [kept, {"kind": "privacy_corrected",
                                              "data": {"field": "category"}}])
    assert labels.category_of("care", [kept]) == GUESSED == f"{CARE} {MARK}"
    assert labels.category_of("care", [kept], "en").endswith(
        "(guessed by the bot, not confirmed by the family)")


def test_cases_show_marks_the_guess(service: Service, clock: FrozenClock,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`lk3 cases show`: the kept category with the mark; a confirmed one without."""
    guessed, chosen = grandmother(service, "62811"), grandmother(service, "62812", True)
    assert caseshow.show(service.db, guessed, clock()) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Kategori:"))
    assert line.endswith(GUESSED)
    assert caseshow.show(service.db, chosen, clock()) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Kategori:"))
    assert line.endswith(CARE) and MARK not in line


def test_the_brief_at_taking_marks_the_guess(service: Service) -> None:
    """The counselor's brief when she takes the case says the category is the bot's guess."""
    from tests.test_handoff import add_staff as add_chat_staff
    _, sari = add_chat_staff(service, "Sari", "c1")
    guessed, chosen = grandmother(service, "62811"), grandmother(service, "62812", True)
    sari.unread()
    assert GUESSED in "\n".join(sari.say(f"/ambil {guessed}"))
    assert MARK not in "\n".join(sari.say(f"/ambil {chosen}"))


async def test_the_console_case_page_marks_the_guess(
        service: Service, clock: FrozenClock) -> None:
    """The console's case page, to a supervisor: the mark beside the kept category only."""
    guessed = await asyncio.to_thread(grandmother, service, "62811")
    chosen = await asyncio.to_thread(grandmother, service, "62812", True)
    add_staff(service.db, "Yohana", clock(), role="supervisor")
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        page = visible_text((await http.get(f"/console/cases/{guessed}")).text)
        other = visible_text((await http.get(f"/console/cases/{chosen}")).text)
    assert GUESSED in page
    assert CARE in other and MARK not in other
