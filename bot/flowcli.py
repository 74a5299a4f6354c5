"""`lk3 flow check` and `lk3 flow draw`."""

from __future__ import annotations

import sys

from transitions.extensions import GraphMachine

from flows.definition import FlowError
from flows.engine import Engine
from flows.loader import flow_names


def check() -> int:
    """Load and validate every flow; print one line each."""
    failed = 0
    for name in flow_names():
        try:
            engine = Engine.load(name)
        except FlowError as exc:
            print(f"FAIL {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"ok   {name} v{engine.flow.version}: {len(engine.flow.states)} states")
    return 1 if failed else 0


def mermaid(engine: Engine) -> str:
    """The flow's Mermaid state diagram, from the same transitions the engine runs."""
    flow = engine.flow
    transitions = []
    for t in engine._transitions():
        dest = t["dest"] if t["dest"] is not None else t["source"]
        transitions.append({"trigger": t["trigger"], "source": t["source"], "dest": dest})
    machine = GraphMachine(states=list(flow.states), transitions=transitions,
                           initial=flow.initial, auto_transitions=False, graph_engine="mermaid",
                           title=f"{flow.name} v{flow.version}")
    return str(machine.get_graph().draw(None))


def draw(name: str) -> int:
    try:
        engine = Engine.load(name)
    except FlowError as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return 2
    print(mermaid(engine))
    return 0
