"""What the engine does with a message that calls an answer a mistake ("salah ketik",
"bukan ekonomi"): which answer (flows/corrections.py reads it), taken back, what was meant
read as the answer to its question, and the reasons it had set withdrawn from the case."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flows import commands, corrections, danger
from flows.actions import OFFER, StepModel, case_now
from flows.choices import choice, pick
from flows.runner import Runner
from flows.text import command_of, fold
from flows.types import Event, Inbound, Reply

RESUME_AFTER = timedelta(hours=24)  # a message after a day away: the question again


def correction(engine: Runner, m: StepModel, inbound: Inbound, command: str | None,
               starting: bool, away: timedelta) -> corrections.Correction | None:
    """The answer a message takes back, and what it meant instead (flows/corrections.py);
    in a sentence not in a first message, nor one after a day away (the question then
    comes again); "salah ketik" alone always (after danger words: recorded)."""
    phrasing = engine.bundle.corrections
    if command not in (None, "mistyped", "correct"):
        return None
    if inbound.payload or starting or away > RESUME_AFTER:
        return corrections.Correction(None, "") if command == "mistyped" else None
    here = engine.flow.states[m.state]
    whole = fold(inbound.text)  # (read already: one sentence is the whole message)
    fix = corrections.read(
        inbound.text, phrasing,
        lambda said: command == "mistyped" if said == whole else
        command_of(said, engine.bundle.keywords, engine.bundle.phrases) == "mistyped",
        lambda words, about: _named_answer(engine, m, words, about),
        lambda word: None if here.end or here.interrupt or phrasing is None else
        corrections.asked_about(m, phrasing, word)) if phrasing is not None else None
    if command == "correct":  # "sa pu umur salah" mid-intake: the age asked again; else
        return fix if fix is not None and fix.question is not None else None  # UBAH
    if fix is not None and fix.weak and (m.answers.get(OFFER) or ("",))[0] == m.state:
        fix = corrections.Correction(m.state, fix.rest, weak=True)  # "bukan, maksudnya
        # 3" to "Maksud Anda: ...?": no to the offer, and 3 is this question's answer
    return fix or (corrections.Correction(None, "") if command == "mistyped" else None)

def correction_at_rest(engine: Runner, m: StepModel, inbound: Inbound,
                       starting: bool) -> bool:
    """At rest, words that name an answer as wrong, with what was meant after
    them ("sa pu distrik salah, sa tinggal di wania"; walk U-12: "Pesan Anda sudah kami
    tambahkan ke kasus"): UBAH, the right to correct, her words with it for staff. The
    intake is over: nothing is taken back (flows/corrections.py)."""
    phrasing = engine.bundle.corrections
    if phrasing is None or inbound.payload or starting or \
            not engine.flow.states[m.state].end:
        return False
    fix = corrections.read(inbound.text, phrasing, lambda said: False,
                           lambda words, about: None,
                           lambda word: next(iter(phrasing.about_questions.get(word, ())), None))
    return fix is not None and fix.question is not None


def _named_answer(engine: Runner, m: StepModel, words: str, about: list[str]) -> str | None:
    """The question of this intake whose kept answer `words` name ("ekonomi": the
    category, "bukan ekonomi"; among the last answers, or `about`, questions the message
    named: "umur salah, sa bukan 18 keatas"), or None: a number only the answer just
    before ("bukan 3"); not at rest or in a safety question, not words this question's
    own choices take ("bukan anak" to "Maksud Anda: Anak?" says no to the offer), nor a
    yes, no or don't know, nor a form of address."""
    here = engine.flow.states[m.state]
    if words.isdigit():
        asked = corrections.just_before(m)
        names = [asked] if asked is not None else []
    elif here.end or here.interrupt or pick(engine, m, here, words) is not None or \
            engine.bundle.answers.shared_value(words) is not None or \
            (engine.bundle.corrections and engine.bundle.corrections.aside.fullmatch(words)):
        return None  # "bukan kk" says no to the helper: it names no sibling
    else:
        names = [*about, *corrections.answered(m), *corrections.long_ago(engine, m)]
    for name in names:
        state = engine.flow.states.get(name)
        if state is None or not state.save or state.save not in m.answers:
            continue
        picked = pick(engine, m, state, words)
        if picked is not None and picked.value == m.answers[state.save]:
            return name
    return None

def correct(engine: Runner, m: StepModel, inbound: Inbound, fix: corrections.Correction) -> None:
    """Take an answer back (flows/corrections.py) and read what was meant as the answer
    to its question, as any answer is read; an answer so taken is said back ("Saya
    catat: ..."). Nothing meant: the question again (at rest, where things stand)."""
    m.events.append(Event("keyword", {"command": "mistyped", "state": m.state}))
    reasons = set(m.triage.assess(m.facts()).reasons)
    back = corrections.take_back(engine, m, fix.question) if fix.question != m.state \
        else None  # (an offer said no to: this question's answer follows)
    if not fix.rest:
        here = engine.flow.states[m.state]
        _withdraw(m, reasons)
        return engine.rest(m, here, moved=True) if here.end else engine.prompt(m)
    at = len(m.replies)
    engine.handle(m, replace(inbound, text=fix.rest), False, timedelta(0), meant=True)
    state = engine.flow.states.get(back or "")
    chose = choice(engine, state, m.answers.get(state.save or "")) \
        if state is not None and back != m.state else None
    if chose is not None and not any(r.key == danger.NOTED for r in m.replies[at:]):
        m.replies.insert(at, Reply(danger.NOTED, {"chosen_key": chose.label}))
    elif back is not None and m.state == back and \
            m.replies[at:] and m.replies[-1].key in commands.NOT_UNDERSTOOD:
        m.replies.pop()  # what was meant answers nothing: the question itself again, not
        m.misses = 0  # "Mohon jawab dulu" over a list the family never saw as asked
        engine.prompt(m)  # again (walk R: read as the question before)
    _withdraw(m, reasons)

def _withdraw(m: StepModel, before: set[str]) -> None:
    """Reasons an answer taken back had set, gone from the case (walk R: "4" meant "7",
    and staff read "kekerasan seksual diungkapkan" on an old man's case); not where
    danger words were called a mistake, and words of danger stay (their flags stay), as
    does the priority (storage: it never falls)."""
    gone = before - set(m.triage.assess(m.facts()).reasons)
    if any(e.kind == "crisis_disputed" for e in m.events):
        return  # danger words called a mistake: all they set stays for staff to check
    if gone and m.has_case:
        event = case_now(m)
        event.data["withdrawn"] = sorted(gone)
        m.events.append(event)
