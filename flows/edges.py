"""The flow as the engine's transitions machine: its states with their on_enter actions, and
an edge for each choice, answer, skip or pass of a state and each branch it may take."""

from __future__ import annotations

from typing import Any, cast

from transitions import EventData, State

from flows.actions import ACTIONS, StepModel
from flows.definition import BACK, Branch, Flow, StateSpec
from flows.moves import PASS
from flows.steps import Stepper
from flows.types import Reply

Edge = dict[str, Any]


def _call(name: str) -> Any:
    """A callback that runs the action `name` on the step model."""
    action = ACTIONS[name]

    def run(event: EventData) -> None:
        action(cast(StepModel, event.model))

    return run


def _say(key: str, engine: Stepper) -> Any:
    """A callback that says the text `key` (a choice's `say`)."""
    def run(event: EventData) -> None:
        m = cast(StepModel, event.model)
        m.replies.append(Reply(key, engine.params(m, key)))  # e.g. {emergency_contacts}

    return run


def states(flow: Flow) -> list[State]:
    """The machine's states, each running its on_enter actions."""
    return [State(s.name, on_enter=[_call(a) for a in s.on_enter])
            for s in flow.states.values()]


def transitions(engine: Stepper) -> list[Edge]:
    """The machine's transitions: one edge a choice, answer, skip or pass and branch."""
    flow = engine.flow
    out: list[Edge] = []
    for s in flow.states.values():
        for c in flow.choices_of(s):
            branches = c.goto or s.goto or (Branch(BACK),)
            say = [_say(c.say, engine)] if c.say else []
            out += _edges(engine, f"choose_{c.value}", s, branches, c.actions, say)
        if s.input:
            out += _edges(engine, "answer", s, s.goto, (), [])
        if s.skippable:
            out += _edges(engine, "skip", s, s.goto or flow.choices_of(s)[0].goto, (), [])
        if s.passes is not None:
            out += _edges(engine, PASS, s, s.passes[1], (), [])
    return out


def _edges(engine: Stepper, trigger: str, s: StateSpec, branches: tuple[Branch, ...],
           actions: tuple[str, ...], say: list[Any]) -> list[Edge]:
    """The edges of one trigger from `s`, one a branch (its condition, if any, checked)."""
    edges = []
    for b in branches:
        edge: Edge = {
            "trigger": trigger, "source": s.name,
            "dest": None if b.target == BACK else b.target,
            "before": [*say, *(_call(a) for a in actions)],
        }
        if b.condition is not None:
            cond = engine.flow.conditions[b.condition]
            edge["conditions"] = [lambda ev, c=cond: engine.holds(c, ev.model)]
        edges.append(edge)
    return edges
