"""The engine step: snapshot + inbound + now -> replies, events, new snapshot. No I/O."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any, cast

from transitions import EventData, State

from flows import commands, corrections, danger, notices, safety, wording
from flows.actions import (
    ABOUT_OTHER,
    ACCIDENT,
    ACTIONS,
    AFTER_HOURS,
    ANSWERED,
    BY_OTHER,
    CHAT_ONLY,
    CONSENT_CHOICES,
    CRISIS_GROUPS,
    FLAGS,
    FOCUS,
    GREETED,
    HURT_BY_POLICE,
    OFFER,
    OWN_ADVICE,
    P0_ALERTED,
    PHONE_WATCHED,
    RETURN_TO,
    SHOWN,
    STILL_IN_DANGER,
    STORY,
    TOLD,
    TOLD_STORY,
    WITH_PERSON,
    WRITER,
    StepModel,
    about_someone_else,
    case_now,
    phone_watched,
    resting_message,
    writes_as_child,
)
from flows.answers import only_signs, only_tears
from flows.commands import DID_YOU_MEAN, FROM_STORY
from flows.crisis import Scan
from flows.danger import UNSAID
from flows.definition import (
    BACK,
    HEALED,
    IMMINENT,
    POLICE_HARM,
    Branch,
    ChoiceSpec,
    Condition,
    FlowError,
    StateSpec,
)
from flows.loader import Bundle, load_bundle
from flows.machine import LeanMachine
from flows.text import (
    MAX_ANSWER_CHARS,
    SENTENCES,
    clean,
    command_of,
    fold,
    has_letters,
    keyword,
    named_in,
    written_in,
)
from flows.types import Event, Inbound, Reply, Snapshot, Turn
from flows.wording import ACCIDENT_TEXT, INJURED, OTHER_WRITER
from flows.writers import who_writes, whose_answers

MISSES_BEFORE_HUMAN = 2  # then a simpler form of the question and a person
MISSES_BEFORE_MOVING_ON = 4  # an optional question is then left unanswered, never a loop
RESUME_AFTER = timedelta(hours=24)
KEPT_OFFER = "_kept_offer"  # the question whose offer was kept when it was left (staff check)
PASS = "pass"  # the trigger of a question not asked (`pass` in a flow)
STORY_WORDS = 4  # a shorter message that answers nothing is no story to remember
QUESTION_MARKS = re.compile(r"\s*[?？¿]+\s*")  # "?" alone: the family did not understand
STORY_THANKED = 7  # words of a message that answers nothing, thanked as a story
LAST_STORY = "_last_story"  # a digest of the last message of STORY_WORDS words or more
# the same one again this soon: sent twice, not said (a burst comes in one batch; an answer
# to the next question takes longer: walk L's "sa tra tau kk" a few seconds later was lost)
REPEAT_WITHIN = timedelta(seconds=2)
LEADING_NUMBER = re.compile(r"\s*(\d)\b")  # an optional question's answer, words after it
# short messages that answered nothing, kept to be read for danger with the next ones
PIECES = "_pieces"
PIECE_WORDS = 3  # words at most of a message read as a piece of one sentence
KEPT_WORDS, KEPT_CHARS = 8, 80  # a place told in words (`unmatched`): a few words, no story
MAX_PIECES = 8
PIECES_WITHIN = timedelta(minutes=10)  # from the message before
POLICE_KINDS = ("violence", "injury", "help_now")  # what harm by the police is told as
POLICE = ".police"  # a text's form for one the police hurt (or a child they hold)
# commands a sentence of a longer message may name, which never outweigh danger words in it
SOFT_COMMANDS = frozenset({"later", "hello", "thanks", "go_on", "not_understood",
                           *commands.QUESTIONS})
# "tra parah" beside the hurt it describes is no "no" to "anyone hurt?" (walk M: "muka bengkak
# sedikit, tra parah" was asked again after the emergency text, and again)
MILD = re.compile(r"\b(?:tra|tidak|tida|tdk|gak|ga|nggak|ndak)\s(?:terlalu\s|begitu\s|seberapa\s)?"
                  r"(?:parah|berat|serius|dalam)\b", re.IGNORECASE)
WORD_WORDS = 4  # at most, in an answer to a question that `expects: word` (the codeword)
# A reply that answers a choice question and that only the crisis model reads as danger: under
# this many words the answer is all it is (the model misreads short replies: "sa aman skarang,
# dia su tidur"); from it on, a story told with the answer ("iya. sa pu anak perempuan hamil,
# ternyata pelakunya om sendiri. iya"), the answer is taken and the model's text said too.
# On the 1,304 replies of the answer files no reply of 9 or more words both answers and is
# read by the model alone. (Once a case is urgent, the model is not heard at all: `_urgent`.)
MODEL_HEARD_WORDS = 10
# a story's "tidak tahu harus bagaimana" or "lain kali" is no answer about anything
# "outside Mimika" neither: a story names where the writer is as often as where the one who
# needs help is ("sa kerja di Jayapura", a daughter about her mother in SP3, a walk-through)
NOT_FROM_STORY = frozenset({"unknown", "other", "outside"})
SKIP_WORDS = {"lewati": "skip", "skip": "skip"}
# Interrupt states the engine itself enters, whatever keywords the flow binds.
REQUIRED_INTERRUPTS = ("emergency", "resume")


def _story(text: str) -> bool:
    """A story told, thanked before the question is asked again: STORY_THANKED words in
    letters we read ("pagi jam 9-11" is a time; a message in a script we do not read is not
    thanked for what it said)."""
    return sum(1 for w in fold(text).split() if w.isascii() and w.isalpha()) >= STORY_THANKED


def _call(name: str) -> Any:
    action = ACTIONS[name]

    def run(event: EventData) -> None:
        action(cast(StepModel, event.model))

    return run


def _say(key: str, engine: Engine) -> Any:
    def run(event: EventData) -> None:
        m = cast(StepModel, event.model)
        m.replies.append(Reply(key, engine.params(m, key)))  # e.g. {emergency_contacts}

    return run


class Engine:
    """One transitions machine per flow; a conversation is the machine's model for one step.

    The step model is not bound with `add_model`: that sets one attribute per trigger and
    per state (~100 here), most of a step's cost. Firing the machine's event on the model
    runs the same transition, conditions and callbacks without them; `LeanMachine` fires it
    without the hooks and logging this machine does not use.
    """

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.flow = bundle.flow
        self.notice_phrases = bundle.notices + bundle.beside_danger  # without danger words: all
        self._rules = bundle.notice_rules  # how some notices behave (flows/phrases.yaml)
        # beside danger words, what staff must know from the case's first alert: harm by
        # the police, "jgn telpon" (notice_rules.flags; said without danger, the notice sets
        # its flag)
        self._flagging = tuple((p, self._rules.flags[name]) for p, name in bundle.beside_danger
                               if name in self._rules.flags)
        for key in commands.ENGINE_KEYS:
            bundle.catalog.require(key, f"{self.flow.source}: (texts the engine uses)")
        for name in REQUIRED_INTERRUPTS:
            if name not in self.flow.interrupts:
                raise FlowError(f"{self.flow.source}: interrupts: the engine needs an "
                                f"`{name}` interrupt state")
        emergency = self.flow.states[self.flow.interrupts["emergency"]].prompt
        for reason in bundle.triage.labels:  # a reason's emergency text exists
            if (focus := bundle.triage.focus(reason)) is not None:
                bundle.catalog.require(f"{emergency}.{focus}",
                                       f"{bundle.triage.source}: reasons.{reason}.focus")
        states = [State(s.name, on_enter=[_call(a) for a in s.on_enter])
                  for s in self.flow.states.values()]
        self.machine = LeanMachine(model=None, states=states, transitions=self._transitions(),
                                   initial=self.flow.initial, auto_transitions=False,
                                   send_event=True, model_override=False)

    @classmethod
    def load(cls, name: str = "intake") -> Engine:
        return cls(load_bundle(name, ACTIONS, FLAGS))

    def _transitions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for s in self.flow.states.values():
            for c in self.flow.choices_of(s):
                branches = c.goto or s.goto or (Branch(BACK),)
                say = [_say(c.say, self)] if c.say else []
                out += self._edges(f"choose_{c.value}", s, branches, c.actions, say)
            if s.input:
                out += self._edges("answer", s, s.goto, (), [])
            if s.skippable:
                out += self._edges("skip", s, s.goto or self.flow.choices_of(s)[0].goto, (), [])
            if s.passes is not None:
                out += self._edges(PASS, s, s.passes[1], (), [])
        return out

    def _edges(self, trigger: str, s: StateSpec, branches: tuple[Branch, ...],
               actions: tuple[str, ...], say: list[Any]) -> list[dict[str, Any]]:
        edges = []
        for b in branches:
            edge: dict[str, Any] = {
                "trigger": trigger, "source": s.name,
                "dest": None if b.target == BACK else b.target,
                "before": [*say, *(_call(a) for a in actions)],
            }
            if b.condition is not None:
                cond = self.flow.conditions[b.condition]
                edge["conditions"] = [lambda ev, c=cond: self.holds(c, ev.model)]
            edges.append(edge)
        return edges

    # -- what the parts read of the flow, kept for the process ------------------------------

    @cached_property
    def placeholders(self) -> dict[str, frozenset[str]]:
        """For each text key, the placeholders its texts use (in any language)."""
        return wording.placeholders(self.bundle.catalog)

    @cached_property
    def p0_states(self) -> frozenset[str]:
        """States whose answer could add a P0 reason (elsewhere the check is skipped)."""
        return safety.states_read(self.flow, self.bundle.triage, "P0")

    @cached_property
    def p1_states(self) -> frozenset[str]:
        """Like `p0_states`, for the P1 rules (the immediate safety message)."""
        return safety.states_read(self.flow, self.bundle.triage, "P1")

    def labels(self, state: str, language: str) -> list[str]:
        """A state's choice labels as typed answers are compared with them."""
        return self._labels(state, language)

    @lru_cache(maxsize=512)  # noqa: B019 - one engine per flow, kept for the process
    def _labels(self, state: str, language: str) -> list[str]:
        """`labels`, once per state and language."""
        return [fold(self.bundle.catalog.text(c.label, language))
                for c in self.flow.choices_of(self.flow.states[state])]

    def choices(self, state: StateSpec) -> tuple[tuple[str, str], ...]:
        """A state's choices as a reply's buttons: (value, label key)."""
        return self._choices_of(state.name)

    @lru_cache(maxsize=512)  # noqa: B019 - one engine per flow, kept for the process
    def _choices_of(self, state: str) -> tuple[tuple[str, str], ...]:
        """`choices`, once per state."""
        return tuple((c.value, c.label) for c in self.flow.choices_of(self.flow.states[state]))

    # -- the texts (flows/wording.py), the safety messages (flows/safety.py) -----------------

    def has_text(self, m: StepModel, key: str) -> bool:
        """Whether the catalog of the person's language has the text `key`."""
        return wording.has_text(self, m, key)

    def form(self, m: StepModel, key: str) -> str:
        """`key`'s text for who writes (flows.wording.form)."""
        return wording.form(self, m, key)

    def params(self, m: StepModel, key: str | None = None) -> dict[str, Any]:
        """What the texts need filled in; with `key`, only what that text uses."""
        return wording.params(self, m, key)

    def noted(self, m: StepModel, same: bool = True, words: bool = False) -> bool:
        """A new urgent answer after "are you safe now?" was answered: noted (flows.safety)."""
        return safety.noted(self, m, same, words)

    # -- the step ---------------------------------------------------------------------------

    def start(self, language: str = "id") -> Snapshot:
        return Snapshot(self.flow.name, self.flow.initial, language, flow_version=self.flow.version)

    def step(self, snap: Snapshot | None, inbound: Inbound, now: datetime,
             language: str = "id") -> Turn:
        """Answer one inbound message. Pure: the same arguments give the same Turn.

        With no snapshot this is a first contact: the greeting, in `language` (in English
        when the first message is plainly English, whatever the channel said).
        """
        fresh = snap is None
        snap = snap or self.start(written_in(inbound.text, language) if language == "id"
                                  else language)
        lost = snap.state not in self.flow.states
        m = StepModel(
            state=self.flow.initial if lost else snap.state, language=snap.language,
            answers=dict(snap.answers), flags=list(snap.flags), misses=snap.misses, now=now,
            triage=self.bundle.triage, consent_version=self.flow.consent_version,
            has_case=snap.case_number is not None, channel=inbound.channel,
            case_number=snap.case_number,
            case_answers=self.flow.case_answers,
        )
        if lost:
            m.events.append(Event("state_lost", {"state": snap.state}))
            m.replies.append(Reply("state_lost"))
            m.answers.pop(GREETED, None)  # "dimulai lagi dari awal": the whole welcome
        away = now - snap.updated_at if snap.updated_at else timedelta(0)
        self._handle(m, inbound, fresh or lost, away)
        opened = m.has_case and snap.case_number is None  # a case this turn: on it too
        if PHONE_WATCHED in m.flags and (PHONE_WATCHED not in snap.flags or opened):
            phone_watched(m)  # after the case event, so the constraint is the case's
        if writes_as_child(m.answers) or (  # every text that has a child's form, in it;
                writes_as_child(snap.answers) and "age" not in m.answers  # also to the child
                and WRITER not in m.answers):  # whose answers this turn forgot (BERHENTI)
            m.replies = [wording.young(self, m, r) for r in m.replies]
        m.replies = [wording.filled(self, m, r) for r in m.replies]
        whose_answers(snap.answers, m.answers)
        new = Snapshot(snap.flow, m.state, m.language, m.answers, tuple(m.flags), m.misses,
                       self.flow.version, snap.case_number, now)
        return Turn(tuple(m.replies), tuple(m.events), new)

    def _handle(self, m: StepModel, inbound: Inbound, starting: bool, away: timedelta,
                meant: bool = False) -> None:
        """Answer one message (`meant`: what a correction meant, read as an answer)."""
        command = command_of(inbound.text, self.bundle.keywords, self.bundle.phrases) \
            if not inbound.payload else \
            commands.of_button(inbound.payload, self.bundle.keywords)
        asked: list[str] = []  # more questions about the service in the same message
        if command is None and not inbound.payload and (asked := commands.questions_in(
                inbound.text, self.bundle.keywords, self.bundle.phrases, self.bundle.asides)):
            command, asked = (asked[-1], asked[:-1]) if asked[-1] == "human" else \
                (asked[0], asked[1:])  # a person asked for: HUMAN, the questions answered
        if self.bundle.directory.office.get("phone"):  # the office's number, once
            # configured, is in the hours-and-place text (none is yet: not made up, walk O)
            command = "ask_hours" if command == "ask_phone" else command
            asked = list(dict.fromkeys("ask_hours" if a == "ask_phone" else a for a in asked))
        if command is None and not inbound.payload and QUESTION_MARKS.fullmatch(inbound.text):
            command = "not_understood"  # a bare "?" (a re-check: "Maaf, saya belum mengerti")
        if command in SOFT_COMMANDS and not inbound.payload and \
                fold(inbound.text) not in self.bundle.keywords and \
                self.bundle.crisis.scan(clean(inbound.text), model=False):
            command = None  # danger words beside a pause, a greeting or a question about the
            # service are read as danger ("pulsa habis, ini pake wifi tetangga. sa pu anak
            # sering dipukul bapa tirinya" had "Baik, kita berhenti dulu": a property test)
        if command == "go_on" and m.answers.get(commands.LATER) != m.state:
            command = None  # "lanjut" is an answer ("Lanjut chat") but after a pause
        elif command in commands.QUESTIONS and self.flow.states[m.state].expects == "time" \
                and "?" not in inbound.text and self.bundle.answers.names_time(inbound.text):
            command = None  # "jam kerja saja" when asked when it is safe: a time, no question
        elif command == "hello" and (starting or self.flow.states[m.state].end or
                                     self.flow.states[m.state].input):
            command = None  # the first message is welcomed; at rest, a message for the case;
            # at a question asking for text, its answer ("tes" may be a codeword)
        elif command == "hello" and m.state != self.flow.initial and \
                self.bundle.answers.only_times(inbound.text):
            command = None  # "sore" at "is it safe to keep chatting?" or at how to be
            # contacted is a time given as an answer (a tester: "Halo, terima kasih sudah
            # menulis"), asked again; "selamat sore" is still a greeting
        elif command == "later" and (self.flow.states[m.state].end or
                                     self._answers_safety(m, inbound.text)):
            command = None  # at rest there is nothing to pause: a message to the case
        fix = None if meant else self._correction(m, inbound, command, starting, away)
        command = "mistyped" if fix is not None else command
        if self._repeated(m, inbound, command, starting, away):
            m.events.append(Event("repeated", {"state": m.state}))  # one answer is enough
            return
        answered = m.answers.get(ANSWERED)  # a turn of danger words changes what "salah
        # ketik" is about (flows/corrections.py)
        state = self.flow.states[m.state]
        wrote, events = who_writes(
            m.answers, inbound.text if command is None and not inbound.payload else "",
            self.bundle.writers, away, m.state)  # "ini sa anaknya, sa pake hp mama"
        m.events += events
        at = len(m.replies)
        scan = self.bundle.crisis.scan(clean(inbound.text), model=not state.facts) \
            if command is None and not inbound.payload and inbound.text else None
        if scan is not None:
            danger.note_young(m, scan)  # "sa umur 15": texts in "kamu", danger or not
        pieces = self._pieces(m, inbound, command, away)
        if scan is not None and not scan and pieces:
            joined = self.bundle.crisis.scan(clean(" ".join(pieces)), model=False)
            if joined:  # "de", "mo", "bunuh", "sa", "pake", "parang": one word a message
                scan = joined  # from a hiding place (a walk-through: six "Maaf, saya belum
                pieces = []  # mengerti", and "parang" alone was nothing)
        if scan is not None and "selfharm" not in scan.groups and not state.facts and \
                safety.told_selfharm(m) and \
                (method := self.bundle.crisis.again(clean(inbound.text))) and \
                self._pick(m, state, clean(inbound.text)) is None:
            scan = Scan(("selfharm",), ("selfharm",), method)  # "sa punya tali di kamar" after
            # words of wanting to die: a method at hand, now (walk Q: "belum mengerti"); an
            # answer stays one ("sa tra tau kk ... sa sendiri di dapur" at "thoughts now?")
        also = None  # the choice a story the model reads as danger answers as well
        if scan and scan.model is not None and safety.urgent(m) and \
                not (scan.imminent and safety.told_before(m, scan)):
            scan = None  # staff know of danger already: the model's guess only adds noise,
            # unless it reads the same kind again with a time or a method, which makes it P0
            # ("malam ini sa mo pigi saja" after "kalo sa tra ada lagi...", a walk-through)
        elif scan and scan.model is not None and \
                (also := self._choice_of(m, state, inbound.text)) is not None and \
                len(clean(inbound.text).split()) < MODEL_HEARD_WORDS:
            scan = None  # "sa aman skarang, dia su tidur" answers; the model's guess gives way
        elif scan and scan.model is not None and \
                len(clean(inbound.text).split()) < MODEL_HEARD_WORDS and \
                named_in(inbound.text, self.notice_phrases) in self._rules.model_gives_way:
            scan = None  # "where does my wife live now", "de bilang apa sama kam?" ask a
            # notice's question, not danger (not in a story, not a sick child, nor "jangan
            # cerita ke orang": those come beside danger, whose words are heard)
        elif scan and scan.model is not None and not scan.imminent and \
                named_in(inbound.text, self.notice_phrases) in \
                self._rules.asks_only | self._rules.outweighs_model:
            scan = None  # a husband's three sentences about what his wife reported, with no
            # danger word in them (walk O: the helplines, as to one in danger); an old man
            # two days without food told by his granddaughter (walk R: read as a child)
        if scan:  # the danger texts of this turn and the case it opens know them
            for pattern, flag in self._flagging:
                if pattern.search(fold(inbound.text)):
                    m.flag(flag)
        rest = None  # the message without what a notice answered
        if command is None and not inbound.payload and not scan and \
                has_letters(inbound.text):  # (no notice is in a bare "2")
            rest = notices.notice(self, m, inbound.text,
                                  self.notice_phrases)  # "anak panas tinggi": IGD
        if command == "ask_secret" and \
                named_in(inbound.text, self.bundle.beside_danger) == "secret":
            notices.noticed(self, m, "secret")  # "jang kasi tau sa pu mama" alone: staff see the
            # condition, and no notice repeats it
        if command is not None:
            m.answers.pop(OFFER, None)  # a guess offered before is not offered again after a
            # keyword or a question (walk O: "only helpline numbers?" after PETUGAS too)
            if fix is not None:
                self._correct(m, inbound, fix)
            else:
                commands.run(self, m, command, asked)
        elif scan and state.save and \
                (still := self._still_in_danger(m, state, inbound.text, scan)):
            before = safety.p0(m)
            m.flags = list(danger.flags_seen(scan, tuple(m.flags), WRITER in m.answers))
            m.events.append(Event("crisis_words", danger.words_event(
                scan, bool(scan.imminent), state=m.state)))  # staff see the words, as ever
            if danger.of_another(scan):
                m.answers[ABOUT_OTHER] = True  # "bukan sa, sa pu kaka yang dalam bahaya"
            danger.set_focus(m, scan)  # "tra. sa mo gantung diri malam ini": self-harm texts
            m.answers[CRISIS_GROUPS] = list(scan.groups)  # and the numbers for what it says
            m.answers[state.save] = still.value  # "masih dalam bahaya": the answer, once
            said = len(m.replies)
            self.fire(m, f"choose_{still.value}", before)
            acked = next((i for i, r in enumerate(m.replies[said:], said)
                          if r.key.startswith("emergency.still_ack")), len(m.replies) - 1)
            if CHAT_ONLY not in m.flags:  # hiding, or cannot talk: one message less to
                # sound (walk N; the silent line names SAPA's WhatsApp)
                m.replies.insert(acked + 1, Reply("emergency.still_numbers",
                                                  self.params(m, "emergency.still_numbers")))
        elif scan:  # every text, in every state, is read for danger before anything else
            choice = None if starting else \
                also or self._danger_choice(m, state, inbound.text, scan)
            if choice is None:
                self._remember(m, inbound.text)
            danger.answer(self, m, inbound, state, scan, starting, choice)
        elif starting:
            self._remember(m, inbound.text)
            story = _story(inbound.text) and not pieces and "?" not in inbound.text and \
                not any(e.kind == "noticed" for e in m.events)
            if story:  # the welcome thanks them for it first (walk Q: a grandmother's whole
                m.answers[TOLD_STORY] = "yes"  # story had the welcome alone, as to "halo");
            self.prompt(m)  # not a question, nor a story a notice answered (its text came
            m.answers.pop(TOLD_STORY, None)  # first); for this welcome only
        elif away > RESUME_AFTER and not state.end and not state.interrupt:
            hours = away // timedelta(hours=1)  # an int: the event is stored as JSON
            m.events.append(Event("returned", {"state": m.state, "hours": hours}))
            self.interrupt(m, self.flow.interrupts["resume"])
            self.prompt(m)
        else:
            # a choice is read without the notice's words; a text answer keeps them all
            self._answer(m, replace(inbound, text=rest) if rest and not state.input
                         else inbound, state, whole=inbound.text if rest is not None else None)
        if scan and command is None and not inbound.payload:  # what danger texts do not
            # answer: "kam bisa telpon polisi ka?" (no: call 110), "bisa selesai adat ka?"
            notices.notice(self, m, inbound.text, self.bundle.beside_danger, at + 1)
        if wrote == "writer.owner" and BY_OTHER in m.answers and not state.end:
            wrote = "writer.owner.mid_intake"  # the questions so far were someone else's
            # (a re-check: a mother went on answering her daughter's intake)
        if wrote is not None:  # after the danger text, if any; before everything else
            m.replies.insert(at + 1 if scan and len(m.replies) > at else at, Reply(wrote))
        if pieces and any(r.key in commands.NOT_UNDERSTOOD for r in m.replies[at:]):
            m.answers[PIECES] = pieces  # kept to be read with the next words
        else:
            m.answers.pop(PIECES, None)
        if scan and m.answers.get(ANSWERED) is answered:
            corrections.settle(m)  # words of danger, and no answer: "salah ketik" is theirs

    def _correction(self, m: StepModel, inbound: Inbound, command: str | None,
                    starting: bool, away: timedelta) -> corrections.Correction | None:
        """The answer a message takes back, and what it meant instead (flows/corrections.py);
        in a sentence not in a first message, nor one after a day away (the question then
        comes again); "salah ketik" alone always (after danger words: recorded)."""
        phrasing = self.bundle.corrections
        if command not in (None, "mistyped"):
            return None
        if inbound.payload or starting or away > RESUME_AFTER:
            return corrections.Correction(None, "") if command == "mistyped" else None
        whole = fold(inbound.text)  # (read already: one sentence is the whole message)
        fix = corrections.read(
            inbound.text, phrasing,
            lambda said: command == "mistyped" if said == whole else
            command_of(said, self.bundle.keywords, self.bundle.phrases) == "mistyped",
            lambda words: self._named_answer(m, words)) if phrasing is not None else None
        if fix is not None and fix.weak and (m.answers.get(OFFER) or ("",))[0] == m.state:
            fix = corrections.Correction(m.state, fix.rest, weak=True)  # "bukan, maksudnya
            # 3" to "Maksud Anda: ...?": no to the offer, and 3 is this question's answer
        return fix or (corrections.Correction(None, "") if command == "mistyped" else None)

    def _named_answer(self, m: StepModel, words: str) -> str | None:
        """The question of this intake whose kept answer `words` name ("ekonomi": the
        category, "bukan ekonomi"), or None: a number only the answer just before ("bukan
        3"); not at rest or in a safety question, not words this question's own choices take
        ("bukan anak" to "Maksud Anda: Anak?" says no to the offer), nor a yes, no or
        don't know, nor a form of address."""
        here = self.flow.states[m.state]
        if words.isdigit():
            asked = corrections.just_before(m)
            names = [asked] if asked is not None else []
        elif here.end or here.interrupt or self._pick(m, here, words) is not None or \
                self.bundle.answers.shared_value(words) is not None or \
                (self.bundle.corrections and self.bundle.corrections.aside.fullmatch(words)):
            return None  # "bukan kk" says no to the helper: it names no sibling
        else:
            names = corrections.answered(m)
        for name in names:
            state = self.flow.states.get(name)
            if state is None or not state.save or state.save not in m.answers:
                continue
            picked = self._pick(m, state, words)
            if picked is not None and picked.value == m.answers[state.save]:
                return name
        return None

    def _correct(self, m: StepModel, inbound: Inbound, fix: corrections.Correction) -> None:
        """Take an answer back (flows/corrections.py) and read what was meant as the answer
        to its question, as any answer is read; an answer so taken is said back ("Saya
        catat: ..."). Nothing meant: the question again (at rest, where things stand)."""
        m.events.append(Event("keyword", {"command": "mistyped", "state": m.state}))
        reasons = set(m.triage.assess(m.facts()).reasons)
        back = corrections.take_back(self, m, fix.question) if fix.question != m.state \
            else None  # (an offer said no to: this question's answer follows)
        if not fix.rest:
            here = self.flow.states[m.state]
            self._withdraw(m, reasons)
            return self.rest(m, here, moved=True) if here.end else self.prompt(m)
        at = len(m.replies)
        self._handle(m, replace(inbound, text=fix.rest), False, timedelta(0), meant=True)
        state = self.flow.states.get(back or "")
        chose = self._choice(state, m.answers.get(state.save or "")) \
            if state is not None and back != m.state else None
        if chose is not None and not any(r.key == danger.NOTED for r in m.replies[at:]):
            m.replies.insert(at, Reply(danger.NOTED, {"chosen_key": chose.label}))
        elif back is not None and m.state == back and \
                m.replies[at:] and m.replies[-1].key in commands.NOT_UNDERSTOOD:
            m.replies.pop()  # what was meant answers nothing: the question itself again, not
            m.misses = 0  # "Mohon jawab dulu" over a list the family never saw as asked
            self.prompt(m)  # again (walk R: read as the question before)
        self._withdraw(m, reasons)

    def _withdraw(self, m: StepModel, before: set[str]) -> None:
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

    @staticmethod
    def _repeated(m: StepModel, inbound: Inbound, command: str | None, starting: bool,
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

    def _pieces(self, m: StepModel, inbound: Inbound, command: str | None,
                away: timedelta) -> list[str]:
        """A short free-text message with the short ones before it that answered nothing,
        written within minutes (PIECES), in order: the words to read together for danger."""
        words = clean(inbound.text).split()
        if command is not None or inbound.payload or not words or len(words) > PIECE_WORDS:
            return []
        before = (m.answers.get(PIECES) or []) if away < PIECES_WITHIN else []
        return [*before[-(MAX_PIECES - 1):], clean(inbound.text)]

    def _choice_of(self, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
        """The choice `text` answers at the choice question `state` asks, if any."""
        return None if state.input or state.end else self._pick(m, state, clean(text))

    def _still_in_danger(self, m: StepModel, state: StateSpec, text: str,
                         scan: Scan) -> ChoiceSpec | None:
        """At the emergency question ("are you safe now?", an interrupt with `from_danger`),
        words of danger now answer it, still in danger, when they pick it themselves (its
        button label says "masih dalam bahaya": read as new danger it brought the whole
        message back, again and again) or are about the danger the message was for ("de
        masih pukul anak2"; "dalam bahaya", which names no kind). Another kind of danger gets
        its own message. "aman" beside another's danger ("Saya aman, yang dalam bahaya anak
        itu") is still in danger: theirs."""
        if not (state.interrupt and state.from_danger):
            return None
        value = state.danger_choice(IMMINENT)
        picked = self._pick(m, state, clean(text))
        if picked is not None and picked.value == value:
            return picked  # also without words of now: "masih, dong masih baku pukul" (walk
            # Q: a neighbour's "still" read as new violence, the victim's text to her)
        if not scan.imminent:
            return None
        if picked is not None and not (scan.child or scan.other):
            return None  # "aman" beside danger now: the message again
        # the same danger ("de masih pukul anak2"; "Saya aman, yang dalam bahaya anak itu":
        # the writer is safe, the child is not); "dalam bahaya", "tolong" name no new kind
        # (after DARURAT, with no kind named yet, they bring the message and its numbers)
        focus, before = danger.focus_of(scan), m.answers.get(FOCUS)
        same = danger.FOCUS_TEXTS.get(focus, focus) == before or \
            (focus == "help_now" and before is not None)
        return self._choice(state, value) if same else None

    def _danger_choice(self, m: StepModel, state: StateSpec, text: str,
                       scan: Scan) -> ChoiceSpec | None:
        """The choice a message with danger words answers, at a question whose choices name
        kinds of danger (`from_danger`): the one it picks itself ("kdrt"), else the one its
        kind of danger names ("suami pukul sa tiap malam" is domestic violence); at a risk
        question (`own_words`) only the one it picks itself. Elsewhere a message with
        danger words answers no choice question: it is asked again."""
        if not (state.from_danger or state.own_words) or state.end or state.interrupt or \
                scan.model is not None:
            return None
        picked = self._pick(m, state, clean(text))
        if picked is None and state.own_words:  # "io de ada di rumah. pernah de bilang mo
            # bunuh mama" (walk Q: asked again): the one choice its sentences pick
            said = {p.value: p for part in SENTENCES.split(text) if part.strip()
                    and (p := self._pick(m, state, clean(part))) is not None}
            picked = next(iter(said.values())) if len(said) == 1 else None
        if picked is not None:  # its own answer; never "no" beside imminent danger words
            return None if scan.imminent and picked.value in ("no", "unknown") else picked
        if not state.from_danger:
            return None  # only its own words answer here
        # "dulu de pukul sa sampe luka, skarang su sembuh" at "anyone hurt?": a healed injury
        value = state.danger_choice(HEALED) if scan.healed else None
        value = value or state.danger_choice(self._by_police(m, danger.focus_of(scan)))
        if state.own_words:  # at a risk question, any kind it names: a father's "sa pukul
            # sa pu anak" at "are children threatened?" is the child's yes (not at the
            # category: "saya pukul anak saya ... saya mau berhenti" is his own category)
            value = value or next((v for k in scan.groups if (v := state.danger_choice(k))),
                                  None)
        value = value or next((v for k in scan.marks if (v := state.danger_choice(k))), None)
        if value is None and scan.imminent:  # "sa pu paitua pegang parang di luar ini"
            value = state.danger_choice(IMMINENT)  # at "in danger now?" is "now"
        named = self.bundle.answers.named(state, MILD.sub(" ", text), self.flow.choices_of(state),
                                          self.labels(state.name, m.language), m.language)
        if named & {"no", "unknown"} - {value}:  # "muka bengkak tra perlu ke rumah sakit"
            return None  # says no: asked again
        return self._choice(state, value)

    def _choice(self, state: StateSpec, value: str | None) -> ChoiceSpec | None:
        return next((c for c in self.flow.choices_of(state) if c.value == value), None)

    def _agrees(self, m: StepModel, text: str) -> bool:
        """`text` consents in so many words ("ok sa setuju", "iya setuju"), as the consent
        question's first two choices are read; a plain "oke" after a refusal is no consent."""
        consent = self.flow.states.get(commands.CONSENT)
        if consent is None or not commands.AGREE_WORDS.intersection(fold(text).split()):
            return False
        picked = self._pick(m, consent, text)
        if picked is None:  # "eh tunggu kaka, sa salah pilih. sa mau setuju saja, sa butuh
            # dibantu" (a walk-through: "Ketik ULANG"): one sentence agrees, none refuses
            said = {c.value for part in SENTENCES.split(text) if part.strip()
                    if (c := self._pick(m, consent, part)) is not None}
            return len(said) == 1 and CONSENT_CHOICES.get(said.pop()) == "consent"
        return CONSENT_CHOICES.get(picked.value) == "consent"

    def _offer_taken(self, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
        """ "iya" to "Maksud Anda: ...? Balas IYA" is what was offered, even where "iya" is also
        a choice's own word ("iya" = keep chatting, at the greeting). Not at a question whose
        choices are yes and no: there "iya" is its own answer."""
        offered = self._suggested(m, state)
        if offered is None or any(c.value == "yes" for c in self.flow.choices_of(state)):
            return None
        return offered if self.bundle.answers.shared_value(text) == "yes" else None

    def _suggested(self, m: StepModel, state: StateSpec) -> ChoiceSpec | None:
        """The choice offered at this question ("iya" takes it): the one a sentence named
        among other words ("anak sa tra mo sekolah"), else the one an earlier story's
        danger words named (their kind), else the one its other words named (a place)."""
        asked, value = m.answers.get(OFFER) or (None, None)
        if asked == state.name:
            return self._choice(state, value)
        told = self._by_police(m, m.answers.get(TOLD))
        if told == POLICE_HARM and state.danger_choice(told) is not None:
            return None  # no offer: beaten by the police is none of the listed problems
        return self._choice(state, state.danger_choice(told)) or \
            self._choice(state, m.answers.get(STORY, {}).get(state.name))

    @staticmethod
    def _by_police(m: StepModel, kind: object) -> object:
        """Violence done by the police is a kind of its own where a question says what it
        answers (`from_danger`: police_harm): not "KDRT" (walk K: a young man beaten at a
        police post was offered "Kekerasan dalam rumah tangga")."""
        return POLICE_HARM if HURT_BY_POLICE in m.flags and kind in POLICE_KINDS else kind

    def _names(self, m: StepModel, state: StateSpec, text: str, offered: ChoiceSpec) -> bool:
        """A reply to an offer whose own words name the choice offered ("sa ini tua su tra
        kuat" to "Lansia...? Balas IYA") takes it, as "iya" does."""
        guess = self._guess(m, state, text)
        return guess is not None and guess.value == offered.value

    def _remember(self, m: StepModel, text: str) -> None:
        """A message that answered nothing (a story, often the first message): what it names
        for questions still to come that offer ("sa tinggal di kuala kencana" for the
        distrik), kept as choice values only, offered when each is asked."""
        if len(text.split()) < STORY_WORDS:
            return
        story = dict(m.answers.get(STORY) or {})
        for state in self.offering:
            if state.name != m.state and state.save not in m.answers:
                guess = self._guess(m, state, text)
                if guess is not None and guess.value not in NOT_FROM_STORY:
                    story[state.name] = guess.value
        if story:
            m.answers[STORY] = story

    def _guess(self, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
        choices = self.flow.choices_of(state)
        if not choices:
            return None
        labels = self.labels(state.name, m.language)
        q = self.bundle.answers.question(state)
        if q is not None and q.own_self:  # the writer's own age, not any age told
            return self.bundle.answers.own_age(state, text, choices, labels, m.language)
        return self.bundle.answers.guess(state, text, choices, labels, m.language)

    def _answers_safety(self, m: StepModel, text: str) -> bool:
        """A message that picks a choice is that choice, not a pause; at a safety question
        (an interrupt: "are you safe now?"), one that names any of its choices is read as
        an answer or asked again: "sa su aman, tra usah" there is no "later"."""
        state = self.flow.states[m.state]
        text = clean(text)
        if self._pick(m, state, text) is not None:
            return True
        return state.interrupt and bool(self.bundle.answers.named(
            state, text, self.flow.choices_of(state), self.labels(state.name, m.language),
            m.language))

    def _pick(self, m: StepModel, state: StateSpec, text: str,
              payload: str = "") -> ChoiceSpec | None:
        """The choice of `state` a message (or a button's `payload`) answers, or None."""
        choices = self.flow.choices_of(state)
        if not choices:
            return None
        picked = self.bundle.answers.match(state, text, payload, choices,
                                           self.labels(state.name, m.language), m.language)
        if picked is not None and picked.value in state.not_with_but and not payload and \
                self.bundle.answers.says_but(text):
            return None  # "sa aman, tapi anak2 masih di dalam rumah deng de": asked again
        return picked

    def _answer(self, m: StepModel, inbound: Inbound, state: StateSpec,
                whole: str | None = None) -> None:
        """Read `inbound` as the answer to `state` (`whole`: the message as written, where a
        notice answered some of its words: read whole when the rest answers nothing, as
        "jangan telpon, de bisa dengar" at the call's consent, which is "chat")."""
        value, _, asked = inbound.payload.partition("|")
        if asked and asked != m.state:  # a button from an earlier question's keyboard
            m.events.append(Event("stale_button", {"asked": asked, "state": m.state}))
            if self.flow.choices_of(state) and not state.end:
                return m.replies.append(Reply("stale_choice", choices=self.choices(state)))
            return self.rest(m, state, moved=True) if state.end else self.prompt(m)
        if asked:
            inbound = replace(inbound, payload=value)
        text = clean(inbound.text)
        before = safety.p0(m) if state.name in self.p0_states else None
        before_p1 = safety.reasons(m, "P1") if state.name in self.p1_states else None
        if state.end and m.state in commands.REFUSED and self._agrees(m, text):
            # "ok sa setuju" after refusing (a walk-through: "Ketik ULANG" three times): the
            # consultation from the danger question, consent asked as it comes
            m.events.append(Event("consent_reconsidered", {"state": m.state}))
            m.replies.append(Reply("resumed"))
            self.enter(m, commands.RECONSIDERED)
            return self.prompt(m)
        if state.end:
            m.events.append(resting_message(m))
            return self.rest(m, state)
        if state.skippable and (keyword(text, SKIP_WORDS) or
                                (state.input and self.bundle.answers.declined(text))):
            if state.save:
                m.answers[state.save] = "skipped"
            return self.fire(m, "skip", before, before_p1)
        if state.input:
            if not text and not inbound.media:
                return self._miss(m, state)
            if not m.misses and self._unsure(m, state, text):
                return None  # "sa tra tau itu" at the codeword: what one is, not the codeword
                # (a walk-through: saved as the word a counselor would say back)
            if not m.misses and (
                    (state.expects == "time" and not self.bundle.answers.names_time(text)) or
                    (state.expects == "word" and len(text.split()) > WORD_WORDS)):
                m.misses += 1  # "ya", a story: asked once more, then taken as it comes
                key = self.form(m, f"{state.prompt}.not_{state.expects}")
                return m.replies.append(Reply(key if self.has_text(m, key) else state.prompt))
            self.save_text(m, state, inbound, text)
            if state.expects == "time":
                self._after_hours(m, state, text)
            return self.fire(m, "answer", before, before_p1)
        if only_signs(text) and (state.name in self.p0_states or
                                 state.name in self.p1_states):
            return self._miss(m, state, ack=True)  # a 👍 is never "yes, a child is hurt now"
            # (H7)
        picked = self._offer_taken(m, state, text) if not inbound.payload else None
        picked = picked or self._pick(m, state, text, inbound.payload)
        if picked is None and state.lenient and (lead := LEADING_NUMBER.match(text)):
            picked = self._pick(m, state, lead.group(1))  # the rating with praise: "5 kk,
            # mantap" (walk L: the welcome again, the rating lost)
        if picked is None and whole is not None and whole != text:
            picked = self._pick(m, state, clean(whole))
        if picked is None and (offered := self._suggested(m, state)) is not None:
            said = self.bundle.answers.shared_value(text)
            if said == "no":  # not what was offered: the question as it is
                m.answers.pop(OFFER, None)
                m.answers.pop(TOLD, None)
                m.answers[STORY] = {k: v for k, v in (m.answers.get(STORY) or {}).items()
                                    if k != state.name}  # a new dict: the step stays pure
                return self.prompt(m)
            picked = offered if said == "yes" or (said is None and self._names(
                m, state, text, offered)) else None
        if picked is None and not notices.asked_only(self, m) and \
                (guess := self._guess(m, state, text)) is not None:
            m.answers[OFFER] = [state.name, guess.value]  # "Maksud Anda: ...? Balas IYA"
            return self.prompt(m)
        if picked is None and (whole is not None or any(e.kind == "noticed" for e in m.events)):
            return self.prompt(m, short=True)  # a question answered ("sa harus pi mana?"),
            # now or before ("jgn telpon" again): not a miss; the question again, short
        if picked is None and not m.misses and self._unsure(m, state, text):
            return None  # "sa tra tau" where "don't know" is no choice: the question, plainer
        picked = picked or self._kept(m, state, text)  # "dekat pasar lama": said back
        if picked is None and m.misses and state.unsure and \
                self.bundle.answers.shared_value(text) == "unknown":
            picked = self._choice(state, state.unsure)  # and again: the choice the plainer
            # text named for the unsure ("ragu": 2 at the danger question)
        if picked is None:
            self._remember(m, text)
            return self._miss(m, state, story=_story(text),
                              media=bool(inbound.media) and not text,
                              ack=only_signs(text) or self.bundle.answers.acknowledges(text),
                              short=len(text.split()) <= PIECE_WORDS,
                              tears=only_tears(text))
        m.answers.pop(OFFER, None)
        if state.save:
            m.answers[state.save] = picked.value
        self._remember(m, text)  # what the answer says for questions to come: "sa pu ade,
        # 16 tahun" at who needs help is offered at the child's age (asked again before)
        self.fire(m, f"choose_{picked.value}", before, before_p1)
        if state.save and not state.interrupt:  # "salah ketik" next takes it back
            corrections.record(m, state.name, False)

    def _kept(self, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
        """A few words that tell a place but name no choice, kept as the answer of the text
        question `unmatched` names, and its choice (walk O: "di dekat pasar lama" at the
        distrik question had the 21-line list again): not a yes, a no or "tra tau", not a
        story or a question; a place word in it (answers.yaml `places`), or one name
        written again after the list."""
        if state.unmatched is None or "?" in text or len(text.split()) > KEPT_WORDS or \
                self.bundle.answers.shared_value(text) is not None or \
                self.bundle.answers.acknowledges(text) or \
                not self.bundle.answers.names_place(state, text, names=m.misses > 0):
            return None  # one word alone, once the list was shown again ("tunggu" is none)
        kept, value = state.unmatched
        m.answers[kept] = text[:KEPT_CHARS]
        m.replies.append(Reply(self.form(m, f"{state.prompt}.kept"), {"place": m.answers[kept]}))
        return self._choice(state, value)

    def choose(self, m: StepModel, state: StateSpec, choice: ChoiceSpec) -> bool:
        """Take `choice` and move on without speaking (the caller does); whether it made
        the case P0. An interrupt answered goes back where it came from, as `fire` does."""
        before = safety.p0(m)
        if state.save:
            m.answers[state.save] = choice.value
        trigger = f"choose_{choice.value}"
        self.fire(m, trigger, quiet=True)
        if state.interrupt and m.state == state.name and not self._stays(state, trigger):
            self._back(m)
        return bool(safety.p0(m) - before)

    def _after_hours(self, m: StepModel, state: StateSpec, text: str) -> None:
        """A time to be called that the service does not work ("malam jam 8 saja"): staff
        see that they must write first, and the family is told the hours and that staff
        will write before calling (not for a P0, which staff answer at any hour)."""
        hours = self.bundle.hours
        if m.triage.assess(m.facts()).priority == "P0" or \
                not self.bundle.answers.after_hours(text, hours.open.hour, hours.close.hour):
            return  # a P0's staff call at any hour (a walk-through's father who asked to be
            # phoned now had staff read "write in the chat before calling")
        m.flag(AFTER_HOURS)
        key = f"{state.prompt}.after_hours"
        key = self.form(m, wording.variant(self, m, state, key) or key)  # chose no call: not "we
        # call in service hours" (walk O)
        if self.has_text(m, key):
            m.replies.append(Reply(key))

    def save_text(self, m: StepModel, state: StateSpec, inbound: Inbound, text: str) -> None:
        if state.save:
            m.answers[state.save] = text[:MAX_ANSWER_CHARS]
            if inbound.media:
                m.answers[f"{state.save}_media"] = [
                    {"kind": x.kind, "ref": x.ref, "mime": x.mime} for x in inbound.media]

    def fire(self, m: StepModel, trigger: str, before: frozenset[str] | None = None,
              before_p1: frozenset[str] | None = None, quiet: bool = False) -> None:
        """Fire `trigger` and say what follows; `quiet`: only move (the caller speaks)."""
        was = self.flow.states[m.state]
        m.misses = 0
        self.machine.events[trigger].trigger(m)
        self._pass(m)
        if quiet:
            return
        alert = was.name != self.flow.interrupts["emergency"]  # it was just shown
        if was.interrupt and m.state == was.name and not self._stays(was, trigger):
            self._back(m)  # `back`: resume where the interrupt came
            unsaid = m.answers.pop(UNSAID, False)
            back = self.flow.states[m.state]
            if WITH_PERSON in m.flags and not back.end and not back.interrupt:
                # a person holds the case: not the bot's intake question again (the family
                # was told it needs no answer now)
                return m.replies.append(Reply(self.form(m, "handoff.resume")))
            if back.end and not (alert and safety.alert(self, m, before)) and not unsaid:
                return self.rest(m, self.flow.states[m.state], moved=True)
            return self.prompt(m)
        if not (alert and safety.alert(self, m, before)):
            safety.safety(self, m, before_p1)
        self.prompt(m)

    def _stays(self, state: StateSpec, trigger: str) -> bool:
        """A menu choice that only says something keeps the person in the menu."""
        value = trigger.removeprefix("choose_")
        return any(c.value == value and c.say and not c.goto
                   for c in self.flow.choices_of(state)) and not state.goto

    def rest(self, m: StepModel, state: StateSpec, moved: bool = False) -> None:
        """A message in a resting state: move on if it says where, else remind."""
        if state.idle_goto and not moved:
            target = next(b.target for b in state.idle_goto
                          if b.condition is None or
                          self.holds(self.flow.conditions[b.condition], m))
            if target == BACK:
                self._back(m)
            else:
                self.enter(m, target)
            if self.has_text(m, back := f"{state.prompt}.back"):  # after BERHENTI: why it
                m.replies.append(Reply(self.form(m, back)))  # begins again (walk Q: "sa mo
                # lanjut" after her husband came in got the whole welcome, unexplained)
            return self.prompt(m)
        key = state.idle or state.prompt
        if "crisis_selfharm" in m.flags and self.has_text(m, f"{key}.selfharm"):
            key = f"{key}.selfharm"  # waiting after words of wanting to die: not alone, the
            # numbers now (walk R: "halo kk? ada orang ka?" read only the queue line)
        elif m.has_case and self.has_text(m, f"{key}.case"):  # no consent, but a case for
            key = f"{key}.case"  # danger (a walk-through: "Ketik ULANG untuk mulai
            # konsultasi" to a woman whose children were inside with an armed man)
        # back from a safety question to a person; else someone else hears no case number
        key = "handoff.resume" if moved and WITH_PERSON in m.flags else self.form(m, key)
        m.replies.append(Reply(key, self.params(m, key)))

    def _back(self, m: StepModel) -> None:
        back = str(m.answers.pop(RETURN_TO, self.flow.initial))
        self.machine.set_state(back if back in self.flow.states else self.flow.initial, m)

    def interrupt(self, m: StepModel, target: str) -> None:
        """Enter an interrupt state; its `back` returns to where the person was."""
        if not self.flow.states[m.state].interrupt:
            m.answers[RETURN_TO] = m.state
        self.enter(m, target)

    def enter(self, m: StepModel, target: str) -> None:
        m.misses = 0  # a new question (the emergency's after misses at the welcome: not
        # "moved on" at its first miss)
        self.machine.set_state(target, m)
        for a in self.flow.states[target].on_enter:
            ACTIONS[a](m)
        self._pass(m)

    @staticmethod
    def holds(cond: Condition, m: StepModel) -> bool:
        """Whether `cond` holds for the conversation (a `priority` one: its triage now)."""
        facts = m.facts()
        return cond.holds(facts, lambda: m.triage.assess(facts).priority)

    def _pass(self, m: StepModel) -> None:
        """A question reached where its `pass` condition holds is not asked: its `pass`
        branches are followed (a tester: "is anyone injured?" for pre-marital counselling,
        school fees and PKH). Nor one a flag already answered (`known_by`: "sa tra punya
        tempat aman malam ini" told before "do you have a safe place tonight?"): that
        answer is kept and its choice followed."""
        while True:
            state = self.flow.states[m.state]
            known = next((v for f, v in state.known_by if f in m.flags), None)
            if known is not None and state.save and state.save not in m.answers:
                m.answers[state.save] = known
                self.machine.events[f"choose_{known}"].trigger(m)
            elif state.passes is not None and \
                    self.holds(self.flow.conditions[state.passes[0]], m):
                self.machine.events[PASS].trigger(m)
            else:
                return

    def _miss(self, m: StepModel, state: StateSpec, story: bool = False,
              media: bool = False, ack: bool = False, short: bool = False,
              tears: bool = False) -> None:
        """Not an answer: asked again (a story gets thanks first: a walk-through's mother
        told why she wrote at the consent question and read "Maaf, saya belum mengerti"; a
        voice note or photo is said to be kept for staff, since the bot cannot hear it),
        more simply and with a person offered every second time, and an optional question
        left after the fourth."""
        if state.lenient:  # optional: the message was not an answer; move on without it
            if state.save:
                m.answers[state.save] = "skipped"
            self.fire(m, "skip")
            after = self.flow.states[m.state]
            # a message of its own at rest (the welcome again for "sa mau tanya lagi"); not
            # "ok" or 👍 (`ack`: a walk-through's "ok" at the rating restarted the welcome)
            return self.rest(m, after) if after.end and not ack else None
        m.misses += 1
        if m.misses >= MISSES_BEFORE_MOVING_ON and (state.skippable or state.interrupt):
            m.events.append(Event("moved_on", {"state": m.state}))
            if state.interrupt or self._suggested(m, state) is None or not state.save:
                m.replies.append(Reply("moved_on"))
            if state.interrupt:  # back to where the person was (a P0 stays P0)
                m.misses = 0
                self._back(m)
                after = self.flow.states[m.state]
                return self.rest(m, after, moved=True) if after.end else self.prompt(m)
            if (kept := self._suggested(m, state)) is not None and state.save:
                return self._keep_offer(m, state, kept)
            if state.save:
                m.answers[state.save] = "skipped"
            return self.fire(m, "skip")
        if P0_ALERTED in m.flags and not state.input and not media and short:  # danger now:
            # quiet (a walk-through: "Maaf, saya belum mengerti" and the menu to every word of
            # a woman hiding in the WC); no need to answer, and staff were told. Not for a
            # longer answer (walk L: "sa aman kk, sa pu anak yg tra aman" got it too)
            m.misses %= MISSES_BEFORE_MOVING_ON  # where no moving on: never a loop
            key = self.form(m, "reprompt_urgent")
            return m.replies.append(Reply(key, choices=self.choices(state)))
        if STILL_IN_DANGER in m.flags and not state.input and not media:  # her words after
            # "still in danger" (walk Q: "de masih di luar kk sa takut sekali" read "Mohon
            # jawab dulu pertanyaan ini"): heard, staff know, no answer needed
            m.misses %= MISSES_BEFORE_MOVING_ON
            key = self.form(m, "reprompt_afraid")
            return m.replies.append(Reply(key, choices=self.choices(state)))
        if m.misses % MISSES_BEFORE_HUMAN == 0:  # a simpler question, and a person
            m.misses %= MISSES_BEFORE_MOVING_ON
            m.events.append(Event("offered_human", {"state": m.state}))
            m.replies.append(Reply("offer_human"))
            return self.prompt(m, short=True)
        key = "reprompt_tears" if tears else "reprompt_text" if state.input else \
            "reprompt_story" if story else "reprompt_media" if media else "reprompt"
        # (a voice note: kept, not heard; crying faces: heard, and DARURAT, in "kamu" too)
        key = self.form(m, key) if tears else key
        m.replies.append(Reply(key, choices=self.choices(state)))

    def _keep_offer(self, m: StepModel, state: StateSpec, kept: ChoiceSpec) -> None:
        """Left after misses, a question keeps what the bot itself offered from the story
        and the family never refused, said back for staff to check (a tester: a grandmother
        of 70 offered "Lansia", who answered "sa ini tua su tra kuat" and "sa tra mengerti ini
        nak", had the category dropped and ended P3 "konsultasi"): a guess staff can correct
        costs less than a case with no problem named, and no priority for it."""
        before = safety.p0(m) if state.name in self.p0_states else None
        before_p1 = safety.reasons(m, "P1") if state.name in self.p1_states else None
        key = self.form(m, "moved_on.kept")
        m.replies.append(Reply(key, {"suggested_key": kept.label}))
        m.events[-1].data["kept"] = kept.value  # the "moved_on" event: staff check it
        m.answers.pop(OFFER, None)
        m.answers[str(state.save)] = kept.value
        m.answers[KEPT_OFFER] = state.name
        self.fire(m, f"choose_{kept.value}", before, before_p1)

    def _unsure(self, m: StepModel, state: StateSpec, text: str) -> bool:
        """"sa tra tau" at a question with no "don't know" choice but with a plainer form
        (`<prompt>.plain`): that text and the question again, short, as for "maksudnya apa?"
        (a walk-through: "tra tau" at the danger question got "Maaf, saya belum mengerti").
        Counted as a miss, so a second one is asked again as any other."""
        plain = f"{state.prompt}.plain"
        if not self.has_text(m, plain) or \
                self.bundle.answers.shared_value(text) != "unknown" or \
                "unknown" in (value for value, _ in self.choices(state)):
            return False
        m.misses += 1
        key = self.form(m, plain)
        m.replies.append(Reply(key, self.params(m, key)))
        self.prompt(m, short=True)
        return True

    @cached_property
    def offering(self) -> tuple[StateSpec, ...]:
        """The questions a story may answer for later (`offer` and `from_story` in
        answers.yaml: the distrik, the category; the age by `own_age`, the writer's own; not
        "who needs help": in "sa pu paitua pukul sa" the husband is named, and the writer
        needs the help)."""
        return tuple(s for s in self.flow.states.values()
                     if s.save and not s.end and self.flow.choices_of(s)
                     and (q := self.bundle.answers.question(s)) is not None
                     and (q.offer or bool(q.own_self)) and q.from_story)

    def prompt(self, m: StepModel, short: bool = False) -> None:
        """Ask the current question: its text for the kind of danger where it has one
        (`variant`: an answer's value, or a condition's name where it holds), or with `short`
        its simpler form where it has one."""
        self._pass(m)  # a flag set at this very question answers it ("sa tra tau mo lari ke
        state = self.flow.states[m.state]  # mana" at "a safe place tonight?")
        key = state.prompt
        texts = self.bundle.catalog.texts[m.language]
        if (variant := wording.variant(self, m, state, key)) is not None:
            key = variant
            if m.answers.get(ACCIDENT) and f"{key}{ACCIDENT_TEXT}" in texts:
                key = f"{key}{ACCIDENT_TEXT}"  # a fall, a bite: first aid and the health post
            if writes_as_child(m.answers) and f"{key}.child" in texts:
                key = f"{key}.child"  # a child writing: "kamu" (emergency.violence.child)
            elif about_someone_else(m.answers) and f"{key}.other" in texts:
                key = f"{key}.other"  # someone telling of another (as danger.answer orders)
            elif not (HURT_BY_POLICE in m.flags and f"{key}.police" in texts):
                key = self.form(m, key)  # a question's own variant, in "kamu" (the closing)
            if HURT_BY_POLICE in m.flags and f"{key}.police" in texts:
                key = f"{key}.police"  # hurt by the police: no police station as a refuge, a
                # child held by them not to be "taken to a safe place" (walk L)
            if state.name == self.flow.interrupts["emergency"]:
                key = wording.injured(self, m, key)
                # an emergency message again: the same, or an injury after another kind (a
                # walk-through: four whole blocks for one boy's bruised legs): "we have it as
                # urgent" and the numbers. A new kind of danger gets its whole message (the
                # self-harm advice), and a child's own texts stay whole.
                base = ".".join(key.split(".")[:2])  # emergency.<kind>
                shown = m.answers.get(SHOWN)
                again = f"{key}.again" if shown == key else \
                    f"{base}.again" if shown and base.split(".")[1] in danger.HOW_URGENT \
                    and (not key.endswith(".child") or str(shown).endswith(INJURED)) else ""
                # (a child told first aid in the text for a bleeding parent: "mama masih
                # berdarah" is "we have it as urgent", no second whole text; walk O)
                if again in texts:
                    key = again
                else:
                    m.answers[SHOWN] = key
        else:
            # "apakah kamu pernah..." (a walk-through: "Anda" to a girl of 16). `.young`, not
            # `.child`: that is a choice's label ("category.child") or a child's danger
            key = self.form(m, key)
        if state.name == self.flow.initial and f"{state.prompt}.again" in texts:
            # the welcome once; asked again (after "jam buka", "makasih", a danger message):
            # only the question (a walk-through heard the whole welcome five times)
            if m.answers.get(GREETED):
                key = f"{state.prompt}.again"
            else:  # the first time whole, also after a notice: who we are, that this is a
                short = False  # bot, and DARURAT (a first message asking for an akta had
                # only "Mau lanjut chat, ditelepon petugas, atau hanya nomor bantuan?")
            m.answers[GREETED] = True
        if state.end and (whose := self.form(m, state.prompt)).endswith(OTHER_WRITER):
            key = whose  # someone else: no case number (Never 5)
        if state.name == self.flow.interrupts["emergency"] and WITH_PERSON in m.flags and \
                m.answers.get(FOCUS) not in OWN_ADVICE and not short:
            # a counselor holds the case: no advice of our own beside theirs (a walk-through:
            # "go to a neighbour" just after the counselor said to stay behind the door)
            held = self.form(m, "emergency.held")  # with the question, short, in it
            short = True
        else:
            held = None
            own = f"{key.removesuffix('.again')}.held"
            if state.name == self.flow.interrupts["emergency"] and WITH_PERSON in m.flags \
                    and not short and own in texts:
                key = own  # its own advice, and "your counselor has your message" (walk L)
        if short:
            key = next((k for k in (f"{key}.short", f"{key.removesuffix(INJURED)}.short",
                                    f"{key.removesuffix(POLICE)}.short",
                                    f"{state.prompt}.short") if k in texts), key)
        offered = self._suggested(m, state)
        asked = key
        if offered is not None and (m.answers.get(OFFER) or ("",))[0] == state.name:
            key = DID_YOU_MEAN  # "Maksud Anda: Anak: pengasuhan...? Balas IYA"
        elif offered is not None and (suggest := next((
                k for k in (f"{state.prompt}.suggest.young" if key.endswith(".young") else "",
                            f"{state.prompt}.suggest") if k in texts), None)):
            key = suggest  # "from what you told us: domestic violence? reply YES"
        elif offered is not None:
            key = self.form(m, FROM_STORY)  # the question, then "Dari cerita Anda tadi:
            # Kuala Kencana?" ("ceritamu" to a child)
        params = self.params(m, key)
        if offered is not None:
            params["suggested_key"] = offered.label
        if key.startswith(FROM_STORY):
            params |= {**self.params(m, asked), "question_key": asked}
        elif held is not None:
            key, params = held, {**self.params(m, held), "question_key": key}
        m.replies.append(Reply(key, params, self.choices(state)))
