"""An answer the case keeps, given after the case was opened: the case event, in that turn.

A case opens early where it must (the danger question, a risk told before consent, danger
words), before the family has said what the trouble is or where she lives; the flow's own
case events come later, when the priority changes or the intake closes. So an answer the case
keeps (the flow's `case_answers`: category, distrik) given in between reached the case only
at the close, and never when she stopped half-way (walk S-5: the queue, `/antrian`, the
alerts and the reports showed "-" and "distrik belum diketahui" on P0 cases whose family had
named both). Here, a turn that gives or changes such an answer where a case exists ends with
the same case event the flow writes (`flows.actions.case_now`), unless one of its own case
events already carries the answers as they end the turn. Pure, like the engine step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from flows.actions import StepModel, case_answers, case_now
from flows.engine import Engine
from flows.types import Event, Snapshot, Turn

CASE_EVENT = "case_upsert"


def told(engine: Engine, before: Snapshot | None, turn: Turn, now: datetime,
         case_open: bool) -> Turn:
    """`turn` (the engine's step from `before`), ending with a case event where it gave an
    answer the case keeps and none of its case events carries it; the same turn otherwise,
    so this may run twice. `case_open`: the conversation's case is open (the host knows; a
    closed case's family starting afresh opens no new case by naming a category)."""
    names = engine.flow.case_answers
    if not names or not (case_open or any(e.kind == CASE_EVENT for e in turn.events)):
        return turn
    after = turn.snapshot
    now_told = {n: after.answers.get(n) for n in names}
    if all(v is None or v == _known(before, turn).get(n) for n, v in now_told.items()):
        return turn
    m = StepModel(after.state, after.language, dict(after.answers), list(after.flags),
                  after.misses, now, engine.bundle.triage, engine.flow.consent_version,
                  has_case=True, case_number=after.case_number, case_answers=names)
    return replace(turn, events=(*turn.events, case_now(m)))


def _known(before: Snapshot | None, turn: Turn) -> dict[str, Any]:
    """The answers the case has as the turn ends without us: those of its last case event,
    else those the conversation had given the case before it (kept at a restart too)."""
    last: Event | None = next((e for e in reversed(turn.events) if e.kind == CASE_EVENT), None)
    if last is not None:
        return last.data
    return case_answers(before.answers, before.case_number) if before is not None else {}

