"""A message that is no answer: the question again (thanks for a story first, a voice note
said to be kept), more simply and with a person every second time, and an optional question
left after the fourth, keeping what the bot offered."""

from __future__ import annotations

from flows import safety
from flows.actions import OFFER, P0_ALERTED, STILL_IN_DANGER, StepModel, about_someone_else
from flows.choices import choice
from flows.definition import ChoiceSpec, StateSpec
from flows.moves import back, fire, rest
from flows.offers import suggested
from flows.runner import Runner
from flows.types import Event, Reply
from flows.wording import form, has_text, params, without_case

MISSES_BEFORE_HUMAN = 2  # then a simpler form of the question and a person
MISSES_BEFORE_MOVING_ON = 4  # an optional question is then left unanswered, never a loop
KEPT_OFFER = "_kept_offer"  # the question whose offer was kept when it was left (staff check)


def miss(engine: Runner, m: StepModel, state: StateSpec, story: bool = False,
         media: bool = False, ack: bool = False, short: bool = False,
         tears: bool = False, shown: bool = False) -> None:
    """Not an answer: asked again (a story gets thanks first: a walk-through's mother
    told why she wrote at the consent question and read "Maaf, saya belum mengerti"; a
    voice note or photo, alone (`media`) or with words that answer nothing (`shown`: "ini
    bukti"), is said to be kept for staff, since the bot cannot hear it, also when a
    person is offered), more simply and with a person offered every second time, and an
    optional question left after the fourth."""
    if state.lenient:  # optional: the message was not an answer; move on without it
        return _skip(engine, m, state, ack)
    m.misses += 1
    if m.misses >= MISSES_BEFORE_MOVING_ON and (state.skippable or state.interrupt):
        return _move_on(engine, m, state)
    if m.misses >= MISSES_BEFORE_MOVING_ON and state.missed is not None:
        return _gentlest(engine, m, state)
    if P0_ALERTED in m.flags and not state.input and not media and short:  # danger now:
        # quiet (a walk-through: "Maaf, saya belum mengerti" and the menu to every word of
        # a woman hiding in the WC); no need to answer, and staff were told. Not for a
        # longer answer (walk L: "sa aman kk, sa pu anak yg tra aman" got it too)
        return _heard(engine, m, state, "reprompt_urgent")
    if STILL_IN_DANGER in m.flags and not state.input and not media:  # her words after
        # "still in danger" (walk Q: "de masih di luar kk sa takut sekali" read "Mohon
        # jawab dulu pertanyaan ini"): heard, staff know, no answer needed
        return _heard(engine, m, state, "reprompt_afraid")
    if m.misses % MISSES_BEFORE_HUMAN == 0:  # a simpler question, and a person
        return _offer_human(engine, m, media or shown)
    key = "reprompt_tears" if tears else "reprompt_text" if state.input else \
        "reprompt_story" if story else "reprompt_media" if media or shown else "reprompt"
    # (a voice note: kept, not heard; crying faces: heard, and DARURAT, in "kamu" too)
    key = form(engine, m, key) if tears else without_case(engine, m, key) if media or shown \
        else key  # no case yet: staff see it once there is one, not "kept for staff"
    m.replies.append(Reply(key, choices=engine.choices(state)))


def _skip(engine: Runner, m: StepModel, state: StateSpec, ack: bool) -> None:
    """An optional question left unanswered: move on (at rest, the message heard there)."""
    if state.save:
        m.answers[state.save] = "skipped"
    fire(engine, m, "skip")
    after = engine.flow.states[m.state]
    # a message of its own at rest (the welcome again for "sa mau tanya lagi"); not
    # "ok" or 👍 (`ack`: a walk-through's "ok" at the rating restarted the welcome)
    return rest(engine, m, after) if after.end and not ack else None


def _offer_human(engine: Runner, m: StepModel, media: bool) -> None:
    """Every second miss: a person offered, and the question in its simpler form (a
    voice note: that it is kept, not "saya belum mengerti")."""
    m.misses %= MISSES_BEFORE_MOVING_ON
    m.events.append(Event("offered_human", {"state": m.state}))
    m.replies.append(Reply(without_case(engine, m, "offer_human.media") if media else
                           "offer_human"))
    return engine.prompt(m, short=True)


def _heard(engine: Runner, m: StepModel, state: StateSpec, key: str) -> None:
    """Words heard in danger now: no answer needed, staff know (never a loop)."""
    m.misses %= MISSES_BEFORE_MOVING_ON  # where no moving on: never a loop
    if about_someone_else(m.answers) and has_text(engine, m, f"{key}.other"):
        key = f"{key}.other"  # a neighbour telling of a child: not "Anda masih dalam bahaya"
    m.replies.append(Reply(form(engine, m, key), choices=engine.choices(state)))


def _move_on(engine: Runner, m: StepModel, state: StateSpec) -> None:
    """The fourth miss at an optional or safety question: left, the offer kept."""
    m.events.append(Event("moved_on", {"state": m.state}))
    if state.interrupt or suggested(engine, m, state) is None or not state.save:
        m.replies.append(Reply("moved_on"))
    if state.interrupt:  # back to where the person was (a P0 stays P0)
        m.misses = 0
        back(engine, m)
        after = engine.flow.states[m.state]
        return rest(engine, m, after, moved=True) if after.end else engine.prompt(m)
    if (offered := suggested(engine, m, state)) is not None and state.save:
        return keep_offer(engine, m, state, offered)
    if state.save:
        m.answers[state.save] = "skipped"
    return fire(engine, m, "skip")


def _gentlest(engine: Runner, m: StepModel, state: StateSpec) -> None:
    """The fourth miss at a question that is never left unanswered (`missed`: at the
    greeting, chat): its gentlest choice taken, and said so (walk U-16: "ok", "sip", "🙏",
    "sudah", eight times "Maaf, saya belum mengerti"). The way to a person and to the
    emergency message stays in the words said."""
    chosen = choice(engine, state, state.missed)
    assert chosen is not None and state.save  # (the loader checks both)
    m.misses = 0
    m.events.append(Event("moved_on", {"state": m.state, "kept": chosen.value}))
    m.replies.append(Reply(form(engine, m, f"{state.prompt}.missed")))
    m.answers[state.save] = chosen.value
    fire(engine, m, f"choose_{chosen.value}")


def keep_offer(engine: Runner, m: StepModel, state: StateSpec, offered: ChoiceSpec) -> None:
    """Left after misses, a question keeps what the bot itself offered from the story
    and the family never refused, said back for staff to check (a tester: a grandmother
    of 70 offered "Lansia", who answered "sa ini tua su tra kuat" and "sa tra mengerti ini
    nak", had the category dropped and ended P3 "konsultasi"): a guess staff can correct
    costs less than a case with no problem named, and no priority for it."""
    before = safety.p0(m) if state.name in engine.p0_states else None
    before_p1 = safety.reasons(m, "P1") if state.name in engine.p1_states else None
    key = form(engine, m, "moved_on.kept")
    m.replies.append(Reply(key, {"suggested_key": offered.label}))
    m.events[-1].data["kept"] = offered.value  # the "moved_on" event: staff check it
    m.answers.pop(OFFER, None)
    m.answers[str(state.save)] = offered.value
    m.answers[KEPT_OFFER] = state.name
    fire(engine, m, f"choose_{offered.value}", before, before_p1)


def unsure(engine: Runner, m: StepModel, state: StateSpec, text: str) -> bool:
    """"sa tra tau" at a question with no "don't know" choice but with a plainer form
    (`<prompt>.plain`): that text and the question again, short, as for "maksudnya apa?"
    (a walk-through: "tra tau" at the danger question got "Maaf, saya belum mengerti").
    Counted as a miss, so a second one is asked again as any other."""
    plain = f"{state.prompt}.plain"
    if not has_text(engine, m, plain) or \
            engine.bundle.answers.shared_value(text) != "unknown" or \
            "unknown" in (value for value, _ in engine.choices(state)):
        return False
    m.misses += 1
    key = form(engine, m, plain)
    m.replies.append(Reply(key, params(engine, m, key)))
    engine.prompt(m, short=True)
    return True
