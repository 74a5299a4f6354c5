"""The engine's machine dispatches a trigger exactly as transitions' own Machine does."""

from __future__ import annotations

from typing import Any

import pytest
from transitions import Machine, MachineError, State

from flows.machine import LeanMachine


class Model:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.allowed = True


def _build(cls: type[Machine], log: list[str]) -> Machine:
    def note(what: str) -> Any:
        return lambda ev: log.append(f"{what}:{ev.state.name}")

    states = [State("a"), State("b", on_enter=[note("enter_b")]),
              State("c", on_enter=[note("enter_c")])]
    transitions = [
        {"trigger": "go", "source": "a", "dest": "b",
         "conditions": [lambda ev: not ev.model.allowed], "before": [note("before_refused")]},
        {"trigger": "go", "source": "a", "dest": "c", "before": [note("before_c")],
         "after": [note("after_c")]},
        {"trigger": "stay", "source": "c", "dest": None, "before": [note("internal")]},
        {"trigger": "back", "source": "c", "dest": "a", "unless": [lambda ev: ev.model.allowed]},
    ]
    return cls(model=None, states=states, transitions=transitions, initial="a",
               auto_transitions=False, send_event=True, model_override=False)


@pytest.mark.parametrize("script", [["go", "stay", "back"], ["go", "back", "stay"]])
def test_the_lean_machine_runs_triggers_as_transitions_does(script: list[str]) -> None:
    """Conditions (and unless) in order, before callbacks, the state change, on_enter, after
    callbacks, internal transitions: the same states, results and callback order."""
    outcomes = []
    for cls in (Machine, LeanMachine):
        log: list[str] = []
        machine = _build(cls, log)
        model = Model(log)
        model.state = "a"
        results = [machine.events[t].trigger(model) for t in script]
        outcomes.append((results, model.state, log))
    assert outcomes[1] == outcomes[0]
    assert outcomes[0][2][:3] == ["before_c:a", "enter_c:c", "after_c:c"]


def test_a_trigger_the_state_does_not_answer_is_an_error_as_in_transitions() -> None:
    for cls in (Machine, LeanMachine):
        machine, model = _build(cls, []), Model([])
        model.state = "b"
        with pytest.raises(MachineError):
            machine.events["go"].trigger(model)


@pytest.mark.parametrize("extra", [{"before_state_change": [lambda ev: None]},
                                   {"finalize_event": [lambda ev: None]},
                                   {"queued": True}])
def test_what_the_lean_machine_would_not_run_it_refuses_when_built(extra: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="LeanMachine"):
        LeanMachine(model=None, states=["a", "b"], initial="a", auto_transitions=False,
                    send_event=True, model_override=False,
                    transitions=[{"trigger": "go", "source": "a", "dest": "b"}], **extra)
    with pytest.raises(ValueError, match="on_exit"):
        LeanMachine(model=None, states=[State("a", on_exit=[lambda ev: None]), "b"],
                    initial="a", auto_transitions=False, send_event=True, model_override=False,
                    transitions=[{"trigger": "go", "source": "a", "dest": "b"}])
