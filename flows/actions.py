"""Actions a flow may name (`do:` on a choice, `on_enter:` on a state); each is pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.crisis import GROUPS
from flows.definition import POLICE_HARM  # its notice, and its contacts' group (directory.yaml)
from flows.triage import URGENT, TriageRules
from flows.types import Event, Reply

# Flags that actions set; triage rules may name them like answers (value "yes").
# Danger words set `crisis_<group>` for each group hit (flows/crisis.py), `crisis_now` when
# the hit is imminent, and `crisis_disputed` when the person then says it was a typo: flags
# are never taken back, so the case never falls below what the words set.
MODEL_FLAG = "crisis_model"  # danger the model read where the lists found none (flows/danger.py)
# ...and read as words of wanting to die: staff read it so (walk L: "kata-kata bahaya" and
# "dibaca otomatis", and no word of suicide, for a man alone and drinking)
MODEL_SELFHARM = "model_selfharm"
# words of wanting to die that are someone else's, told by the one who cares for them
# (crisis.yaml `other_at_risk`): not `crisis_selfharm`, whose ASQ questions are the writer's
OTHER_AT_RISK = "crisis_selfharm_other"
CRISIS_FLAGS = (*(f"crisis_{g}" for g in GROUPS), OTHER_AT_RISK, MODEL_FLAG)
# sexual violence told as recent, within about 3x24 hours (crisis.yaml `recent`): P0 by its
# own reason, whatever the day (walk S: "om paksa sa tidur deng dia tadi" waited 33 hours)
SEXUAL_RECENT = "sexual_recent"
OTHER_WRITER_DANGER = "other_writer_danger"  # danger words by someone else on the phone
AFTER_HOURS = "safe_times_after_hours"  # the safe time to call is outside service hours
# the family told of being hurt by the police or other officers (flows/phrases.yaml
# `police_harm`, whose notice sets it too): no police station as a safe place, and 110 after
# the other numbers (a young man beaten at a police post was told to go to the police
# station); staff read "do not refer to the police"
CHAT_ONLY = "chat_only"  # "jgn telpon, sa cuma bisa chat": staff must not phone (its notice)
# "paitua suka cek sa pu hp": the chat itself is read by someone else (its notice); staff
# write or phone this phone only after the family writes (WAIT_FOR_WRITER), for good
PHONE_WATCHED = "phone_watched"
WAIT_FOR_WRITER = "wait_for_writer"  # the contact constraint: only once the family writes
HURT_BY_POLICE = "hurt_by_police"
STILL_IN_DANGER = "still_in_danger"  # "are you safe now?" answered: still in danger
P0_ALERTED = "p0_alerted"  # staff were told of danger now (the emergency action)
WITH_PERSON = "with_person"  # a counselor holds the case (bot.casework.caseops sets it)
# messages of staff wait for the family's next words (bot.pipeline.held sets and clears it)
HELD_FOR_WRITER = "held_for_writer"
# her last message paused because it is not safe now: someone is near or looking, or "not
# safe to chat" answered (flows/phrases.yaml `pauses`): nothing is written to her, not even
# as a reply, until she writes again (bot.pipeline.held); her next message lifts it
UNSAFE_NOW = "unsafe_now"
# the family had a case, closed since (bot.casework.caseops sets it at the close): the welcome
# is the short one, "welcome back" (walk S-7: a mother back six days later read the whole
# first-contact text, as a stranger)
RETURNING = "had_case"
# a question soon after a closed case (flows/answering.py `follows_up`): a linked case for a
# person, the case event marked so (bot.pipeline.effects keeps the earlier case's consent)
FOLLOW_UP = "follow_up"
# an intake left half-way that the scheduler filed for staff (flows/lapse.py): its case says
# "intake belum selesai" until the family finishes the questions (open_case)
INTAKE_LAPSED = "intake_lapsed"
# ...before she said messages may be left or how to reach her (walk T-4: staff's /ambil and
# the scheduler wrote first to one who never answered "Boleh kami meninggalkan pesan?"): its
# case waits for her to write (a contact constraint) until she says one of them (contact_said)
NO_CONTACT_SAID = "filed_before_contact"
FLAGS = ("emergency_keyword", STILL_IN_DANGER, "human_requested", P0_ALERTED, "paused",
         *CRISIS_FLAGS, "crisis_now", "crisis_disputed", "consent_refused", "p1_notified",
         "asked_whereabouts", "asked_disclosure", "asked_secrecy", "unreachable_alone",
         OTHER_WRITER_DANGER, AFTER_HOURS, HURT_BY_POLICE, CHAT_ONLY, PHONE_WATCHED,
         "no_shelter", "no_food", "elder_no_food", MODEL_SELFHARM, SEXUAL_RECENT, RETURNING,
         INTAKE_LAPSED, NO_CONTACT_SAID, FOLLOW_UP)
LAPSED_REASON = "intake_incomplete"  # its reason (flows/intake.triage.yaml)
RETURN_TO = "_return_to"  # the state an interrupt returns to
REFER = "_refer"  # the referral staff asked the family about: code, reason, counselor
REFER_STATE = "refer_consent"  # where the flow asks it (flows/intake.yaml)
REFER_CHOICES = (("yes", "answer.yes"), ("no", "answer.no"))  # as that state's choices
INSTITUTION_TEXT = "privacy.export.institution."  # + a referral code: its name for families
FOCUS = "_focus"  # the kind of danger the last danger words were about (texts vary by it)
STILL_ACK_FOCUS = ("selfharm", "child", "harms_others")  # with their own still_ack
# ...and those whose advice never goes against a counselor's (stay with someone, put the rope
# away; stop and step away): while a person holds the case (caseops.take), the others' texts
# leave the advice to them; and no other line replaces theirs ("110 tra diangkat")
OWN_ADVICE = ("selfharm", "harms_others")
# their texts for someone telling of another
OTHER_FOCUS = ("violence", "sexual", "injury", "selfharm")
UNDER_18 = "under18"  # the `age` answer of a child writing (texts and numbers for a child)
CRISIS_GROUPS = "_crisis_groups"  # every group the last danger words hit
TOLD = "_told"  # the kind of danger the family's own words (the lists) last named
TOLD_STORY = "_told_story"  # a first message that told a story (no danger words): thanked
# `<save>_from`: "words" beside an answer kept from the writer's own words, not chosen at its
# question (flows/offers.py `told_stands`: her age told, then "tra tau"); staff read it
FROM_WORDS = "_from"
YOUNG = "_young"  # danger words came with the writer's own age under 18 ("sa umur 15")
SHOWN = "_emergency_shown"  # the emergency message last shown (its text's key)
NOTICED = "_noticed"  # the notices said (flows/phrases.yaml `notices`): each once
NO_ANSWER_110 = "no_answer_110"  # the notice for "sa su telp 110 tra diangkat"
# P1 reasons whose notice says what to do now, said where an answer gives the reason
SAFETY_NOTICES = {"no_safe_place": "no_shelter"}
GREETED = "_greeted"  # the welcome was said: asked again, the greeting is only its question
ACCIDENT = "_accident"  # the last danger words told of an injury by accident, nothing else
IMAGES = "_images"  # the last sexual danger words were all of intimate images threatened
ABOUT_OTHER = "_about_other"  # danger words told of someone else hurt ("tetangga pukul istri")
# someone other than the phone's owner writes now (flows/phrases.yaml `writers`): "child"
# (the owner's child: "sa anaknya") or "other"; their messages are logged as OTHER_AUTHOR
WRITER = "_writer"
OTHER_AUTHOR = "family:other"
BY_OTHER = "_by_other"  # the answers someone else on the phone gave (not in the owner's copy)
# [[question, state after, from danger words], ...]: the last choices taken ("1", or "suami
# pukul sa" at the category question), oldest first; "salah ketik" while still at the state
# after takes the last back, "bukan ekonomi" the one it names (flows/corrections.py)
ANSWERED = "_answered"
# questions whose answers stayed when an answer before them was taken back (`keeps_later`):
# reached again, they are passed with those answers (flows/moves.py pass_)
REPLAY = "_replay"
SKIP_WORDS = {"lewati": "skip", "skip": "skip"}  # LEWATI at a question that may be skipped
OFFER = "_offer"  # [question, choice value]: offered there ("Maksud Anda: ...? Balas IYA")
STORY = "_story"  # question -> the choice a story named for it, offered when it is asked
# {"case": number, "answers": {...}}: the answers an open case's family had given when
# BERHENTI or ULANG started the conversation over; staff still read them with the case
KEPT = "_kept"

CONSENT_CHOICES = {"agree": "consent", "agree_refer": "consent", "refuse": None}


@dataclass(eq=False)  # transitions looks models up by identity
class StepModel:
    """The throw-away model a conversation becomes for one step of the machine."""

    state: str
    language: str
    answers: dict[str, Any]
    flags: list[str]
    misses: int
    now: datetime
    triage: TriageRules
    consent_version: str
    has_case: bool
    channel: str = ""
    case_number: str | None = None
    case_answers: tuple[str, ...] = ()  # answers the case keeps (the flow's `case_answers`)
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    def facts(self) -> dict[str, Any]:
        """Answers and flags together, as the triage rules see them."""
        return {**self.answers, **{f: "yes" for f in self.flags}}

    def consented(self) -> bool:
        return CONSENT_CHOICES.get(str(self.answers.get("consent"))) == "consent"


def _case_event(m: StepModel, status: str) -> Event:
    verdict = m.triage.assess(m.facts())
    basis = "consent" if m.consented() else "vital_interest"
    m.has_case = True
    return Event("case_upsert", {
        "status": status, "priority": verdict.priority, "reasons": list(verdict.reasons),
        **{name: m.answers.get(name) for name in m.case_answers}, "legal_basis": basis,
    })


def writes_as_child(answers: dict[str, Any]) -> bool:
    """A child writing: the age question answered so, or, until it is answered, danger
    words with the writer's own age under 18 (texts with "kamu", the child lines); when
    someone else writes on the phone (WRITER), the owner's child, or their own age."""
    writer = answers.get(WRITER)
    if writer is not None:  # someone else on the phone: not the owner's age, their own words
        return writer == "child" or bool(answers.get(YOUNG))
    return answers.get("age") == UNDER_18 or ("age" not in answers and bool(answers.get(YOUNG)))


def about_someone_else(answers: dict[str, Any]) -> bool:
    """Someone else is in danger, not the writer: the words of the last danger message said
    so, and "who needs help?" did not say "myself". Another answer there never makes it so:
    "sa deng anak2" (children, family) is a mother in danger with her children (found in a
    walk-through: she was told "jangan masuk sendiri ke tempat yang berbahaya")."""
    return answers.get("who") != "self" and bool(answers.get(ABOUT_OTHER))


def emergency(m: StepModel) -> None:
    """Danger now: make sure a P0 case exists at once, consent or not, and alert staff."""
    m.flag(P0_ALERTED)
    case = _case_event(m, "waiting")
    case.data["priority"] = "P0"  # asked for emergency help: P0 whatever the answers say
    m.events.append(Event("emergency", {"reasons": case.data["reasons"]}))
    m.events.append(case)


def told_kinds(answers: dict[str, Any], flags: Sequence[str]) -> list[str]:
    """The kinds of danger a conversation told of, for the order of the emergency numbers
    (flows/directory.yaml `by_group`): the last message's kind first, then every kind its
    flags name (the flags outlive a refusal, which forgets the answers); harm by the police
    before all, so that 110 comes after the others; one who cannot phone, SAPA's WhatsApp
    first."""
    kinds = [CHAT_ONLY] if CHAT_ONLY in flags else []  # WhatsApp first to one who cannot call
    kinds += [POLICE_HARM] if HURT_BY_POLICE in flags else []
    kinds += [str(answers[FOCUS])] if FOCUS in answers else []
    return kinds + [f.removeprefix("crisis_") for f in flags if f in CRISIS_FLAGS]


def still_in_danger(m: StepModel) -> None:
    m.flag(STILL_IN_DANGER)
    focus = m.answers.get(FOCUS)  # self-harm: not "go somewhere crowded"; a child: the child
    key = f"emergency.still_ack.{focus}" if focus in STILL_ACK_FOCUS else "emergency.still_ack"
    if focus == "selfharm" and about_someone_else(m.answers):
        key = "emergency.still_ack.selfharm.other"  # "do not leave them alone"
    elif writes_as_child(m.answers):
        # the child is the writer: "kamu", an adult they trust, not "bawa anak ke ..." nor
        # "Anda ... tempat yang ramai" (a walk-through)
        key = "emergency.still_ack.selfharm.young" if focus == "selfharm" else \
            "emergency.still_ack.silent.young" if CHAT_ONLY in m.flags else \
            "emergency.still_ack.young"  # hiding: not "go now" (walk O: a girl of 13 in her
        # room, her father in the living room)
    elif HURT_BY_POLICE in m.flags and focus != "selfharm":  # not "call 110" to one the
        # police hurt, nor to a mother whose son they hold (walk L: ten lists with 110)
        key = "emergency.still_ack.police.other" if focus == "child" or \
            about_someone_else(m.answers) else "emergency.still_ack.police"
    elif focus in OTHER_FOCUS and about_someone_else(m.answers):
        key = "emergency.still_ack.other"  # the person told about: "do not go in alone"
    elif CHAT_ONLY in m.flags and key == "emergency.still_ack":
        key = "emergency.still_ack.silent"  # cannot talk: not "telepon Polisi 110 sekarang"
    said_now = {e.data.get("notice") for e in m.events if e.kind == "noticed"}
    if (NO_ANSWER_110 in (m.answers.get(NOTICED) or ()) or CHAT_ONLY in said_now) and \
            focus not in OWN_ADVICE and HURT_BY_POLICE not in m.flags:
        # 110 did not answer, or one hiding said so in this message: the notice said what
        # else; not "telepon Polisi 110 sekarang" right after it (walk L: a neighbour of a
        # child), nor the same advice twice in one turn (walk N: a woman in the bathroom)
        key = "emergency.still_ack.marked.young" if writes_as_child(m.answers) else \
            "emergency.still_ack.marked"
    if WITH_PERSON in m.flags and focus not in OWN_ADVICE:  # their counselor's advice leads
        key = "emergency.still_ack.held.young" if writes_as_child(m.answers) else \
            "emergency.still_ack.held"
    m.replies.append(Reply(key))
    m.events.append(Event("still_in_danger", {}))
    m.events.append(_case_event(m, "waiting"))


def resting_message(m: StepModel) -> Event:
    """A message after the intake ended, for staff: marked when someone other than the
    phone's owner wrote it (a re-check's counselor read a husband's six messages, written on
    his wife's phone, as hers)."""
    return Event("message_while_resting", {"state": m.state, "other_writer": True}
                 if WRITER in m.answers else {"state": m.state})


def forget(m: StepModel) -> None:
    """Start over: answers go; safety flags stay, so a risk is never forgotten. An open
    case keeps its family's answers for staff (KEPT: a walk-through's BERHENTI emptied the
    case view of the safe times, "may we leave a message" and the codeword)."""
    kept = case_answers(m.answers, m.case_number) if m.case_number else {}
    who = {k: m.answers[k] for k in (WRITER, BY_OTHER) if k in m.answers}  # who writes, and
    m.answers = {KEPT: {"case": m.case_number, "answers": kept}} if kept else {}
    m.answers.update(who)  # who gave which answer, do not change with a new start (ULANG)
    m.misses = 0


def case_answers(answers: dict[str, Any], case_number: str | None) -> dict[str, Any]:
    """The family's answers for the case `case_number`: those given since a restart over
    those kept at it (KEPT, when it was this case's)."""
    kept = answers.get(KEPT) or {}
    earlier = (kept.get("answers") or {}) if kept.get("case") == case_number else {}
    return {**earlier, **{k: v for k, v in answers.items() if not k.startswith("_")}}


def withdraw_consent(m: StepModel) -> None:
    """BERHENTI / STOP: consent withdrawn, nothing more is sent until they write again."""
    m.events.append(Event("consent", {
        "choice": "withdrawn", "version": m.consent_version, "language": m.language,
        "legal_basis": "none"}))
    m.events.append(Event("stop", {}))
    forget(m)


def pause(m: StepModel) -> None:
    """Not safe to keep chatting: the case notes to contact only when they write again,
    and nothing goes to them, not even as a reply, until they do (UNSAFE_NOW)."""
    m.flag("paused")
    m.flag(UNSAFE_NOW)
    m.events.append(_case_event(m, "waiting"))
    m.events.append(Event("contact_constraint", {"constraint": WAIT_FOR_WRITER}))


def phone_watched(m: StepModel) -> None:
    """Someone else reads the family's phone: staff see, in the audit trail too, that they
    write only after the family writes (the flag keeps it for the host, bot.casework)."""
    m.events.append(Event("contact_constraint", {"constraint": WAIT_FOR_WRITER,
                                                 "notice": PHONE_WATCHED}))


def resumed(m: StepModel) -> None:
    """Safe to chat again after a pause; a phone someone else reads stays so."""
    if "paused" in m.flags:
        m.flags.remove("paused")
    m.events.append(Event("resumed", {}))
    if PHONE_WATCHED in m.flags:
        phone_watched(m)


def contact_allowed(answers: dict[str, Any]) -> bool:
    """She said messages may be left, or chose a way to be contacted (not skipped)."""
    return answers.get("leave_message") == "yes" or \
        answers.get("contact") not in (None, "skipped")


def lapsed_unreachable(m: StepModel) -> None:
    """An intake filed before she said how she may be reached: staff write only after she
    writes (the contact constraint, as for a phone someone else reads), until she says."""
    if contact_allowed(m.answers):
        return
    m.flag(NO_CONTACT_SAID)
    m.events.append(Event("contact_constraint", {"constraint": WAIT_FOR_WRITER,
                                                 "notice": INTAKE_LAPSED}))


def contact_said(m: StepModel) -> None:
    """A way to be contacted chosen, or yes to leaving a message: an intake filed before
    she said so no longer waits for her to write (unless a pause or a phone someone else
    reads still says so)."""
    if NO_CONTACT_SAID not in m.flags or not contact_allowed(m.answers):
        return
    m.flags.remove(NO_CONTACT_SAID)
    if "paused" not in m.flags and PHONE_WATCHED not in m.flags:
        m.events.append(Event("resumed", {"why": "contact_said"}))


def no_personal_data(m: StepModel) -> None:
    """'Only the numbers, no personal data': kept like a refusal, counts but no words."""
    m.flag("consent_refused")


def case_now(m: StepModel) -> Event:
    """The case as the answers and flags make it now (the engine's own updates)."""
    return _case_event(m, "waiting")


def open_case_now(m: StepModel) -> None:
    """The person asked for a person after distress words: a case, so someone sees it."""
    m.events.append(case_now(m))


def satisfaction(m: StepModel) -> None:
    m.events.append(Event("satisfaction", {"score": int(m.answers.get("satisfaction", 0))}))


def switch_language(m: StepModel) -> None:
    m.language = "en" if m.language == "id" else "id"


def record_consent(m: StepModel) -> None:
    _consent_given(m, str(m.answers.get("consent")))
    if m.consented() and m.triage.assess(m.facts()).priority in URGENT:
        m.events.append(_case_event(m, "waiting"))  # a risk told before consent: to staff now


def _consent_given(m: StepModel, choice: str) -> None:
    """The consent record the host writes: what was chosen, of which text, on what basis;
    a refusal keeps nothing personal (no case, no texts in the log), a yes lifts that."""
    if choice == "refuse":
        m.flag("consent_refused")
    elif "consent_refused" in m.flags:
        m.flags.remove("consent_refused")
    m.events.append(Event("consent", {
        "choice": choice, "version": m.consent_version, "language": m.language,
        "legal_basis": CONSENT_CHOICES.get(choice) or "none",
    }))


def referral_agreed(m: StepModel) -> None:
    """Yes to a referral staff asked about: a consent record that covers referral, and the
    referral itself, recorded by the host (bot.pipeline.effects)."""
    m.answers["consent"] = "agree_refer"
    _consent_given(m, "agree_refer")
    m.events.append(Event("referral_agreed", dict(m.answers.pop(REFER, None) or {})))


def referral_refused(m: StepModel) -> None:
    """No to a referral: the counselor is told; the consent given before stays as it was."""
    m.events.append(Event("referral_refused", dict(m.answers.pop(REFER, None) or {})))


def open_case(m: StepModel) -> None:
    """Put the case in the queue with its priority and reasons, and tell the family when;
    an intake the scheduler filed half-way is now finished (its reason goes)."""
    lapsed = INTAKE_LAPSED in m.flags
    if lapsed:
        m.flags.remove(INTAKE_LAPSED)
    event = _case_event(m, "waiting")
    if lapsed:
        event.data["withdrawn"] = [LAPSED_REASON]
    m.events.append(event)
    m.answers["_priority"] = event.data["priority"]


def human_requested(m: StepModel) -> None:
    m.flag("human_requested")
    m.events.append(Event("human_requested", {"state": m.state}))


def subscribe(m: StepModel) -> None:
    """Yes to broadcasts: a consent record per topic (written by the host, bot.broadcast)."""
    m.events.append(Event("subscribe", {
        "topic": str(m.answers.get("sub_topic")), "language": m.language,
        "source": str(m.answers.pop("_sub_source", "keyword"))}))


def chat_instead(m: StepModel) -> None:
    """At the phone consent, the family would rather chat: the chat path's consent next."""
    m.answers["mode"] = "chat"
    m.answers.pop("consent", None)  # not a consent: the next question asks for it
    m.events.append(Event("mode_changed", {"mode": "chat"}))


def subscribe_from_menu(m: StepModel) -> None:
    m.answers["_sub_source"] = "menu"


ACTIONS: dict[str, Callable[[StepModel], None]] = {
    "subscribe": subscribe,
    "subscribe_from_menu": subscribe_from_menu,
    "emergency": emergency,
    "still_in_danger": still_in_danger,
    "record_consent": record_consent,
    "referral_agreed": referral_agreed,
    "referral_refused": referral_refused,
    "open_case": open_case,
    "human_requested": human_requested,
    "forget": forget,
    "withdraw_consent": withdraw_consent,
    "pause": pause,
    "resumed": resumed,
    "contact_said": contact_said,
    "chat_instead": chat_instead,
    "switch_language": switch_language,
    "satisfaction": satisfaction,
    "open_case_now": open_case_now,
    "no_personal_data": no_personal_data,
}
