"""Short words of help where LK3 is not the help (flows/phrases.yaml `notices` and
`beside_danger`), said once a conversation before the rest of the answer."""

from __future__ import annotations

import re

from flows.actions import ACTIONS, CRISIS_FLAGS, MODEL_FLAG, NOTICED, StepModel, told_kinds
from flows.runner import Runner
from flows.safety import p0, reasons
from flows.text import Phrases, fold
from flows.types import Event, Reply
from flows.wording import form, has_text

# what is left at either end once a notice's words are taken out ("sa setuju, tapi")
# ("sa setuju, kalau"), but a leading "kalau" is kept: "kalo sa setuju, kam langsung lapor
# polisi ka?" asks, and is no consent (a walk-through: recorded as consent)
_LEADING = (r"\b(?:tapi|tetapi|tp|but|asal|asalkan|dan|and|deng|yang penting|yg penting|"
            r"cuma|hanya)\b")
_JOINERS = rf"(?:{_LEADING}|\b(?:kalau|kalo|klo)\b)"
_JOINED_AT_ENDS = re.compile(rf"^(?:\s*{_LEADING})+|(?:{_JOINERS}\s*)+$")
# a "but" a few words before a notice's question leads to it, and goes with it: "aman kk,
# de ada di rumah. tapi sa tra tau mo bawa ke mana" answers "aman" (walk O: asked again, as
# "aman, tapi anak2 masih di rumah deng de" is, whose "but" tells of danger)
_BUT_BEFORE = re.compile(r"\b(?:tapi|tetapi|tp|namun|but)\s(?:\S+\s){0,3}$")


def notice(engine: Runner, m: StepModel, text: str, phrases: Phrases,
           at: int | None = None) -> str | None:
    """A short word of help where LK3 is not the help (flows/phrases.yaml `notices`: a
    child with a high fever at night is told of the IGD first; a walk-through's mother
    got three "Maaf, saya belum mengerti"), once a conversation, before the rest of the
    answer (or at `at`: after a danger text): the message is still read as an answer or
    a story. `notices` are not said beside danger words, whose own texts say where to
    go; `beside_danger` are ("can you call the police?": this assistant cannot).
    Returns the message without the words the notice answered, folded (also where the
    notice was said before: understood, not said again), or None (no notice): "sa
    setuju, tapi jang kasi tau sa pu anak" then answers by "sa setuju"."""
    folded, said = fold(text), m.answers.get(NOTICED) or []
    heard: str | None = None
    rules = engine.bundle.notice_rules
    quiet: set[str] = set()
    if not {"crisis_selfharm", MODEL_FLAG} & set(m.flags):
        quiet |= rules.after_selfharm  # "sa pamit" is a goodbye like any other where no
        # one spoke of dying
    if any(f in CRISIS_FLAGS for f in m.flags):
        quiet |= rules.quiet_after_danger  # the danger texts named the IGD (a walk-through:
        # "anak itu sakit malaria" in a story of a witchcraft accusation, a P0 case, got
        # "LK3 is no clinic, we can go on if you also need us")
    for pattern, name in phrases:
        if name in quiet or (found := pattern.search(folded)) is None:
            continue
        led = _BUT_BEFORE.search(folded, 0, found.start())
        cut = led.start() if led else found.start()
        rest = None if name in rules.tells_the_problem else \
            _JOINED_AT_ENDS.sub("", f"{folded[:cut]} {folded[found.end():]}").strip()
        if name in said and name not in rules.asks_only:  # answered before: understood,
            heard = heard or rest  # not said again ("jgn telpon" a second time was
            # "Maaf, saya belum mengerti")
            continue
        m.replies.insert(len(m.replies) if at is None else min(at, len(m.replies)),
                         Reply(form(engine, m, _kind_of(engine, m, f"notice.{name}"))))
        m.events.append(Event("noticed", {"notice": name, "state": m.state}))
        noticed(engine, m, name)
        return rest
    return heard


def _kind_of(engine: Runner, m: StepModel, key: str) -> str:
    """`key`'s form for the kind of danger the conversation told of, where it has one
    (walk S: a pastor asking whether a wife's beating can be settled by adat read first
    "Kekerasan seksual tidak bisa diselesaikan secara adat": `notice.adat.sexual`)."""
    kinds = [*told_kinds(m.answers, m.flags), str(m.answers.get("category"))]
    return next((f"{key}.{k}" for k in kinds if has_text(engine, m, f"{key}.{k}")), key)


def noticed(engine: Runner, m: StepModel, name: str) -> None:
    """Notice `name` answered (once a conversation), and its flag set where staff see
    it among the case's reasons (Never 5)."""
    said = m.answers.get(NOTICED) or []
    if name not in said:
        m.answers[NOTICED] = [*said, name]
    flags = engine.bundle.notice_rules.flags
    if name in flags:
        before = reasons(m, "P1") | p0(m)
        m.flag(flags[name])
        if (reasons(m, "P1") | p0(m)) - before and \
                (m.consented() or m.has_case):
            ACTIONS["open_case_now"](m)  # staff see it now: "sa tra punya tempat aman
            # malam ini" is P1 (no safe place tonight)


def asked_only(engine: Runner, m: StepModel) -> bool:
    """Whether this message asked a notice's question that is no answer (`asks_only`):
    what is left of it is not guessed at ("sa tra butuh nomor2 itu. sa cuma mo tau sa pu
    istri lapor apa", walk O, was offered "only helpline numbers")."""
    return any(e.kind == "noticed" and e.data.get("notice") in
               engine.bundle.notice_rules.asks_only for e in m.events)
