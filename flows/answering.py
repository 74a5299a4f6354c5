"""A message read as the answer to the question asked: a choice (its words, a button, an
offer taken), a text kept where the state saves it, a skip; else a miss."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from flows import commands, corrections, safety
from flows.actions import (
    AFTER_HOURS,
    CONSENT_CHOICES,
    FOLLOW_UP,
    HELD_FOR_WRITER,
    OFFER,
    PHONE_WATCHED,
    RETURNING,
    SKIP_WORDS,
    STORY,
    TOLD,
    TOLD_STORY,
    WRITER,
    StepModel,
    case_now,
    resting_message,
)
from flows.answers import only_signs, only_tears
from flows.choices import agrees, choice, guess, pick
from flows.definition import ChoiceSpec, StateSpec
from flows.hearing import PIECE_WORDS
from flows.misses import miss, unsure
from flows.moves import enter, fire, rest
from flows.notices import asked_only
from flows.offers import (
    ANSWER_WORDS,
    beside_unsure,
    kept,
    names,
    offer_taken,
    remember,
    suggested,
    told_stands,
)
from flows.prompts import prompt
from flows.runner import Runner
from flows.text import MAX_ANSWER_CHARS, clean, command_of, fold, keyword
from flows.types import Event, Inbound, Reply
from flows.wording import form, has_text, variant

STORY_THANKED = 7  # words of a message that answers nothing, thanked as a story
LEADING_NUMBER = re.compile(r"\s*(\d)\b")  # an optional question's answer, words after it
WORD_WORDS = 4  # at most, in an answer to a question that `expects: word` (the codeword)
Before = frozenset[str] | None
# a question after a closed case, this long after the family's last word at rest (the close,
# the rating): about that case, for a person (`follows_up`); later, a new request
FOLLOW_UP_WITHIN = timedelta(days=14)
ASKS = re.compile(r"\b(?:tanya|tanyakan|bertanya|nanya|ask|asking)\b")  # "sa mo tanya lagi"


def story(text: str) -> bool:
    """A story told, thanked before the question is asked again: STORY_THANKED words in
    letters we read ("pagi jam 9-11" is a time; a message in a script we do not read is not
    thanked for what it said)."""
    return sum(1 for w in fold(text).split() if w.isascii() and w.isalpha()) >= STORY_THANKED


def welcome(engine: Runner, m: StepModel, text: str, pieces: list[str]) -> None:
    """A first message that is no danger: the welcome, thanking for a story told first."""
    remember(engine, m, text)
    told = story(text) and not pieces and "?" not in text and \
        not any(e.kind == "noticed" for e in m.events)
    if told:  # the welcome thanks them for it first (walk Q: a grandmother's whole
        m.answers[TOLD_STORY] = "yes"  # story had the welcome alone, as to "halo");
    prompt(engine, m)  # not a question, nor a story a notice answered (its text came
    m.answers.pop(TOLD_STORY, None)  # first); for this welcome only


def follows_up(engine: Runner, m: StepModel, state: StateSpec, text: str,
               away: timedelta) -> bool:
    """A question soon after a closed case (walk U-11: two days after a referral, "kaka sa
    mo tanya lagi, kapan sa ke uptd?" had "Mau melanjutkan dari pertanyaan terakhir atau
    mulai dari awal?", and Sari, who made the referral, never heard it): at the rest after
    a close (`done`), within FOLLOW_UP_WITHIN, a "?" or asking in words. Not from someone
    else on the phone (Never 5: the welcome, as to anyone); not danger words (the danger
    texts, a new case, before this)."""
    return engine.flow.begins_again(state) and RETURNING in m.flags and m.has_case and \
        WRITER not in m.answers and away <= FOLLOW_UP_WITHIN and \
        ("?" in text or bool(ASKS.search(fold(text))))


def follow_up(engine: Runner, m: StepModel) -> None:
    """The question to a person, as PETUGAS at rest is: a case linked to the closed one
    (P2, its reason `follow_up`), her words on it, the counselor who served her told with
    the button to take it (bot.casework.earlier); she is told so. She stays at rest: her
    next words go to the same case; a new problem still begins the welcome back."""
    again = FOLLOW_UP in m.flags  # a second question: added, said in a line
    m.flag(FOLLOW_UP)
    m.events.append(resting_message(m))
    case = case_now(m)
    case.data[FOLLOW_UP] = True  # the earlier case's consent stands for it (the pipeline)
    m.events.append(case)
    m.replies.append(Reply(form(engine, m, "done.follow_up.again" if again else
                                "done.follow_up")))


def answer(engine: Runner, m: StepModel, inbound: Inbound, state: StateSpec,
           whole: str | None = None) -> None:
    """Read `inbound` as the answer to `state` (`whole`: the message as written, where a
    notice answered some of its words: read whole when the rest answers nothing, as
    "jangan telpon, de bisa dengar" at the call's consent, which is "chat")."""
    value, _, asked = inbound.payload.partition("|")
    if asked and asked != m.state:  # a button from an earlier question's keyboard
        return _stale(engine, m, state, asked)
    if asked:
        inbound = replace(inbound, payload=value)
    text = clean(inbound.text)
    before = safety.p0(m) if state.name in engine.p0_states else None
    before_p1 = safety.reasons(m, "P1") if state.name in engine.p1_states else None
    if state.end:
        return _at_rest(engine, m, state, text)
    if state.lenient and state.interrupt and HELD_FOR_WRITER in m.flags:
        m.events.append(Event("not_yet_asked", {"state": m.state}))  # the rating question
        return None  # waits with the closing for her words: these bring it (walk S-13: her
        # "ok" was read as skipping a question she had not yet seen)
    if state.skippable and (keyword(text, SKIP_WORDS) or
                            (state.input and engine.bundle.answers.declined(text))):
        if state.save:
            m.answers[state.save] = "skipped"
        fire(engine, m, "skip", before, before_p1)
        return _recorded(m, state)  # LEWATI by mistake: "salah pencet" asks it again
    if state.input:
        return _text(engine, m, state, inbound, text, before, before_p1)
    if only_signs(text) and (state.name in engine.p0_states or
                             state.name in engine.p1_states):
        return miss(engine, m, state, ack=True)  # a 👍 is never "yes, a child is hurt now"
        # (H7)
    _choose(engine, m, state, inbound, text, whole, before, before_p1)


def _stale(engine: Runner, m: StepModel, state: StateSpec, asked: str) -> None:
    """A button from an earlier question's keyboard: the question asked now, or rest."""
    m.events.append(Event("stale_button", {"asked": asked, "state": m.state}))
    if engine.flow.choices_of(state) and not state.end:
        return m.replies.append(Reply("stale_choice", choices=engine.choices(state)))
    return rest(engine, m, state, moved=True) if state.end else prompt(engine, m)


def _at_rest(engine: Runner, m: StepModel, state: StateSpec, text: str) -> None:
    """A message at rest: consent given after refusing it, else a message for the case."""
    if m.state in commands.REFUSED and agrees(engine, m, text):
        # "ok sa setuju" after refusing (a walk-through: "Ketik ULANG" three times): the
        # consultation from the danger question, consent asked as it comes
        m.events.append(Event("consent_reconsidered", {"state": m.state}))
        m.replies.append(Reply("resumed"))
        enter(engine, m, commands.RECONSIDERED)
        return prompt(engine, m)
    m.events.append(resting_message(m))
    if m.state in commands.REFUSED and not m.has_case and goes_on(engine, m, text):
        # "sa mau cerita", "1", a story after refusing (walk S: "Ketik ULANG..." again and
        # again): telling staff needs consent, so the consent question again, short. With
        # a case for danger her words reach staff, and she is told so with the numbers
        m.events.append(Event("consent_asked_again", {"state": m.state}))
        m.replies.append(Reply(form(engine, m, "refused.ask")))
        enter(engine, m, commands.CONSENT)
        return prompt(engine, m, short=True)
    return rest(engine, m, state)


def goes_on(engine: Runner, m: StepModel, text: str) -> bool:
    """After refusing consent, words that go on ("sa mau cerita", "1", a story), not
    words that end it ("oke", "tra usah", "3" again, a 👍) nor a greeting alone ("sa mau
    cerita" is all fillers to the answer reader, as "ok" is: its GO_ON_WORDS tell them apart)."""
    answers, bundle = engine.bundle.answers, engine.bundle
    words = fold(text).split()
    if commands.AGREE_WORDS.intersection(words):  # weighed by `agrees`: "sa setuju? tra,
        return False  # sa tra setuju" refuses again
    if not text or only_signs(text) or answers.declined(text) or \
            (answers.acknowledges(text) and  # fillers alone ("ok", "iya kak"), no
             not commands.GO_ON_WORDS.intersection(words)) or \
            command_of(text, bundle.keywords, bundle.phrases) == "hello":
        return False
    again = pick(engine, m, engine.flow.states[commands.CONSENT], text)
    return again is None or CONSENT_CHOICES.get(again.value) == "consent"


def _text(engine: Runner, m: StepModel, state: StateSpec, inbound: Inbound, text: str,
          before: Before, before_p1: Before) -> None:
    """The answer to a question that asks for text: kept, or asked once more."""
    if not text and not inbound.media:
        return miss(engine, m, state)
    if not m.misses and unsure(engine, m, state, text):
        return None  # "sa tra tau itu" at the codeword: what one is, not the codeword
        # (a walk-through: saved as the word a counselor would say back)
    nod = state.expects is None and not state.own_words and (
        only_signs(text) or engine.bundle.answers.acknowledges(text))  # "iya" as a kampung
    if not m.misses and (nod or  # (walk U-26: kept as her place, and staff read "iya")
            (state.expects == "time" and not engine.bundle.answers.names_time(text)) or
            (state.expects == "word" and len(text.split()) > WORD_WORDS)):
        m.misses += 1  # "ya", a story: asked once more, then taken as it comes
        key = form(engine, m, f"{state.prompt}.not_{'ack' if nod else state.expects}")
        return m.replies.append(Reply(key if has_text(engine, m, key) else state.prompt))
    if nod and state.skippable:  # "iya" again: no place told, the question left
        text = "skipped"
    save_text(m, state, inbound, text)
    if state.expects == "time":
        after_hours(engine, m, state, text)
    fire(engine, m, "answer", before, before_p1)
    return _recorded(m, state)  # "salah ketik" next: the kampung, the codeword again


def _choose(engine: Runner, m: StepModel, state: StateSpec, inbound: Inbound, text: str,
            whole: str | None, before: Before, before_p1: Before) -> None:
    """The answer to a choice question: taken, offered ("Maksud Anda ...?"), or a miss."""
    picked = _refused_offer(engine, m, state, text, _read(engine, m, state, inbound, text,
                                                          whole))
    if picked is None and (offered := suggested(engine, m, state)) is not None:
        said = engine.bundle.answers.shared_value(text)
        if said == "no":  # not what was offered: the question as it is
            m.answers.pop(OFFER, None)
            m.answers.pop(TOLD, None)
            m.answers[STORY] = {k: v for k, v in (m.answers.get(STORY) or {}).items()
                                if k != state.name}  # a new dict: the step stays pure
            return prompt(engine, m)
        picked = offered if said == "yes" or (said is None and names(
            engine, m, state, text, offered)) else None
    unmatched = state.unmatched[1] if state.unmatched else None
    if (picked is None or picked.value == unmatched) and \
            (place := beside_unsure(engine, m, state, text)) is not None:
        picked = kept(engine, m, state, text, place)  # "sa tra tau distrik apa, sa
        # tinggal dekat pasar lama": the place, not "tra tau" (walk R)
    if picked is None and not asked_only(engine, m) and \
            (guessed := guess(engine, m, state, text)) is not None:
        m.answers[OFFER] = [state.name, guessed.value]  # "Maksud Anda: ...? Balas IYA"
        return prompt(engine, m)
    if picked is None and (whole is not None or any(e.kind == "noticed" for e in m.events)):
        return prompt(engine, m, short=True)  # a question answered ("sa harus pi mana?"),
        # now or before ("jgn telpon" again): not a miss; the question again, short
    if picked is None and not m.misses and unsure(engine, m, state, text):
        return None  # "sa tra tau" where "don't know" is no choice: the question, plainer
    picked = picked or kept(engine, m, state, text)  # "dekat pasar lama": said back
    if picked is None and m.misses and state.unsure and \
            engine.bundle.answers.shared_value(text) == "unknown":
        picked = choice(engine, state, state.unsure)  # and again: the choice the plainer
        # text named for the unsure ("ragu": 2 at the danger question)
    if picked is None:
        remember(engine, m, text)
        return miss(engine, m, state, story=story(text),
                    media=bool(inbound.media) and not text,
                    ack=only_signs(text) or engine.bundle.answers.acknowledges(text),
                    short=len(text.split()) <= PIECE_WORDS, tears=only_tears(text),
                    shown=bool(inbound.media) and bool(text))
    _take(engine, m, state, text, picked, before, before_p1)


def _refused_offer(engine: Runner, m: StepModel, state: StateSpec, text: str,
                   picked: ChoiceSpec | None) -> ChoiceSpec | None:
    """None where a bare no answers the offer, not the question (walk S: "tidak" to "Dari
    cerita Anda tadi: Kwamki Narama? Balas IYA" was "Tidak tahu / tidak mau menjawab", the
    Kwamki she named lost): the question is then asked as it is. A no that is itself a
    choice ("no" at a yes/no question) stays that choice."""
    if picked is None or picked.value == "no" or suggested(engine, m, state) is None:
        return picked
    return None if engine.bundle.answers.shared_value(text) == "no" else picked


def _read(engine: Runner, m: StepModel, state: StateSpec, inbound: Inbound, text: str,
          whole: str | None) -> ChoiceSpec | None:
    """The choice the message picks: an offer taken, its words or button, a leading
    number at an optional question, or the whole message where a notice took words."""
    picked = offer_taken(engine, m, state, text) if not inbound.payload else None
    picked = picked or pick(engine, m, state, text, inbound.payload)
    if picked is None and state.lenient and (lead := LEADING_NUMBER.match(text)):
        picked = pick(engine, m, state, lead.group(1))  # the rating with praise: "5 kk,
        # mantap" (walk L: the welcome again, the rating lost)
    if picked is None and whole is not None and whole != text:
        picked = pick(engine, m, state, clean(whole))
    if picked is not None and _afraid_of_being_seen(engine, m, state, picked, text, whole):
        return None  # asked again, short, as "tra usah, nanti de lihat" was
    return picked


def _afraid_of_being_seen(engine: Runner, m: StepModel, state: StateSpec,
                          picked: ChoiceSpec, text: str, whole: str | None) -> bool:
    """At the consent question, a bare "no" left beside words of fear that someone sees the
    phone ("jangan kaka nanti de lihat": don't, he will see; walk U-6) is that fear, which
    its notice answered, not a refusal of consent: no record, the intake ended, "Ketik
    ULANG". (At "may we leave a message?" the same "jangan" is the answer, and is kept.)"""
    return whole is not None and state.name == commands.CONSENT and \
        PHONE_WATCHED in m.flags and CONSENT_CHOICES.get(picked.value, "") is None and \
        engine.bundle.answers.shared_value(text) == "no"


def _take(engine: Runner, m: StepModel, state: StateSpec, text: str, picked: ChoiceSpec,
          before: Before, before_p1: Before) -> None:
    """Keep the choice picked and move on."""
    if state.save:
        picked = told_stands(engine, m, state, picked)  # "tra tau" to her own age offered
    m.answers.pop(OFFER, None)
    if state.save:
        m.answers[state.save] = picked.value
    remember(engine, m, text, ANSWER_WORDS)  # what the answer says for questions to come:
    # "sa pu ade, 16 tahun", "de 9 tahun" at who needs help is offered at the child's age
    fire(engine, m, f"choose_{picked.value}", before, before_p1)
    _recorded(m, state)


def _recorded(m: StepModel, state: StateSpec) -> None:
    """An answer given, kept: "salah ketik" next takes it back."""
    if state.save and not state.interrupt:
        corrections.record(m, state.name, False)


def save_text(m: StepModel, state: StateSpec, inbound: Inbound, text: str) -> None:
    """Keep a text answer (and its media) where the state saves it."""
    if state.save:
        m.answers[state.save] = text[:MAX_ANSWER_CHARS]
        if inbound.media:
            m.answers[f"{state.save}_media"] = [
                {"kind": x.kind, "ref": x.ref, "mime": x.mime} for x in inbound.media]


def after_hours(engine: Runner, m: StepModel, state: StateSpec, text: str) -> None:
    """A time to be called that the service does not work ("malam jam 8 saja"): staff
    see that they must write first, and the family is told the hours and that staff
    will write before calling (not for a P0, which staff answer at any hour)."""
    hours = engine.bundle.hours
    if m.triage.assess(m.facts()).priority == "P0" or \
            not engine.bundle.answers.after_hours(text, hours.open.hour, hours.close.hour):
        return  # a P0's staff call at any hour (a walk-through's father who asked to be
        # phoned now had staff read "write in the chat before calling")
    m.flag(AFTER_HOURS)
    key = f"{state.prompt}.after_hours"
    key = form(engine, m, variant(engine, m, state, key) or key)  # chose no call: not "we
    # call in service hours" (walk O)
    if has_text(engine, m, key):
        m.replies.append(Reply(key))
