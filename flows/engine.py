"""The engine step: snapshot + inbound + now -> replies, events, new snapshot. No I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from transitions import EventData, Machine, State

from flows.actions import ACTIONS, FLAGS, StepModel
from flows.definition import BACK, Branch, ChoiceSpec, StateSpec
from flows.loader import Bundle, load_bundle
from flows.text import MAX_ANSWER_CHARS, clean, keyword, match_choice
from flows.types import LANGUAGES, Event, Inbound, Reply, Snapshot, Turn

WIT = timezone(timedelta(hours=9))
MISSES_BEFORE_HUMAN = 3
RETURN_TO = "_return_to"
# Texts the engine itself says, whatever the flow: each must be in every catalog.
ENGINE_KEYS = (
    "state_lost", "language_switched", "menu", "human_requested", "offer_human", "reprompt",
    "reprompt_text", "internal_error", "daypart.morning", "daypart.noon", "daypart.afternoon",
    "daypart.night",
    "response_time.P0", "response_time.P1", "response_time.P2", "response_time.P3",
)


def _daypart(now: datetime) -> str:
    hour = now.astimezone(WIT).hour
    if 4 <= hour < 11:
        return "daypart.morning"
    if 11 <= hour < 15:
        return "daypart.noon"
    if 15 <= hour < 18:
        return "daypart.afternoon"
    return "daypart.night"


def _call(name: str) -> Any:
    action = ACTIONS[name]

    def run(event: EventData) -> None:
        action(cast(StepModel, event.model))

    return run


class Engine:
    """One transitions machine per flow; a conversation is attached as a model for one step."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.flow = bundle.flow
        for key in ENGINE_KEYS:
            bundle.catalog.require(key, f"{self.flow.source}: (texts the engine uses)")
        states = [State(s.name, on_enter=[_call(a) for a in s.on_enter])
                  for s in self.flow.states.values()]
        self.machine = Machine(model=None, states=states, transitions=self._transitions(),
                               initial=self.flow.initial, auto_transitions=False,
                               send_event=True, model_override=False)

    @classmethod
    def load(cls, name: str = "intake") -> Engine:
        return cls(load_bundle(name, ACTIONS, FLAGS))

    def _transitions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for s in self.flow.states.values():
            for c in self.flow.choices_of(s):
                out += self._edges(f"choose_{c.value}", s, c.goto or s.goto, c.actions)
            if s.input:
                out += self._edges("answer", s, s.goto, ())
            if s.skippable:
                out += self._edges("skip", s, s.goto or self.flow.choices_of(s)[0].goto, ())
        return out

    def _edges(self, trigger: str, s: StateSpec, branches: tuple[Branch, ...],
               actions: tuple[str, ...]) -> list[dict[str, Any]]:
        edges = []
        for b in branches:
            edge: dict[str, Any] = {
                "trigger": trigger, "source": s.name,
                "dest": None if b.target == BACK else b.target,
                "before": [_call(a) for a in actions],
            }
            if b.condition is not None:
                cond = self.flow.conditions[b.condition]
                edge["conditions"] = [lambda ev, c=cond: c.holds(ev.model.facts())]
            edges.append(edge)
        return edges

    # -- the step ---------------------------------------------------------------------------

    def start(self, language: str = "id") -> Snapshot:
        return Snapshot(self.flow.name, self.flow.initial, language, flow_version=self.flow.version)

    def step(self, snap: Snapshot | None, inbound: Inbound, now: datetime,
             language: str = "id") -> Turn:
        """Answer one inbound message. Pure: the same arguments give the same Turn.

        With no snapshot this is a first contact: the greeting, in `language`.
        """
        fresh = snap is None
        snap = snap or self.start(language)
        lost = snap.state not in self.flow.states
        m = StepModel(
            state=self.flow.initial if lost else snap.state, language=snap.language,
            answers=dict(snap.answers), flags=list(snap.flags), misses=snap.misses, now=now,
            triage=self.bundle.triage, consent_version=self.flow.consent_version,
            has_case=snap.case_number is not None,
        )
        # The conversation is this step's model. It is not bound with add_model: that sets
        # one attribute per trigger and per state (~70 here), most of the step's cost;
        # firing the machine's event on the model does the same transition without them.
        if lost:
            m.events.append(Event("state_lost", {"state": snap.state}))
            m.replies.append(Reply("state_lost"))
        self._handle(m, inbound, fresh or lost)
        new = replace(snap, state=m.state, language=m.language, answers=m.answers,
                      flags=tuple(m.flags), misses=m.misses, flow_version=self.flow.version,
                      updated_at=now)
        return Turn(tuple(m.replies), tuple(m.events), new)

    def _handle(self, m: StepModel, inbound: Inbound, starting: bool) -> None:
        command = keyword(inbound.text, self.bundle.keywords) if not inbound.payload else None
        if command is not None:
            self._command(m, command)
        elif starting:
            self._prompt(m)
        else:
            self._answer(m, inbound)

    def _command(self, m: StepModel, command: str) -> None:
        m.events.append(Event("keyword", {"command": command, "state": m.state}))
        if command in self.flow.interrupts:
            target = self.flow.interrupts[command]
            if not self.flow.states[m.state].interrupt:
                m.answers[RETURN_TO] = m.state
            self.machine.set_state(target, m)
            for a in self.flow.states[target].on_enter:
                ACTIONS[a](m)
        elif command == "restart":
            m.answers, m.flags, m.misses = {}, [f for f in m.flags if f in FLAGS], 0
            self.machine.set_state(self.flow.initial, m)
        elif command == "language":
            m.language = LANGUAGES[(LANGUAGES.index(m.language) + 1) % len(LANGUAGES)]
            m.replies.append(Reply("language_switched"))
        elif command == "menu":
            m.replies.append(Reply("menu"))
        elif command == "human":
            ACTIONS["human_requested"](m)
            m.replies.append(Reply("human_requested"))
        self._prompt(m)

    def _answer(self, m: StepModel, inbound: Inbound) -> None:
        state = self.flow.states[m.state]
        if state.end:
            m.events.append(Event("message_while_resting", {"state": m.state}))
            m.replies.append(Reply(state.idle or state.prompt, self._params(m)))
            return
        text = clean(inbound.text)
        if state.skippable and keyword(text, {"lewati": "skip", "skip": "skip"}):
            if state.save:
                m.answers[state.save] = "skipped"
            return self._fire(m, "skip")
        if state.input:
            if not text and not inbound.media:
                return self._miss(m, state)
            if state.save:
                m.answers[state.save] = text[:MAX_ANSWER_CHARS]
                if inbound.media:
                    m.answers[f"{state.save}_media"] = [
                        {"kind": x.kind, "ref": x.ref, "mime": x.mime} for x in inbound.media]
            return self._fire(m, "answer")
        choices = self.flow.choices_of(state)
        labels = [self.bundle.catalog.text(c.label, m.language) for c in choices]
        picked = match_choice(text, inbound.payload, choices, labels)
        if picked is None:
            return self._miss(m, state)
        if state.save:
            m.answers[state.save] = picked.value
        self._fire(m, f"choose_{picked.value}")

    def _fire(self, m: StepModel, trigger: str) -> None:
        was = self.flow.states[m.state]
        m.misses = 0
        self.machine.events[trigger].trigger(m)
        if was.interrupt and m.state == was.name:  # `back`: resume where the keyword came
            back = str(m.answers.pop(RETURN_TO, self.flow.initial))
            self.machine.set_state(back if back in self.flow.states else self.flow.initial, m)
            if self.flow.states[m.state].end:  # resting: a reminder, not the whole closing again
                state = self.flow.states[m.state]
                m.replies.append(Reply(state.idle or state.prompt, self._params(m)))
                return
        self._prompt(m)

    def _miss(self, m: StepModel, state: StateSpec) -> None:
        m.misses += 1
        if m.misses >= MISSES_BEFORE_HUMAN:
            m.misses = 0
            m.events.append(Event("offered_human", {"state": m.state}))
            m.replies.append(Reply("offer_human"))
        key = "reprompt_text" if state.input else "reprompt"
        m.replies.append(Reply(key, choices=self._choices(state)))

    def _choices(self, state: StateSpec) -> tuple[tuple[str, str], ...]:
        return tuple((c.value, c.label) for c in self.flow.choices_of(state))

    def _params(self, m: StepModel) -> dict[str, Any]:
        params: dict[str, Any] = {"daypart_key": _daypart(m.now)}
        if "_priority" in m.answers:
            params["response_time_key"] = f"response_time.{m.answers['_priority']}"
        return params

    def _prompt(self, m: StepModel) -> None:
        state = self.flow.states[m.state]
        m.replies.append(Reply(state.prompt, self._params(m), self._choices(state)))

    def choice_spec(self, state: str, value: str) -> ChoiceSpec | None:
        return next((c for c in self.flow.choices_of(self.flow.states[state]) if c.value == value),
                    None)
