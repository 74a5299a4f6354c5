"""Understanding answers to choice questions: the number, the label, and the words people use.

The words are data (`flows/answers.yaml`); this module reads them and matches a message.
A message answers a choice question, in this order:

1. a button press (the payload names the choice's value), exactly as before;
2. the choice's label or value typed out, or a word or phrase listed for it ("iyo");
3. a number: the whole message is `n` (1..number of choices), or `n` followed by a prefix of
   that choice's label or by words of that same choice ("2", "2.", "2)", "2 tidak",
   "3 tra"). "-1", "1,5", "2 sa pikir dulu" and numbers of more than 3 digits are no
   answer. At a question with `ages`, a bare number above the number of choices, or a number
   with an age word ("sa 32 tahun", "15 thn"), is an age in years;
4. a short sentence whose every word is a listed phrase of one and the same choice or a
   filler ("iya sa setuju");
5. with `stem`, the same again with Indonesian affixes taken off (Sastrawi);
6. with `fuzzy` (the distrik list), the closest name when it is close enough and clearly
   closer than the next choice's (rapidfuzz).

Anything else, two choices at once, or words of a value the question does not offer, is no
answer (None): the engine asks again. Words are folded and normalised at load and each
state's table is built once; a number or a one-word answer is a few dictionary look-ups
(about 1-2 µs a call).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from flows.definition import ChoiceSpec, Flow, FlowError, StateSpec, read_yaml
from flows.text import KEYCAP, LEAD_NUMBER, MAX_OPTION_DIGITS, SENTENCES, clean, fold

LANGUAGES = ("id", "pap", "en")  # pap: Papuan Malay (people write it with an "id" snapshot)
EARLY_WORDS = frozenset({"pagi", "subuh", "am", "morning"})  # an hour of 1-6 said as in the morning
PM_UPTO = 6  # an hour of 1 to this, not said as morning, is in the afternoon ("jam 2")
UNCLEAR = "unclear"  # the pseudo-value whose words make a message no answer at a question
MAX_CHARS = 300  # a longer message is a story, not an answer to a choice
MAX_WORDS = 10  # a longer one is read as the whole message only
MAX_YEARS = 120
ADULT_YEARS = 18
UNITS = ("years", "months", "times", "after_hours", "clock")  # answers.yaml `units`
FUZZY_MIN_CHARS = 5  # shorter words are not fuzzy-matched ("amar", "jila", "hoya", "jita")
FUZZY_CUTOFF = 85.0  # fuzz.ratio: "kuala kencan" 96, "tembagapra" 95, "mimka baru" 95
_PLACE_PARTICLES = frozenset({"di", "ke", "dari", "ada", "lagi", "sedang"})  # "tra di rumah"
PLACE_NAME = 4  # letters at least of a single word taken as a place's name
PLACE_WORD = 3  # ...and of a name beside a place word ("dekat pasar lama")
FUZZY_MARGIN = 6.0  # the best choice must beat the next choice by this much
MAX_SUBJECT = 4  # words at most that say who, before a `subject` word ("sa pu bapa tiri ada")
_TOP_KEYS = {"spellings", "fillers", "address", "affirm", "pointers", "ordinals", "declines",
             "units", "shared",
             "questions"}
_QUESTION_KEYS = {"words", "fillers", "ages", "minor", "fuzzy", "stem", "offer", "gives_way",
                  "weak", "from_story", "but_turns", "places", "subject", "own_age",
                  "not_like", "whole"}
_REPEATS = re.compile(r"([^\W\d_])\1+")  # "iyaaa" -> "iya"; digits stay as typed

Phrase = tuple[str, ...]

# "iya, malam ini", "tra skarang tapi nanti malam de pulang": a comma or "tapi" ends the
# answer part
_SELF = frozenset({"saya", "i"})  # before `pointers`: "saya pilih 2", "i choose 2"
_POINTED_TAIL = frozenset({"itu", "tadi", "saja", "sudah", "ya", "e"})  # "yang nomor 1 itu"
# "sa setuju saja asal cucu dapat bantuan" (a walk-through: asked again): a condition after
# the answer is a clause of its own too (not "sa asal dari wamena": where one comes from)
_CLAUSE = re.compile(r"\s*[,.;!?]+\s*|\s+(?:tapi|tetapi|tp|but|asal(?:kan)?(?!\s+dari\b)|"
                     r"yang penting|yg penting)\s+", re.IGNORECASE)
_EXCEPT = frozenset({"kecuali", "selain", "except", "not"})  # "kecuali malam"
_BEFORE_TIME = frozenset({"bisa", "hari", "waktu", "pas", "kalau", "usah", "mau", "at", "on",
                          "in", "the", "di", "pada", "jam", "pukul", "dan", "atau", "and",
                          "or"})  # "tra bisa malam", "jangan sabtu dan minggu"
_BUT = re.compile(r"\b(?:tapi|tetapi|tp|namun|but)\b", re.IGNORECASE)
# "7pm", "7.30 pm", "9 a.m.": read as "jam 19", "jam 9" (walk O: "evenings after my shift,
# 7pm" was read back as the time staff would keep to)
_AM_PM = re.compile(r"\b(\d{1,2})(?:[.:]\d{2})?\s*([ap])\.?m\b\.?", re.IGNORECASE)
_CONFLICT = object()  # two choices named
_UNCOVERED = object()  # a word that is neither listed nor a filler


def _clock24(match: re.Match[str]) -> str:
    """An hour said with am or pm as "jam <hour of 24>": "7pm" -> "jam 19", "12am" -> "jam 0"."""
    hour = int(match[1]) % 12 + (12 if match[2].lower() == "p" else 0)
    return f" jam {hour} "


@dataclass(frozen=True)
class Question:
    """The words of one question (a state's `save` key or name), normalised."""

    key: str
    words: dict[Phrase, str]  # phrase -> value (own words over borrowed); UNCLEAR blocks
    own: dict[Phrase, str]  # the question's own words only (what `stem` uses)
    fillers: frozenset[str] = frozenset()
    ages: tuple[tuple[int, int, str], ...] = ()
    fuzzy: bool = False
    stem: bool = False
    offer: bool = False  # a sentence that names one choice among other words is offered
    gives_way: tuple[str, ...] = ()  # ...and these values give way to another named
    # ...and these words name their value in an offer only where no other word of the
    # question names one ("uang jajan" beside "diejek": the child, not the economy)
    weak: frozenset[Phrase] = frozenset()
    from_story: bool = False  # an earlier story's words for it are offered when it is asked
    # value -> value: an answer, "tapi", then words naming the second ("skarang aman tapi
    # nanti malam sa takut" at the danger question: not in danger now, but afraid)
    but_turns: tuple[tuple[str, str], ...] = ()
    # the value an age under 18 in the reply makes it ("sa pu ade, 16 tahun": a child at
    # "who needs help?", whatever the kinship word says), unless it names one of `unless`
    # ("sa sendiri, umur 17": the writer)
    minor: tuple[str, frozenset[str]] | None = None
    # words that make a few words naming no choice a place told (`names_place`)
    places: frozenset[str] = frozenset()
    # words after who is meant ("ada", "masih"): the words before them are read past
    subject: frozenset[str] = frozenset()
    # words that say a story's age is the writer's own: one of `self` ("saya", "nenek"),
    # the rest `also` ("laki", "perempuan") or years words, before it in its clause
    own_self: frozenset[str] = frozenset()
    own_also: frozenset[str] = frozenset()
    # phrase -> value, only as the whole message ("ok" at the greeting: chat)
    whole: dict[Phrase, str] = field(default_factory=dict)


@dataclass
class _Table:
    """What matching needs at one state in one language, built on first use."""

    choices: tuple[ChoiceSpec, ...]
    by_value: dict[str, ChoiceSpec]
    exact: dict[str, ChoiceSpec]  # folded label or value -> choice
    labels: list[str]
    phrases: dict[Phrase, str]
    longest: int
    fillers: frozenset[str]
    years: frozenset[str]
    months: frozenset[str]
    ages: tuple[tuple[int, int, str], ...]
    stems: dict[Phrase, str] | None
    stem_longest: int
    fuzzy_names: list[str]
    fuzzy_values: list[str]
    offer: bool = False
    gives_way: tuple[str, ...] = ()
    strong: dict[Phrase, str] | None = None  # `phrases` without the question's `weak` words
    but_turns: dict[str, str] = field(default_factory=dict)
    minor: tuple[str, frozenset[str]] | None = None
    subject: frozenset[str] = frozenset()
    whole: dict[Phrase, str] = field(default_factory=dict)  # only as the whole message


class Answers:
    """The words that answer choice questions, per choice value."""

    def __init__(self, source: str = "", spellings: Mapping[str, Phrase] | None = None,
                 fillers: Iterable[str] = (), years: Iterable[str] = (),
                 months: Iterable[str] = (), shared: Mapping[Phrase, str] | None = None,
                 questions: Mapping[str, Question] | None = None,
                 address: Iterable[str] = (), affirm: Iterable[str] = (),
                 declines: Iterable[Phrase] = (), pointers: Iterable[str] = (),
                 ordinals: Mapping[str, int] | None = None,
                 times: Iterable[str] = (), after_hours: Iterable[str] = (),
                 clock: Iterable[str] = ()) -> None:
        self.source = source
        self.times = frozenset(times)
        self.after_hours_words = frozenset(after_hours)
        self.clock = frozenset(clock)
        self.address = frozenset(address)
        self.affirm = frozenset(affirm)
        self.pointers = frozenset(pointers)
        self.ordinals = dict(ordinals or {})
        self.declines = frozenset(declines)
        self.spellings = dict(spellings or {})
        self.fillers = frozenset(fillers)
        self.years = frozenset(years)
        self.months = frozenset(months)
        self.shared = dict(shared or {})
        self.questions = dict(questions or {})
        self._tables: dict[tuple[str, str], _Table] = {}
        self.normalise: Callable[[str], Phrase] = lru_cache(maxsize=8192)(self._normalise)
        self._stem: Callable[[str], str] | None = None
        self._stems: dict[str, dict[Phrase, str]] = {}  # question -> its words' stems
        if any(q.stem for q in self.questions.values()):
            self._stem = _stemmer()
            self._stems = {key: _stem_table(q.own, self._stem)
                           for key, q in self.questions.items() if q.stem}

    # -- matching ---------------------------------------------------------------------------

    def match(self, state: StateSpec, text: str, payload: str,
              choices: tuple[ChoiceSpec, ...], folded_labels: list[str],
              language: str) -> ChoiceSpec | None:
        """The choice `text` (or the button `payload`) answers at `state`, or None."""
        if payload:  # a button press wins, exactly as before
            for c in choices:
                if c.value == payload:
                    return c
        cleaned = _said(text)
        if not cleaned or len(cleaned) > MAX_CHARS:
            return None
        t = self._table(state, choices, folded_labels, language)
        found = self._read(t, cleaned)
        bare = self._bare(t, self.normalise(fold(cleaned)))
        if found is None and bare:  # "setuju kaka", "2 kk", "pak, telpon saja": the answer
            return self._read(t, " ".join(bare))  # without whom it is said to
        return found

    def _read(self, t: _Table, cleaned: str) -> ChoiceSpec | None:
        folded = fold(cleaned)
        exact = t.exact.get(folded)  # the label or the value, typed out
        if exact is not None:
            return exact
        words = self.normalise(folded)
        value = t.phrases.get(words)  # a listed word or phrase: "iyo", "18 ke atas"
        if value not in t.by_value and words in t.whole:
            value = t.whole[words]  # "ok" at the greeting (a shared "yes", not offered there)
        if value is not None:
            return t.by_value.get(value)
        lead = LEAD_NUMBER.fullmatch(cleaned.translate(KEYCAP))
        if lead:
            return self._numbered(t, lead.group(1), lead.group(2))
        pointed = LEAD_NUMBER.fullmatch(" ".join(self._pointing_at(words)))
        if pointed and (chosen := self._numbered(t, pointed.group(1), pointed.group(2))):
            return chosen
        spelled = _in_digits(words) if t.ages else words
        if spelled != words and (aged := self._words(t, spelled)) is not None:
            return aged  # "lima belas", "dua puluh lima tahun": an age (never an option)
        if t.minor and (years := self._years_said(words)) is not None and \
                years < ADULT_YEARS and \
                not t.minor[1] & _named(words, t.phrases, t.longest, t.fillers)[0]:
            return t.by_value.get(t.minor[0])  # "sa pu ade, 16 tahun": a child (a walk-
            # through: taken as "another family member", and no child's questions asked)
        return self._words(t, words) or self._first_clause(t, cleaned) or \
            self._leading_yes(t, words) or self._affirmed(t, words) or \
            self._past_subject(t, words)

    def _past_subject(self, t: _Table, words: Phrase) -> ChoiceSpec | None:
        """At a question with `subject` words ("ada", "masih"), who is meant, said before the
        first of them, read past: "om yan ada tidur" and "sa pu paitua masih di rumah" are
        "ada tidur" and "masih di rumah" (a name, a kinship word). Not where those words
        name a choice or are `unclear` here ("de pu keluarga ada di sini": not the person
        asked about), nor more than MAX_SUBJECT words."""
        at = next((i for i, w in enumerate(words) if w in t.subject), 0)
        if not 0 < at <= MAX_SUBJECT or \
                _named(words[:at], t.phrases, t.longest, t.fillers)[0]:
            return None
        return self._words(t, words[at:])

    def _years_said(self, words: Phrase) -> int | None:
        """The one age in years a reply says, a number beside a years word ("16 tahun",
        "umur 16"), or None."""
        ages = {int(w) for i, w in enumerate(words) if w.isdecimal() and len(w) <= 3 and (
            (i + 1 < len(words) and words[i + 1] in self.years) or
            (i > 0 and words[i - 1] in self.years))}
        return ages.pop() if len(ages) == 1 else None

    def _leading_yes(self, t: _Table, words: Phrase) -> ChoiceSpec | None:
        """At a yes/no question, an `affirm` word ("iya") then words that name nothing here:
        "iya de di ruang tamu" is yes. (Not "tidak", which may say no to the words after it:
        "tidak bisa jalan" is hurt; not "ada": "ada anak 2 masih kecil" is no yes to "are
        children threatened?"; nor "ya ampun", listed as unclear.)"""
        if "yes" not in t.by_value or not set(t.by_value) <= {"yes", "no", "unknown"}:
            return None
        for size in range(min(t.longest, len(words) - 1), 0, -1):
            lead = t.phrases.get(words[:size])
            if lead is None:
                continue
            if lead != "yes" or words[0] not in self.affirm:
                return None  # "ya ampun" is no yes, nor "ada anak 2 masih kecil"
            rest = words[size:]
            named, _ = _named(rest, t.phrases, t.longest, t.fillers)
            return t.by_value["yes"] if named <= {"yes"} and len(rest) <= MAX_WORDS else None
        return None

    def _affirmed(self, t: _Table, words: Phrase) -> ChoiceSpec | None:
        """At a question that is not yes/no, `affirm` words before a choice's own words:
        "io chat" is chat (a walk-through: "Maksud Anda: Lanjut chat? Balas IYA" to it)."""
        if "yes" in t.by_value:
            return None
        i = 0
        while i < len(words) and words[i] in self.affirm:
            i += 1
        return self._words(t, words[i:]) if 0 < i < len(words) else None

    def _pointing_at(self, words: Phrase) -> Phrase:
        """The number and what follows it, where only `pointers` come before it ("yang
        nomor 2", "sa pilih 3", "option 1", "yang kedua": `ordinals`); () otherwise. "saya"
        alone points at nothing: "saya 32" is an age, read as before."""
        i = 0
        while i < len(words) and (words[i] in self.pointers or words[i] in _SELF):
            i += 1
        if i == len(words) or set(words[:i]) <= _SELF:
            return ()
        rest = _in_digits(words[i:])  # "nomor dua": 2
        while len(rest) > 1 and rest[-1] in _POINTED_TAIL:  # "yang nomor satu itu" (a
            rest = rest[:-1]  # walk-through: "nomor" alone offered the numbers-only choice)
        if rest[0] in self.ordinals:  # "yang kedua"
            return (str(self.ordinals[rest[0]]), *rest[1:])
        return rest if rest[0].isdigit() else ()

    def _bare(self, t: _Table, words: Phrase) -> Phrase:
        """`_unaddressed` at a question, unless the words with the person are no answer
        there: "... tapi jang bapa" (not my father's) is no "jangan" said to a "bapak"."""
        bare = self._unaddressed(words)
        if bare and UNCLEAR in _named(words, t.phrases, t.longest, t.fillers)[0]:
            return ()
        return bare

    def _unaddressed(self, words: Phrase) -> Phrase:
        """The words without a form of address at their start or end ("kaka", "pak"), or ()
        where there is none."""
        i, j = 0, len(words)
        while i < j and words[i] in self.address:
            i += 1
        while j > i and words[j - 1] in self.address:
            j -= 1
        return words[i:j] if 0 < j - i < len(words) else ()

    def guess(self, state: StateSpec, text: str, choices: tuple[ChoiceSpec, ...],
              folded_labels: list[str], language: str) -> ChoiceSpec | None:
        """At a question with `offer`, the one choice a sentence that is no answer names
        among other words ("anak sa tra mo sekolah": children), to offer, not to take."""
        t = self._table(state, choices, folded_labels, language)
        cleaned = _said(text)
        if not t.offer or not cleaned or len(cleaned) > MAX_CHARS:
            return None
        words = self.normalise(fold(cleaned))
        if t.ages and (years := self._years_said(words)) is not None:
            # "sa pu ade, 16 tahun": the age said among other words
            return next((t.by_value.get(v) for low, high, v in t.ages if low <= years <= high),
                        None)
        hits, _ = _named(words, t.phrases, t.longest, t.fillers)
        if not hits and t.stems is not None and (stemmed := self._stemmed(t, words)):
            hits, _ = _named(stemmed, t.stems, t.stem_longest, t.fillers)
        named = {h for h in hits if h in t.by_value or h == UNCLEAR}  # "tra": not offered
        if t.strong is not None and len(named) > 1:  # "uang" gives way to "diejek"
            strong, _ = _named(words, t.strong, t.longest, t.fillers)
            named = {h for h in strong if h in t.by_value or h == UNCLEAR} or named
        for weaker in t.gives_way:  # "anak sa cacat": the child gives way to the disability;
            if len(named) > 1:  # in order ("istri pigi bawa anak2": the couple, not children)
                named.discard(weaker)
        if len(named) != 1 or UNCLEAR in named:
            return None
        value = named.pop()
        for i, word in enumerate(words[:-1]):  # "jangan ke rumah" is no home visit, nor "de
            if self.shared.get((word,)) != "no" or any(  # tra di rumah" (walk O: offered
                    t.phrases.get(words[i:i + k]) == value for k in range(2, t.longest + 1)):
                continue  # one); "tidak ada uang" is itself money's words
            at = i + 1
            while at < len(words) - 1 and words[at] in _PLACE_PARTICLES:
                at += 1
            if any(t.phrases.get(words[at:at + k]) == value for k in range(1, t.longest + 1)):
                return None
        return t.by_value[value]

    def own_age(self, state: StateSpec, text: str, choices: tuple[ChoiceSpec, ...],
                folded_labels: list[str], language: str) -> ChoiceSpec | None:
        """At a question with `own_age`, the band of the writer's own age told in a story
        ("sa laki2 umur 35", "nene umur 70 thn"): one number with a years word, every word
        before it in its clause a `self` or `also` word or a years word, one a `self` one
        ("sa pu anak umur 12" is the child's; "mama 52, sa 19" says no years word)."""
        q = self.question(state)
        if q is None or not q.own_self:
            return None
        t = self._table(state, choices, folded_labels, language)
        told = set()
        for part in (p for s in SENTENCES.split(_said(text)) for p in _CLAUSE.split(s)):
            words = self.normalise(fold(part))
            for i, w in enumerate(words):
                before = set(words[:i])
                if w.isdecimal() and len(w) <= MAX_OPTION_DIGITS and before & q.own_self and \
                        before <= q.own_self | q.own_also | self.years and \
                        (before & self.years or words[i + 1:i + 2] in {(y,) for y in self.years}):
                    told.add(int(w))
        if len(told) != 1:
            return None
        years = told.pop()
        return next((t.by_value.get(v) for low, high, v in t.ages if low <= years <= high), None)

    def named(self, state: StateSpec, text: str, choices: tuple[ChoiceSpec, ...],
              folded_labels: list[str], language: str) -> set[str]:
        """The choices whose words appear anywhere in `text` ("muka bengkak, tra perlu ke
        rumah sakit" names "no" at the injury question)."""
        t = self._table(state, choices, folded_labels, language)
        hits, _ = _named(self.normalise(fold(_said(text))), t.phrases, t.longest, t.fillers)
        return {h for h in hits if h in t.by_value}

    def names_place(self, state: StateSpec, text: str, names: bool = False) -> bool:
        """Whether a few words that name no choice tell a place: one of the question's
        `places` words with a name or a number beside it ("di dekat pasar lama", "sp2",
        "sp 2"; not "di kampung", "sp"), or, with `names`, a single word of four letters or
        more ("nawaripi")."""
        q = self.question(state)
        if q is None or not q.places:
            return False
        folded = fold(_said(text))
        words = self.normalise(folded)  # ("sp2" is "sp sp" here: the digit read as "2")
        marked = any(w in q.places for w in words)
        named = any(c.isdigit() for c in folded) or any(
            len(w) >= PLACE_WORD and w not in q.places and w not in q.fillers for w in words)
        return (marked and named) or \
            (names and len(words) == 1 and len(words[0]) >= PLACE_NAME and words[0].isalpha())

    def names_time(self, text: str) -> bool:
        """Whether a text answer names a time: a `units.times` word ("pagi", "sore",
        "senin", "kerja") or a number ("jam 4", "10.00"), but not one digit alone."""
        words = self.normalise(fold(text))
        if len(words) == 1 and words[0].isdecimal() and len(words[0]) == 1:
            return False  # "1", "4": a choice's number typed by habit, no hour
        return any(w in self.times or self._an_hour(words, i) for i, w in enumerate(words))

    def _an_hour(self, words: Phrase, i: int) -> bool:
        """Whether the number at `words[i]` tells an hour: "2pm", "10.00", "08-11", after
        "jam" or "pukul", beside "pagi"; not a count in a story (walk S: "sa pu anak 2 juga
        su takut sama sa" was kept as the safe time)."""
        w = words[i]
        if not any(c.isdigit() for c in w):
            return False
        if not w.isdecimal() or len(words) == 1:
            return True  # "2pm", "8pagi", "0800"
        near = words[max(i - 1, 0):i] + words[i + 1:i + 2]
        return any(n.isdecimal() or n in self.times or n in self.clock for n in near)

    def only_times(self, text: str) -> bool:
        """Whether a message is time words only, with whom it is said to ("sore", "pagi
        kaka"): no "selamat", no other word."""
        words = self.normalise(fold(_said(text)))
        words = self._unaddressed(words) or words
        return bool(words) and all(w in self.times for w in words)

    def after_hours(self, text: str, opens: int, closes: int) -> bool:
        """Whether a time answer names a time outside the service's hours (`opens` to
        `closes`, in hours): an `after_hours` word ("malam", "sabtu", "sore") or an hour
        after a `clock` word ("jam 20", "jam 7": either 7 am or pm is outside 08-15), or
        with am or pm ("7pm": 19.00; "2pm" is in the hours)."""
        text = _AM_PM.sub(_clock24, text)
        parts = [self.normalise(fold(p)) for s in SENTENCES.split(text)
                 for p in _CLAUSE.split(s) if p.strip()]
        if any(w in self.after_hours_words and not self._ruled_out(part, i)
               for part in parts for i, w in enumerate(part)):
            return True
        hours = [self._hour(part, i) for part in parts for i in range(1, len(part))
                 if part[i - 1] in self.clock and part[i].isdecimal() and len(part[i]) <= 2
                 and not self._ruled_out(part, i - 1)]
        return any(not opens <= h < closes for h in hours)

    def _ruled_out(self, words: Phrase, i: int) -> bool:
        """Whether the time at `words[i]` is one the family rules out ("kapan sj asal jgn
        malam", "tra bisa hari minggu", "kecuali sabtu minggu", "not at night": a re-check of
        walk N, told the time named was outside the hours). Read back over words that lead
        to a time, and other times, to a "no" word in the same clause."""
        j = i - 1
        while j >= 0 and (words[j] in _BEFORE_TIME or words[j] in self.after_hours_words or
                          words[j] in self.times or words[j].isdecimal()):
            j -= 1
        return j >= 0 and words[j] in self._not_words

    @cached_property
    def _not_words(self) -> frozenset[str]:
        return frozenset({p[0] for p, v in self.shared.items() if v == "no" and len(p) == 1}
                         | _EXCEPT)

    @staticmethod
    def _hour(words: Phrase, i: int) -> int:
        """The hour `words[i]` names: 1 to 6 o'clock is in the afternoon unless said as in
        the morning right beside it ("jam 5 pagi", "pagi jam 5"): "siang jam 12 sampe jam 2"
        (a walk-through's pastor was told his 12-14 was outside the hours)."""
        hour = int(words[i])
        beside = {*words[i + 1:i + 2], *words[max(0, i - 2):i - 1]}
        return hour + 12 if 1 <= hour <= PM_UPTO and not beside & EARLY_WORDS else hour

    def shared_value(self, text: str) -> str | None:
        """The shared value ("yes", "no", "unknown") a message says and nothing else, as a
        reply to an offer ("iya kak" -> "yes"), or None."""
        named, uncovered = self._shared_named(text)
        return next(iter(named)) if len(named) == 1 and not uncovered else None

    def acknowledges(self, text: str) -> bool:
        """A message of yes-words, fillers and forms of address only ("ok", "ok kaka", "iya
        baik"): nothing in it to act on."""
        named, uncovered = self._shared_named(text)
        return not uncovered and named <= {"yes"}

    def _shared_named(self, text: str) -> tuple[set[str], bool]:
        """The shared values a message names (without whom it is said to), and whether a
        word is neither one of theirs nor a filler (an empty or overlong message: True)."""
        cleaned = _said(text)
        if not cleaned or len(cleaned) > MAX_CHARS:
            return set(), True
        words = self.normalise(fold(cleaned))
        words = self._unaddressed(words) or words
        longest = max(map(len, self.shared), default=0)
        return _named(words, self.shared, longest, self.fillers)

    @staticmethod
    def says_but(text: str) -> bool:
        """Whether a message says "but" ("aman, tapi ..."): what follows qualifies the
        answer before it."""
        return _BUT.search(text) is not None

    def declined(self, text: str) -> bool:
        """A whole message that gives no text where one is optional: a plain no ("tra",
        "tidak ada") or a `declines` phrase ("tidak usah", "kapan saja")."""
        if self.shared_value(text) == "no":
            return True
        words = self.normalise(fold(clean(text)))
        return (self._unaddressed(words) or words) in self.declines

    def _first_clause(self, t: _Table, cleaned: str) -> ChoiceSpec | None:
        """An answer, a comma (or "tapi"), then more words that name no other choice here:
        "iya, malam ini" is yes, "tra, dia su tidur" is no, "tra skarang tapi nanti malam de
        pulang" is not now but afraid; the other way round too: "skarang de su tidur, sa
        aman", "Sudah saya bilang, 16 tahun". "iya, tapi sa takut" at the danger question
        names two choices and is no answer."""
        first, *rest = _CLAUSE.split(cleaned, maxsplit=1)
        if not rest or not rest[0]:
            return None
        for n, (answer, other) in enumerate(((first, rest[0]), (rest[0], first))):
            words = self.normalise(fold(answer))
            chosen = self._words(t, self._bare(t, words) or words)
            if chosen is not None:
                # a yes or no word inside the words beside the answer is no second answer
                # ("aman kk, anak2 ada deng sa di rumah. cuma sa tra pu uang", walk O: a P0
                # left open, asked again for a number)
                named, _ = _named(self.normalise(fold(other)), t.phrases, t.longest,
                                  t.fillers, () if self.says_but(cleaned) else self.shared)
                # a "no" where no is no choice ("bukan, uang yang habis" at the category
                # question: not what was thought, then the answer) names nothing here
                named = {v for v in named if v in t.by_value or v == UNCLEAR}
                turned = t.but_turns.get(chosen.value)
                if turned is not None and named == {turned} and n == 0 and \
                        self.says_but(cleaned):  # "aman tapi ... takut": afraid
                    return t.by_value.get(turned)
                return chosen if named <= {chosen.value} else None
        return None

    def _numbered(self, t: _Table, digits: str, rest: str) -> ChoiceSpec | None:
        """A message that starts with a number: the option, an age, or no answer."""
        if len(digits) > MAX_OPTION_DIGITS:  # checked before int(): never a huge int
            return None
        n = int(digits)
        words = self.normalise(fold(rest))
        if not words:
            if 1 <= n <= len(t.choices):
                return t.choices[n - 1]
            return self._age(t, n, words) if t.ages and n > len(t.choices) else None
        if t.ages and any(w in t.years or w in t.months for w in words):
            return self._age(t, n, words)  # "15 thn", "2 tahun": years, not option 2
        if not 1 <= n <= len(t.choices):
            return None
        chosen = t.choices[n - 1]
        said = fold(rest)
        if said and t.labels[n - 1].startswith(said):  # "2. Tidak sekarang" from the list
            return chosen
        return chosen if self._words(t, words) is chosen else None  # "3 tra"; not "3 tra, tapi"

    def _words(self, t: _Table, words: Phrase) -> ChoiceSpec | None:
        if not words:
            return None
        value = t.phrases.get(words)
        if value is not None:  # the whole message, the common case
            return t.by_value.get(value)
        if len(words) > MAX_WORDS:
            return None
        found = _scan(words, t.phrases, t.longest, t.fillers)
        if isinstance(found, str):
            return t.by_value.get(found)
        if found is _CONFLICT:
            return None
        if t.ages:
            aged = self._age_in(t, words)
            if aged is not None:
                return aged
        if t.stems is not None and (stemmed := self._stemmed(t, words)):
            again = _scan(stemmed, t.stems, t.stem_longest, t.fillers)
            if isinstance(again, str):
                return t.by_value.get(again)
            if again is _CONFLICT:
                return None
        if t.fuzzy_names and found is _UNCOVERED:
            return self._fuzzy(t, words)
        return None

    def _stemmed(self, t: _Table, words: Phrase) -> Phrase:
        """The words with Indonesian affixes taken off (fillers kept), or () without a
        stemmer."""
        stem = self._stem
        return () if stem is None else tuple(w if w in t.fillers else stem(w) for w in words)

    def _age_in(self, t: _Table, words: Phrase) -> ChoiceSpec | None:
        """ "sa 32 tahun", "umur 15", "anak sa 7 tahun": one number, the rest fillers or units,
        or, for a grown-up's age, words of the same choice ("nenek su 67": adult; not
        "nenek 15"; not a child's age: "anak sa 12" at "how old are you?" is the child's)."""
        # "40an" (in his forties, a walk-through: asked again): the decade's number
        words = tuple(w[:-2] if w.endswith("an") and w[:-2].isdecimal() else w for w in words)
        numbers = [w for w in words if w.isdecimal()]
        if len(numbers) != 1 or len(numbers[0]) > MAX_OPTION_DIGITS:
            return None
        said = tuple(w for w in words if not w.isdecimal() and w not in t.fillers)
        n = int(numbers[0])
        if not any(w in t.years or w in t.months for w in words) and n <= len(t.choices):
            return None  # "saya 2": neither clearly an age nor an option
        aged = self._age(t, n, tuple(w for w in words if w not in said))
        if not said or aged is None:
            return aged
        if n < ADULT_YEARS:
            return None
        return aged if _scan(said, t.phrases, t.longest, t.fillers) == aged.value else None

    def _age(self, t: _Table, n: int, words: Phrase) -> ChoiceSpec | None:
        if not all(w.isdecimal() or w in t.fillers for w in words):
            return None
        if n > MAX_YEARS:
            return None
        years = n // 12 if any(w in t.months for w in words) else n
        for low, high, value in t.ages:
            if low <= years <= high:
                return t.by_value.get(value)
        return None

    def _fuzzy(self, t: _Table, words: Phrase) -> ChoiceSpec | None:
        """A typo of a name ("kuala kencan"), only when one choice is clearly the closest."""
        query = " ".join(w for w in words if w not in t.fillers)
        if len(query) < FUZZY_MIN_CHARS or any(c.isdigit() for c in query):
            return None
        best: dict[str, float] = {}
        for _, score, i in process.extract(query, t.fuzzy_names, scorer=fuzz.ratio, limit=None,
                                           score_cutoff=FUZZY_CUTOFF - FUZZY_MARGIN):
            value = t.fuzzy_values[i]
            best[value] = max(score, best.get(value, 0.0))
        ranked = sorted(best.values(), reverse=True)
        if not ranked or ranked[0] < FUZZY_CUTOFF:
            return None
        if len(ranked) > 1 and ranked[0] - ranked[1] < FUZZY_MARGIN:
            return None  # about equally close to two choices: ask again
        top = max(best, key=lambda v: best[v])
        return t.by_value.get(top)

    # -- tables -----------------------------------------------------------------------------

    def _normalise(self, folded: str) -> Phrase:
        """Folded text as words, repeated letters squeezed and short spellings written out."""
        out: list[str] = []
        for word in folded.split():
            word = _REPEATS.sub(r"\1", word)
            if len(word) > 2 and word.endswith("2") and word[:-1].isalpha():
                word = word[:-1]  # "kadang2", "anak2": the word said twice
                out.extend(self.spellings.get(word, (word,)))
            out.extend(self.spellings.get(word, (word,)))
        return tuple(out)

    def question(self, state: StateSpec) -> Question | None:
        """The words of `state`: by its `save` key, else by its name."""
        found = self.questions.get(state.save) if state.save else None
        return found or self.questions.get(state.name)

    def _table(self, state: StateSpec, choices: tuple[ChoiceSpec, ...],
               folded_labels: list[str], language: str) -> _Table:
        key = (state.name, language)
        t = self._tables.get(key)
        if t is not None and t.choices is choices and (
                t.labels is folded_labels or t.labels == folded_labels):
            return t
        t = self._build(state, choices, folded_labels)
        self._tables[key] = t
        return t

    def _build(self, state: StateSpec, choices: tuple[ChoiceSpec, ...],
               folded_labels: list[str]) -> _Table:
        q = self.question(state)
        values = {c.value for c in choices}
        phrases: dict[Phrase, str] = {}
        exact: dict[str, ChoiceSpec] = {}
        for c, label in zip(choices, folded_labels, strict=True):
            exact.setdefault(fold(c.value.replace("_", " ")), c)
            exact.setdefault(label, c)
            phrases.setdefault(self.normalise(label), c.value)  # a label's words, last
        phrases.update(self.shared)
        phrases.update(q.words if q else {})
        fillers = self.fillers | (q.fillers if q else frozenset())
        ages = q.ages if q else ()
        if ages:
            fillers = fillers | self.years | self.months
        stems = self._stems.get(q.key) if q else None
        names: list[str] = []
        name_values: list[str] = []
        if q and q.fuzzy:
            for c, label in zip(choices, folded_labels, strict=True):
                for name in {" ".join(self.normalise(label)), c.value.replace("_", " ")}:
                    names.append(name)
                    name_values.append(c.value)
            for phrase, value in q.words.items():
                name = " ".join(phrase)
                if value in values and len(name) >= FUZZY_MIN_CHARS:
                    names.append(name)
                    name_values.append(value)
        return _Table(
            choices=choices, by_value={c.value: c for c in choices}, exact=exact,
            labels=folded_labels,
            phrases=phrases, longest=max(map(len, phrases), default=1), fillers=fillers,
            years=self.years, months=self.months, ages=ages, stems=stems,
            stem_longest=max(map(len, stems), default=1) if stems else 1,
            fuzzy_names=names, fuzzy_values=name_values, offer=bool(q and q.offer),
            gives_way=q.gives_way if q else (),
            strong={p: v for p, v in phrases.items() if p not in q.weak} if q and q.weak
            else None,
            but_turns=dict(q.but_turns) if q else {}, minor=q.minor if q else None,
            subject=q.subject if q else frozenset(),
            whole={p: v for p, v in q.whole.items() if v in values} if q else {})

    # -- checking against a flow ------------------------------------------------------------

    def check(self, flow: Flow) -> None:
        """Every question names a state (by `save` or name) and only values it offers.

        The loader calls this after the flow is parsed; a wrong key or value is a FlowError
        naming this file and the place.
        """
        offered: dict[str, set[str]] = {}
        for s in flow.states.values():
            values = {c.value for c in flow.choices_of(s)}
            for key in (s.name, s.save):
                if key:
                    offered.setdefault(key, set()).update(values)
        everywhere = set().union(*offered.values()) if offered else set()
        for value in sorted(set(self.shared.values()) - {UNCLEAR}):  # unclear: everywhere
            if value not in everywhere:
                raise FlowError(f"{self.source}: shared.{value}: no question offers "
                                f"the value '{value}'")
        for key, q in self.questions.items():
            if key not in offered:
                raise FlowError(f"{self.source}: questions.{key}: no state saves "
                                f"or is named '{key}'")
            if not offered[key]:
                raise FlowError(f"{self.source}: questions.{key}: that state has no choices")
            named = {v for v in q.words.values() if v != UNCLEAR} | {v for _, _, v in q.ages}
            for value in sorted(named - offered[key]):
                raise FlowError(f"{self.source}: questions.{key}.words.{value}: "
                                f"'{value}' is not a choice of '{key}' "
                                f"(choices: {', '.join(sorted(offered[key]))})")


# Indonesian numbers in words, for ages ("lima belas" = 15, "dua puluh lima" = 25): the
# language's own numerals, not words to tune (a walk-through: "lima belas" was asked again)
_UNITS = {"satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
          "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11, "seratus": 100}
_TEENS, _TENS = {"belas"}, {"puluh", "pulu"}


def _in_digits(words: Phrase) -> Phrase:
    """`words` with each run of number words as its number in digits, or as they are."""
    out: list[str] = []
    value: int | None = None
    for w in (*words, ""):
        if w in _UNITS:
            value = (value or 0) + _UNITS[w] if value is None or value % 10 == 0 else None
            if value is None:
                return words  # "dua tiga": no number
        elif w in _TEENS and value is not None and value < 10:
            value += 10
        elif w in _TENS and value is not None and value < 10:
            value *= 10
        else:
            if value is not None:
                out.append(str(value))
                value = None
            if w:
                out.append(w)
    return tuple(out)


def _scan(words: Phrase, phrases: Mapping[Phrase, str], longest: int,
          fillers: frozenset[str]) -> str | object | None:
    """The one value a short message names, _CONFLICT, _UNCOVERED, or None (fillers only).

    Left to right, the longest listed phrase at each word. A single listed word that is also
    a filler ("saya", "ada") does not decide anything inside a sentence.
    """
    hits, uncovered = _named(words, phrases, longest, fillers)
    if len(hits) > 1:
        return _CONFLICT
    if uncovered:
        return _UNCOVERED
    return hits.pop() if hits else None


# a thumbs-up is an "ok" (a walk-through's 👍 at the greeting was "Maaf, saya belum
# mengerti"); not "iya": at the danger question that is "yes, danger now" (a re-check's
# grandmother got the emergency text and a P0 case for it)
OK_SIGNS = "👍👌"
_AS_OK = str.maketrans({sign: " ok " for sign in OK_SIGNS})
# ...and folded hands alone are "mohon" (please; thanks): an answer only where a question
# lists it (the greeting: go on; walk U-16), never "yes"; beside words, nothing ("setuju
# kak 🙏" is "setuju kak")
PLEASE_SIGN = "🙏"
_AS_PLEASE = str.maketrans({PLEASE_SIGN: " mohon "})
_NO_PLEASE = str.maketrans({PLEASE_SIGN: " "})
_SKIN_TONES = "🏻🏼🏽🏾🏿"
_SIGN_ONLY = OK_SIGNS + _SKIN_TONES + " "  # with any skin tone


def _said(text: str) -> str:
    """The message as answers read it: cleaned, a thumbs-up as "ok", folded hands alone as
    "mohon"."""
    alone = not text.strip(PLEASE_SIGN + _SKIN_TONES + " ")
    return clean(text.translate(_AS_OK).translate(_AS_PLEASE if alone else _NO_PLEASE))


# tears and sorrow, and nothing else (walk N: "😭😭" had "Maaf, saya belum mengerti")
_TEARS = "😭😢😥😿🥺😔😞💔😪😓🙏 " + "🏻🏼🏽🏾🏿"


def only_tears(text: str) -> bool:
    """Whether a message is only crying or sad faces: heard, not "not understood"."""
    return bool(text.strip()) and not text.strip(_TEARS) and bool(text.strip(" 🙏"))


def only_signs(text: str) -> bool:
    """Whether a message is a thumbs-up and nothing else (the engine never lets one answer
    a question that raises the priority)."""
    return bool(text.strip()) and not text.strip(_SIGN_ONLY)


def _named(words: Phrase, phrases: Mapping[Phrase, str], longest: int,
           fillers: frozenset[str], leading: Container[Phrase] = ()) -> tuple[set[str], bool]:
    """The values the words name, and whether a word is neither listed nor a filler.
    `leading`: one-word phrases that name their value only as the first or last word ("tra,
    ..." is no, "minggu ini tidak" too; "sa tra pu uang" after an answer says no "no")."""
    hits: set[str] = set()
    i, n = 0, len(words)
    uncovered = False
    while i < n:
        for size in range(min(longest, n - i), 0, -1):
            value = phrases.get(words[i:i + size])
            if value is not None and i and size == 1 and i + 1 < n and \
                    words[i:i + 1] in leading:
                i += 1  # known, and naming nothing here
                break
            if value is not None and not (size == 1 and words[i] in fillers):
                hits.add(value)
                i += size
                break
        else:
            if words[i] not in fillers:
                uncovered = True
            i += 1
    return hits, uncovered


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    """A word without its affixes, keeping the voice: "dipukuli" -> "pukul<di", "memukul" ->
    "pukul<me", "perceraian" -> "cerai". So "dipukul suami" (the victim's words) never turns
    into "pukul suami" (someone who hits), nor "disakiti" into "sakit" (illness)."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    sastrawi = StemmerFactory().create_stemmer()

    @lru_cache(maxsize=16384)
    def stem(word: str) -> str:
        root = str(sastrawi.stem(word))
        if root == word or word.startswith(root):
            return root
        if word.startswith(("di", "ter")):  # passive: done to someone
            return root + "<di"
        if word.startswith("me"):  # active: someone does it
            return root + "<me"
        return root

    return stem


def _stem_table(words: Mapping[Phrase, str], stem: Callable[[str], str]) -> dict[Phrase, str]:
    """Words with their affixes taken off; a stem two values share is unclear."""
    stems: dict[Phrase, str] = {}
    for phrase, value in words.items():
        key = tuple(stem(w) for w in phrase)
        stems[key] = value if stems.get(key, value) == value else UNCLEAR
    return stems


# -- loading ----------------------------------------------------------------------------------

def load_answers(path: Path) -> Answers:
    """Read and check `path`; a wrong shape is a FlowError naming the file and the key."""
    return _Loader(str(path)).load(read_yaml(path))


class _Loader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.spellings: dict[str, Phrase] = {}

    def fail(self, where: str, problem: str) -> FlowError:
        return FlowError(f"{self.source}: {where}: {problem}")

    def load(self, raw: Any) -> Answers:
        if not isinstance(raw, Mapping):
            raise self.fail("top level", "must be a mapping of spellings, fillers, units, "
                            "shared and questions")
        for key in raw:
            if key not in _TOP_KEYS:
                known = ", ".join(sorted(_TOP_KEYS))
                raise self.fail(str(key), f"unknown section (known: {known})")
        self.spellings = self.read_spellings(raw.get("spellings") or {})
        fillers = self.words(raw.get("fillers") or [], "fillers", single=True)
        address = self.words(raw.get("address") or [], "address", single=True)
        affirm = self.words(raw.get("affirm") or [], "affirm", single=True)
        pointers = self.words(raw.get("pointers") or [], "pointers", single=True)
        ordinals = self.read_ordinals(raw.get("ordinals") or {})
        declines = self.words(raw.get("declines") or [], "declines")
        units = self.mapping(raw.get("units") or {}, "units")
        for key in units:
            if key not in UNITS:
                raise self.fail(f"units.{key}", f"must be one of {', '.join(UNITS)}")
        years = self.words(units.get("years") or [], "units.years", single=True)
        months = self.words(units.get("months") or [], "units.months", single=True)
        times = self.words(units.get("times") or [], "units.times", single=True)
        after_hours = self.words(units.get("after_hours") or [], "units.after_hours",
                                 single=True)
        clock = self.words(units.get("clock") or [], "units.clock", single=True)
        shared = self.read_shared(raw.get("shared") or {})
        by_value: dict[str, dict[Phrase, str]] = {}
        for phrase, value in shared.items():
            by_value.setdefault(value, {})[phrase] = value
        questions: dict[str, Question] = {}
        for key, body in self.mapping(raw.get("questions") or {}, "questions").items():
            questions[key] = self.read_question(key, body, by_value)
        return Answers(self.source, self.spellings, {w[0] for w in fillers},
                       {w[0] for w in years}, {w[0] for w in months}, shared, questions,
                       {w[0] for w in address}, {w[0] for w in affirm}, declines,
                       {w[0] for w in pointers}, ordinals, {w[0] for w in times},
                       {w[0] for w in after_hours}, {w[0] for w in clock})

    def read_ordinals(self, raw: Any) -> dict[str, int]:
        ordinals = {}
        for word, n in self.mapping(raw, "ordinals").items():
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 99:
                raise self.fail(f"ordinals.{word}", "must be a choice number, 1 to 99")
            (folded,) = self.words([word], "ordinals", single=True)
            ordinals[folded[0]] = n
        return ordinals

    def mapping(self, raw: Any, where: str) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.fail(where, "must be a mapping")
        for key in raw:
            if not isinstance(key, str):
                raise self.fail(f"{where}.{key}", "keys must be text (quote yes/no: \"no\")")
        return dict(raw)

    def normalise(self, word: str) -> Phrase:
        out: list[str] = []
        for w in fold(word).split():
            w = _REPEATS.sub(r"\1", w)
            out.extend(self.spellings.get(w, (w,)))
        return tuple(out)

    def words(self, raw: Any, where: str, single: bool = False) -> list[Phrase]:
        if not isinstance(raw, list):
            raise self.fail(where, "must be a list of words")
        out = []
        for i, w in enumerate(raw):
            if not isinstance(w, str):
                raise self.fail(f"{where}[{i}]", f"{w!r} is not a word (quote yes/no: \"no\")")
            phrase = self.normalise(w)
            if not phrase:
                raise self.fail(f"{where}[{i}]", f"'{w}' has no letters or digits")
            if single and len(phrase) != 1:
                raise self.fail(f"{where}[{i}]", f"'{w}' must be one word")
            out.append(phrase)
        return out

    def read_spellings(self, raw: Any) -> dict[str, Phrase]:
        out: dict[str, Phrase] = {}
        for short, full in self.mapping(raw, "spellings").items():
            where = f"spellings.{short}"
            key = fold(short).split()
            if len(key) != 1 or not isinstance(full, str) or not fold(full):
                raise self.fail(where, "must map one word to its full form (text)")
            squeezed = _REPEATS.sub(r"\1", key[0])
            if squeezed in out:
                raise self.fail(where, f"'{short}' is already spelled out above")
            out[squeezed] = tuple(_REPEATS.sub(r"\1", w) for w in fold(full).split())
        for short, full_words in out.items():
            chained = [w for w in full_words if w in out]
            if chained:  # spellings are applied once: "a: b" and "b: c" would differ by order
                raise self.fail(f"spellings.{short}",
                                f"'{chained[0]}' is itself a short spelling; write its full form")
        return out

    def spec(self, raw: Any, where: str) -> tuple[list[Phrase], str | None]:
        """A value's words: a list, or per-language lists with an optional `like`."""
        if isinstance(raw, list):
            return self.words(raw, where), None
        body = self.mapping(raw, where)
        like = body.get("like")
        if like is not None and not isinstance(like, str):
            raise self.fail(f"{where}.like", "must name a shared value (quote yes/no)")
        out: list[Phrase] = []
        for lang, words in body.items():
            if lang == "like":
                continue
            if lang not in LANGUAGES:
                raise self.fail(f"{where}.{lang}",
                                f"unknown language (known: {', '.join(LANGUAGES)})")
            out += self.words(words, f"{where}.{lang}")
        return out, like

    def read_shared(self, raw: Any) -> dict[Phrase, str]:
        out: dict[Phrase, str] = {}
        for value, body in self.mapping(raw, "shared").items():
            words, like = self.spec(body, f"shared.{value}")
            if like is not None:
                raise self.fail(f"shared.{value}.like", "only questions may borrow words")
            self.add(out, words, value, f"shared.{value}")
        return out

    def add(self, into: dict[Phrase, str], words: list[Phrase], value: str, where: str) -> None:
        for phrase in words:
            other = into.get(phrase)
            if other is not None and other != value:
                raise self.fail(where, f"'{' '.join(phrase)}' is also a word of '{other}'")
            into[phrase] = value

    def read_question(self, key: str, raw: Any,
                      shared: dict[str, dict[Phrase, str]]) -> Question:
        body = self.mapping(raw, f"questions.{key}")
        for part in body:
            if part not in _QUESTION_KEYS:
                raise self.fail(f"questions.{key}.{part}",
                                f"unknown key (known: {', '.join(sorted(_QUESTION_KEYS))})")
        own: dict[Phrase, str] = {}
        borrowed: dict[Phrase, str] = {}
        likes: dict[str, str] = {}
        for value, spec in self.mapping(body.get("words") or {}, f"questions.{key}.words").items():
            where = f"questions.{key}.words.{value}"
            words, like = self.spec(spec, where)
            self.add(own, words, value, where)
            if like is not None:
                if like not in shared:
                    raise self.fail(f"{where}.like", f"'{like}' is not a shared value")
                if like in likes:
                    raise self.fail(f"{where}.like", f"'{likes[like]}' already borrows '{like}'")
                likes[like] = value
                borrowed.update({p: value for p in shared[like]})
        for phrase in set(self.words(body.get("not_like") or [], f"questions.{key}.not_like")):
            if borrowed.pop(phrase, None) is None:  # a shared word this question does not take
                raise self.fail(f"questions.{key}.not_like",
                                f"'{' '.join(phrase)}' is no word it borrows")
        fillers = self.words(body.get("fillers") or [], f"questions.{key}.fillers", single=True)
        ages = self.read_ages(body.get("ages") or {}, f"questions.{key}.ages")
        flags = {}
        for flag in ("fuzzy", "stem", "offer", "from_story"):
            if not isinstance(body.get(flag, False), bool):
                raise self.fail(f"questions.{key}.{flag}", "must be true or false")
            flags[flag] = bool(body.get(flag, False))
        gives_way = body.get("gives_way") or []
        if not isinstance(gives_way, list) or not all(v in own.values() for v in gives_way):
            raise self.fail(f"questions.{key}.gives_way", "must list values of its words")
        weak = self.words(body.get("weak") or [], f"questions.{key}.weak")
        if stray := [" ".join(p) for p in weak if p not in own]:
            raise self.fail(f"questions.{key}.weak", f"not words of its own: {', '.join(stray)}")
        turns = self.mapping(body.get("but_turns") or {}, f"questions.{key}.but_turns")
        if not all(str(a) in own.values() and str(b) in own.values() for a, b in turns.items()):
            raise self.fail(f"questions.{key}.but_turns", "must map values of its words")
        minor = self.mapping(body.get("minor") or {}, f"questions.{key}.minor")
        if minor and (not set(minor) <= {"value", "unless"} or not all(
                str(v) in own.values() for v in [minor.get("value"), *minor.get("unless", [])])):
            raise self.fail(f"questions.{key}.minor",
                            "needs `value` (and may have `unless`): values of its words")
        places = self.words(body.get("places") or [], f"questions.{key}.places", single=True)
        subject = self.words(body.get("subject") or [], f"questions.{key}.subject", single=True)
        mine = self.mapping(body.get("own_age") or {}, f"questions.{key}.own_age")
        if mine and (set(mine) != {"self", "also"} or not ages):
            raise self.fail(f"questions.{key}.own_age", "needs `self` and `also` (and `ages`)")
        own_self, own_also = (frozenset(w[0] for w in self.words(
            mine.get(part) or [], f"questions.{key}.own_age.{part}", single=True))
            for part in ("self", "also"))
        whole: dict[Phrase, str] = {}
        for value, spec in self.mapping(body.get("whole") or {},
                                        f"questions.{key}.whole").items():
            if value not in own.values():
                raise self.fail(f"questions.{key}.whole.{value}", "not a value of its words")
            self.add(whole, self.spec(spec, f"questions.{key}.whole.{value}")[0], value,
                     f"questions.{key}.whole.{value}")
        return Question(key, {**borrowed, **own}, own, frozenset(w[0] for w in fillers), ages,
                        flags["fuzzy"], flags["stem"], flags["offer"], tuple(gives_way),
                        frozenset(weak), flags["from_story"],
                        tuple((str(a), str(b)) for a, b in turns.items()),
                        (str(minor["value"]), frozenset(map(str, minor.get("unless", []))))
                        if minor else None, frozenset(w[0] for w in places),
                        frozenset(w[0] for w in subject), own_self, own_also, whole)

    def read_ages(self, raw: Any, where: str) -> tuple[tuple[int, int, str], ...]:
        out: list[tuple[int, int, str]] = []
        for value, span in self.mapping(raw, where).items():
            ok = (isinstance(span, list) and len(span) == 2
                  and all(isinstance(x, int) and not isinstance(x, bool) for x in span)
                  and 0 <= span[0] <= span[1] <= MAX_YEARS)
            if not ok:
                raise self.fail(f"{where}.{value}", f"must be [from, to] in years, 0..{MAX_YEARS}")
            out.append((span[0], span[1], value))
        out.sort()
        for (_, high, a), (low, _, b) in pairwise(out):
            if low <= high:
                raise self.fail(f"{where}.{b}", f"overlaps '{a}'")
        return tuple(out)
