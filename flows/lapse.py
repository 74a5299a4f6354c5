"""An intake left half-way, filed for staff: the case event the flow would write, now.

Walk S-6: a mother gave consent, the category (a son sniffing glue), the distrik and the
risk answers, then stopped at "Boleh kami meninggalkan pesan?". No case was made; five days
later "kapan petugas telpon? su 5 hari" got "Setelah pertanyaan-pertanyaan ini selesai,
permintaan Anda masuk antrean". The scheduler (bot.pipeline.lapse) asks this, some hours
after her last message (flows/service.yaml `incomplete_intake_hours`): with consent and a
category, the same case event an intake's closing writes (`flows.actions.case_now`), its
priority from the triage of her answers, with the reason `intake_incomplete` (the flag
INTAKE_LAPSED), opened as of her last message (SINCE); nothing said to her. Where she
had not yet said that messages may be left or how to reach her, the case waits for her to
write (walk T-4: `lapsed_unreachable`).
Pure, like the engine step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flows.actions import CONSENT_CHOICES, INTAKE_LAPSED, StepModel, case_now, lapsed_unreachable
from flows.engine import Engine
from flows.types import Event, Snapshot, Turn

KIND = "intake_lapsed"  # the event that records it (state left at, hours idle)
# on its case event: when she last wrote (ISO), which the case is opened as created at, so its
# waiting time and deadline count from then, not from the filing hours later (walk T-11)
SINCE = "waiting_since"


def fileable(engine: Engine, snap: Snapshot | None) -> bool:
    """The conversation is an intake left at a question, after consent and a category,
    never filed before."""
    if snap is None or INTAKE_LAPSED in snap.flags:
        return False
    state = engine.flow.states.get(snap.state)
    return state is not None and not state.end and \
        CONSENT_CHOICES.get(str(snap.answers.get("consent"))) == "consent" and \
        snap.answers.get("category") not in (None, "skipped")


def lapsed(engine: Engine, snap: Snapshot, now: datetime) -> Turn | None:
    """The turn that files `snap` for staff at `now` (no replies: she is not written to),
    or None where it is not `fileable`. The conversation stays where she left it."""
    if not fileable(engine, snap):
        return None
    m = _model(engine, snap, now)
    m.flag(INTAKE_LAPSED)
    away = (now - snap.updated_at) if snap.updated_at else None
    hours = int(away.total_seconds() // 3600) if away is not None else 0
    case = case_now(m)
    if snap.updated_at is not None:
        case.data[SINCE] = snap.updated_at.isoformat()
    events = [Event(KIND, {"state": snap.state, "hours": hours}), case]
    lapsed_unreachable(m)  # before "Boleh kami meninggalkan pesan?": only once she writes
    events += m.events
    return Turn((), tuple(events), replace(snap, flags=tuple(m.flags)))


def _model(engine: Engine, snap: Snapshot, now: datetime) -> StepModel:
    return StepModel(snap.state, snap.language, dict(snap.answers), list(snap.flags),
                     snap.misses, now, engine.bundle.triage, engine.flow.consent_version,
                     has_case=snap.case_number is not None, case_number=snap.case_number,
                     case_answers=engine.flow.case_answers)
