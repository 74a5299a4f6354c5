"""What the rules that run in every state (keyword commands: flows.commands; danger words:
flows.danger) use of the engine that calls them: the flow, and the moves it makes.

flows.engine imports those rules; they name this Protocol instead of the engine, so the
imports go one way (the engine satisfies it by its shape).
"""

from __future__ import annotations

from typing import Any, Protocol

from flows.actions import StepModel
from flows.definition import ChoiceSpec, Condition, Flow, StateSpec
from flows.types import Inbound


class Stepper(Protocol):
    flow: Flow

    def save_text(self, m: StepModel, state: StateSpec, inbound: Inbound, text: str) -> None:
        """Keep a text answer (and its media) where the state saves it."""
        ...

    def fire(self, m: StepModel, trigger: str, before: frozenset[str] | None = None,
             before_p1: frozenset[str] | None = None, quiet: bool = False) -> None:
        """Fire a transition and say what follows (`quiet`: only move)."""
        ...

    def choose(self, m: StepModel, state: StateSpec, choice: ChoiceSpec) -> bool:
        """Take `choice` as the answer and move, saying nothing; whether the answer made the
        conversation P0."""
        ...

    def noted(self, m: StepModel, same: bool = True, words: bool = False) -> bool:
        """A new urgent answer after "are you safe now?" was answered: noted in one line
        and staff told, not the question again; whether it was so."""
        ...

    def interrupt(self, m: StepModel, target: str) -> None:
        """Enter an interrupt state, remembering where the person was."""
        ...

    def enter(self, m: StepModel, target: str) -> None:
        """Enter a state and run its on_enter actions."""
        ...

    def prompt(self, m: StepModel, short: bool = False) -> None:
        """Ask the current question."""
        ...

    def rest(self, m: StepModel, state: StateSpec, moved: bool = False) -> None:
        """Answer a message in a resting state."""
        ...

    def params(self, m: StepModel, key: str | None = None) -> dict[str, Any]:
        """What a text needs filled in."""
        ...

    def has_text(self, m: StepModel, key: str) -> bool:
        """Whether the catalog of the person's language has the text `key`."""
        ...

    def form(self, m: StepModel, key: str) -> str:
        """`key`'s text for who writes: someone else on the phone, a child, or as it is."""
        ...

    def holds(self, cond: Condition, m: StepModel) -> bool:
        """Whether `cond` holds for the conversation (a `priority` one: its triage now)."""
        ...

    def labels(self, state: str, language: str) -> list[str]:
        """A state's choice labels as typed answers are compared with them."""
        ...

    def choices(self, state: StateSpec) -> tuple[tuple[str, str], ...]:
        """A state's choices as a reply's buttons: (value, label key)."""
        ...
