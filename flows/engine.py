"""The engine step: snapshot + inbound + now -> replies, events, new snapshot. No I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from flows import (
    answering,
    casenumbers,
    choices,
    commands,
    corrections,
    danger,
    edges,
    hearing,
    mistakes,
    moves,
    notices,
    offers,
    prompts,
    repeats,
    safety,
    wording,
)
from flows.actions import (
    ACTIONS,
    ANSWERED,
    BY_OTHER,
    FLAGS,
    GREETED,
    OFFER,
    PHONE_WATCHED,
    UNSAFE_NOW,
    WRITER,
    StepModel,
    phone_watched,
    writes_as_child,
)
from flows.crisis import Scan
from flows.definition import ChoiceSpec, Condition, FlowError, StateSpec
from flows.loader import Bundle, load_bundle
from flows.machine import LeanMachine
from flows.mistakes import RESUME_AFTER
from flows.text import fold, has_letters, named_in, written_in
from flows.types import Event, Inbound, Reply, Snapshot, Turn
from flows.writers import who_writes, whose_answers

NUMBER_NOTED = "case_number_noted"  # a case number the family wrote: noted for staff
# Interrupt states the engine itself enters, whatever keywords the flow binds.
REQUIRED_INTERRUPTS = ("emergency", "resume")


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
        self.flagging = hearing.flagging(bundle)  # flags that danger words' cases know
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
        self.machine = LeanMachine(model=None, states=edges.states(self.flow),
                                   transitions=self.transitions(),
                                   initial=self.flow.initial, auto_transitions=False,
                                   send_event=True, model_override=False)

    @classmethod
    def load(cls, name: str = "intake") -> Engine:
        return cls(load_bundle(name, ACTIONS, FLAGS))

    def transitions(self) -> list[dict[str, Any]]:
        """The machine's transitions (flows.edges; `lk3 flow draw` draws them)."""
        return edges.transitions(self)

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
        m = self._model(snap, inbound, now, lost)
        if UNSAFE_NOW in m.flags:  # she writes again: what she paused for is over
            m.flags.remove(UNSAFE_NOW)
        away = now - snap.updated_at if snap.updated_at else timedelta(0)
        self.handle(m, inbound, fresh or lost, away)
        repeats.shorten(self, m)  # the same reminder a third time in a row: short
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

    def held_danger(self, snap: Snapshot, inbound: Inbound, scan: Scan, now: datetime,
                    say: bool) -> Turn:
        """Danger words that are not imminent from a family whose case a person holds
        (flows.danger.held): the conversation as they leave it, the case event that raises
        it, and (`say`) the P1 text an intake gives for them. Pure, like `step`."""
        m = self._model(snap, inbound, now, False)
        danger.note_young(m, scan)  # "sa umur 15": "kamu"
        for pattern, flag in self.flagging:  # "de cek sa pu hp": the texts for such a phone
            if pattern.search(fold(inbound.text)):
                m.flag(flag)
        danger.held(self, m, scan, say)
        if PHONE_WATCHED in m.flags and PHONE_WATCHED not in snap.flags:
            phone_watched(m)  # staff write only after they write, as the intake records it
        m.replies = [wording.filled(self, m, r) for r in m.replies]
        new = Snapshot(snap.flow, snap.state, m.language, m.answers, tuple(m.flags), m.misses,
                       snap.flow_version, snap.case_number, now)
        return Turn(tuple(m.replies), tuple(m.events), new)

    def _model(self, snap: Snapshot, inbound: Inbound, now: datetime,
               lost: bool) -> StepModel:
        """The step model of a snapshot (a state the flow no longer has: from the start)."""
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
        return m

    def handle(self, m: StepModel, inbound: Inbound, starting: bool, away: timedelta,
               meant: bool = False) -> None:
        """Answer one message (`meant`: what a correction meant, read as an answer)."""
        told = None if meant or inbound.payload else casenumbers.read(inbound.text)
        if told is not None:  # "sa pu nomor kasus LK3-2026-00001": noted, never a choice
            m.events.append(Event("case_number_told", {"number": told.number,
                                                       "state": m.state}))
            if not told.rest:
                return self._number_only(m, starting)
            inbound = replace(inbound, text=told.rest)
        at0 = len(m.replies)
        command, asked = hearing.read_command(self, m, inbound, starting)
        if hearing.unsafe(self, m, inbound) and command != "later":  # its pause says so
            m.events.append(Event("paused_by_family", {"state": m.state, "unsafe": True}))
        fix = None if meant else mistakes.correction(self, m, inbound, command, starting, away)
        command = "mistyped" if fix is not None else command
        if command is None and not meant and \
                mistakes.correction_at_rest(self, m, inbound, starting):
            command = "correct"  # at rest, "sa pu distrik salah, sa tinggal di ...": UBAH
        if hearing.repeated(m, inbound, command, starting, away):
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
        heard = hearing.read_danger(self, m, inbound, command, state, away)
        if command is not None:
            self._command(m, inbound, command, asked, fix)
        else:
            self._message(m, inbound, state, heard, starting, away)
        if heard.scan and command is None and not inbound.payload:  # what danger texts do
            # not answer: "kam bisa telpon polisi ka?" (no: call 110), "bisa selesai adat ka?"
            notices.notice(self, m, inbound.text, self.bundle.beside_danger, at + 1)
        self._writer(m, state, wrote, bool(heard.scan), at)
        hearing.keep_pieces(m, heard.pieces, at)
        if heard.scan and m.answers.get(ANSWERED) is answered:
            corrections.settle(m)  # words of danger, and no answer: "salah ketik" is theirs
        if told is not None and not heard.scan and \
                not any(e.kind == "noticed" for e in m.events):  # beside danger or a
            m.replies.insert(at0, Reply(self.form(m, NUMBER_NOTED)))  # notice ("Kasus
            # LK3-... itu apa? Dia cerita apa?": no one learns), their texts alone

    def _number_only(self, m: StepModel, starting: bool) -> None:
        """A case number and nothing else: noted (the same words whoever's case it is:
        Never 5), then the welcome, or the question asked again, or the resting text."""
        m.replies.append(Reply(self.form(m, NUMBER_NOTED)))
        state = self.flow.states[m.state]
        if starting:
            return answering.welcome(self, m, "", [])
        if state.end:
            return self.rest(m, state)
        return self.prompt(m)

    def _command(self, m: StepModel, inbound: Inbound, command: str, asked: list[str],
                 fix: corrections.Correction | None) -> None:
        """A keyword command, a question about the service, or a correction."""
        if command == "ask_secret" and \
                named_in(inbound.text, self.bundle.beside_danger) == "secret":
            notices.noticed(self, m, "secret")  # "jang kasi tau sa pu mama" alone: staff see the
            # condition, and no notice repeats it
        m.answers.pop(OFFER, None)  # a guess offered before is not offered again after a
        # keyword or a question (walk O: "only helpline numbers?" after PETUGAS too)
        if command in commands.PRIVACY:  # "tolong hapus sa pu data, sa takut suami baca":
            self._phone_read(m, inbound.text)  # its answer in the form for such a phone
        if fix is not None:
            mistakes.correct(self, m, inbound, fix)
        else:
            commands.run(self, m, command, asked)

    def _phone_read(self, m: StepModel, text: str) -> None:
        """A phone someone else reads, told with a request about her data (a review: the
        erasure answer said staff would explain, to the phone her husband reads)."""
        if any(flag == PHONE_WATCHED and pattern.search(fold(text))
               for pattern, flag in self.flagging):
            m.flag(PHONE_WATCHED)

    def _message(self, m: StepModel, inbound: Inbound, state: StateSpec,
                 heard: hearing.Heard, starting: bool, away: timedelta) -> None:
        """A message that is no command: danger words, a first message, a return after a
        long silence, or an answer to the question asked."""
        scan = heard.scan
        if state.name == self.flow.interrupts.get("feedback") and away > RESUME_AFTER:
            m.events.append(Event("rating_lapsed", {"hours": away // timedelta(hours=1)}))
            moves.fire(self, m, "skip", quiet=True)  # days later her words are of something
            state = self.flow.states[m.state]  # new, never a rating of the closed case (walk
            # V-9: "2" after a new beating was stored as the new case's satisfaction)
        if scan and self.flow.begins_again(state):  # danger words after a closed case: the
            self.enter(m, self.flow.initial)  # help first, then the welcome, as to a first
            state, starting = self.flow.states[m.state], True  # message (walk S-7: back at
            # "done", "Terima kasih. Jika butuh bantuan lagi" after "are you safe now?")
        rest = None  # the message without what a notice answered
        if not inbound.payload and not scan and has_letters(inbound.text):  # (no notice
            # is in a bare "2")
            rest = notices.notice(self, m, inbound.text,
                                  self.notice_phrases)  # "anak panas tinggi": IGD
        if scan and state.save and \
                (still := choices.still_in_danger(self, m, state, inbound.text, scan)):
            hearing.still(self, m, state, scan, still)
        elif scan:  # every text, in every state, is read for danger before anything else
            choice = None if starting else \
                heard.also or choices.danger_choice(self, m, state, inbound.text, scan)
            if choice is None:
                offers.remember(self, m, inbound.text)
            danger.answer(self, m, inbound, state, scan, starting, choice)
        elif starting:
            answering.welcome(self, m, inbound.text, heard.pieces)
        elif state.end and answering.follows_up(self, m, state, inbound.text, away):
            answering.follow_up(self, m)  # a question soon after a closed case: a person
        elif away > RESUME_AFTER and not state.end and not state.interrupt and \
                m.state != self.flow.initial:  # at the welcome nothing is under way to go
            self._returned(m, away)  # on with (walk U-11: "Mau melanjutkan dari pertanyaan
            # terakhir?" to a question two days after the welcome)
        else:
            # a choice is read without the notice's words; a text answer keeps them all
            answering.answer(self, m, replace(inbound, text=rest) if rest and not state.input
                             else inbound, state,
                             whole=inbound.text if rest is not None else None)

    def _returned(self, m: StepModel, away: timedelta) -> None:
        """Back after a long silence mid-intake: asked whether to go on where they were."""
        hours = away // timedelta(hours=1)  # an int: the event is stored as JSON
        m.events.append(Event("returned", {"state": m.state, "hours": hours}))
        self.interrupt(m, self.flow.interrupts["resume"])
        self.prompt(m)

    @staticmethod
    def _writer(m: StepModel, state: StateSpec, wrote: str | None, scan: bool,
                at: int) -> None:
        """Say who is heard writing: after the danger text, if any; before everything else."""
        if wrote == "writer.owner" and BY_OTHER in m.answers and not state.end:
            wrote = "writer.owner.mid_intake"  # the questions so far were someone else's
            # (a re-check: a mother went on answering her daughter's intake)
        if wrote is not None:
            m.replies.insert(at + 1 if scan and len(m.replies) > at else at, Reply(wrote))

    @staticmethod
    def holds(cond: Condition, m: StepModel) -> bool:
        """Whether `cond` holds for the conversation (a `priority` one: its triage now)."""
        facts = m.facts()
        return cond.holds(facts, lambda: m.triage.assess(facts).priority)

