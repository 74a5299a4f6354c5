"""How a message is heard before it is answered: the keyword command or question about the
service it is, the danger words in it (with the short pieces written before it), the same
story sent twice, and words of danger at "are you safe now?"."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import NamedTuple

from flows import choices, commands, danger, safety
from flows.actions import ABOUT_OTHER, CHAT_ONLY, CRISIS_GROUPS, UNSAFE_NOW, WRITER, StepModel
from flows.crisis import Scan
from flows.definition import ChoiceSpec, StateSpec
from flows.loader import Bundle
from flows.offers import STORY_WORDS
from flows.runner import Runner
from flows.text import Phrases, clean, command_of, fold, named_in
from flows.types import Event, Inbound, Reply

QUESTION_MARKS = re.compile(r"\s*[?？¿]+\s*")  # "?" alone: the family did not understand
LAST_STORY = "_last_story"  # a digest of the last message of STORY_WORDS words or more
# the same one again this soon: sent twice, not said (a burst comes in one batch; an answer
# to the next question takes longer: walk L's "sa tra tau kk" a few seconds later was lost)
REPEAT_WITHIN = timedelta(seconds=2)
PIECE_WORDS = 3  # words at most of a message read as a piece of one sentence
# short messages that answered nothing, kept to be read for danger with the next ones
PIECES = "_pieces"
MAX_PIECES = 8
PIECES_WITHIN = timedelta(minutes=10)  # from the message before
# commands a sentence of a longer message may name, which never outweigh danger words in it
SOFT_COMMANDS = frozenset({"later", "hello", "thanks", "go_on", "not_understood",
                           *commands.QUESTIONS})
# A reply that answers a choice question and that only the crisis model reads as danger: under
# this many words the answer is all it is (the model misreads short replies: "sa aman skarang,
# dia su tidur"); from it on, a story told with the answer ("iya. sa pu anak perempuan hamil,
# ternyata pelakunya om sendiri. iya"), the answer is taken and the model's text said too.
# On the 1,304 replies of the answer files no reply of 9 or more words both answers and is
# read by the model alone. (Once a case is urgent, the model is not heard at all:
# `flows.safety.urgent`, in `_model`.)
MODEL_HEARD_WORDS = 10


class Heard(NamedTuple):
    """The danger words a message is heard for (with the short pieces before it), the pieces
    kept, and the choice a story the model reads as danger answers as well."""

    scan: Scan | None
    pieces: list[str]
    also: ChoiceSpec | None


def flagging(bundle: Bundle) -> Phrases:
    """Beside danger words, what staff must know from the case's first alert: harm by the
    police, "jgn telpon" (notice_rules.flags; said without danger, the notice sets its flag)."""
    return tuple((p, bundle.notice_rules.flags[name]) for p, name in bundle.beside_danger
                 if name in bundle.notice_rules.flags)


# -- a command ------------------------------------------------------------------------------

def read_command(engine: Runner, m: StepModel, inbound: Inbound,
                 starting: bool) -> tuple[str | None, list[str]]:
    """The keyword command or question about the service a message is, if any, and
    more questions asked with it; none where its words are danger, an answer or a time."""
    command, asked = _named(engine, inbound)
    state = engine.flow.states[m.state]
    if command is None and not inbound.payload and state.input == "text" and \
            not state.own_words and not state.end and commands.asks_when_in(
                inbound.text, engine.bundle.keywords, engine.bundle.phrases):
        command = "ask_when"  # answered at a free-text question, not kept as its answer
        # (walk T-3: "...kapan petugas telpon? sa tunggu dari pagi" became her kampung);
        # the story question keeps a whole story, and its closing says when
    return _standing(engine, m, inbound, command, starting), asked


def unsafe(engine: Runner, m: StepModel, inbound: Inbound) -> bool:
    """A pause asked for because someone is near or looking, or she cannot chat now ("sa
    tra bisa chat skarang, bapa ada dekat", flows/phrases.yaml `pauses`), however it is
    answered (a pause, a message for the case at rest, beside danger words): nothing more
    is written to her until she writes again (UNSAFE_NOW; walk U-2: the danger text with
    every number went to a phone her father was looking at). Staff see she paused."""
    if inbound.payload or not said_unsafe(engine.bundle, inbound.text):
        return False
    m.flag(UNSAFE_NOW)
    return True


def said_unsafe(bundle: Bundle, text: str) -> bool:
    """Whether a message is a pause (`later`) whose words say it is not safe now."""
    return bool(text) and command_of(text, bundle.keywords, bundle.phrases) == "later" and \
        named_in(text, bundle.pauses) == "unsafe"


def _named(engine: Runner, inbound: Inbound) -> tuple[str | None, list[str]]:
    """The command a message's words or button name, and the questions about the service
    asked with it (a bare "?": not understood)."""
    bundle = engine.bundle
    command = command_of(inbound.text, bundle.keywords, bundle.phrases) \
        if not inbound.payload else \
        commands.of_button(inbound.payload, bundle.keywords)
    asked: list[str] = []  # more questions about the service in the same message
    if command is None and not inbound.payload and (asked := commands.questions_in(
            inbound.text, bundle.keywords, bundle.phrases, bundle.asides)):
        command, asked = (asked[-1], asked[:-1]) if asked[-1] == "human" else \
            (asked[0], asked[1:])  # a person asked for: HUMAN, the questions answered
    if bundle.directory.office.get("phone"):  # the office's number, once
        # configured, is in the hours-and-place text (none is yet: not made up, walk O)
        command = "ask_hours" if command == "ask_phone" else command
        asked = list(dict.fromkeys("ask_hours" if a == "ask_phone" else a for a in asked))
    if command == "emergency" and inbound.text.lstrip().startswith("/"):
        command = "menu"  # Telegram's "/help" (a review: paged on-duty staff as a P0)
    if command is None and not inbound.payload and QUESTION_MARKS.fullmatch(inbound.text):
        command = "not_understood"  # a bare "?" (a re-check: "Maaf, saya belum mengerti")
    return command, asked


def _standing(engine: Runner, m: StepModel, inbound: Inbound, command: str | None,
              starting: bool) -> str | None:
    """The command, unless the message's words are danger, or here an answer or a time."""
    state = engine.flow.states[m.state]
    if command in SOFT_COMMANDS and not inbound.payload and \
            fold(inbound.text) not in engine.bundle.keywords and \
            engine.bundle.crisis.scan(clean(inbound.text), model=False):
        command = None  # danger words beside a pause, a greeting or a question about the
        # service are read as danger ("pulsa habis, ini pake wifi tetangga. sa pu anak
        # sering dipukul bapa tirinya" had "Baik, kita berhenti dulu": a property test)
    if command == "go_on" and m.answers.get(commands.LATER) != m.state:
        command = None  # "lanjut" is an answer ("Lanjut chat") but after a pause
    elif command in commands.QUESTIONS and state.expects == "time" \
            and "?" not in inbound.text and engine.bundle.answers.names_time(inbound.text):
        command = None  # "jam kerja saja" when asked when it is safe: a time, no question
    elif command == "hello" and (starting or state.end or state.input):
        command = None  # the first message is welcomed; at rest, a message for the case;
        # at a question asking for text, its answer ("tes" may be a codeword)
    elif command == "hello" and m.state != engine.flow.initial and \
            engine.bundle.answers.only_times(inbound.text):
        command = None  # "sore" at "is it safe to keep chatting?" or at how to be
        # contacted is a time given as an answer (a tester: "Halo, terima kasih sudah
        # menulis"), asked again; "selamat sore" is still a greeting
    elif command == "stop" and fold(inbound.text) not in engine.bundle.keywords and \
            any("pause" in c.actions for c in state.choices):
        command = "later"  # "sa mau berhenti" asked whether it is safe to chat: to stop
        # for now, her answers kept (she may be in danger; the word BERHENTI still withdraws)
    elif command == "later" and state.expects == "time" and \
            engine.bundle.answers.only_times(inbound.text):
        command = None  # "nanti" asked when it is safe to call: a time, as before
    elif command == "later" and (state.end or choices.answers_safety(engine, m, inbound.text)):
        command = None  # at rest there is nothing to pause: a message to the case
    return command


# -- danger words ---------------------------------------------------------------------------

def read_danger(engine: Runner, m: StepModel, inbound: Inbound, command: str | None,
                state: StateSpec, away: timedelta) -> Heard:
    """The danger words a message is heard for (with the short pieces before it), the
    pieces kept, and the choice a story the model reads as danger answers as well."""
    scan = engine.bundle.crisis.scan(clean(inbound.text), model=not state.facts) \
        if command is None and not inbound.payload and inbound.text else None
    if scan is not None:
        danger.note_young(m, scan)  # "sa umur 15": texts in "kamu", danger or not
    pieces = _pieces(m, inbound, command, away)
    if scan is not None and not scan and pieces:
        joined = engine.bundle.crisis.scan(clean(" ".join(pieces)), model=False)
        if joined:  # "de", "mo", "bunuh", "sa", "pake", "parang": one word a message
            scan = joined  # from a hiding place (a walk-through: six "Maaf, saya belum
            pieces = []  # mengerti", and "parang" alone was nothing)
    scan = _method(engine, m, state, inbound.text, scan)
    scan, also = _model(engine, m, state, inbound.text, scan)
    if scan:  # the danger texts of this turn and the case it opens know them
        for pattern, flag in engine.flagging:
            if pattern.search(fold(inbound.text)):
                m.flag(flag)
    return Heard(scan, pieces, also)


def _method(engine: Runner, m: StepModel, state: StateSpec, text: str,
            scan: Scan | None) -> Scan | None:
    """A method at hand, after words of wanting to die, heard as self-harm now."""
    if scan is not None and "selfharm" not in scan.groups and not state.facts and \
            safety.told_selfharm(m) and \
            (method := engine.bundle.crisis.again(clean(text))) and \
            choices.pick(engine, m, state, clean(text)) is None:
        scan = Scan(("selfharm",), ("selfharm",), method)  # "sa punya tali di kamar" after
        # words of wanting to die: a method at hand, now (walk Q: "belum mengerti"); an
        # answer stays one ("sa tra tau kk ... sa sendiri di dapur" at "thoughts now?")
    return scan


def _model(engine: Runner, m: StepModel, state: StateSpec, text: str,
           scan: Scan | None) -> tuple[Scan | None, ChoiceSpec | None]:
    """Where the crisis model's guess gives way (an urgent case, an answer, a notice's
    question); and the choice a story it reads as danger answers as well."""
    rules = engine.bundle.notice_rules
    also = None  # the choice a story the model reads as danger answers as well
    if scan and scan.model is not None and safety.urgent(m) and \
            not (scan.imminent and safety.told_before(m, scan)):
        scan = None  # staff know of danger already: the model's guess only adds noise,
        # unless it reads the same kind again with a time or a method, which makes it P0
        # ("malam ini sa mo pigi saja" after "kalo sa tra ada lagi...", a walk-through)
    elif scan and scan.model is not None and \
            (also := choices.choice_of(engine, m, state, text)) is not None and \
            len(clean(text).split()) < MODEL_HEARD_WORDS:
        scan = None  # "sa aman skarang, dia su tidur" answers; the model's guess gives way
    elif scan and scan.model is not None and \
            len(clean(text).split()) < MODEL_HEARD_WORDS and \
            named_in(text, engine.notice_phrases) in rules.model_gives_way:
        scan = None  # "where does my wife live now", "de bilang apa sama kam?" ask a
        # notice's question, not danger (not in a story, not a sick child, nor "jangan
        # cerita ke orang": those come beside danger, whose words are heard)
    elif scan and scan.model is not None and not scan.imminent and \
            named_in(text, engine.notice_phrases) in rules.asks_only | rules.outweighs_model:
        scan = None  # a husband's three sentences about what his wife reported, with no
        # danger word in them (walk O: the helplines, as to one in danger); an old man
        # two days without food told by his granddaughter (walk R: read as a child)
    return scan, also


def still(engine: Runner, m: StepModel, state: StateSpec, scan: Scan,
          choice: ChoiceSpec) -> None:
    """Words of danger now at "are you safe now?": still in danger, as its answer."""
    before = safety.p0(m)
    m.flags = list(danger.flags_seen(scan, tuple(m.flags), WRITER in m.answers))
    m.events.append(Event("crisis_words", danger.words_event(
        scan, bool(scan.imminent), state=m.state)))  # staff see the words, as ever
    if danger.of_another(scan):
        m.answers[ABOUT_OTHER] = True  # "bukan sa, sa pu kaka yang dalam bahaya"
    danger.set_focus(m, scan)  # "tra. sa mo gantung diri malam ini": self-harm texts
    m.answers[CRISIS_GROUPS] = list(scan.groups)  # and the numbers for what it says
    m.answers[str(state.save)] = choice.value  # "masih dalam bahaya": the answer, once
    said = len(m.replies)
    engine.fire(m, f"choose_{choice.value}", before)
    acked = next((i for i, r in enumerate(m.replies[said:], said)
                  if r.key.startswith("emergency.still_ack")), len(m.replies) - 1)
    if CHAT_ONLY not in m.flags:  # hiding, or cannot talk: one message less to
        # sound (walk N; the silent line names SAPA's WhatsApp)
        m.replies.insert(acked + 1, Reply("emergency.still_numbers",
                                          engine.params(m, "emergency.still_numbers")))


# -- a story twice, short pieces ------------------------------------------------------------

def repeated(m: StepModel, inbound: Inbound, command: str | None, starting: bool,
             away: timedelta) -> bool:
    """The same story sent again, right after itself and within seconds (a walk-through:
    a woman's message, three times in one burst, got the violence text and the question
    three times): answered once. A short message never is ("1", "1" may be two answers),
    nor a command; only a digest is kept."""
    words = fold(inbound.text).split()
    if command is not None or inbound.payload or len(words) < STORY_WORDS:
        m.answers.pop(LAST_STORY, None)
        return False
    digest = hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest()
    again = not starting and m.answers.get(LAST_STORY) == digest and away <= REPEAT_WITHIN
    m.answers[LAST_STORY] = digest
    return again


def _pieces(m: StepModel, inbound: Inbound, command: str | None,
            away: timedelta) -> list[str]:
    """A short free-text message with the short ones before it that answered nothing,
    written within minutes (PIECES), in order: the words to read together for danger."""
    words = clean(inbound.text).split()
    if command is not None or inbound.payload or not words or len(words) > PIECE_WORDS:
        return []
    before = (m.answers.get(PIECES) or []) if away < PIECES_WITHIN else []
    return [*before[-(MAX_PIECES - 1):], clean(inbound.text)]


def keep_pieces(m: StepModel, pieces: list[str], at: int) -> None:
    """Keep the pieces to be read with the next words where this turn did not understand
    them (its replies from `at`); else forget them."""
    if pieces and any(r.key in commands.NOT_UNDERSTOOD for r in m.replies[at:]):
        m.answers[PIECES] = pieces  # kept to be read with the next words
    else:
        m.answers.pop(PIECES, None)
