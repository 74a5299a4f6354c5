"""The engine step: snapshot + inbound + now -> replies, events, new snapshot. No I/O."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any, cast

from transitions import EventData, State

from flows import (
    answering,
    choices,
    commands,
    corrections,
    danger,
    mistakes,
    moves,
    notices,
    offers,
    prompts,
    safety,
    wording,
)
from flows.actions import (
    ABOUT_OTHER,
    ACTIONS,
    ANSWERED,
    BY_OTHER,
    CHAT_ONLY,
    CRISIS_GROUPS,
    FLAGS,
    GREETED,
    OFFER,
    PHONE_WATCHED,
    WRITER,
    StepModel,
    phone_watched,
    writes_as_child,
)
from flows.answering import PIECE_WORDS
from flows.crisis import Scan
from flows.definition import (
    BACK,
    Branch,
    ChoiceSpec,
    Condition,
    FlowError,
    StateSpec,
)
from flows.loader import Bundle, load_bundle
from flows.machine import LeanMachine
from flows.mistakes import RESUME_AFTER
from flows.moves import PASS
from flows.offers import STORY_WORDS
from flows.text import (
    clean,
    command_of,
    fold,
    has_letters,
    named_in,
    written_in,
)
from flows.types import Event, Inbound, Reply, Snapshot, Turn
from flows.writers import who_writes, whose_answers

QUESTION_MARKS = re.compile(r"\s*[?？¿]+\s*")  # "?" alone: the family did not understand
LAST_STORY = "_last_story"  # a digest of the last message of STORY_WORDS words or more
# the same one again this soon: sent twice, not said (a burst comes in one batch; an answer
# to the next question takes longer: walk L's "sa tra tau kk" a few seconds later was lost)
REPEAT_WITHIN = timedelta(seconds=2)
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
# read by the model alone. (Once a case is urgent, the model is not heard at all: `_urgent`.)
MODEL_HEARD_WORDS = 10
# Interrupt states the engine itself enters, whatever keywords the flow binds.
REQUIRED_INTERRUPTS = ("emergency", "resume")


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
    def offering(self) -> tuple[StateSpec, ...]:
        """The questions a story may answer for later (flows.offers.offering)."""
        return offers.offering(self.flow, self.bundle.answers)

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

    # -- the moves (flows/moves.py), asking (flows/prompts.py), answering --------------------

    def fire(self, m: StepModel, trigger: str, before: frozenset[str] | None = None,
             before_p1: frozenset[str] | None = None, quiet: bool = False) -> None:
        """Fire `trigger` and say what follows; `quiet`: only move (the caller speaks)."""
        moves.fire(self, m, trigger, before, before_p1, quiet)

    def choose(self, m: StepModel, state: StateSpec, choice: ChoiceSpec) -> bool:
        """Take `choice` and move on without speaking; whether it made the case P0."""
        return moves.choose(self, m, state, choice)

    def rest(self, m: StepModel, state: StateSpec, moved: bool = False) -> None:
        """A message in a resting state: move on if it says where, else remind."""
        moves.rest(self, m, state, moved)

    def interrupt(self, m: StepModel, target: str) -> None:
        """Enter an interrupt state; its `back` returns to where the person was."""
        moves.interrupt(self, m, target)

    def enter(self, m: StepModel, target: str) -> None:
        """Enter a state and run its on_enter actions."""
        moves.enter(self, m, target)

    def prompt(self, m: StepModel, short: bool = False) -> None:
        """Ask the current question (flows.prompts.prompt)."""
        prompts.prompt(self, m, short)

    def save_text(self, m: StepModel, state: StateSpec, inbound: Inbound, text: str) -> None:
        """Keep a text answer (and its media) where the state saves it."""
        answering.save_text(m, state, inbound, text)

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
        self.handle(m, inbound, fresh or lost, away)
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

    def handle(self, m: StepModel, inbound: Inbound, starting: bool, away: timedelta,
                meant: bool = False) -> None:
        """Answer one message (`meant`: what a correction meant, read as an answer)."""
        command, asked = self._command(m, inbound, starting)
        fix = None if meant else mistakes.correction(self, m, inbound, command, starting, away)
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
        scan, pieces, also = self._scan(m, inbound, command, state, away)
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
                mistakes.correct(self, m, inbound, fix)
            else:
                commands.run(self, m, command, asked)
        elif scan and state.save and \
                (still := choices.still_in_danger(self, m, state, inbound.text, scan)):
            self._still(m, state, scan, still)
        elif scan:  # every text, in every state, is read for danger before anything else
            choice = None if starting else \
                also or choices.danger_choice(self, m, state, inbound.text, scan)
            if choice is None:
                offers.remember(self, m, inbound.text)
            danger.answer(self, m, inbound, state, scan, starting, choice)
        elif starting:
            answering.welcome(self, m, inbound.text, pieces)
        elif away > RESUME_AFTER and not state.end and not state.interrupt:
            hours = away // timedelta(hours=1)  # an int: the event is stored as JSON
            m.events.append(Event("returned", {"state": m.state, "hours": hours}))
            self.interrupt(m, self.flow.interrupts["resume"])
            self.prompt(m)
        else:
            # a choice is read without the notice's words; a text answer keeps them all
            answering.answer(self, m, replace(inbound, text=rest) if rest and not state.input
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


    def _command(self, m: StepModel, inbound: Inbound,
                 starting: bool) -> tuple[str | None, list[str]]:
        """The keyword command or question about the service a message is, if any, and
        more questions asked with it; none where its words are danger, an answer or a time."""
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
                                     choices.answers_safety(self, m, inbound.text)):
            command = None  # at rest there is nothing to pause: a message to the case
        return command, asked

    def _scan(self, m: StepModel, inbound: Inbound, command: str | None, state: StateSpec,
              away: timedelta) -> tuple[Scan | None, list[str], ChoiceSpec | None]:
        """The danger words a message is heard for (with the short pieces before it), the
        pieces kept, and the choice a story the model reads as danger answers as well."""
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
                choices.pick(self, m, state, clean(inbound.text)) is None:
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
                (also := choices.choice_of(self, m, state, inbound.text)) is not None and \
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
        return scan, pieces, also

    def _still(self, m: StepModel, state: StateSpec, scan: Scan, still: ChoiceSpec) -> None:
        """Words of danger now at "are you safe now?": still in danger, as its answer."""
        before = safety.p0(m)
        m.flags = list(danger.flags_seen(scan, tuple(m.flags), WRITER in m.answers))
        m.events.append(Event("crisis_words", danger.words_event(
            scan, bool(scan.imminent), state=m.state)))  # staff see the words, as ever
        if danger.of_another(scan):
            m.answers[ABOUT_OTHER] = True  # "bukan sa, sa pu kaka yang dalam bahaya"
        danger.set_focus(m, scan)  # "tra. sa mo gantung diri malam ini": self-harm texts
        m.answers[CRISIS_GROUPS] = list(scan.groups)  # and the numbers for what it says
        m.answers[str(state.save)] = still.value  # "masih dalam bahaya": the answer, once
        said = len(m.replies)
        self.fire(m, f"choose_{still.value}", before)
        acked = next((i for i, r in enumerate(m.replies[said:], said)
                      if r.key.startswith("emergency.still_ack")), len(m.replies) - 1)
        if CHAT_ONLY not in m.flags:  # hiding, or cannot talk: one message less to
            # sound (walk N; the silent line names SAPA's WhatsApp)
            m.replies.insert(acked + 1, Reply("emergency.still_numbers",
                                              self.params(m, "emergency.still_numbers")))

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

    @staticmethod
    def holds(cond: Condition, m: StepModel) -> bool:
        """Whether `cond` holds for the conversation (a `priority` one: its triage now)."""
        facts = m.facts()
        return cond.holds(facts, lambda: m.triage.assess(facts).priority)

