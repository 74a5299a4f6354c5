"""A line said again and again: after twice in a row, its shorter form (walk S: "Ketik
ULANG untuk mulai konsultasi..." to eleven replies; "Maaf, belum saya mengerti. Kami membaca
semua pesan Anda..." seven times to a woman in danger answering in words)."""

from __future__ import annotations

from dataclasses import replace

from flows.actions import StepModel
from flows.runner import Runner
from flows.wording import has_text

SAID = "_said"  # the last such line said, and how many turns in a row it was
IN_A_ROW = 2  # said whole this many times, then short
# the lines a family may read turn after turn: a resting state's reminders (their forms for
# a case, a child, a danger told) and the question again while in danger
SHORTENED = ("helplines.idle", "refused.idle", "reprompt_urgent", "reprompt_afraid")


def shorten(engine: Runner, m: StepModel) -> None:
    """Count the turns in a row that said the same such line; from the third, its `.short`
    form where the catalog has one (a `.young` key: `<key>.short` is its young short)."""
    at = next((i for i, r in enumerate(m.replies) if r.key.startswith(SHORTENED)), None)
    if at is None:
        m.answers.pop(SAID, None)
        return
    key = m.replies[at].key
    last, times = m.answers.get(SAID) or ("", 0)
    times = times + 1 if last == key else 1
    m.answers[SAID] = [key, times]
    if times > IN_A_ROW and has_text(engine, m, f"{key}.short"):
        m.replies[at] = replace(m.replies[at], key=f"{key}.short")
