"""Which text a reply says and what fills it in: a text's form for who writes (someone else
on the phone, a child), a state's variant, and the params its placeholders need."""

from __future__ import annotations

from dataclasses import replace
from string import Formatter
from typing import Any

from flows import commands
from flows.actions import (
    ACCIDENT,
    CHAT_ONLY,
    CRISIS_GROUPS,
    FOCUS,
    HURT_BY_POLICE,
    INSTITUTION_TEXT,
    P0_ALERTED,
    PHONE_WATCHED,
    REFER,
    WRITER,
    StepModel,
    told_kinds,
    writes_as_child,
)
from flows.catalog import Catalog
from flows.definition import POLICE_HARM, StateSpec
from flows.runner import Runner
from flows.types import Reply

OTHER_WRITER = ".other_writer"  # a text's form for someone else on the family's phone
ACCIDENT_TEXT = ".accident"  # the injury's emergency text for an accident (and its group)
INJURED = ".injured"  # a child's emergency text when the child is bleeding: the IGD first
INJURED_CHILD = "injured_child"  # ...and its numbers' group (flows/directory.yaml)
SELFHARM_CHILD = "selfharm_child"  # a child who wants to die: the numbers' group
ALL = frozenset({"daypart", "emergency_contacts", "crisis_contacts", "response_time",
                 "staff_note", "office", "topic", "safe_times", "contact_soon", "contact_chat"})


def placeholders(catalog: Catalog) -> dict[str, frozenset[str]]:
    """For each text key, the placeholders its texts use (in any language)."""
    out: dict[str, set[str]] = {}
    for table in catalog.texts.values():
        for key, text in table.items():
            out.setdefault(key, set()).update(
                name for _, name, _, _ in Formatter().parse(text) if name)
    return {k: frozenset(v) for k, v in out.items()}


def has_text(engine: Runner, m: StepModel, key: str) -> bool:
    """Whether the catalog of the person's language has the text `key`."""
    return key in engine.bundle.catalog.texts[m.language]


def young(engine: Runner, m: StepModel, reply: Reply) -> Reply:
    """`reply` in its text for a child ("kamu") where the catalogs have one: the form of
    a text chosen where who writes was not asked (a walk-through: a girl of 13 read
    "Apakah Anda setuju?", "permintaan Anda" after PETUGAS, "Keselamatan Anda" after
    DARURAT)."""
    base, short, rest = reply.key.partition(".short")  # "x.short": "x.young.short"
    key = f"{base}.young{short}" if short and not rest else f"{reply.key}.young"
    return replace(reply, key=key) if has_text(engine, m, key) else reply


def form(engine: Runner, m: StepModel, key: str) -> str:
    """`key`'s text for who writes, where the catalogs have it: `.other_writer` when
    someone other than the phone's owner writes (no case number: Never 5),
    `.phone_watched` when someone else reads the phone, `.young` when a child writes
    ("kamu"), else `key`."""
    if WRITER in m.answers and has_text(engine, m, key + OTHER_WRITER):
        return key + OTHER_WRITER
    if PHONE_WATCHED in m.flags and has_text(engine, m, f"{key}.{PHONE_WATCHED}"):
        key = f"{key}.{PHONE_WATCHED}"  # someone else reads the phone: not "staff will
        # contact you", they reply after the family writes (closing.idle, faq.when)
    if writes_as_child(m.answers) and has_text(engine, m, f"{key}.young"):
        return f"{key}.young"
    return key


def without_case(engine: Runner, m: StepModel, key: str) -> str:
    """`key`'s form where no case was made (`<key>.no_case`, before a `.young`): no "the
    case already made stays with staff" to one who has none (walk S, after BERHENTI)."""
    if m.has_case:
        return key
    base = key.removesuffix(".young")
    other = f"{base}.no_case{key[len(base):]}"
    return other if has_text(engine, m, other) else key


def variant(engine: Runner, m: StepModel, state: StateSpec, key: str) -> str | None:
    """The first of the state's variants with a text for `key`: a condition's name where
    it holds (`someone_else`), else the answer's value."""
    texts = engine.bundle.catalog.texts[m.language]
    for name in state.variant:
        cond = engine.flow.conditions.get(name)
        value = m.answers.get(name) if cond is None else \
            name if engine.holds(cond, m) else None
        if value is not None and f"{key}.{value}" in texts:
            return f"{key}.{value}"
    return None


def injured(engine: Runner, m: StepModel, key: str) -> str:
    """A child's emergency text, for a child bleeding: the IGD first (a walk-through:
    "bapanya pukul sa pu anak 5 thn sampe berdarah" read "bawa anak ke tempat aman" with
    the health post last); a child writing of their own blows, theirs in "kamu"."""
    if "injury" not in m.answers.get(CRISIS_GROUPS, ()):
        return key
    if key == "emergency.violence.child":
        key = "emergency.child.child"
    hurt = f"{key}{INJURED}"
    return hurt if key.startswith("emergency.child") and has_text(engine, m, hurt) \
        else key


def params(engine: Runner, m: StepModel, key: str | None = None) -> dict[str, Any]:
    """What the texts need filled in; with `key`, only what that text uses."""
    needs = engine.placeholders.get(key, ALL) if key else ALL
    out: dict[str, Any] = {}
    directory = engine.bundle.directory
    if "daypart" in needs:
        out["daypart_key"] = commands.daypart(m.now)
    if "emergency_contacts" in needs:
        out["emergency_contacts"] = directory.contacts(
            m.language, m.answers.get("distrik"), first=_emergency_first(m))
    if "crisis_contacts" in needs:
        out["crisis_contacts"] = directory.contacts(
            m.language, m.answers.get("distrik"), _crisis_groups(m, key))
    if "selfharm_contacts" in needs:  # the self-harm lines (a child's too, for a child)
        groups = ["selfharm", "child"] if writes_as_child(m.answers) else ["selfharm"]
        out["selfharm_contacts"] = directory.contacts(
            m.language, m.answers.get("distrik"), groups)
    if "institution" in needs:  # where staff would refer the family (REFER)
        code = (m.answers.get(REFER) or {}).get("code")
        out["institution_key"] = f"{INSTITUTION_TEXT}{code}" if \
            f"{INSTITUTION_TEXT}{code}" in engine.bundle.catalog.texts[m.language] \
            else "refer_consent.elsewhere"  # a place since gone from the list
    if "topic" in needs:  # the broadcast topic being subscribed to (flows/broadcast.yaml)
        out["topic_key"] = f"list.broadcast_topics.{m.answers.get('sub_topic', 'all')}"
    if "safe_times" in needs:  # the family's own words, said back in the closing
        out["safe_times"] = str(m.answers.get("safe_times", ""))
    if "office" in needs:
        out["office"] = directory.office_text(m.language)
    if "staff_note" in needs:
        told = m.consented() or m.has_case
        out["staff_note_key"] = form(  # someone else reads the phone: no "staff
            engine, m, "crisis.staff.told" if told else "crisis.staff.later")  # will contact you"
    for name in ("contact_soon", "contact_chat"):  # "akan menghubungi Anda secepatnya";
        if name in needs:  # on a phone someone else reads: only after they write
            out[f"{name}_key"] = form(engine, m, f"crisis.{name}")
    if "response_time" in needs:  # only what the service hours make true
        out |= _response_time(engine, m, key)
    return out


def filled(engine: Runner, m: StepModel, reply: Reply) -> Reply:
    """`reply` with what its text needs that the code choosing it did not give (an action
    has no engine: emergency.still_ack's "{contact_soon}")."""
    needs = engine.placeholders.get(reply.key, frozenset()) & ALL
    if all(n in reply.params or f"{n}_key" in reply.params for n in needs):
        return reply
    return replace(reply, params={**params(engine, m, reply.key), **reply.params})


def _emergency_first(m: StepModel) -> list[str]:
    """The numbers' groups the emergency text names first."""
    first = told_kinds(m.answers, m.flags)
    if writes_as_child(m.answers):  # a child typing DARURAT: TePSA first (after
        first = [SELFHARM_CHILD, *first] if first[:1] == ["selfharm"] else \
            ["child", *first]  # 119, for a child who wants to die)
    return first


def _crisis_groups(m: StepModel, key: str | None) -> list[str]:
    """The numbers' groups of a danger text, in the order they are listed."""
    groups = [str(m.answers.get(FOCUS, "")), *m.answers.get(CRISIS_GROUPS, ())]
    if m.answers.get(ACCIDENT):
        groups = [ACCIDENT_TEXT[1:]]  # an accident: the health post alone
    if writes_as_child(m.answers) and groups[0] in ("sexual", "violence"):
        groups.insert(0, "child")  # a child hurt by someone: the child lines first
    elif writes_as_child(m.answers) and groups[0] == "selfharm":
        groups.insert(0, SELFHARM_CHILD)  # a child who wants to die: TePSA after 119
    if key is not None and key.endswith(INJURED):
        groups.insert(0, INJURED_CHILD)  # a child bleeding: the health post first
    if HURT_BY_POLICE in m.flags:
        groups.insert(0, POLICE_HARM)  # hurt by the police: 110 after the others
    if CHAT_ONLY in m.flags:
        groups.insert(0, CHAT_ONLY)  # cannot phone: SAPA's WhatsApp first
    return groups


def _response_time(engine: Runner, m: StepModel, key: str | None) -> dict[str, Any]:
    """The response time's text and when the office opens next."""
    # never below what staff were already told (the case is never lowered): a "yes,
    # safe to chat now" after "not safe" is no reason to promise "dalam 3 hari kerja"
    # after "Kasus Anda sudah kami teruskan ... sekarang" (walk O, re-checked)
    floor = "P0" if P0_ALERTED in m.flags else "P1" if "p1_notified" in m.flags \
        else "P3"
    priority = min(m.triage.assess(m.facts()).priority, floor)
    hours = engine.bundle.hours
    closed = priority != "P0" and not hours.is_open(m.now)
    out: dict[str, Any] = {}
    out["response_time_key"] = f"response_time.{priority}" + (
        ".closed" if closed else "")
    # the form for the text's own variant where there is one: beside the safe times
    # (closing.gave_safe_times), response_time.P0.gave_safe_times, not "juga di luar
    # jam layanan"
    own = f"{out['response_time_key']}." \
        f"{key.removesuffix('.young').rpartition('.')[2]}" if key else ""
    if own in engine.bundle.catalog.texts[m.language]:
        out["response_time_key"] = own
    out["response_time_key"] = form(  # "pada waktu aman yang kamu sebut"
        engine, m, out["response_time_key"])
    opens = hours.next_open(m.now).astimezone(hours.tz)
    days = (opens.date() - m.now.astimezone(hours.tz).date()).days
    # "mulai hari ini, 08.00 WIT" at 05.00 (a walk-through read "mulai Senin,
    # 07-12-2026 08.00" on that Monday's morning); a later day with its date
    out["opens"] = opens.strftime("%H.%M" if days < 2 else "%d-%m-%Y %H.%M")
    out["opens_day_key"] = ("day.today", "day.tomorrow")[days] if days < 2 \
        else f"weekday.{opens.weekday()}"
    return out
