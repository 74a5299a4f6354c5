"""What an answer that makes a case urgent brings in the same turn: the P0 emergency
message, the P1 safety message and helplines once, or one line noted after "are you safe
now?" was answered; and whether a case is urgent already."""

from __future__ import annotations

from flows import danger
from flows.actions import (
    ACTIONS,
    CRISIS_FLAGS,
    CRISIS_GROUPS,
    FOCUS,
    MODEL_FLAG,
    NOTICED,
    P0_ALERTED,
    SAFETY_NOTICES,
    SHOWN,
    STILL_IN_DANGER,
    TOLD,
    StepModel,
    writes_as_child,
)
from flows.crisis import Scan
from flows.definition import Flow
from flows.runner import Runner
from flows.triage import TriageRules
from flows.types import Reply
from flows.wording import form, has_text, params

MORE = "emergency.more"  # a P0 answer after "still in danger" was told: noted, no question
HARMS = "harms_others"  # the writer fears they will hurt someone: their own texts


def reasons(m: StepModel, priority: str) -> frozenset[str]:
    """The reasons of `priority` that hold now."""
    return m.triage.reasons_at(priority, m.facts())


def p0(m: StepModel) -> frozenset[str]:
    """The P0 reasons that hold now."""
    return reasons(m, "P0")


def states_read(flow: Flow, triage: TriageRules, priority: str) -> frozenset[str]:
    """States whose answer could add a reason of `priority`: they save an answer its rules
    read, or a choice runs an action (actions set flags). Elsewhere the check is skipped."""
    keys = {k for r in triage.by_priority[priority] for k in r.when}
    return frozenset(s.name for s in flow.states.values()
                     if s.save in keys or any(c.actions for c in flow.choices_of(s)))


def told_selfharm(m: StepModel) -> bool:
    """Whether this conversation told of wanting to die (the lists, the model, or the
    category chosen)."""
    return "crisis_selfharm" in m.flags or m.answers.get("category") == "selfharm" or \
        "selfharm" in (m.answers.get(CRISIS_GROUPS) or ())


def told_before(m: StepModel, scan: Scan) -> bool:
    """Whether the kind of danger the model reads is one this conversation already
    told of, by the lists or by the model."""
    group = scan.groups[0]
    return f"crisis_{group}" in m.flags or \
        (MODEL_FLAG in m.flags and group in m.answers.get(CRISIS_GROUPS, ()))


def urgent(m: StepModel) -> bool:
    """Whether the case is urgent already (danger words, or answers that make it P1 or
    P0): the model's guess then tells staff nothing new, and its misreadings of replies
    are noise ("iya kami tinggal serumah, tapi de su baik skarang, de su tra minum lagi"
    at "is he near?", after a story of violence, was read as self-harm, and P0 by its
    "skarang": the suicide emergency message to a woman who never hinted at it, a
    walk-through). The lists still read every message."""
    return any(f in CRISIS_FLAGS for f in m.flags) or \
        bool(p0(m) or reasons(m, "P1"))


def safety(engine: Runner, m: StepModel, before: frozenset[str] | None) -> None:
    """An answer that adds a P1 reason: the case goes to staff now (a family who stops
    here still reaches a person), with the safety message and helplines once."""
    new = reasons(m, "P1") - before if before is not None else frozenset()
    if not new:
        return
    key = "safety_p1.no_case"  # before consent: helplines only, no case yet
    if m.consented() or m.has_case:
        ACTIONS["open_case_now"](m)
        key = "safety_p1"
    if _focused_safety(engine, m, new):
        return
    if P0_ALERTED in m.flags:  # the emergency texts said it all, and staff were paged:
        return m.flag("p1_notified")  # no second list of five numbers (walk Q)
    if HARMS in (m.answers.get(TOLD), m.answers.get("category")):
        key = f"{key}.harms_others"  # afraid he will hurt his child: not "your safety"
    else:
        key = form(engine, m, key)  # "keselamatanmu": a child writing (a walk-through: "Anda")
    if "p1_notified" not in m.flags:
        m.flag("p1_notified")
        m.replies.append(Reply(key, params(engine, m, key)))


def _focused_safety(engine: Runner, m: StepModel, new: frozenset[str]) -> bool:
    """New P1 reasons of a kind with its own safety text (`safety_p1.<focus>`: a "yes" in
    the self-harm screen) bring it once, even after another P1's safety message (a
    walk-through: a girl of 16 who had wished she were dead got the next question, and
    no word or number for it until the closing)."""
    said = m.answers.get(NOTICED) or []
    for reason in sorted(new):
        focus = m.triage.focus(reason)
        key = name = f"safety_p1.{focus}"
        if reason in SAFETY_NOTICES:  # a notice's own words: "no safe place tonight"
            name = SAFETY_NOTICES[reason]  # (walk N: "tra ada" at that question had
            key = f"notice.{name}"  # only "Kasus Anda sudah kami teruskan", then the
            # next question)
        elif focus is None:
            continue
        if name in said or not has_text(engine, m, key):
            continue
        m.answers[NOTICED] = [*said, name]
        m.flag("p1_notified")
        if name != key:
            key = form(engine, m, key)  # a notice in "kamu" for a child
        elif writes_as_child(m.answers) and has_text(engine, m, f"{key}.child"):
            key = f"{key}.child"
        m.replies.append(Reply(key, params(engine, m, key)))
        return True
    return False


def alert(engine: Runner, m: StepModel, before: frozenset[str] | None) -> bool:
    """An answer that adds a P0 reason brings the emergency message in the same turn.

    `before` is None where no answer can add one (see `Engine.p0_states`).
    """
    new = p0(m) - before if before is not None else frozenset()
    if not new:
        return False
    was = m.answers.get(FOCUS)
    danger.focus_on_reasons(m, new)
    if not noted(engine, m, same=m.answers.get(FOCUS) == was):
        engine.interrupt(m, engine.flow.interrupts["emergency"])
    return True


def noted(engine: Runner, m: StepModel, same: bool = True, words: bool = False) -> bool:
    """A new urgent answer once "are you safe now?" was answered in this intake: staff
    are told of it (P0) and the family reads one line and the numbers, not the question
    again (walk Q: asked four times of a woman hiding; walk R: "pernah de ancam pake
    parang", safe now, read "pergi sekarang ke tempat aman"). Safe now is of the danger
    then (`same`): a child harmed now, after a mother said she was safe, is asked about.
    Words of danger now (`words`): only after "still in danger", of the same danger, and
    once its short form (`.again`, with the question) was shown (walk R: "sa su ikat
    tali di kamar", "tra ada orang": the self-harm text and "are you safe now?" four
    times). Whether it was so."""
    if words and not (same and STILL_IN_DANGER in m.flags and
                      str(m.answers.get(SHOWN, "")).endswith(".again")):
        return False
    asked = engine.flow.states[engine.flow.interrupts["emergency"]].save or ""
    safe = m.answers.get(asked) == "safe" and STILL_IN_DANGER not in m.flags and same
    if not (STILL_IN_DANGER in m.flags or safe):
        return False
    ACTIONS["emergency"](m)
    key = f"{MORE}.{m.answers.get(FOCUS)}"
    if words and "injury" in (m.answers.get(CRISIS_GROUPS) or ()):
        key = f"{MORE}.injury"  # "sa pu kepala berdarah" beside the blows: first aid
    key = form(engine, m, key if has_text(engine, m, key) else f"{MORE}.safe" if safe
               else MORE)
    m.replies.append(Reply(key, params(engine, m, key)))
    return True
