"""The engine's transitions machine, dispatching a trigger without the hooks it does not use.

transitions routes every trigger through layers the engine has no use for: a queue check,
machine-wide prepare/before/after/finalize hook lists (all empty here), exit callbacks (none),
and about fifteen debug/info log calls. For a step that fires one trigger those layers cost
more than the flow's own conditions and callbacks (callgrind: about 9% of a processor's
instructions per message). `LeanMachine` keeps transitions' model of states, transitions,
conditions and callbacks, and overrides only the dispatch, through the `event_cls` and
`transition_cls` extension points (as transitions' own extensions do):

- conditions are checked in order with transitions' `Condition.check` (so `unless` works);
- then the transition's `before` callbacks, the state change, the new state's `on_enter`
  callbacks, the transition's `after` callbacks, all with the `EventData` (send_event);
- a trigger that no transition of the current state answers raises `MachineError`, as
  transitions does with `ignore_invalid_triggers` off.

What it does not run it refuses at build time instead of ignoring: machine-wide hooks,
`prepare` and `on_exit` callbacks, callbacks given by name, queued processing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from transitions import EventData, Machine, MachineError
from transitions.core import Event, Transition


def _run(callbacks: Iterable[Any], event_data: EventData) -> None:
    for callback in callbacks:  # callables: names are refused when the machine is built
        callback(event_data)


class LeanTransition(Transition):
    def execute(self, event_data: EventData) -> bool:
        for condition in self.conditions:
            if not condition.check(event_data):
                return False
        _run(self.before, event_data)
        if self.dest:  # None: an internal transition, the state stays
            machine = event_data.machine
            setattr(event_data.model, machine.model_attribute, self.dest)
            event_data.state = state = machine.states[self.dest]
            _run(state.on_enter, event_data)
        _run(self.after, event_data)
        return True


class LeanEvent(Event):
    def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
        machine = self.machine
        event_data = EventData(None, self, machine, model, args, kwargs)
        state = event_data.state = machine.states[getattr(model, machine.model_attribute)]
        candidates = self.transitions.get(state.name)
        if candidates is None:
            raise MachineError(f"Can't trigger event {self.name} from state {state.name}!")
        for transition in candidates:
            event_data.transition = transition
            if transition.execute(event_data):
                event_data.result = True
                break
        return bool(event_data.result)


class LeanMachine(Machine):
    """A transitions `Machine` whose triggers run through `LeanEvent`/`LeanTransition`."""

    event_cls = LeanEvent
    transition_cls = LeanTransition

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        hooks = (self.prepare_event, self.before_state_change, self.after_state_change,
                 self.finalize_event, self.on_exception, self.on_final)
        if any(hooks) or self.has_queue or not self.send_event:
            raise ValueError("LeanMachine: machine-wide hooks, queued processing and "
                             "send_event=False are not supported")
        for state in self.states.values():
            if state.on_exit or any(isinstance(c, str) for c in state.on_enter):
                raise ValueError(f"LeanMachine: state {state.name}: on_exit callbacks and "
                                 "callbacks by name are not supported")
        for event in self.events.values():
            for transitions in event.transitions.values():
                for t in transitions:
                    if t.prepare or any(isinstance(c, str) for c in (*t.before, *t.after)):
                        raise ValueError(f"LeanMachine: {event.name} from {t.source}: prepare "
                                         "callbacks and callbacks by name are not supported")
