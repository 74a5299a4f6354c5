"""Asking the current question: which of its texts (a kind of danger's variant, the welcome
again, a child's form, a counselor holding the case, the short form) and what a story
offers with it."""

from __future__ import annotations

from flows import danger
from flows.actions import (
    ACCIDENT,
    FOCUS,
    GREETED,
    HURT_BY_POLICE,
    IMAGES,
    OFFER,
    OWN_ADVICE,
    PHONE_WATCHED,
    RETURNING,
    SHOWN,
    WITH_PERSON,
    WRITER,
    StepModel,
    about_someone_else,
    writes_as_child,
)
from flows.commands import DID_YOU_MEAN, FROM_STORY
from flows.definition import StateSpec
from flows.moves import pass_
from flows.offers import suggested
from flows.runner import Runner
from flows.types import Reply
from flows.wording import (
    ACCIDENT_TEXT,
    INJURED,
    OTHER_WRITER,
    form,
    injured,
    params,
    variant,
    without_case,
)

POLICE = ".police"  # a text's form for one the police hurt (or a child they hold)
YOUNG_FORM = ".young"  # a text's form in "kamu"
Texts = dict[str, str]


def prompt(engine: Runner, m: StepModel, short: bool = False) -> None:
    """Ask the current question: its text for the kind of danger where it has one
    (`variant`: an answer's value, or a condition's name where it holds), or with `short`
    its simpler form where it has one."""
    pass_(engine, m)  # a flag set at this very question answers it ("sa tra tau mo lari ke
    state = engine.flow.states[m.state]  # mana" at "a safe place tonight?")
    texts = engine.bundle.catalog.texts[m.language]
    if (key := variant(engine, m, state, state.prompt)) is not None:
        key = _of_variant(engine, m, state, texts, key)
    else:
        # "apakah kamu pernah..." (a walk-through: "Anda" to a girl of 16). `.young`, not
        # `.child`: that is a choice's label ("category.child") or a child's danger
        key = form(engine, m, state.prompt)
    if state.name == engine.flow.initial and f"{state.prompt}.again" in texts:
        key, short = _welcome(m, state, key, short, texts)
    if state.end and (whose := form(engine, m, state.prompt)).endswith(OTHER_WRITER):
        key = whose  # someone else: no case number (Never 5)
    if state.end:
        key = without_case(engine, m, key)  # BERHENTI with no case: none promised kept
    held, key, short = _held(engine, m, state, texts, key, short)
    if short:
        key = next((k for k in (f"{key}.short", f"{key.removesuffix(INJURED)}.short",
                                f"{key.removesuffix(POLICE)}.short",
                                f"{state.prompt}.short") if k in texts), key)
    _ask(engine, m, state, texts, key, held)


def _welcome(m: StepModel, state: StateSpec, key: str, short: bool,
             texts: Texts) -> tuple[str, bool]:
    """The welcome once, whole (to a family back after a closed case, its short "welcome
    back" form); asked again, only the question (with the shortness)."""
    # asked again (after "jam buka", "makasih", a danger message): only the question (a
    # walk-through heard the whole welcome five times)
    if m.answers.get(GREETED):
        key = f"{state.prompt}.again"
    else:  # the first time whole, also after a notice: who we are, that this is a
        short = False  # bot, and DARURAT (a first message asking for an akta had
        # only "Mau lanjut chat, ditelepon petugas, atau hanya nomor bantuan?")
        key = _back(m, key, texts)
    m.answers[GREETED] = True
    return key, short


def _back(m: StepModel, key: str, texts: Texts) -> str:
    """The welcome's "welcome back" form (`<key>.returning`, before `.young`) to a family
    whose case was closed (walk S-7): still that this is a bot, and DARURAT (Never 7); a
    story's thanks give way to it. Never where someone else writes or reads the phone: it
    would tell them that this phone wrote to LK3 before (Never 5)."""
    if RETURNING not in m.flags or PHONE_WATCHED in m.flags or WRITER in m.answers:
        return key
    young = key.endswith(YOUNG_FORM)
    base = key.removesuffix(YOUNG_FORM).removesuffix(".told_story")
    back = f"{base}.returning"
    if young and f"{back}{YOUNG_FORM}" in texts:
        return f"{back}{YOUNG_FORM}"
    return back if back in texts else key


def _of_variant(engine: Runner, m: StepModel, state: StateSpec, texts: Texts,
                key: str) -> str:
    """A variant's text in its form for an accident, a child, another, the police."""
    if m.answers.get(ACCIDENT) and f"{key}{ACCIDENT_TEXT}" in texts:
        key = f"{key}{ACCIDENT_TEXT}"  # a fall, a bite: first aid and the health post
    if m.answers.get(IMAGES) and f"{key}.images" in texts:
        key = f"{key}.images"  # intimate images threatened: evidence, not a visum
    if writes_as_child(m.answers) and f"{key}.child" in texts:
        key = f"{key}.child"  # a child writing: "kamu" (emergency.violence.child)
    elif about_someone_else(m.answers) and f"{key}.other" in texts:
        key = f"{key}.other"  # someone telling of another (as danger.answer orders)
    elif not (HURT_BY_POLICE in m.flags and f"{key}.police" in texts):
        key = form(engine, m, key)  # a question's own variant, in "kamu" (the closing)
    if HURT_BY_POLICE in m.flags and f"{key}.police" in texts:
        key = f"{key}.police"  # hurt by the police: no police station as a refuge, a
        # child held by them not to be "taken to a safe place" (walk L)
    if state.name == engine.flow.interrupts["emergency"]:
        key = _again(m, texts, injured(engine, m, key))
    return key


def _again(m: StepModel, texts: Texts, key: str) -> str:
    """An emergency message again: its short `.again` form, else the whole, kept as shown."""
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
        return again
    m.answers[SHOWN] = key
    return key


def _held(engine: Runner, m: StepModel, state: StateSpec, texts: Texts, key: str,
          short: bool) -> tuple[str | None, str, bool]:
    """Where a counselor holds the case: their line with the emergency question (`held`),
    or the text's own `.held` form; with the key and shortness that follow."""
    emergency = state.name == engine.flow.interrupts["emergency"]
    if emergency and WITH_PERSON in m.flags and \
            m.answers.get(FOCUS) not in OWN_ADVICE and not short:
        # a counselor holds the case: no advice of our own beside theirs (a walk-through:
        # "go to a neighbour" just after the counselor said to stay behind the door)
        return form(engine, m, "emergency.held"), key, True  # with the question, short
    own = f"{key.removesuffix('.again')}.held"
    if emergency and WITH_PERSON in m.flags and not short and own in texts:
        key = own  # its own advice, and "your counselor has your message" (walk L)
    return None, key, short


def _ask(engine: Runner, m: StepModel, state: StateSpec, texts: Texts, key: str,
         held: str | None) -> None:
    """Say `key` with the question's buttons, and what a story offers with it."""
    offered = suggested(engine, m, state)
    asked = key
    if offered is not None and (m.answers.get(OFFER) or ("",))[0] == state.name:
        key = DID_YOU_MEAN  # "Maksud Anda: Anak: pengasuhan...? Balas IYA"
    elif offered is not None and (suggest := next((
            k for k in (f"{state.prompt}.suggest.young" if key.endswith(".young") else "",
                        f"{state.prompt}.suggest") if k in texts), None)):
        key = suggest  # "from what you told us: domestic violence? reply YES"
    elif offered is not None:
        key = form(engine, m, FROM_STORY)  # the question, then "Dari cerita Anda tadi:
        # Kuala Kencana?" ("ceritamu" to a child)
    filled = params(engine, m, key)
    if offered is not None:
        filled["suggested_key"] = offered.label
    if key.startswith(FROM_STORY):
        filled |= {**params(engine, m, asked), "question_key": asked}
    elif held is not None:
        key, filled = held, {**params(engine, m, held), "question_key": key}
    m.replies.append(Reply(key, filled, engine.choices(state)))
