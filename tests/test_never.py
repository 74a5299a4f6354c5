"""The Never list (DOMAIN.md, domain-lk3.md 5.3): one test for each rule a bot can break.

Static checks walk the catalogs and the flow graph (every text in both languages, every state
reachable from a category); behaviour checks step the engine (pure) or run the pipeline.
Known gaps are strict xfails: a fix makes them pass, and the marker must then go.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.service import Service
from flows.actions import PHONE_WATCHED, RETURN_TO, SKIP_WORDS
from flows.danger import FOCUS_ORDER
from flows.types import LANGUAGES, Inbound, Reply, Snapshot, Turn
from storage import cases
from tests.support import Family, flows, read_sql

# A known gap: the test states the rule and must fail today, on an assertion.
GAP = partial(pytest.mark.xfail, strict=True, raises=AssertionError)

ENGINE = flows()
FLOW = ENGINE.flow
CATALOG = ENGINE.bundle.catalog
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 09:30 WIT, a Monday
CASE_NUMBER = "LK3-2026-00001"
USER = "6281100000031"
# (the second: to a child who writes, in "kamu")
EMERGENCY_FIRST = {"id": ("Keselamatan Anda yang utama.", "Keselamatanmu yang utama."),
                   "en": ("Your safety comes first.",)}
# the emergency message, and its texts for each kind of danger (self-harm, child, injury...)
EMERGENCY_TEXTS = ["emergency", *(f"emergency.{g}" for g in FOCUS_ORDER
                                  if f"emergency.{g}" in CATALOG.texts["id"])]
START = ["halo", "1", "3", "1", "2"]  # greeting: chat; danger: no; consent: agree; adult

SETTLEMENT = re.compile(
    r"\b(kekeluargaan|damai|berdamai|perdamaian|didamaikan|adat|musyawarah|"
    r"reconcil\w*|settle\w*|customary|make peace)\b", re.IGNORECASE)
TOTAL_CONFIDENTIALITY = re.compile(
    r"(rahasia sepenuhnya|100 ?% rahasia|dijamin rahasia|pasti rahasia|rahasia terjamin|"
    r"kerahasiaan(nya)? (dijamin|terjamin)|tidak akan (pernah )?(kami )?(bagikan|beritahukan|"
    r"sampaikan) kepada siapa ?pun|completely confidential|fully confidential|totally "
    r"confidential|100 ?% confidential|strictly confidential|always confidential|never (be )?"
    r"shared with anyone|will never tell anyone)", re.IGNORECASE)
IDENTITY_REQUEST = re.compile(
    r"\b(NIK|KTP|nomor induk|kartu tanda penduduk|kartu keluarga|identity card|ID card|"
    r"national ID|nama lengkap|full name|nama anda|your name|siapa nama|what is your name|"
    r"kirim(kan)? foto|send (us )?(a |your )?(photo|picture)|selfie|foto (KTP|diri|wajah))\b",
    re.IGNORECASE)
CLAIMS_HUMAN = re.compile(
    r"\b(saya (adalah |seorang )?(manusia|petugas|konselor|pekerja sosial|psikolog)|"
    r"I am (a |an )?(human|real person|person|counsell?or|social worker|staff member)|"
    r"I'm (a |an )?(human|real person|counsell?or))\b", re.IGNORECASE)
DIAGNOSIS_OR_METHOD = re.compile(
    r"\b(depresi|gangguan (jiwa|mental)|diagnos\w*|skizofren\w*|bipolar|anda (menderita|"
    r"mengalami gangguan)|you (have|suffer from) (depression|a disorder)|disorder|"
    r"overdosis|overdose|dosis|dose|obat tidur|sleeping pills|cara (bunuh diri|mengakhiri)|"
    r"how to (kill|end))\b", re.IGNORECASE)
PARENTAL_GATE = re.compile(
    r"(izin orang ?tua|persetujuan orang ?tua|izin (dari )?wali|persetujuan wali|"
    r"parent'?s? (permission|consent)|parental (permission|consent)|guardian'?s? consent)",
    re.IGNORECASE)
CLOSED_LINE = "500-454"


# -- helpers --------------------------------------------------------------------------------

def inbound(text: str) -> Inbound:
    return Inbound("test", USER, "m", text)


def step(snap: Snapshot | None, text: str, later: timedelta = timedelta(minutes=1),
         language: str = "id") -> Turn:
    """One engine step, and what the host does with it: a case_upsert gives a case number."""
    now = snap.updated_at + later if snap is not None and snap.updated_at else NOW
    turn = ENGINE.step(snap, inbound(text), now, language)
    if turn.snapshot.case_number is None and any(e.kind == "case_upsert" for e in turn.events):
        turn = replace(turn, snapshot=replace(turn.snapshot, case_number=CASE_NUMBER))
    return turn


def run(texts: list[str], language: str = "id") -> tuple[Snapshot, list[Turn]]:
    snap: Snapshot | None = None
    turns = []
    for t in texts:
        turn = step(snap, t, language=language)
        turns.append(turn)
        snap = turn.snapshot
    assert snap is not None
    return snap, turns


def render(reply: Reply, lang: str) -> str:
    return CATALOG.render(reply, lang, {"case_number": CASE_NUMBER}).text


def rendered(turn: Turn, lang: str) -> list[str]:
    """A turn's replies in words, with their numbered choice labels, as a family reads them."""
    out = []
    for r in turn.replies:
        done = CATALOG.render(r, lang, {"case_number": CASE_NUMBER})
        out.append("\n".join([done.text, *(c.label for c in done.choices)]))
    return out


def all_texts() -> Iterator[tuple[str, str, str]]:
    """Every catalog text in every language, the emergency contacts filled in for each distrik."""
    distriks = [None, *FLOW.lists["distrik"]]
    for lang in LANGUAGES:
        for key, template in CATALOG.texts[lang].items():
            if "{emergency_contacts}" in template:
                for d in distriks:
                    yield lang, key, CATALOG.text(key, lang, {
                        "emergency_contacts": ENGINE.bundle.directory.contacts(lang, d)})
            else:
                yield lang, key, template


def inputs_for(snap: Snapshot) -> list[tuple[str, timedelta]]:
    """What a walk tries in a state: each choice, a skip, free text; outside interrupts also
    crisis words, a message after 25 hours and the keywords that enter interrupt states."""
    state = FLOW.states[snap.state]
    minute = timedelta(minutes=1)
    tries = [(str(i), minute) for i in range(1, len(FLOW.choices_of(state)) + 1)]
    if state.skippable:
        tries.append(("LEWATI", minute))
    if state.input:
        tries.append(("Kampung Nawaripi dekat pasar", minute))
    if not state.interrupt:
        tries += [("saya dipukul", minute), ("halo", minute), ("halo", timedelta(hours=25))]
        tries += [(w, minute) for w in ("DARURAT", "MENU", "BERHENTI", "ULANG", "PETUGAS")]
    return tries


def walk(starts: list[Snapshot], key: Callable[[Snapshot], Hashable],
         on_turn: Callable[[Snapshot, Turn], None] | None = None) -> dict[Hashable, Snapshot]:
    """Breadth-first over the flow graph as the engine steps it; one snapshot per key."""
    seen = {key(s): s for s in starts}
    queue = deque(starts)
    while queue:
        snap = queue.popleft()
        for t, later in inputs_for(snap):
            turn = step(snap, t, later)
            if on_turn is not None:
                on_turn(snap, turn)
            k = key(turn.snapshot)
            if k not in seen:
                seen[k] = turn.snapshot
                queue.append(turn.snapshot)
    return seen


ASQ = ("asq_wish", "asq_better_off", "asq_thoughts", "asq_tried")


def branch_key(snap: Snapshot) -> Hashable:
    """The state and the facts the flow's conditions branch on (not every answer), so that
    every branch is walked once: mode, category, who, age, contact, an ASQ yes, p0_alerted;
    for an interrupt also where it returns to; and whether consent and a case exist."""
    a = snap.answers
    back = str(a.get(RETURN_TO)) if FLOW.states[snap.state].interrupt else ""
    return (snap.state, back, str(a.get("mode")), str(a.get("category")),
            a.get("who") == "child", a.get("age") == "under18",
            a.get("contact") == "phone_other", any(a.get(k) == "yes" for k in ASQ),
            "p0_alerted" in snap.flags, a.get("consent") in ("agree", "agree_refer"),
            snap.case_number is not None, PHONE_WATCHED in snap.flags)


def host_entered() -> list[Snapshot]:
    """States only the host enters (an interrupt no keyword names, e.g. feedback after a
    counselor closes the case), as the host leaves them: from the closing, with a case."""
    named = {*ENGINE.bundle.keywords.values(), "emergency", "crisis", "resume"}
    return [Snapshot(FLOW.name, target, answers={RETURN_TO: "closing"}, flow_version=FLOW.version,
                     case_number=CASE_NUMBER, updated_at=NOW)
            for command, target in FLOW.interrupts.items() if command not in named]


def watched_phone() -> Snapshot:
    """After the safety questions of a woman whose husband reads her phone ("paitua suka cek
    sa pu hp"): how she is reached and the closing, in their forms for such a phone."""
    snap = step(None, "paitua suka cek sa pu hp, sa mo tanya soal sa pu suami").snapshot
    assert PHONE_WATCHED in snap.flags
    answers = {**snap.answers, "mode": "chat", "consent": "agree", "age": "adult",
               "category": "couple", "who": "self", "distrik": "mimika_baru"}
    return replace(snap, state="risk_safe_chat", answers=answers, case_number=CASE_NUMBER)


def emergency_in(turn: Turn) -> bool:
    """The emergency message is among the replies and a P0 case is opened or raised."""
    prompt = FLOW.states["emergency_check"].prompt
    said = any(r.key in (prompt, f"{prompt}.young") for r in turn.replies)  # a child: "kamu"
    upsert = any(e.kind == "case_upsert" and e.data.get("priority") == "P0"
                 for e in turn.events)
    return said and upsert and any(e.kind == "emergency" for e in turn.events)


ReplySig = tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


@dataclass
class Walked:
    """What one walk over every branch saw: where it went, what it said, what it recorded."""

    nodes: dict[Hashable, Snapshot] = field(default_factory=dict)
    replies: dict[str, set[ReplySig]] = field(default_factory=dict)  # by category before
    event_kinds: set[str] = field(default_factory=set)
    resting_without_case: list[tuple[str, str, str]] = field(default_factory=list)

    def see(self, before: Snapshot, turn: Turn) -> None:
        category = str(before.answers.get("category"))
        sigs = self.replies.setdefault(category, set())
        for r in turn.replies:
            sigs.add((r.key, tuple(sorted((k, str(v)) for k, v in r.params.items())),
                      r.choices))
        self.event_kinds.update(e.kind for e in turn.events)
        after = turn.snapshot
        state = FLOW.states[after.state]
        if state.end and after.case_number is None:
            facts = {**after.answers, **{f: "yes" for f in after.flags}}
            priority = ENGINE.bundle.triage.assess(facts).priority
            if priority in ("P0", "P1"):
                self.resting_without_case.append((after.state, priority, str(after.answers)))

    def texts(self, category: str | None = None) -> Iterator[tuple[str, str]]:
        """(reply key, text with its choice labels) for every reply, in both languages."""
        groups = [self.replies[category]] if category else list(self.replies.values())
        for sigs in groups:
            for key, params, choices in sigs:
                for lang in LANGUAGES:
                    reply = Reply(key, dict(params), choices)
                    yield key, "\n".join([render(reply, lang),
                                          *(CATALOG.text(c, lang) for _, c in choices)])


_WALKED = Walked()


def reachable() -> Walked:
    """Every branch of the intake from a first message, before and after consent (cached)."""
    if not _WALKED.nodes:
        starts = [step(None, "halo").snapshot, *host_entered(), watched_phone()]
        _WALKED.nodes.update(walk(starts, branch_key, _WALKED.see))
    return _WALKED


def one_per_place() -> list[Snapshot]:
    """One reachable snapshot per state, consent given or not, and interrupt return."""
    out: dict[Hashable, Snapshot] = {}
    for snap in reachable().nodes.values():
        k = (snap.state, snap.answers.get("consent") in ("agree", "agree_refer"),
             str(snap.answers.get(RETURN_TO)))
        out.setdefault(k, snap)
    return list(out.values())


# -- 1. Never put emergency help behind consent, registration or language choice -----------

def test_every_state_of_the_flow_is_reachable() -> None:
    """Never 1 (precondition): the walk below covers every state the intake has."""
    reached = {s.state for s in reachable().nodes.values()}
    assert reached == set(FLOW.states), f"never reached: {sorted(set(FLOW.states) - reached)}"


@pytest.mark.parametrize("word", ["DARURAT", "tolong", "Darurat!", " TOLONG "])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_one_word_brings_emergency_from_every_state(word: str, lang: str) -> None:
    """Never 1: the emergency message is one word away in every state, before consent too."""
    before_consent = 0
    for snap in one_per_place():
        snap = replace(snap, language=lang)
        turn = step(snap, word)
        assert emergency_in(turn), f"{word!r} in state {snap.state}: no emergency message"
        text_ = rendered(turn, lang)
        assert any(t.startswith(EMERGENCY_FIRST[lang]) and "110" in t for t in text_)
        before_consent += snap.answers.get("consent") not in ("agree", "agree_refer")
    assert before_consent >= 5  # greeting, danger, consent, ... were all checked unconsented


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("word", ["DARURAT", "TOLONG"])
def test_emergency_word_as_first_message_needs_nothing_first(lang: str, word: str) -> None:
    """Never 1: DARURAT/TOLONG as the very first message gets the emergency message at once."""
    turn = ENGINE.step(None, inbound(word), NOW, lang)
    assert emergency_in(turn)
    assert turn.replies[0].key == FLOW.states["emergency_check"].prompt
    said = {"id": "bukan manusia", "en": "not a human"}[lang]  # Never 7 too: who answers
    assert said in render(turn.replies[0], lang)
    case = next(e for e in turn.events if e.kind == "case_upsert")
    assert case.data["legal_basis"] == "vital_interest"


def test_danger_now_before_consent_gets_emergency_in_that_turn() -> None:
    """Never 1: 'danger now' (asked before consent) brings the emergency message at once."""
    snap, turns = run(["halo", "1", "1"])
    assert "consent" not in snap.answers
    assert emergency_in(turns[-1])
    case = next(e for e in turns[-1].events if e.kind == "case_upsert")
    assert (case.data["priority"], case.data["legal_basis"]) == ("P0", "vital_interest")


# the emergency word each language's texts tell people to type; it must be a keyword
EMERGENCY_WORD = {"id": "DARURAT", "en": "EMERGENCY"}


def test_the_announced_emergency_words_work() -> None:
    assert all(ENGINE.bundle.keywords.get(w.lower()) == "emergency"
               for w in EMERGENCY_WORD.values())


def test_every_word_the_texts_tell_people_to_type_works() -> None:
    """"Ketik HAPUS", "type EMERGENCY": each word a text tells families to type is a keyword
    (or LEWATI/SKIP), in the language of that text; English texts name English words."""
    told: dict[str, set[str]] = {}
    for path in (Path(__file__).parents[1] / "flows" / "catalog").glob("*.yaml"):
        for m in re.finditer(r"\b(?:[Tt]ype|[Kk]etik)\s+([A-Z][A-Z]+(?: [A-Z]{2,})*)\b",
                             path.read_text(encoding="utf-8")):
            told.setdefault(m.group(1), set()).add(path.name)
    assert {"DARURAT", "EMERGENCY", "HAPUS", "DELETE", "UBAH", "CHANGE"} <= told.keys()
    broken = {w: sorted(f) for w, f in told.items()
              if w.lower() not in ENGINE.bundle.keywords and w.lower() not in SKIP_WORDS}
    assert not broken, broken
    indonesian = {"DARURAT", "HAPUS", "UBAH", "BERHENTI", "KELUAR", "PETUGAS", "ULANG", "LEWATI"}
    assert not [w for w in indonesian if any(f.startswith("en") for f in told.get(w, ()))]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_greeting_announces_the_emergency_word(lang: str) -> None:
    """Never 1: the first thing the bot says tells how to get emergency help (DARURAT)."""
    assert EMERGENCY_WORD[lang] in CATALOG.text(FLOW.states[FLOW.initial].prompt, lang)


def test_danger_now_after_an_earlier_emergency_and_restart_gets_emergency() -> None:
    """Never 1/2: every 'danger now' gets the emergency message, also after an earlier one."""
    snap, _ = run(["halo", "1", "1", "1", "1"])  # danger now, then safe, consent agreed
    turn = step(snap, "ULANG", timedelta(days=30))
    for t in ["1", "1"]:  # chat, danger: yes now
        turn = step(turn.snapshot, t)
    assert emergency_in(turn)


# -- 2. Never end, expire or auto-close an at-risk conversation without the emergency -------
# --    message and a human assigned

def _upto(*answers: str) -> list[str]:
    return [*START, *answers]


# (path, index of the message that makes it P0)
P0_PATHS = {
    "danger_now_then_closing": (["halo", "1", "1", "1", "1", "2", "6", "1", "1", "LEWATI", "2",
                                 "1", "LEWATI", "2", "LEWATI", "LEWATI"], 2),
    "danger_now_then_refusal": (["halo", "1", "1", "2", "3", "oke"], 2),
    "darurat_then_helplines_only": (["DARURAT", "1", "3", "makasih"], 0),
    "injured": (_upto("7", "1", "1", "LEWATI", "1", "1", "1", "1", "LEWATI", "2", "LEWATI",
                      "LEWATI"), 9),
    "perpetrator_with_weapon": (_upto("2", "1", "1", "LEWATI", "2", "1", "1", "1", "2", "2",
                                      "1", "1", "1", "LEWATI", "2", "LEWATI", "LEWATI"), 11),
    # a child (parenting): no "is the person who hurts near?", straight to "is a child hurt
    # or alone now?"
    "child_now": (_upto("3", "2", "1", "1", "LEWATI", "2", "1", "1", "1", "1", "LEWATI",
                        "2", "LEWATI", "LEWATI"), 11),
    "suicide_thoughts_now": (_upto("8", "1", "1", "LEWATI", "2", "1", "2", "2", "2", "1", "1",
                                   "1", "1", "LEWATI", "2", "LEWATI", "LEWATI"), 14),
    "injured_then_not_safe_to_chat": (_upto("2", "1", "1", "LEWATI", "1", "1", "2", "2", "2",
                                            "2", "1", "2", "halo lagi"), 9),
}


@pytest.mark.parametrize("path", P0_PATHS, ids=list(P0_PATHS))
def test_p0_path_sends_emergency_and_leaves_a_p0_case(service: Service, path: str) -> None:
    """Never 2: a P0 conversation never rests without the emergency message and a P0 case."""
    messages, trigger = P0_PATHS[path]
    fam = Family(service, USER)
    said = [fam.say(m) for m in messages]
    openings = {CATALOG.text(k, "id").split("\n")[0] for k in EMERGENCY_TEXTS}
    assert any(r.startswith(tuple(openings)) for r in said[trigger]), said[trigger]
    assert all(said), "a message got no reply"
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
        kinds = [r.kind for r in conn.execute(text("SELECT kind FROM case_events"))]
        state = conn.execute(text("SELECT state FROM conversations")).scalar_one()
    assert (case.priority, case.status) == ("P0", "waiting")
    assert "emergency" in kinds  # the alert that pages the on-duty counselors
    assert FLOW.states[state].end or FLOW.states[state].interrupt or state == "after_pause"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_emergency_message_has_24_7_numbers_and_the_safe_word(lang: str) -> None:
    """Never 2: the emergency message gives police, SAPA, TePSA, suicide line and DARURAT."""
    turn = ENGINE.step(None, inbound("DARURAT"), NOW, lang)
    (message,) = [render(r, lang) for r in turn.replies
                  if r.key == FLOW.states["emergency_check"].prompt]
    for needed in ("110", "129", "08111-129-129", "1500-771", "119", EMERGENCY_WORD[lang]):
        assert needed in message, needed


def _known_gap(state: str) -> bool:
    """Helplines only and consent refused: the gap xfailed below (no case by design, but
    then 'connect me to staff' must not be promised)."""
    return state in ("refused", "helplines")


def test_resting_states_after_risk_answers_have_a_case() -> None:
    """Never 2: no branch rests at P0/P1 (closing, pause, ...) without a case in the queue."""
    found = [x for x in reachable().resting_without_case if not _known_gap(x[0])]
    assert not found, found[:3]


@pytest.mark.parametrize("before", [["halo", "3"], ["halo", "1", "3", "3"]],
                         ids=["helplines_only", "consent_refused"])
def test_asking_for_a_person_at_rest_reaches_the_queue(before: list[str]) -> None:
    """Never 2/10: PETUGAS after danger words puts a case in the queue, consent or not."""
    snap, turns = run([*before, "sa pu paitua pukul sa", "PETUGAS"])
    assert "human_requested" in snap.flags and "crisis_violence" in snap.flags
    assert any(e.kind == "case_upsert" for t in turns for e in t.events)
    # at rest there is nothing to go on with: not "Sambil menunggu, mari kita lanjutkan"
    assert [r.key for r in turns[-1].replies] == ["human_requested.rest"]


def test_asking_for_a_person_when_afraid_of_tonight_reaches_the_queue() -> None:
    """Never 2/10: "afraid" at the danger question (P1), then PETUGAS before consent, puts a
    case in the queue (a walk-through: she was told to answer the consent question first)."""
    snap, turns = run(["halo", "1", "tra skarang tapi sa takut", "PETUGAS"])
    assert snap.answers.get("danger") == "afraid"
    assert not [f for f in snap.flags if f.startswith("crisis")]  # no danger words: answers
    assert any(e.kind == "case_upsert" for t in turns for e in t.events)
    assert next(r.key for r in turns[-1].replies) == "human_requested"


def test_asking_for_a_person_after_refusing_says_how_not_what_is_done() -> None:
    """After consent was refused (no danger told), PETUGAS is told how to be put through
    (ULANG, then agree), not "after you answer the consent question", which they had."""
    _, turns = run(["halo", "1", "3", "3", "PETUGAS"])
    assert [r.key for r in turns[-1].replies] == ["human_requested.refused"]
    assert not any(e.kind == "case_upsert" for t in turns for e in t.events)


def test_a_yes_in_the_self_harm_screen_gets_care_and_the_lines_at_once() -> None:
    """A girl of 16 ("kadang" at "better off dead?") hears a word of care and the self-harm
    and child lines before the next question, in "kamu", once: a second yes brings none."""
    snap, _ = run(["halo", "1", "3", "1", "1", "1", "8", "1", "6", "LEWATI", "2", "2"])
    assert snap.state == "asq_better_off", snap.state
    turn = step(snap, "kadang")
    said = [render(r, "id") for r in turn.replies]
    assert next(r.key for r in turn.replies) == "safety_p1.selfharm.child", said
    assert "kamu" in said[0] and "119" in said[0] and "1500-771" in said[0]
    assert turn.snapshot.state == "asq_thoughts"
    again = step(turn.snapshot, "iya")
    assert not [r for r in again.replies if r.key.startswith("safety_p1")]


def test_asked_whether_it_is_a_person_the_bot_says_it_is_not() -> None:
    """Never 7: "kam ini manusia ka robot?" (a walk-through: not understood) is answered
    plainly, and the question asked before it comes again."""
    _, turns = run(["halo", "1", "kam ini manusia ka robot?"])
    said = rendered(turns[-1], "id")
    assert "bukan manusia" in said[0], said
    asked = FLOW.states["danger"].prompt
    assert [r.key for r in turns[-1].replies][-1] in (asked, f"{asked}.short")


def test_consent_after_a_refusal_goes_on_instead_of_looping() -> None:
    """"ok sa setuju" after refusing (a walk-through: "Ketik ULANG..." three times) goes back
    to the danger question, then consent is asked as usual; other words at rest do not."""
    _, turns = run(["halo", "1", "3", "3", "ok sa setuju"])
    keys = [r.key for r in turns[-1].replies]
    assert keys == ["resumed", FLOW.states["danger"].prompt], keys
    snap, turns = run(["halo", "1", "3", "3", "ok sa setuju", "3"])
    assert snap.state == "consent"
    for other in ("halo", "oke"):  # "oke" acknowledges the refusal: no consent
        snap, _ = run(["halo", "1", "3", "3", other])
        assert snap.state == "refused", other
    # in sentences (a walk-through: a wife who pressed the wrong number had to start over)
    _, turns = run(["halo", "1", "3", "3", "eh tunggu kaka, sa salah pilih. sa mau setuju "
                                            "saja, sa butuh dibantu"])
    assert turns[-1].replies[0].key == "resumed"
    snap, _ = run(["halo", "1", "3", "3", "sa setuju? tra, sa tra setuju"])
    assert snap.state == "refused"


# -- 3. Never promise total confidentiality -------------------------------------------------

def test_no_text_promises_total_confidentiality() -> None:
    """Never 3: no text in either language promises total confidentiality."""
    bad = [(lang, key) for lang, key, t in all_texts() if TOTAL_CONFIDENTIALITY.search(t)]
    assert not bad, bad


LIMITS = {"id": ("Batas kerahasiaan", "bahaya bagi nyawa", "anak", "kekerasan seksual"),
          "en": ("Limits of confidentiality", "danger to life", "child", "sexual violence")}
_CONSENTS = {s.prompt for s in FLOW.states.values()
             if any("record_consent" in c.actions for c in FLOW.choices_of(s))}
# with their plain forms ("sa tra mengerti" at the question)
CONSENT_PROMPTS = sorted(_CONSENTS | {f"{p}.plain" for p in _CONSENTS} | {"consent.long"})


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", [
    k for k in CONSENT_PROMPTS])
def test_consent_texts_state_the_limits_of_confidentiality(key: str, lang: str) -> None:
    """Never 3: every consent text states the limits (life, child, sexual violence)."""
    consent = CATALOG.text(key, lang)
    missing = [w for w in LIMITS[lang] if w.lower() not in consent.lower()]
    assert not missing, f"{key} ({lang}) does not say: {missing}"


# -- 4. Never suggest family or customary settlement ----------------------------------------

# The one text that names a settlement: the answer to "bisa selesai adat ka?", which says no.
SAYS_NO_TO_SETTLEMENT = {"notice.adat", "notice.adat.sexual"}  # (its form after rape words)
REFUSAL = re.compile(r"\b(tidak|bukan|not|cannot|never)\b", re.IGNORECASE)


def test_no_text_suggests_settlement() -> None:
    """Never 4: no text in either language mentions kekeluargaan, damai, adat or reconciling,
    except the answer to a family's question about it, each of whose sentences that names a
    settlement says it is not to be."""
    bad = [(lang, key, m.group(0)) for lang, key, t in all_texts()
           if key not in SAYS_NO_TO_SETTLEMENT and (m := SETTLEMENT.search(t))]
    assert not bad, bad
    for lang in ("id", "en"):
        for key in SAYS_NO_TO_SETTLEMENT:
            text = CATALOG.text(key, lang)
            named = [s for s in re.split(r"(?<=[.!?;])\s+", text) if SETTLEMENT.search(s)]
            assert len(named) >= 2 and all(REFUSAL.search(s) for s in named), (lang, named)


@pytest.mark.parametrize("category", ["sexual", "dv", "child"])
def test_no_reply_on_a_violence_path_suggests_settlement(category: str) -> None:
    """Never 4: no reply reached after choosing sexual violence, DV or child suggests damai."""
    walked = reachable()
    states = {s.state for s in walked.nodes.values() if s.answers.get("category") == category}
    assert {"risk_injured", "risk_child_now", "risk_safe_chat", "closing"} <= states
    said = list(walked.texts(category))
    assert len(said) > 30
    bad = [(key, m.group(0)) for key, t in said if (m := SETTLEMENT.search(t))]
    assert not bad, bad[:5]


# -- 5. Never contact the alleged perpetrator; never disclose a case to "family" ------------

def test_bot_writes_only_to_the_person_who_wrote(service: Service) -> None:
    """Never 5: even with 'another safe number' given, the bot only answers the sender."""
    fam = Family(service, USER)
    for m in ["halo", "2", "3", "1", "2", "0812-9999-0000", "LEWATI", "2", "LEWATI"]:
        fam.say(m)
    with service.db.connect() as conn:
        recipients = {r[0] for r in read_sql(conn, "SELECT recipient FROM outbox")}
    assert recipients == {USER}


def test_someone_claiming_to_be_family_learns_nothing(service: Service) -> None:
    """Never 5: another contact naming the case number gets no case data, only the greeting."""
    fam = Family(service, USER)
    for m in [*START, "2", "1", "1", "LEWATI", "2", "2", "2", "2", "2", "1", "1", "1",
              "sesudah jam tujuh", "2", "LEWATI", "sa pu paitua suka marah"]:
        fam.say(m)
    husband = Family(service, "6281100000099")
    replies = husband.say(f"Saya suaminya. Kasus {CASE_NUMBER} itu apa? Dia cerita apa?")
    replies += husband.say("DATA")
    joined = "\n".join(replies)
    assert CASE_NUMBER not in joined
    for private in ("marah", "tujuh", "rumah tangga", "Mimika Baru", "P1"):
        assert private not in joined
    # told plainly that no one learns what another told LK3, then the greeting
    assert replies[0].startswith("Kami tidak memberi tahu siapa pun apa yang diceritakan")
    assert replies[1].startswith("Selamat pagi. Ini layanan LK3")
    with service.db.connect() as conn:
        assert len(cases.list_cases(conn)) == 1


# -- 6. Never give self-harm method information, diagnoses, or binding advice ---------------

def test_no_text_diagnoses_or_gives_method_information() -> None:
    """Never 6: no text diagnoses or mentions doses, pills or ways of self-harm."""
    bad = [(lang, key, m.group(0)) for lang, key, t in all_texts()
           if (m := DIAGNOSIS_OR_METHOD.search(t))]
    assert not bad, bad


@pytest.mark.parametrize("words", ["sa mo minum racun", "mau gantung diri", "potong nadi"])
def test_self_harm_words_are_never_echoed(words: str) -> None:
    """Never 6: the bot never repeats self-harm method words back; it gives help."""
    snap, _ = run(START)
    turn = step(snap, words)
    assert any(e.kind == "crisis_words" for e in turn.events)
    for lang in LANGUAGES:
        for t in rendered(turn, lang):
            assert not any(w in t.lower() for w in ("racun", "gantung", "nadi"))


# -- 7. Never pretend to be human ------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_greeting_says_it_is_a_bot(lang: str) -> None:
    """Never 7: the greeting (the first reply to any first message) says it is not a human."""
    said = {"id": "Saya asisten otomatis, bukan manusia.",
            "en": "I am an automatic assistant, not a human."}[lang]
    for first in ["halo", "Selamat malam", "🙏", ""]:
        turn = ENGINE.step(None, inbound(first), NOW, lang)
        assert turn.replies[0].key == FLOW.states[FLOW.initial].prompt
        assert said in render(turn.replies[0], lang)


def test_no_text_claims_to_be_human() -> None:
    """Never 7: no text in either language says the bot is a person or staff member."""
    bad = [(lang, key, m.group(0)) for lang, key, t in all_texts()
           if (m := CLAIMS_HUMAN.search(t))]
    assert not bad, bad


# -- 8. Never ask for NIK/KTP, full names or photos at first contact -----------------------

NOT_NEEDED = re.compile(r"(tidak perlu|tanpa|do not need|don't need|no need for)\s(\w+\s){0,2}$",
                        re.IGNORECASE)


def asks_identity(text: str) -> str | None:
    """The identity request in `text`, if any; "Tidak perlu KTP" (not needed, the answer to
    "harus bawa ktp ka?") is none."""
    return next((m.group(0) for m in IDENTITY_REQUEST.finditer(text)
                 if not NOT_NEEDED.search(text[:m.start()])), None)


# The answer to a family's own question about civil documents (where to get a KTP, a KK or
# an akta): it names them, sends the family to Dukcapil, and asks for none itself
ABOUT_DOCUMENTS = {"notice.civil_docs"}
SENT_TO_US = re.compile(r"\b(kirim|send|foto|photo|tunjukkan|show us|tulis|write)\b",
                        re.IGNORECASE)


def test_no_text_asks_for_identity_documents_names_or_photos() -> None:
    """Never 8: no text asks for NIK/KTP, a full name or a photo."""
    bad = [(lang, key, found) for lang, key, t in all_texts()
           if key not in ABOUT_DOCUMENTS and (found := asks_identity(t))]
    assert not bad, bad
    for lang, key, t in all_texts():
        if key in ABOUT_DOCUMENTS:
            assert "Dukcapil" in t and not SENT_TO_US.search(t), (lang, key)
    assert asks_identity("Kirim foto KTP Anda") and asks_identity("Tulis nama lengkap Anda")
    assert asks_identity("Tidak perlu KTP. Tulis NIK Anda")  # each mention on its own
    assert not asks_identity("Tidak perlu KTP atau dokumen apa pun")


def test_no_state_saves_identity_data() -> None:
    """Never 8: the intake has no question whose answer is a name, an ID number or a photo."""
    saved = {s.save for s in FLOW.states.values() if s.save}
    bad = [k for k in saved if re.search(r"name|nama|nik|ktp|identity|photo|foto", k, re.I)]
    assert not bad, bad


@pytest.mark.parametrize("lang", LANGUAGES)
def test_account_prompt_says_no_names_needed(lang: str) -> None:
    """Never 8: the only open account question says names are not needed."""
    said = {"id": "Tidak perlu menulis nama", "en": "You don't need to write anyone's name"}
    assert said[lang] in CATALOG.text(FLOW.states["account"].prompt, lang)


# -- 9. Never broadcast ----------------------------------------------------------------------

def test_every_outgoing_message_answers_an_inbound_one(service: Service) -> None:
    """Never 9: the bot sends nothing unprompted: every outbox row answers that contact."""
    a, b = Family(service, USER), Family(service, "6281100000032")
    for m in [*START, "6", "1", "1", "LEWATI", "2", "1", "LEWATI", "2", "LEWATI", "LEWATI"]:
        a.say(m)
    b.say("halo")
    b.say("3")
    with service.db.connect() as conn:
        rows = read_sql(conn, "SELECT o.recipient, o.dedupe_key, i.sender FROM outbox o "
                              "LEFT JOIN inbox i ON o.dedupe_key LIKE 'in:' || i.id || ':%'")
    assert rows and all(r.sender == r.recipient for r in rows), rows


# -- 10. Never let a P0/P1 case wait silently or be deleted automatically -------------------

@pytest.mark.parametrize("word", ["HAPUS", "BERHENTI", "ULANG"])
def test_keywords_never_delete_a_p1_case(service: Service, word: str) -> None:
    """Never 10: HAPUS only records a request; BERHENTI and ULANG keep the P1 case too."""
    fam = Family(service, USER)
    for m in [*START, "4", "1", "1", "LEWATI", "2", "2", "2", "2", "2", "1", "2", "1", "1",
              "pagi", "2", "LEWATI", "LEWATI"]:
        fam.say(m)
    reply = fam.say(word)
    assert reply, f"{word} got no reply"
    fam.say("halo")
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
        kinds = [r.kind for r in conn.execute(text("SELECT kind FROM case_events"))]
    assert (case.number, case.priority, case.status) == (CASE_NUMBER, "P1", "waiting")
    if word == "HAPUS":
        assert "privacy_request" in kinds
        assert reply[0].startswith("Permintaan hapus data sudah kami catat.")


def test_no_engine_action_deletes_a_case() -> None:
    """Never 10: no step on any branch emits anything that deletes or closes a case."""
    kinds = reachable().event_kinds
    assert {"case_upsert", "emergency", "stop", "consent"} <= kinds
    assert not [k for k in kinds if re.search(r"delet|remov|clos|purge|erase", k)], kinds


# -- 11 (5.3): never require a child to get parental consent before help -------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_child_gets_helplines_at_once_without_parental_consent(lang: str) -> None:
    """Never 11: under 18, the next reply gives SAPA 129 and TePSA; no parental-consent gate."""
    snap, _ = run(START[:4], lang)
    turn = step(snap, "1")  # under 18
    (child,) = rendered(turn, lang)
    assert "SAPA 129" in child and "1500-771" in child
    for answer in ["1", "2", "LEWATI"]:  # trusted adult yes / no / skipped
        after = step(turn.snapshot, answer).snapshot
        assert after.state == "category", answer


def test_no_text_asks_for_parental_consent() -> None:
    """Never 11: no text in either language asks for a parent's or guardian's permission."""
    bad = [(lang, key) for lang, key, t in all_texts() if PARENTAL_GATE.search(t)]
    assert not bad, bad


# -- the closed line -------------------------------------------------------------------------

def test_no_text_lists_the_closed_line() -> None:
    """DOMAIN emergency contacts: never list the closed line 500-454, in any text or distrik."""
    bad = [(lang, key) for lang, key, t in all_texts() if CLOSED_LINE in t]
    assert not bad, bad


def test_no_reply_on_any_path_lists_the_closed_line() -> None:
    """DOMAIN emergency contacts: no reply reached on any branch lists 500-454."""
    said = list(reachable().texts())
    assert len(said) > 100
    assert not [key for key, t in said if CLOSED_LINE in t]
