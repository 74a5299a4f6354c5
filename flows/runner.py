"""What the engine's own parts (flows.wording, flows.safety, flows.notices, ...) use of the
engine that calls them: a Stepper's moves, and the loaded flow they read.

Apart from flows.steps: flows.loader (the Bundle) imports the rules that name Stepper, so
the Protocol that names the Bundle lives above it. flows.engine imports the parts; they
name this Protocol instead of the engine, so the imports go one way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from flows.actions import StepModel
from flows.definition import StateSpec
from flows.loader import Bundle
from flows.machine import LeanMachine
from flows.steps import Stepper
from flows.text import Phrases
from flows.types import Inbound


class Runner(Stepper, Protocol):
    bundle: Bundle
    machine: LeanMachine
    notice_phrases: Phrases  # notices read without danger words: all of them
    flagging: Phrases  # beside danger words, the flags notices set (pattern, flag)

    @property
    def placeholders(self) -> dict[str, frozenset[str]]:
        """For each text key, the placeholders its texts use (in any language)."""
        ...

    @property
    def p0_states(self) -> frozenset[str]:
        """States whose answer could add a P0 reason."""
        ...

    @property
    def p1_states(self) -> frozenset[str]:
        """States whose answer could add a P1 reason."""
        ...

    @property
    def offering(self) -> tuple[StateSpec, ...]:
        """The questions a story may answer for later."""
        ...

    def handle(self, m: StepModel, inbound: Inbound, starting: bool, away: timedelta,
               meant: bool = False) -> None:
        """Answer one message (`meant`: what a correction meant, read as an answer)."""
        ...
