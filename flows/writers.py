"""Who writes on the family's phone: its owner, or someone else who says so (flows/phrases.yaml
`writers`: "ini sa anaknya, sa pake hp mama"). A walk-through's girl of 16 told of sexual
violence on her mother's phone: it went into her mother's case, she was answered as an adult,
and her mother's DATA copy would have held her words. While someone else writes (WRITER in
the answers), their texts are a child's where they are the owner's child or give their own
age, their messages are logged as OTHER_AUTHOR ("penulis lain" for staff), and the owner's
DATA copy leaves them out. The owner writes again when they say so ("ini mama lagi") or after
WRITER_LASTS of silence; the answers someone else gave are marked as theirs (BY_OTHER). Pure:
the engine and the counselor's relay both ask it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flows.actions import BY_OTHER, WRITER, YOUNG
from flows.text import Phrases, named_in
from flows.types import Event

WRITER_LASTS = timedelta(hours=6)


def who_writes(answers: dict[str, Any], text: str, writers: Phrases, away: timedelta,
               state: str | None) -> tuple[str | None, list[Event]]:
    """Update `answers` for who writes `text`, `away` after the last message (timedelta(0)
    where that is not known); (the key of the words to say to them, if any, the events)."""
    events: list[Event] = []
    if WRITER in answers and away > WRITER_LASTS:  # the owner, presumably, again
        _owner(answers, events, state, said=False)
    name = named_in(text, writers) if text else None
    if name == "owner":
        return ("writer.owner" if WRITER in answers and _owner(answers, events, state, True)
                else None), events
    if name is None or answers.get(WRITER) == name:
        return None, events
    first = WRITER not in answers
    answers[WRITER] = name
    answers.pop(YOUNG, None)  # the owner's danger words' age; theirs may follow
    events.append(Event("other_writer", {"state": state, "child": name == "child"}))
    return (f"writer.{name}" if first else None), events


def _owner(answers: dict[str, Any], events: list[Event], state: str | None,
           said: bool) -> bool:
    answers.pop(WRITER, None)
    answers.pop(YOUNG, None)
    events.append(Event("owner_writes", {"state": state, "said": said}))
    return True


def whose_answers(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Note in `after` which answers someone else on the phone gave this turn (BY_OTHER; a
    walk-through's mother's DATA copy held her daughter's answers: sexual violence, "wished
    to be dead"); an answer the owner gives again is theirs. Nothing to do, and nothing
    compared, while only the owner has written."""
    if WRITER not in after and BY_OTHER not in after:
        return
    given = {k for k, v in after.items() if not k.startswith("_") and before.get(k) != v}
    theirs = set(after.get(BY_OTHER) or ())
    theirs = theirs | given if WRITER in after else theirs - given
    if theirs:
        after[BY_OTHER] = sorted(theirs)
    else:
        after.pop(BY_OTHER, None)
