"""Keyword commands that work in every state, and the texts the engine itself says."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

from flows.actions import (
    ACTIONS,
    CRISIS_FLAGS,
    FOCUS,
    INTAKE_LAPSED,
    NO_CONTACT_SAID,
    UNSAFE_NOW,
    WRITER,
    StepModel,
    resting_message,
)
from flows.steps import Stepper
from flows.text import SENTENCES, Phrases, command_of, fold
from flows.triage import URGENT
from flows.types import LANGUAGES, Event, Reply

WIT = timezone(timedelta(hours=9))
# Commands the engine handles itself; the others are interrupt states named by the flow.
# Questions about the service, asked in any state ("ini rahasia kah?", "jam brapa buka?"):
# answered, then the current question again, the family's place kept.
QUESTIONS = {"ask_secret": "faq.secret", "ask_hours": "menu.hours_text", "ask_cost": "faq.cost",
             "ask_when": "faq.when", "ask_documents": "faq.documents", "ask_bot": "faq.bot",
             "ask_aid": "faq.aid", "ask_appointment": "faq.appointment",
             "ask_together": "faq.together", "ask_phone": "faq.phone"}
# "english please", "pake bahasa indonesia": that language, whichever is on (LANGUAGE /
# BAHASA goes to the next one: a walk-through's English speaker had no plain way there)
TO_LANGUAGE = {"to_english": "en", "to_indonesian": "id"}
ENGINE_COMMANDS = ("restart", "language", "human", "info", "erase", "data", "correct",
                   "mistyped", "exit", "unsubscribe", "thanks", "later", "go_on", *QUESTIONS,
                   *TO_LANGUAGE, "not_understood", "joking", "hello")
# "nanti dulu", "tra jadi" mid-intake: a pause, the answers kept (a walk-through: only
# BERHENTI worked, and it withdrew consent: "mau lanjut" an hour later began from zero);
# "lanjut" after it asks the question again. LATER marks the pause.
LATER = "_later"
# The flow's states after consent was refused: PETUGAS there says how to be put through (it
# had said "after you answer the consent question", which they had).
REFUSED = ("refused", "refused_after_emergency")
# After a refusal, words of consent ("ok sa setuju") go back to RECONSIDERED, the danger
# question, and on to the consent question CONSENT.
CONSENT, RECONSIDERED = "consent", "danger"
AGREE_WORDS = frozenset({"setuju", "agree", "consent"})  # "oke" after a refusal is no consent
# ... and words that want to go on, among the fillers ("sa mau cerita"): the consent
# question again, with why it is needed ("oke", "iya kak" acknowledge the refusal)
GO_ON_WORDS = frozenset({"cerita", "lanjut", "bicara", "tanya", "bantu", "dibantu", "tolong",
                         "konsultasi", "curhat", "talk", "tell", "continue", "help"})
# A button that works as a keyword ("cmd:unsubscribe": the "Berhenti" button under every
# broadcast on Telegram), whatever question the conversation is at.
COMMAND_BUTTON = "cmd:"
# How a subscription to broadcasts was asked for, by the command that opened it.
SUBSCRIBE_SOURCE = {"subscribe": "keyword", "subscribe_link": "link"}
# Commands after which a resting conversation is reminded where it stands (the others' own
# answer says enough: "your message was added to the case" after HAPUS would be wrong).
RESTING_REMINDER = ("language", *TO_LANGUAGE, "info", "unsubscribe", "not_understood",
                    *(q for q in QUESTIONS if q != "ask_when"))
# The engine's texts for a message that answered nothing (asked again, more simply, or left):
# while a person holds the case, such a message is the person's to read (bot.pipeline.routing);
# among ENGINE_KEYS below, so each is in every catalog
NOT_UNDERSTOOD = frozenset({"reprompt", "reprompt_story", "reprompt_media", "reprompt_text",
                            "reprompt_media.no_case", "offer_human", "offer_human.media",
                            "offer_human.media.no_case", "moved_on", "moved_on.kept",
                            "moved_on.kept.young", "explain", "reprompt_urgent",
                            "reprompt_urgent.young", "reprompt_afraid", "reprompt_afraid.young",
                            "hello"})  # "halo kaka" to a counselor holding the case: theirs
HELPLINES = "helplines"  # the numbers only, no personal data (flows/intake.yaml)
DID_YOU_MEAN = "did_you_mean"  # the choice a sentence named, offered: "iya" takes it
FROM_STORY = "from_story"  # a question, and the choice an earlier story named for it
PRIVACY = {"erase": "privacy.erase", "data": "privacy.data", "correct": "privacy.correct"}
# Texts the engine itself says, whatever the flow: each must be in every catalog.
ENGINE_KEYS = (
    "state_lost", "language_switched", "human_requested", *sorted(NOT_UNDERSTOOD),
    "internal_error", "consent.long", *PRIVACY.values(), *QUESTIONS.values(),
    "daypart.morning", "daypart.noon", "daypart.afternoon", "daypart.night",
    "response_time.P0", "response_time.P1", "response_time.P2", "response_time.P3",
    "emergency.still_ack", "stale_choice", "safety_p1", "safety_p1.no_case",
    "human_requested.no_consent", "human_requested.no_consent.start",
    "human_requested.refused", "faq.when.no_case", "faq.when.intake_filed",
    "faq.when.intake_filed.waiting",
    "later", "later.start", "later.unsafe", "resumed", "human_requested.rest", "faq.bot",
    "writer.owner.mid_intake",
    "joking_ack", "joking_ack.selfharm", "joking_ack.no_case",
    "mistyped_ack", "case_number_noted",
    DID_YOU_MEAN, FROM_STORY,
    "quick_exit.telegram", "quick_exit.other", "emergency.still_ack.selfharm",
    "emergency.still_ack.child", "emergency.still_ack.other", "emergency.still_ack.young",
    "emergency.still_ack.selfharm.young", "emergency.still_ack.police",
    "emergency.still_ack.selfharm.other", "crisis.contact_soon", "crisis.contact_chat",
    "privacy.erase.go_on",
    "broadcast.unsubscribed",
    "response_time.P1.closed", "response_time.P2.closed", "response_time.P3.closed",
    *(f"weekday.{d}" for d in range(7)),
    *(f"crisis.p1.{g}" for g in ("selfharm", "child", "harms_others", "sexual", "injury",
                                  "violence")),
)


def daypart(now: datetime) -> str:
    hour = now.astimezone(WIT).hour
    if 4 <= hour < 11:
        return "daypart.morning"
    if 11 <= hour < 15:
        return "daypart.noon"
    if 15 <= hour < 18:
        return "daypart.afternoon"
    return "daypart.night"


def of_button(payload: str, keywords: Mapping[str, str]) -> str | None:
    """The command a command button carries (one the flow's keywords know), or None."""
    if not payload.startswith(COMMAND_BUTTON):
        return None
    command = payload[len(COMMAND_BUTTON):]
    return command if command in keywords.values() else None


def answer(engine: Stepper, m: StepModel, command: str) -> Reply:
    """The answer to a question about the service (QUESTIONS)."""
    key = engine.form(m, QUESTIONS[command])  # someone else on the phone: no case
    if command == "ask_when" and not m.has_case and key == QUESTIONS[command]:
        key = f"{key}.no_case"  # "kapan petugas hubungi?" mid-intake: after the questions
    elif command == "ask_when" and INTAKE_LAPSED in m.flags and key == QUESTIONS[command]:
        key = f"{key}.intake_filed"  # left half-way and filed (walk S-6): passed on anyway
        if NO_CONTACT_SAID in m.flags:  # ...before she said how to reach her (walk T-4):
            key += ".waiting"  # staff answer after she writes, not "will contact you"
    return Reply(key, engine.params(m, key))


def questions_in(text: str, keywords: dict[str, str], phrases: Phrases,
                 asides: Phrases = ()) -> list[str]:
    """The questions about the service a message of several asks, in order, each once, when
    every part of it is one (or a greeting or thanks): "selamat sore, kantor LK3 dimana ya?
    buka jam brp? bayar ka?" (a walk-through: only the welcome); a person asked for in one
    of them ("ini bot ka? sa mo bicara deng orang", walk O) comes last, as HUMAN. [] otherwise."""
    parts = [p for p in SENTENCES.split(text) if p.strip()]
    if len(parts) < 2:  # (most messages: one part, already read whole)
        return []
    found = [command_of(p, keywords, phrases) or
             next(("aside" for pattern, _ in asides if pattern.fullmatch(fold(p))), None)
             for p in parts]  # "sa mo datang langsung", "sa mo tanya dulu" beside them
    if not all(f in QUESTIONS or f in ("hello", "thanks", "human", "aside") for f in found):
        return []
    asked = list(dict.fromkeys(f for f in found if f in QUESTIONS))
    return [*asked, "human"] if "human" in found else asked


def asks_when_in(text: str, keywords: dict[str, str], phrases: Phrases) -> bool:
    """A message of several parts one of which asks when staff will get in touch, whatever
    the rest says: "halo kaka, kapan petugas telpon? sa tunggu dari pagi" (walk T-3: kept as
    her kampung, and she never heard her intake had been filed as a case)."""
    parts = [p for p in SENTENCES.split(text) if p.strip()]
    return len(parts) > 1 and any(command_of(p, keywords, phrases) == "ask_when" for p in parts)


# a keyword's answer; True: said all there is (no question asked again after it)
Handler = Callable[[Stepper, StepModel, str, Sequence[str]], bool]


def run(engine: Stepper, m: StepModel, command: str, also: Sequence[str] = ()) -> None:
    """Answer a keyword; most then ask the current question again. `also`: more questions
    about the service the same message asked."""
    m.events.append(Event("keyword", {"command": command, "state": m.state}))
    flow = engine.flow
    handler = _interrupt if command in flow.interrupts else _HANDLERS.get(command) or \
        (_question if command in QUESTIONS else _privacy if command in PRIVACY else
         _to_language if command in TO_LANGUAGE else None)
    if handler is not None and handler(engine, m, command, also):
        return None  # said all there is (a pause, a quick exit, the question moved on)
    return _ask_again(engine, m, command)


def _ask_again(engine: Stepper, m: StepModel, command: str) -> None:
    """After most keywords: the question again (short after a question about the service),
    or at rest where things stand."""
    flow = engine.flow
    state = flow.states[m.state]
    if not state.end and m.state != flow.initial and (command in QUESTIONS or
                                                      command == "info"):
        # the question just read, asked again in its short form where it has one (walk M:
        # "ini rahasia ka?" at consent had the seven lines of the consent text again)
        engine.prompt(m, short=True)
    elif not state.end or command in flow.interrupts or command == "restart":
        engine.prompt(m)
    elif command in RESTING_REMINDER:  # at rest: where things stand, after a change of words
        engine.rest(m, state, moved=True)  # in the forms for who writes (a child, a phone
        # someone else reads), and the self-harm lines where wanting to die was told


def _interrupt(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """A keyword the flow answers with a state of its own (DARURAT, MENU, LANGGANAN...)."""
    if command in SUBSCRIBE_SOURCE:
        m.answers["_sub_source"] = SUBSCRIBE_SOURCE[command]
    if command == "emergency":
        m.flag("emergency_keyword")
        m.answers.pop(FOCUS, None)  # the general emergency message
        if engine.flow.begins_again(engine.flow.states[m.state]):  # after a closed case:
            engine.enter(m, engine.flow.initial)  # once safe, the welcome back, as after
            # danger words (walk U-8: "1 Sudah aman" was "Terima kasih. Jika butuh bantuan
            # lagi...", the new P0 case waiting, and no way on but writing again)
    engine.interrupt(m, engine.flow.interrupts[command])
    return False


def _restart(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    ACTIONS["forget"](m)
    engine.enter(m, engine.flow.initial)
    return False


def _language(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    m.language = LANGUAGES[(LANGUAGES.index(m.language) + 1) % len(LANGUAGES)]
    m.replies.append(Reply("language_switched"))
    return False


def _to_language(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    m.language = TO_LANGUAGE[command]
    m.replies.append(Reply("language_switched"))
    return False


def _human(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """A request a person can see: on a case, after consent, or after danger words or
    answers that make it P0/P1 (a walk-through: "afraid" at the danger question, then
    PETUGAS, was told to answer the consent question first)."""
    flow = engine.flow
    for question in also:  # "ini bot ka? sa mo bicara deng orang": answered first
        m.replies.append(answer(engine, m, question))
    ACTIONS["human_requested"](m)
    if m.consented() or m.has_case or any(f in CRISIS_FLAGS for f in m.flags) or \
            m.triage.assess(m.facts()).priority in URGENT:  # they asked: vital interest
        ACTIONS["open_case_now"](m)
        # at rest (refused, closing) there is nothing to go on with (a re-check of a
        # walk-through: "Sambil menunggu, mari kita lanjutkan", and no question)
        rest = flow.states[m.state].end
        m.replies.append(Reply("human_requested.rest" if rest else "human_requested"))
    elif m.state in REFUSED:  # they did answer: say how to be put through after all
        m.replies.append(Reply("human_requested.refused"))
    elif m.state == HELPLINES:  # "numbers only" chosen, then a person wanted (walk T-9: no
        m.replies.append(Reply("human_requested.no_consent.start"))  # question followed):
        engine.enter(m, flow.initial)  # the welcome's choice again, asked
    else:  # at the greeting no consent question has been shown yet (a walk-through)
        m.replies.append(Reply("human_requested.no_consent.start"
                               if m.state == flow.initial else "human_requested.no_consent"))
    return False


def _info(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    m.replies.append(Reply("consent.long"))
    return False


def _question(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """Questions about the service, each answered ("kantor di mana? buka jam brp?")."""
    for question in (command, *also):
        m.replies.append(answer(engine, m, question))
    here = engine.flow.states[m.state]
    if "ask_when" in (command, *also) and here.end and not here.interrupt and m.has_case:
        # "kapan petugas telpon?" at rest: a message for the case too, so a late case's
        # staff hear she is waiting (walk S-8)
        m.events.append(resting_message(m))
    return False


def _thanks(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """"ok trima kasih kaka": welcome; a question is asked again, at rest nothing more."""
    m.replies.append(Reply("thanks"))
    here = engine.flow.states[m.state]
    if here.lenient and here.save:  # the optional rating after a close: left (a
        m.answers[here.save] = "skipped"  # walk-through's family was asked it twice)
        engine.fire(m, "skip", quiet=True)
        return True
    return False


def _hello(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    m.replies.append(Reply("hello"))  # "halo kaka" mid-intake: greeted back, the question
    return False


def _unsubscribe(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    m.events.append(Event("unsubscribe", {"reason": "keyword"}))  # BERHENTI INFO: broadcasts
    m.replies.append(Reply("broadcast.unsubscribed"))  # only, every topic
    return False


def _privacy(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """DATA, UBAH, HAPUS: a request with a deadline; no copy promised someone else writing
    on the owner's phone (a husband: H1)."""
    other = WRITER in m.answers
    m.events.append(Event("privacy_request", {"right": command, "other_writer": True}
                          if other else {"right": command}))
    m.replies.append(Reply(engine.form(m, PRIVACY[command])))
    if command == "erase" and not engine.flow.states[m.state].end:  # mid-intake: asked for
        m.replies.append(Reply(engine.form(m, "privacy.erase.go_on")))  # her data erased,
        # then the next question for more (walk T-6): stop, or go on, her choice said plainly
    return False


def _later(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """A pause, no question after it; before any answer ("tra usah sudah, sa su baik" at
    the greeting) nothing is kept. Someone near or looking (UNSAFE_NOW, flows.hearing
    `unsafe`): she hears that nothing more is sent until she writes."""
    m.answers[LATER] = m.state
    unsafe = UNSAFE_NOW in m.flags
    m.events.append(Event("paused_by_family", {"state": m.state, "unsafe": True} if unsafe
                          else {"state": m.state}))
    m.replies.append(Reply("later.start" if m.state == engine.flow.initial
                           else engine.form(m, "later.unsafe" if unsafe else "later")))
    return True  # ("kamu" to a child)


def _go_on(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    m.answers.pop(LATER, None)  # "lanjut" after a pause: the question again
    m.replies.append(Reply("resumed"))
    return False


def _exit(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """Quick exit: one neutral line, no question after it."""
    m.events.append(Event("quick_exit", {"channel": m.channel}))
    m.replies.append(Reply("quick_exit.telegram" if m.channel == "telegram"
                           else "quick_exit.other"))
    return True


def _joking(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """"sa bercanda saja" after words of danger (a walk-through: after "lebih baik sa tra
    ada", "Maaf, saya belum mengerti"): the words still count (never below what they set),
    staff read that they were called a joke, and the person hears where to turn if it was
    not one."""
    hit = [f for f in m.flags if f in CRISIS_FLAGS]
    if hit:
        m.flag("crisis_disputed")
        m.events.append(Event("crisis_disputed", {"flags": hit, "said": "joking"}))
        key = "joking_ack.no_case" if not m.has_case else \
            "joking_ack.selfharm" if "crisis_selfharm" in hit else "joking_ack"
        m.replies.append(Reply(key))
    return False


def _not_understood(engine: Stepper, m: StepModel, command: str, also: Sequence[str]) -> bool:
    """"sa tra mengerti", "maksudnya apa": the question in plainer words now (a re-check: at
    the consent question a grandmother was told "Maaf, saya belum mengerti" herself), not
    after two misses; at rest, where it stands."""
    here = engine.flow.states[m.state]
    plain = f"{here.prompt}.plain"
    if not here.end and engine.has_text(m, plain):  # the codeword: what it is for
        key = engine.form(m, plain)
        m.replies.append(Reply(key, engine.params(m, key)))
        engine.prompt(m, short=True)
        return True
    if here.skippable and here.input and here.save:  # an optional text: not kept as
        m.answers[here.save] = "skipped"  # the answer (a walk-through: "sa tra
        engine.fire(m, "skip")  # mengerti" was a safe time), the next question
        return True
    if not here.end:
        m.replies.append(Reply("explain"))
        engine.prompt(m, short=True)
        return True
    return False


_HANDLERS: dict[str, Handler] = {
    "restart": _restart, "language": _language, "human": _human, "info": _info,
    "thanks": _thanks, "hello": _hello, "unsubscribe": _unsubscribe, "later": _later,
    "go_on": _go_on, "exit": _exit, "joking": _joking, "not_understood": _not_understood,
}
