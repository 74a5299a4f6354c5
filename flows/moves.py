"""Moving a conversation through its flow: firing a transition and saying what follows,
entering a state, an interrupt and the way back, the questions passed, a resting state."""

from __future__ import annotations

from flows import safety
from flows.actions import ACTIONS, CRISIS_FLAGS, REPLAY, RETURN_TO, WITH_PERSON, StepModel
from flows.danger import UNSAID
from flows.definition import BACK, ChoiceSpec, StateSpec
from flows.runner import Runner
from flows.types import Reply
from flows.wording import form, has_text, params, without_case

PASS = "pass"  # the trigger of a question not asked (`pass` in a flow)


def fire(engine: Runner, m: StepModel, trigger: str, before: frozenset[str] | None = None,
         before_p1: frozenset[str] | None = None, quiet: bool = False) -> None:
    """Fire `trigger` and say what follows; `quiet`: only move (the caller speaks)."""
    flow = engine.flow
    was = flow.states[m.state]
    m.misses = 0
    engine.machine.events[trigger].trigger(m)
    pass_(engine, m)
    if quiet:
        return
    alert = was.name != flow.interrupts["emergency"]  # it was just shown
    if was.interrupt and m.state == was.name and not stays(engine, was, trigger):
        back(engine, m)  # `back`: resume where the interrupt came
        unsaid = m.answers.pop(UNSAID, False)
        there = flow.states[m.state]
        if WITH_PERSON in m.flags and not there.end and not there.interrupt:
            # a person holds the case: not the bot's intake question again (the family
            # was told it needs no answer now)
            return m.replies.append(Reply(form(engine, m, "handoff.resume")))
        if there.end and not (alert and safety.alert(engine, m, before)) and not unsaid:
            return rest(engine, m, flow.states[m.state], moved=True)
        return engine.prompt(m)
    if not (alert and safety.alert(engine, m, before)):
        safety.safety(engine, m, before_p1)
    engine.prompt(m)


def stays(engine: Runner, state: StateSpec, trigger: str) -> bool:
    """A menu choice that only says something keeps the person in the menu."""
    value = trigger.removeprefix("choose_")
    return any(c.value == value and c.say and not c.goto
               for c in engine.flow.choices_of(state)) and not state.goto


def choose(engine: Runner, m: StepModel, state: StateSpec, choice: ChoiceSpec) -> bool:
    """Take `choice` and move on without speaking (the caller does); whether it made
    the case P0. An interrupt answered goes back where it came from, as `fire` does."""
    before = safety.p0(m)
    if state.save:
        m.answers[state.save] = choice.value
    trigger = f"choose_{choice.value}"
    fire(engine, m, trigger, quiet=True)
    if state.interrupt and m.state == state.name and not stays(engine, state, trigger):
        back(engine, m)
    return bool(safety.p0(m) - before)


def rest(engine: Runner, m: StepModel, state: StateSpec, moved: bool = False) -> None:
    """A message in a resting state: move on if it says where, else remind."""
    target = state.name if moved else idle_target(engine, m, state)
    if target != state.name:
        if target == BACK:
            back(engine, m)
        else:
            enter(engine, m, target)
        if has_text(engine, m, again := f"{state.prompt}.back"):  # after BERHENTI: why it
            # begins again (walk Q: "sa mo lanjut" after her husband came in got the whole
            # welcome, unexplained); with no case, no case is said to stay (walk S)
            m.replies.append(Reply(without_case(engine, m, form(engine, m, again))))
        return engine.prompt(m)
    key = state.idle or state.prompt
    if "crisis_selfharm" in m.flags and has_text(engine, m, f"{key}.selfharm"):
        key = f"{key}.selfharm"  # waiting after words of wanting to die: not alone, the
        # numbers now (walk R: "halo kk? ada orang ka?" read only the queue line)
    elif m.has_case and has_text(engine, m, f"{key}.case"):  # no consent, but a case for
        key = f"{key}.case"  # danger (a walk-through: "Ketik ULANG untuk mulai
        # konsultasi" to a woman whose children were inside with an armed man)
    elif not m.has_case and set(CRISIS_FLAGS).intersection(m.flags) and \
            has_text(engine, m, f"{key}.told"):  # danger told, no case: PETUGAS puts her
        key = f"{key}.told"  # through (walk S: "Ketik ULANG" after "paitua pukul sa")
    # back from a safety question to a person; else someone else hears no case number
    key = "handoff.resume" if moved and WITH_PERSON in m.flags else form(engine, m, key)
    m.replies.append(Reply(key, params(engine, m, key)))


def idle_target(engine: Runner, m: StepModel, state: StateSpec) -> str:
    """Where a message at rest moves the conversation (`idle_goto`): the first branch whose
    condition holds; the state itself (a branch to it, or none) stays there, reminded
    (danger told at the numbers-only rest: its text, and PETUGAS answered at rest)."""
    return next((b.target for b in state.idle_goto
                 if b.condition is None or
                 engine.holds(engine.flow.conditions[b.condition], m)), state.name)


def back(engine: Runner, m: StepModel) -> None:
    """Back to the state an interrupt was entered from (the start, where none is kept)."""
    flow = engine.flow
    there = str(m.answers.pop(RETURN_TO, flow.initial))
    engine.machine.set_state(there if there in flow.states else flow.initial, m)


def _replayed(engine: Runner, m: StepModel, state: StateSpec) -> str | None:
    """The trigger that gives a kept answer again: its choice, the text, else LEWATI
    (None: nothing kept, or a value no choice has now: the question is asked)."""
    value = m.answers.get(state.save or "")
    if value is None or value == "skipped":  # (LEWATI kept: "choose_skipped" is no event)
        return "skip" if state.skippable else None
    if state.input:
        return "answer"
    return f"choose_{value}" if f"choose_{value}" in engine.machine.events else None


def interrupt(engine: Runner, m: StepModel, target: str) -> None:
    """Enter an interrupt state; its `back` returns to where the person was."""
    if not engine.flow.states[m.state].interrupt:
        m.answers[RETURN_TO] = m.state
    enter(engine, m, target)


def enter(engine: Runner, m: StepModel, target: str) -> None:
    """Enter a state and run its on_enter actions."""
    m.misses = 0  # a new question (the emergency's after misses at the welcome: not
    # "moved on" at its first miss)
    engine.machine.set_state(target, m)
    for a in engine.flow.states[target].on_enter:
        ACTIONS[a](m)
    pass_(engine, m)


def pass_(engine: Runner, m: StepModel) -> None:
    """A question reached where its `pass` condition holds is not asked: its `pass`
    branches are followed (a tester: "is anyone injured?" for pre-marital counselling,
    school fees and PKH). Nor one a flag already answered (`known_by`: "sa tra punya
    tempat aman malam ini" told before "do you have a safe place tonight?"): that
    answer is kept and its choice followed. Nor one whose answer stayed when an answer
    before it was taken back (`keeps_later`: her age corrected, the category and distrik
    she gave are not asked again)."""
    while True:
        state = engine.flow.states[m.state]
        known = next((v for f, v in state.known_by if f in m.flags), None)
        if state.name in (replay := m.answers.get(REPLAY) or []) and \
                (again := _replayed(engine, m, state)) is not None:
            m.answers[REPLAY] = [q for q in replay if q != state.name]
            engine.machine.events[again].trigger(m)
        elif known is not None and state.save and state.save not in m.answers:
            m.answers[state.save] = known
            engine.machine.events[f"choose_{known}"].trigger(m)
        elif state.passes is not None and \
                engine.holds(engine.flow.conditions[state.passes[0]], m):
            engine.machine.events[PASS].trigger(m)
        else:
            return
