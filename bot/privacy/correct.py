"""UBAH done: `lk3 privacy correct REQUEST --field NAME --value V`.

The answer is replaced on the conversation (and on the case when the case keeps it), the
old and new values go into the audit trail, the request is closed and the family is told
what it says now, in their language. A question with choices takes one of its choices.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from bot.casework import intakeview, staff
from bot.privacy import notify
from bot.privacy.erase import Outcome, checked
from flows.actions import case_answers
from flows.catalog import Catalog
from storage import cases, conversations
from storage import privacy as store

FIXED = ("consent", "mode")  # changed by the family's own answers, never by staff


def correct(db: Engine, request_id: int, field: str, value: str, actor: str,
            now: datetime, catalog: Catalog) -> Outcome:
    with db.begin() as conn:
        req = checked(conn, request_id, "correct", open_only=True)
        if isinstance(req, Outcome):
            return req
        conv = conversations.load(conn, req.contact_id)
        if conv is None:
            return Outcome(1, [staff.text("privacy.correct_gone")])
        given = case_answers(conv.answers, conv.case_number)  # kept at a restart too
        known = [k for k in given if k not in FIXED and not k.endswith("_media")]
        q = intakeview.questions()
        if field not in known:  # each code with its question: staff read Indonesian
            return Outcome(2, [staff.text("privacy.correct_unknown_field", field=field,
                                          fields=", ".join(_named(q, k) for k in known) or "-")])
        states = [s for s in q.bundle.flow.states.values() if s.save == field]
        offered = {c.value: q.answer(s, c.value) for s in states
                   for c in q.bundle.flow.choices_of(s)}
        if offered and value not in offered:
            return Outcome(2, [staff.text("privacy.correct_bad_value", field=field,
                                          value=value, choices=", ".join(
                                              f"{v} ({said})" for v, said in offered.items()))])
        old = given.get(field)
        store.set_answer(conn, req.contact_id, field, value, field in cases.ANSWERS)
        language = notify.language_of(conn, req)
        state = states[0] if states else None
        question = q.question(state, language) if state else field
        words = q.answer(state, value, None, language) if state else value
        why = notify.tell_family(conn, req, catalog.text("privacy.corrected", language, {
            "question": question, "value": words}), now, key=f"privacy:{req.id}:corrected")
        store.close(conn, req.id, "done", actor, now)
        notify.audit(conn, req, actor, "privacy_corrected",
                     {"field": field, "old": old, "new": value}, now)
    return Outcome(0, [staff.text("privacy.corrected", field=field, old=str(old), new=value,
                                  label=req.label,
                                  told=notify.told(why, "privacy.told_value"))])


def _named(q: intakeview.Questions, field: str) -> str:
    """`distrik (Di distrik mana ...?)`: the code to type, with the question it answers."""
    state = next((s for s in q.bundle.flow.states.values() if s.save == field), None)
    return f"{field} ({q.question(state)})" if state is not None else field
