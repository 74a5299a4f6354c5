"""Danger words in a family's message, in any state: help in the same turn (issue 13).

Which kind of danger a message is mostly about picks the texts (`emergency.<focus>`,
`crisis.p1.<focus>`); every kind hit adds its numbers (flows/directory.yaml `by_group`).
"""

from __future__ import annotations

from collections.abc import Iterable

from flows import corrections
from flows.actions import (
    ABOUT_OTHER,
    ACCIDENT,
    ACTIONS,
    CRISIS_GROUPS,
    FOCUS,
    IMAGES,
    MODEL_FLAG,
    MODEL_SELFHARM,
    OTHER_AT_RISK,
    OTHER_FOCUS,
    OTHER_WRITER_DANGER,
    SEXUAL_RECENT,
    STORY,
    TOLD,
    UNDER_18,
    WRITER,
    YOUNG,
    StepModel,
    about_someone_else,
    resting_message,
    writes_as_child,
)
from flows.crisis import Scan
from flows.definition import ChoiceSpec, StateSpec
from flows.steps import Stepper
from flows.text import clean
from flows.types import Event, Inbound, Reply

# Which kind of danger a message is mostly about, when it is about several: its texts lead.
# Help-now words ("tolong saya") get the violence texts.
FOCUS_ORDER = ("selfharm", "harms_others", "child", "sexual", "violence", "injury", "help_now")
FOCUS_TEXTS = {"help_now": "violence"}
# ...unless the conversation's earlier danger words were of one of these kinds: help now then
# gets that kind's texts
HELP_FOLLOWS = ("selfharm", "sexual", "child")
UNSAID = "_unsaid"  # a resting state reached under an interrupt: its text is still to say
MAYBE = "crisis.p1.maybe"  # its text: it may be wrong, so it says "if" and asks nothing
NOTED = "answer_noted"  # "Saya catat: <the choice>", after an answer read from danger words


def is_imminent(scan: Scan, flags: Iterable[str]) -> bool:
    """P0 now: imminent words (a method, a time, a weapon...), or self-harm words a second
    time in one conversation (words of the lists, not the model's reading). The one rule,
    for the engine and for a case a person holds."""
    return bool(scan.imminent) or (scan.model is None and "selfharm" in scan.groups
                                   and not {"crisis_selfharm", OTHER_AT_RISK}.isdisjoint(flags))


def flags_seen(scan: Scan, flags: tuple[str, ...], other: bool = False) -> tuple[str, ...]:
    """A conversation's flags once `scan`'s words are known (as the engine sets them), for a
    message the engine does not answer (a person holds the case): the rules stay one. The
    model's reading is its own flag (staff read "possible danger, read automatically"), and
    sexual violence told as recent has its own (P0 by the reason `sexual_recent`).
    `other`: someone else on the phone wrote them (flows/writers.py): they still count for
    the case (a sister's "kaka dipukul skarang" is the owner's danger), and staff read that
    they are not the owner's words (a re-check: a husband's question was read as his wife
    confessing)."""
    new = [MODEL_FLAG, *([MODEL_SELFHARM] if "selfharm" in scan.groups else [])] \
        if scan.model is not None else [
        *(OTHER_AT_RISK if g == "selfharm" and scan.other_at_risk else f"crisis_{g}"
          for g in scan.groups), *([SEXUAL_RECENT] if scan.recent else [])]
    if other:
        new.append(OTHER_WRITER_DANGER)
    return (*flags, *(f for f in new if f not in flags))


def words_event(scan: Scan, imminent: bool, **more: object) -> dict[str, object]:
    """The `crisis_words` event's data, the one shape for the engine and for a case a
    person holds; `model` only where the model read the message."""
    data: dict[str, object] = {"groups": list(scan.groups), "imminent": imminent,
                               "matched": list(scan.matched)}
    if scan.model is not None:
        data["model"] = scan.model
    return {**data, **more}


def of_another(scan: Scan) -> bool:
    """The words tell of someone else in danger, not the writer. For self-harm only where
    every sentence of it names someone else (`other_at_risk`): otherwise the writer may be
    the one at risk (the engine and danger.answer read it alike)."""
    if focus_of(scan) == "selfharm":
        return scan.other_at_risk
    return scan.other


def note_young(m: StepModel, scan: Scan) -> None:
    """The writer's own age under 18 in a message, danger words or none ("sa umur 15, bapa
    pukul sa"; "kaka sa umur 16. sa pu bapa su terima mas kawin", walk O): a child writing,
    until the age question is answered; offered at "how old are you?" (a walk-through's boy
    of 14 was asked it after telling it; "Dari cerita Anda tadi: ...? Balas IYA")."""
    if scan.writer_young and ("age" not in m.answers or WRITER in m.answers):
        m.answers[YOUNG] = True
        if WRITER not in m.answers:
            m.answers[STORY] = {**(m.answers.get(STORY) or {}), "age": UNDER_18}


def set_focus(m: StepModel, scan: Scan) -> None:
    """The kind of danger the texts that follow are about: the words' own kind; "tolong
    telpon sa skarang" after self-harm words keeps the self-harm texts, not the violence
    ones (a walk-through)."""
    focus, earlier = focus_of(scan), m.answers.get(TOLD)
    pool = set(scan.imminent or scan.groups)
    if scan.other and not writes_as_child(m.answers) and "injury" in pool and \
            pool <= {"violence", "injury", "help_now"}:
        focus = "injury"  # an adult telling of another beaten and bleeding: the IGD first
        # (walk O: a sister in Agimuga read "jangan masuk sendiri ke tempat yang berbahaya",
        # no word of care); the problem told is still the blows (TOLD), and a child hiding
        # while a parent bleeds keeps the child's own texts
    m.answers[FOCUS] = earlier if focus == "help_now" and earlier in HELP_FOLLOWS else \
        FOCUS_TEXTS.get(focus, focus)


# Kinds of danger whose words reach a person before consent too (vital interest), besides a
# child's own danger words; sexual violence before consent only against a child (an adult
# told of a threat to spread her video, chose "numbers only, no data", and her story had
# become a case: a walk-through; UU PDP)
BEFORE_CONSENT = ("selfharm",)
BEFORE_CONSENT_IF_CHILD = ("sexual",)
# Kinds of danger that say how urgent, not what the problem is: they do not replace a kind
# the family named before as what they told (TOLD: the category offered later)
HOW_URGENT = ("injury", "help_now")


def pregnant(scan: Scan) -> bool:
    """The message's sexual words are all of a child's pregnancy ("sa umur 17 sa hamil"):
    the law counts it as sexual violence against a child, staff see it so, and the text
    speaks of the pregnancy first."""
    return scan.groups == ("sexual",) and scan.model is None and \
        all("hamil" in p for p in scan.matched)


def focus_of(scan: Scan) -> str:
    """The kind of danger a message is mostly about: what is imminent leads (a machete
    over sadness), then FOCUS_ORDER."""
    pool = scan.imminent or scan.groups
    return next(g for g in FOCUS_ORDER if g in pool)


def answer(engine: Stepper, m: StepModel, inbound: Inbound, state: StateSpec, scan: Scan,
           starting: bool, choice: ChoiceSpec | None = None) -> None:
    """Danger words, in any state: help in this same turn, the person's place kept.

    Imminent danger (or self-harm words a second time) is P0: the emergency message for
    that kind of danger and one question about safety. Other danger words are P1: that
    kind's 24-hour numbers, staff told where there is consent or a case, then the
    conversation goes on. A message with danger words answers a question that asks for
    text (a story, a place), and the `choice` it answers at a question whose choices name
    kinds of danger (the engine finds it); at any other choice question it is asked again.
    The kind the lists found is remembered (TOLD): that question offers it later.
    """
    imminent = is_imminent(scan, m.flags)
    was = m.answers.get(FOCUS)
    young, about_child = kept(m, scan)
    if imminent:
        m.flag("crisis_now")
    m.events.append(Event("crisis_words", words_event(scan, imminent, state=m.state)))
    if state.end and not state.interrupt:
        m.events.append(resting_message(m))
    # a text question takes a message with danger words as its answer only where it asks
    # for the story (`own_words`): a threat with a machete is no codeword, nor a safe time
    # (a walk-through: it was saved as the codeword a counselor would say back)
    answered = not starting and not state.end and \
        ((state.input is not None and state.own_words) or choice is not None)
    made = False  # its answer made the case P0 (its words did not)
    if answered and choice is not None:
        made = engine.choose(m, state, choice) and not imminent  # its answer may be P0 too
        imminent = made or imminent
    elif answered:
        engine.save_text(m, state, inbound, clean(inbound.text))
        engine.fire(m, "answer", quiet=True)
    if imminent and engine.noted(m, same=m.answers.get(FOCUS) == was, words=not made):
        return engine.prompt(m)  # "are you safe now?" answered before, of the same danger:
        # noted, the intake goes on
    if imminent:
        if answered and engine.flow.states[m.state].end:
            m.answers[UNSAID] = True  # the closing is said after the safety question
        engine.interrupt(m, engine.flow.interrupts["emergency"])
        return engine.prompt(m)
    if m.consented() or m.has_case or m.answers[FOCUS] in BEFORE_CONSENT or \
            (scan.model is None and (
                young or (about_child and m.answers[FOCUS] in BEFORE_CONSENT_IF_CHILD))):
        # staff see it now, whatever the family does next; words of wanting to die (read by
        # the lists or the model), sexual violence against a child, and a child's own
        # danger, before consent too (vital interest; Never 2: a walk-through's "sa cape
        # hidup, lebih baik sa tra ada", then "sa bercanda saja"; a girl of 16 pregnant by
        # her teacher; a boy's "kalo sa tra ada lagi sa pu mama pasti lebih tenang", read
        # by the model alone: no person would ever have seen any of them)
        ACTIONS["open_case_now"](m)
    key = p1_key(engine, m, scan, young, about_child)
    if state.name != engine.flow.interrupts["emergency"] or answered:
        m.replies.append(Reply(key, engine.params(m, key)))
    # else at "are you safe now?" the question comes again as the emergency message for
    # the kind now told: its 24-hour numbers once, not twice in one turn (a mother who
    # answered "iya" to danger, then told "paitua pukul sa tadi malam", read two lists)
    if choice is not None:  # what was understood, so a wrong reading can be seen
        m.replies.append(Reply(NOTED, {"chosen_key": choice.label}))
    now = engine.flow.states[m.state]
    if choice is not None:
        corrections.record(m, state.name, True)
    if now.end and not answered:
        return engine.rest(m, now)
    engine.prompt(m)


def kept(m: StepModel, scan: Scan) -> tuple[bool, bool]:
    """What danger words change in a conversation, whoever answers them (the engine, or a
    person holding the case: `held`): the kind of danger its texts and numbers are for,
    whether it is someone else's or an accident, the kinds hit, the kind told (the category
    offered later), and the flags its case's triage reads. Whether a child writes, and
    whether the words are about a child someone else tells of."""
    set_focus(m, scan)
    if of_another(scan):
        m.answers[ABOUT_OTHER] = True  # "tetangga pukul de pu maitua skarang"
    elif scan.groups and not (focus_of(scan) == "help_now" and OTHER_AT_RISK in m.flags
                              and m.answers.get(FOCUS) == "selfharm"):
        m.answers.pop(ABOUT_OTHER, None)  # the writer's own danger now (not "tolong" or
        # "masih dalam bahaya" after a husband told of his wife's words: still hers)
    if scan.accident:
        m.answers[ACCIDENT] = True  # "jatuh dari pohon": the health post, no police lines
    else:
        m.answers.pop(ACCIDENT, None)
    if scan.images:  # "ancam sebar sa pu foto ... malam ini": not to pay, the evidence
        m.answers[IMAGES] = True  # kept, in the emergency text too (walk U-4: a girl of 16
    else:  # with a deadline tonight read of a visum within 72 hours)
        m.answers.pop(IMAGES, None)
    young = writes_as_child(m.answers)
    about_child = scan.child and not young
    m.answers[CRISIS_GROUPS] = [*scan.groups, *(["child"] if about_child else [])]
    told = focus_of(scan) if scan.model is None else None
    if told is not None and (told not in HOW_URGENT or TOLD not in m.answers):
        m.answers[TOLD] = told  # what the problem is; "kam bisa kirim polisi ka?" after
        # "paitua pukul sa" says how urgent, not what (a walk-through: the category then
        # offered was "Hubungan suami-istri", from the story's other words)
    m.flags = list(flags_seen(scan, tuple(m.flags), WRITER in m.answers))
    return young, about_child


def p1_key(engine: Stepper, m: StepModel, scan: Scan, young: bool, about_child: bool) -> str:
    """The P1 text for danger words that are not imminent: that kind's 24-hour numbers,
    in the form for who writes and of whom."""
    key = MAYBE if scan.model is not None else f"crisis.p1.{m.answers[FOCUS]}"
    if scan.images and engine.has_text(m, f"{key}.images"):
        key = f"{key}.images"  # a video threatened: evidence and reporting, not a visum
    if pregnant(scan) and (young or about_child) and \
            engine.has_text(m, f"{key}.pregnant.child"):
        key = f"{key}.pregnant"  # a girl of 17 pregnant and afraid to tell her mother (walk
        # L): the Puskesmas and someone to go with her, not "if it happened recently"
    if young and engine.has_text(m, f"{key}.child"):
        key = f"{key}.child"  # a child writing: "kamu", and an adult they trust
    elif about_child and engine.has_text(m, f"{key}.about_child"):
        key = f"{key}.about_child"  # "sa pu anak 12 tahun dipegang om": the victim, a child
    elif m.answers[FOCUS] in OTHER_FOCUS and about_someone_else(m.answers) and \
            engine.has_text(m, f"{key}.other"):
        key = f"{key}.other"  # someone telling of another: "the person hurt is not to blame"
    return key


def held(engine: Stepper, m: StepModel, scan: Scan, say: bool) -> None:
    """Danger words that are not imminent from a family whose case a person holds (the host
    passes on their other words: bot.pipeline.routing). What `answer` does with them, but
    the conversation stays where it is and no question is answered: the kind of danger
    kept, the case raised by the same triage (walk U-1: "paitua su tau sa lapor, de bilang
    nanti malam de pukul sa" left a held case at P2, and the family heard nothing), and,
    where the host says (`say`: once while the holder has not answered), the P1 text an
    intake gives for those words, in its forms (a child's; on a phone someone else reads,
    staff answer after they write)."""
    young, about_child = kept(m, scan)
    m.events.append(Event("crisis_words", words_event(scan, False)))
    ACTIONS["open_case_now"](m)  # the case event: its priority and reasons as the intake's
    if say:
        key = p1_key(engine, m, scan, young, about_child)
        m.replies.append(Reply(key, engine.params(m, key)))


def focus_on_reasons(m: StepModel, reasons: frozenset[str]) -> None:
    """An answer that made the case P0: the emergency text for what the answer was about
    (a P0 reason's `focus` in the triage file; the person who hurts others gets theirs);
    danger now or still in danger get the text for the kind of danger the family told of
    before (a walk-through: a worker reporting a girl of 6 left alone answered "yes, now" and
    read "Your safety comes first... Are you safe now?"), else the general message."""
    kinds = {m.triage.focus(r) for r in reasons}
    if m.answers.get("category") == "harms_others":
        kinds = {"harms_others"}
    focus = next((f for f in FOCUS_ORDER if f in kinds), None)
    told = m.answers.get(TOLD)
    if focus is None and isinstance(told, str) and told in FOCUS_ORDER:
        focus = FOCUS_TEXTS.get(told, told)
    if focus is None:
        m.answers.pop(FOCUS, None)
    else:
        m.answers[FOCUS] = focus
