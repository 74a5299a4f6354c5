"""A case opened early is told the answers it keeps as the family gives them (walk S-5)."""

from __future__ import annotations

from bot.service import Service
from storage import cases
from tests.support import Family, read_sql

# chat, danger now, safe now, CONSENT, adult, domestic violence, myself, first distrik
TO_DISTRIK = ["halo", "1", "1", "1", "1", "2", "2", "1", "1"]


def _case(service: Service) -> cases.CaseRow:
    with service.db.connect() as conn:
        (row,) = cases.list_cases(conn)
    return row


def test_a_case_opened_at_the_danger_question_gets_category_and_distrik_as_told(
        service: Service) -> None:
    """The P0 case opened before consent shows the category and the distrik in the turn the
    family names them, and keeps them when she stops there."""
    family = Family(service, "6281100000031")
    for text in TO_DISTRIK[:6]:
        family.say(text)
    assert (_case(service).priority, _case(service).category) == ("P0", None)
    family.say(TO_DISTRIK[6])  # the category
    assert (_case(service).category, _case(service).distrik) == ("dv", None)
    family.say(TO_DISTRIK[7])
    family.say(TO_DISTRIK[8])  # the distrik
    assert (_case(service).category, _case(service).distrik) == ("dv", "mimika_baru")
    family.say("BERHENTI")
    row = _case(service)
    assert (row.priority, row.category, row.distrik) == ("P0", "dv", "mimika_baru")
    with service.db.connect() as conn:
        kinds = [r.kind for r in read_sql(conn, "SELECT kind FROM case_events ORDER BY id")]
    assert kinds.count("case_upsert") >= 2, kinds  # each answer through the case event


def test_an_answer_the_case_has_already_makes_no_case_event(service: Service) -> None:
    """Answers the case does not keep (who, the kampung) add no case event of their own."""
    family = Family(service, "6281100000032")
    for text in TO_DISTRIK[:7]:
        family.say(text)
    with service.db.connect() as conn:
        before = read_sql(conn, "SELECT count(*) AS n FROM case_events")[0].n
    family.say(TO_DISTRIK[7])  # who: myself
    with service.db.connect() as conn:
        after = read_sql(conn, "SELECT kind FROM case_events ORDER BY id")
    assert "case_upsert" not in [r.kind for r in after[before:]]
