"""Crisis words in free text: which danger groups a message names and which are imminent (P0).

The lists, spellings, exceptions and imminence rules are data in `flows/crisis.yaml`; the
matching (stems, typos, split words, gaps between words) is in `flows/lexicon.py`. A negation
just before a phrase (`tra ada yang pukul sa`, `tidak pernah dipukul`) or between its words
cancels it, unless the phrase says the negation itself (`tra mau hidup lagi`).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.crisis_model import CrisisModel
from flows.definition import FlowError, read_yaml
from flows.lexicon import END, START, Pattern, Vocabulary, find
from flows.text import has_letters

GROUPS = ("selfharm", "violence", "sexual", "child", "injury", "help_now", "harms_others")
ALWAYS = "always"
SETTINGS = ("spellings", "joins", "sets", "gap", "gap_stops", "negations", "negation_stops",
            "ignore", "skip", "minor", "if_minor", "not_when", "child_named", "young_writer",
            "young_not", "self_victim", "other_victim", "healed", "fresh", "past", "then",
            "today", "markers", "imminent", "model", "images", "if_minor_anywhere",
            "other_at_risk", "accident", "selfharm_again", "recent", "recent_not", "assault",
            "long_ago", "childhood", "safe_now", "story", "story_not", "story_end")
# matched word after word, before the groups
_FIXED = ("ignore", "skip", "negation", "minor", "not_when", "child_named", "young_writer",
          "young_not", "self_victim", "other_victim", "healed", "fresh", "past", "then", "today",
          "other_at_risk", "accident", "selfharm_again", "recent", "recent_not", "assault",
          "long_ago", "childhood", "safe_now", "story", "story_not", "story_end")
# marker kinds a sentence of back then (`then`) does not count: "de pernah ancam pake pisau"
# is a threat that was (P1), "de pegang parang skarang" one now (P0)
BACK_THEN = ("present", "now", "weapon", "threat", "method")
HEALS = "injury"  # the kind a `healed` message takes P0 from (crisis.yaml `healed`)
HEALED_AFTER = 4  # words at most of a sentence that says an injury before it has healed
# ...and of a sentence of long ago right before an assault ("waktu sa kecil, om perkosa sa")
RECENT = "sexual"  # the group a time within 3x24 hours makes imminent (crisis.yaml `recent`)
# the groups a message may tell of as long over, the writer safe now (crisis.yaml `safe_now`):
# never self-harm, sexual violence or a call for help; a child's harm only the writer's own
# childhood (`childhood`)
OVER = ("violence", "injury", "harms_others", "child")
# ...and the kind a sentence of news, a film or a dream (crisis.yaml `story`) still counts:
# "kemarin sa baca berita ada anak diperkosa di timika" keeps the sexual numbers
STORY_KEEPS = ("sexual",)
YOUNG_GAP = 2  # words that may come between those of a `young_writer` phrase ("sa nona umur")
OTHER_GAP = 2  # ... of an `other_victim` phrase ("sa pu anak nona dipukul")
# A list item whose `#` YAML reads as a comment: `- ditinggal # hari` is "ditinggal" (a comment
# after an item needs two spaces before it).
_CUT = re.compile(r"^\s*-\s+[^\s\"'#][^#]*\S #")


@dataclass(frozen=True)
class Reader:
    """The second reading (flows/crisis_model.py) and when it is asked: a message of at least
    `min_words` words the lists find no danger in is danger from `threshold` on."""

    model: CrisisModel
    threshold: float
    min_words: int


@dataclass(frozen=True)
class Scan:
    """What one message says about danger: the groups hit (in GROUPS order), the groups whose
    hit is imminent (P0: self-harm with a method or a time, a weapon, a threat to kill, an
    injury...), and the lexicon entries that matched (for the audit trail)."""

    groups: tuple[str, ...] = ()
    imminent: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()
    model: float | None = None  # the group is the model's reading, this likely (never P0)
    child: bool = False  # a sentence with danger words names a child ("sa pu anak 12 tahun")
    young: bool = False  # the message gives the writer's own age under 18 ("sa umur 15")
    # ...whether or not it tells of danger ("kaka sa umur 16. sa pu bapa su terima mas
    # kawin", walk O: "Anda" until the age question); `young` is only beside danger words
    writer_young: bool = False
    other: bool = False  # someone else is hurt, not the writer ("tetangga pukul istrinya")
    healed: bool = False  # an injury told of has healed ("bekas luka", "luka su sembuh")
    images: bool = False  # its sexual words are all of images ("ancam sebar video")
    # its words of wanting to die are all someone else's ("sa pu maitua yg mo bunuh diri")
    other_at_risk: bool = False
    accident: bool = False  # an injury by accident and no other danger ("jatuh dari pohon")
    marks: tuple[str, ...] = ()  # the `markers` kinds seen (a threat, a weapon, a time...)
    # sexual violence told as recent, within about 3x24 hours ("om paksa sa tidur deng dia
    # tadi"): the sexual words are imminent by it (crisis.yaml `recent`)
    recent: bool = False

    def __bool__(self) -> bool:
        return bool(self.groups)


class CrisisWords:
    """The compiled lists; `scan` is called on every free-text message, so all work that does
    not depend on the message is done here, once."""

    def __init__(self, vocab: Vocabulary, patterns: Iterable[Pattern],
                 rules: Mapping[str, frozenset[str]], gap: int, stops: frozenset[int],
                 gap_stops: Mapping[str, frozenset[int]] | None = None,
                 if_minor: Container[int] = (), reader: Reader | None = None,
                 not_when: Mapping[int, str] | None = None,
                 images: Container[int] = (), anywhere: Container[int] = ()) -> None:
        self.vocab, self.rules, self.gap, self.stops = vocab, dict(rules), gap, stops
        self._marks = frozenset({k for kinds in self.rules.values() for k in kinds} -
                                {ALWAYS, *GROUPS})  # the `markers` kinds the rules name
        self._selfharm_marks = self.rules.get("selfharm", frozenset()) - {ALWAYS}  # in a story too
        self.reader = reader
        self.if_minor = if_minor  # pattern numbers that count only beside a child's age
        self.images = images  # pattern numbers of sexual violence by images (`images`)
        self.anywhere = anywhere  # `if_minor` numbers for which an age anywhere counts
        # `not_when` pattern number -> the group (or marker kind) it stops
        self.not_when = dict(not_when or {})
        self.gap_stops = dict(gap_stops or {})  # group or marker kind -> words its gaps
        # may not pass over (crisis.yaml `gap_stops`)
        self.patterns = list(patterns)
        self._index: dict[str, dict[int, list[int]]] = {k: {} for k in (*_FIXED, "")}
        for n, p in enumerate(self.patterns):
            table = self._index.get(p.kind, self._index[""])
            for wid in p.words[0]:
                table.setdefault(wid, []).append(n)
        vocab.freeze()
        self._cached = lru_cache(maxsize=4096)(self._scan)  # "iya", "1", "tidak" again and again

    def _occurrences(self, table: str, hits: list[frozenset[int]], gap: int,
                     done: Container[int] = ()) -> Iterator[tuple[int, tuple[int, ...]]]:
        """Where the patterns of `table` occur in a segment (patterns in `done`: no more). Only
        patterns with every word in the segment are looked for, from where their first is."""
        where: dict[int, list[int]] = {}
        for i, h in enumerate(hits):
            for wid in h:
                where.setdefault(wid, []).append(i)
        index, present = self._index[table], where.keys()
        for n in sorted({n for wid in where for n in index.get(wid, ())}):
            words = self.patterns[n].words
            if n in done or any(ws.isdisjoint(present) for ws in words[1:]):
                continue
            for i in sorted({i for w in words[0] if w in where for i in where[w]}):
                at = find(self.patterns[n], hits, i, gap,
                          self.gap_stops.get(self.patterns[n].kind, frozenset()))
                if at is not None:
                    yield n, at
                    if n in done:
                        break

    def scan(self, text: str, model: bool = True) -> Scan:
        """The groups `text` names, the imminent ones and the entries matched; where the
        lists find no danger, the model's reading (`model=False`: the lists alone)."""
        return self._scan(text, model) if len(text) > 200 else self._cached(text, model)

    def _scan(self, text: str, model: bool) -> Scan:
        if not has_letters(text):
            return Scan()  # a number or an emoji: no words to look at
        found: dict[int, None] = {}  # pattern numbers, in the order first found
        words = 0
        child = False  # a sentence with danger words names a child
        denied = False  # a phrase cancelled by a negation, or an everyday use: understood
        sentences = []
        for tokens in self.vocab.segments(text):
            words += len(tokens)
            hits = [frozenset({START}), *map(self.vocab.hits, tokens), frozenset({END})]
            for _, at in list(self._occurrences("ignore", hits, 0)):
                denied = True  # an everyday use (`pukul gendang`): not for the model either
                for j in at:
                    hits[j] = frozenset()  # still there, but matches nothing
            sentences.append(hits)
        young = self._young(sentences)
        # an age under 18 anywhere: the `if_minor_anywhere` phrases count in every sentence
        # ("sa pu ade umur 16 ... tapi ternyata de kerja di tempat karaoke", a walk-through)
        aged = young or any(self._aged(hits) for hits in sentences) if self.anywhere else False
        stories = self._stories(sentences)
        for i, hits in enumerate(sentences):
            # the sentence gives someone's age under 18: its `if_minor` phrases count
            minor = young or self._aged(hits)
            before = len(found)
            back_then = self._back_then(hits)  # before `skip` takes "5 tahun" of "5 tahun lalu"
            skipped = {j for _, at in self._occurrences("skip", hits, 0) for j in at}
            if skipped:  # gone: `anak umur 5 tahun dipukul` = `anak dipukul`
                hits = [h for j, h in enumerate(hits) if j not in skipped]
            covered, ends = self._negations(hits)
            # "suami marah sama sa trus pukul sa": `pukul sa` says the writer was hit, so
            # the same `pukul` is no `saya ... pukul` of the writer hurting others
            stopped: dict[str, set[int]] = {}
            for n, at in self._occurrences("not_when", hits, 0):
                stopped.setdefault(self.not_when[n], set()).update(at)
            if back_then:  # "dulu ... waktu de masih mabuk": no word of now
                for kind in BACK_THEN:
                    stopped[kind] = set(range(len(hits)))
            # a child named, but not one the `not_when` child phrases stop ("sa sendiri yang
            # kena pukul anak": an old man calling the bot "anak")
            unnamed = stopped.get("child", set())
            named = any(not unnamed.issuperset(at)
                        for _, at in self._occurrences("child_named", hits, 0)) or \
                (minor and not young)
            for n, at in self._occurrences("", hits, self.gap, found):
                if n in self.if_minor and not (minor or (aged and n in self.anywhere)):
                    continue
                if i in stories and self.patterns[n].kind not in STORY_KEEPS and \
                        self.patterns[n].kind not in self._selfharm_marks:
                    continue  # news, a film, a dream: told of, not lived (the model reads)
                if not stopped.get(self.patterns[n].kind, set()).isdisjoint(at):
                    continue
                if self.patterns[n].negative or not self._negated(at, covered, ends, hits):
                    found[n] = None
                else:
                    denied = True
            child = child or (named and len(found) > before)
        seen = [self.patterns[n] for n in found]
        if self._over(sentences, {p.kind for p in seen} & set(GROUPS)):
            return Scan(writer_young=young)  # long over, safe now: for the model neither
        healed = any(p.kind == HEALS for p in seen) and self._all_healed(sentences)
        scan = replace(self._verdict(seen, child, young, bool(found) and self._other(sentences),
                                     healed), writer_young=young)
        sexual = [n for n in found if self.patterns[n].kind == "sexual"]
        if sexual and all(n in self.images for n in sexual):
            scan = replace(scan, images=True)  # photos or videos, and no other sexual words
        if "selfharm" in scan.groups and self._at_risk_other(sentences):
            scan = replace(scan, other_at_risk=True)
        if RECENT in scan.groups and not scan.images and (times := self._recent(sentences)):
            scan = replace(scan, recent=True, matched=(*scan.matched, *times),
                           imminent=tuple(g for g in GROUPS
                                          if g in scan.imminent or g == RECENT))
        if scan.groups == (HEALS,) and any(
                next(self._occurrences("accident", hits, 0), None) is not None
                for hits in sentences):
            scan = replace(scan, accident=True)  # a fall, a crash, a bite: the health post
        r = self.reader
        if scan or denied or not model or r is None or words < r.min_words:
            return scan
        reading = r.model.read(text)
        if reading.danger < r.threshold:
            return scan
        # imminent only by a marker word (a weapon, a method, a time...): never `always`
        rule = self.rules.get(reading.group, frozenset()) - {ALWAYS}
        markers = tuple(dict.fromkeys(p.text for p in seen if p.kind in rule))
        return Scan((reading.group,), (reading.group,) if markers else (), markers,
                    round(reading.danger, 2), young=young, other=self._other(sentences),
                    writer_young=young)

    def _young(self, sentences: list[list[frozenset[int]]]) -> bool:
        """The writer's own age under 18 in any sentence, not of a past time ("sa umur 15.
        bapa su terima maskawin"): the whole message is a child's."""
        return any(next(self._occurrences("young_writer", hits, YOUNG_GAP), None) is not None
                   and next(self._occurrences("young_not", hits, 0), None) is None
                   for hits in sentences)

    def _aged(self, hits: list[frozenset[int]]) -> bool:
        """The sentence gives someone's age under 18 (`minor`), not a time ago (`past`:
        "5 tahun lalu de kunci sa di kamar" is no child of 5)."""
        aged = [at for _, at in self._occurrences("minor", hits, 0)]
        if not aged:
            return False  # the common case: no age, and no need to look for a time ago
        ago = [range(at[0], at[-1] + 1) for _, at in self._occurrences("past", hits, 0)]
        return any(not any(at[0] in span and at[-1] in span for span in ago) for at in aged)

    def _back_then(self, hits: list[frozenset[int]]) -> bool:
        """A sentence telling of back then (`then`: "dulu", "5 tahun lalu") with no word of
        today (`today`) in it: its words of now (`BACK_THEN` markers) do not count."""
        return next(self._occurrences("then", hits, 0), None) is not None and \
            next(self._occurrences("today", hits, 0), None) is None

    def _recent(self, sentences: list[list[frozenset[int]]]) -> tuple[str, ...]:
        """The `recent` words (not negated, not of the telling: `recent_not`) that make an
        assault told in the message recent; none where every sentence with an assault is of
        long ago and has none of its own ("waktu sa kecil om perkosa sa. tadi sa cerita")."""
        times: list[list[str]] = []
        assaults = []
        for hits in sentences:
            covered, ends = self._negations(hits)
            told = {j for _, at in self._occurrences("recent_not", hits, self.gap) for j in at}
            times.append([self.patterns[n].text
                          for n, at in self._occurrences("recent", hits, self.gap)
                          if told.isdisjoint(at) and not self._negated(at, covered, ends, hits)])
            assaults.append(any(not self._negated(at, covered, ends, hits)
                                for _, at in self._occurrences("assault", hits, self.gap)))
        said = tuple(dict.fromkeys(t for ts in times for t in ts))
        fresh = any(times[i] or not self._of_old(sentences, i)
                    for i, hit in enumerate(assaults) if hit)
        return said if fresh else ()

    def _of_old(self, sentences: list[list[frozenset[int]]], i: int,
                kinds: tuple[str, ...] = ("then", "past")) -> bool:
        """Sentence `i` tells of long ago (`then`, `past`), or a short sentence right before
        it does ("waktu sa kecil, om perkosa sa")."""
        return any(next(self._occurrences(kind, sentences[j], 0), None) is not None
                   for j in (i - 1, i) if j >= 0 and (j == i or len(sentences[j]) - 2 <=
                                                      HEALED_AFTER)
                   for kind in kinds)

    def _first(self, kind: str, hits: list[frozenset[int]]) -> bool:
        """A `kind` phrase (matched word after word) is in the sentence."""
        return next(self._occurrences(kind, hits, 0), None) is not None

    def _stories(self, sentences: list[list[frozenset[int]]]) -> set[int]:
        """The sentences that tell of news, a film or a dream (`story`: "sa baca di koran ada
        anak hilang"), and those right after one that name no one of the writer's
        (`story_end`: "film tadi malam seram, ada orang dibunuh pake kampak"); none with the
        writer's own life in it or in the sentence after it (`story_not`: "sa pu", "sama
        seperti sa", "sejak")."""
        told: set[int] = set()
        for i, hits in enumerate(sentences):
            if self._first("story_not", hits):  # ...and the story it goes on with
                j = i - 1  # ("di berita ada perempuan dipukul suami, sama seperti sa")
                while j in told:
                    told.discard(j)
                    j -= 1
            elif self._first("story", hits) or (i - 1 in told and
                                                not self._first("story_end", hits)):
                told.add(i)
        return told

    def _over(self, sentences: list[list[frozenset[int]]], groups: set[str]) -> bool:
        """Danger long over and the writer safe now ("10 thn lalu dipukul, skarang aman"):
        a `safe_now` phrase, no word of now outside it ("dulu sering dipukul, tadi juga" is
        danger), every sentence with danger words of long ago (`long_ago`, or `childhood`
        for a child's harm: "waktu kecil sa dipukul bapa pake rotan"), and only `OVER`
        groups; with no danger words, a time long ago (the model does not read it either)."""
        if not groups <= set(OVER) or not any(self._first("safe_now", h) for h in sentences):
            return False  # the common case
        safe = False
        for hits in sentences:
            covered, ends = self._negations(hits)
            said = {j for _, at in self._occurrences("safe_now", hits, 0)
                    if not self._negated(at, covered, ends, hits)
                    for j in range(at[0], at[-1] + 1)}
            safe = safe or bool(said)
            if any(not said.issuperset(at) for kind in ("today", "fresh")
                   for _, at in self._occurrences(kind, hits, 0)) or (
                    not any(self._first(k, hits) for k in ("long_ago", "childhood")) and any(
                        not said.issuperset(at) and self.patterns[n].kind in self._marks
                        for n, at in self._occurrences("", hits, self.gap))):
                return False  # a word of now anywhere, or a sign of danger now ("sa su
                # aman, tapi de lagi di jalan ke sini", a review: read as nothing)
        if not safe:
            return False
        told = {i: {self.patterns[n].kind for n, _ in self._occurrences("", hits, self.gap)}
                & groups for i, hits in enumerate(sentences)}
        if not groups:
            return any(self._first(k, h) for h in sentences for k in ("long_ago", "childhood"))
        return all(self._of_old(sentences, i, ("childhood",) if "child" in kinds else
                                ("long_ago", "childhood"))
                   for i, kinds in told.items() if kinds)

    def _all_healed(self, sentences: list[list[frozenset[int]]]) -> bool:
        """Every sentence that tells of an injury (each read on its own: a word found in
        an earlier sentence counts here again) has healed, and none says it with a word of
        now ("luka lama su sembuh. td de pukul sa sampe luka lagi" is P0)."""
        if not any(next(self._occurrences(kind, hits, 0), None) is not None
                   for hits in sentences for kind in ("healed", "past")):
            return False  # the common case: nothing said of healing or of long ago
        hurt = [i for i, hits in enumerate(sentences)
                if any(self.patterns[n].kind == HEALS
                       for n, _ in self._occurrences("", hits, self.gap))]
        return bool(hurt) and all(
            next(self._occurrences("fresh", sentences[i], 0), None) is None and
            self._healed(sentences, i) for i in hurt)

    def _healed(self, sentences: list[list[frozenset[int]]], i: int) -> bool:
        """Sentence `i`'s injury has healed: a `healed` phrase in it, or in a short sentence
        right after it ("dulu de pukul sa sampe luka, skarang su sembuh"), or a time long
        ago in it (`past`: "de tampar sa sampe biru bulan lalu"); not in another story
        ("anak sa su sembuh dari malaria. paitua pukul sa sampe berdarah")."""
        return next(self._occurrences("past", sentences[i], 0), None) is not None or \
            any(next(self._occurrences("healed", sentences[j], 0), None) is not None
                for j in (i, i + 1) if j < len(sentences) and
                (j == i or len(sentences[j]) - 2 <= HEALED_AFTER))  # less START and END

    def _at_risk_other(self, sentences: list[list[frozenset[int]]]) -> bool:
        """Every sentence with words of wanting to die tells of someone else (`other_at_risk`:
        "sa pu maitua yg mo bunuh diri", "de bilang lebih baik sa pergi dari dunia ini"): the
        writer cares for them. One such sentence without it is the writer's own ("mama
        bilang sa malas. mending mati saja"), so the writer is never left unasked."""
        told = [hits for hits in sentences
                if any(self.patterns[n].kind == "selfharm"
                       for n, _ in self._occurrences("", hits, self.gap))]
        return bool(told) and all(
            next(self._occurrences("other_at_risk", hits, self.gap), None) is not None
            for hits in told)

    def _other(self, sentences: list[list[frozenset[int]]]) -> bool:
        """Someone else hurt, told by the writer, who is not hurt too (in any sentence).
        Asked only of a message with danger in it."""
        return not any(next(self._occurrences("self_victim", hits, 0), None) is not None
                       for hits in sentences) and \
            any(next(self._occurrences("other_victim", hits, OTHER_GAP), None) is not None
                for hits in sentences)

    def again(self, text: str) -> tuple[str, ...]:
        """The `selfharm_again` phrases in `text`, not negated: a method, being alone, a
        farewell, which are danger now only in a conversation that told of wanting to die
        (the engine asks; walk Q: "sa punya tali di kamar" was "belum mengerti")."""
        said: dict[str, None] = {}
        for tokens in self.vocab.segments(text):
            hits = [frozenset({START}), *map(self.vocab.hits, tokens), frozenset({END})]
            covered, ends = self._negations(hits)
            for n, at in self._occurrences("selfharm_again", hits, self.gap):
                if not self._negated(at, covered, ends, hits):
                    said[self.patterns[n].text] = None
        return tuple(said)

    def _negations(self, hits: list[frozenset[int]]) -> tuple[set[int], set[int]]:
        """Where a segment's negations are: every token they cover, and where each ends."""
        covered: set[int] = set()
        ends: set[int] = set()
        for _, at in self._occurrences("negation", hits, 0):
            covered.update(range(at[0], at[-1] + 1))
            ends.add(at[-1])
        return covered, ends

    def _negated(self, at: tuple[int, ...], covered: set[int], ends: set[int],
                 hits: list[frozenset[int]]) -> bool:
        """A negation ends one or two tokens before the phrase (no stop word like `tahan` or
        `tapi` between), or sits in a gap between its words."""
        start = at[0]
        if any(q in covered for q in range(start, at[-1] + 1) if q not in at):
            return True
        return start - 1 in ends or (start - 2 in ends and hits[start - 1].isdisjoint(self.stops))

    def _verdict(self, found: list[Pattern], child: bool = False, young: bool = False,
                 other: bool = False, healed: bool = False) -> Scan:
        kinds = {p.kind for p in found}
        groups = tuple(g for g in GROUPS if g in kinds)
        live = kinds - {HEALS} if healed else kinds  # a healed injury makes nothing P0
        imminent = tuple(g for g in groups if not (healed and g == HEALS) and
                         (ALWAYS in self.rules.get(g, ()) or live & self.rules.get(g, set())))
        used = {k for g in imminent for k in self.rules[g]}
        matched = dict.fromkeys(p.text for p in found if p.kind in groups or p.kind in used)
        return Scan(groups, imminent, tuple(matched), child=child and bool(groups),
                    young=young and bool(groups), other=other and bool(groups),
                    healed=healed,
                    marks=tuple(sorted(live - set(GROUPS))) if groups else ())

    def groups_in(self, text: str) -> list[str]:
        """The groups whose phrases appear in `text`, in GROUPS order."""
        return list(self.scan(text).groups)


def _fail(path: Path, where: str, what: str) -> FlowError:
    return FlowError(f"{path}: {where}: {what}")


def _strings(path: Path, where: str, value: Any, required: bool = True) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise _fail(path, where, "needs a list of words or phrases")
    for i, item in enumerate(value):
        if not isinstance(item, str | int) or isinstance(item, bool) or not str(item).strip():
            raise _fail(path, f"{where}[{i}]", f"needs a word or phrase, not {item!r}")
    return [str(v) for v in value]


def _mapping(path: Path, where: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(path, where, "needs a mapping")
    return value


def load_crisis_words(path: Path) -> CrisisWords:
    """Read and check the lists file; FlowError names the file and the key on bad data."""
    raw = read_yaml(path, "crisis word list") or {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _CUT.match(line):
            raise FlowError(f"{path}: line {number}: a phrase with `#` must be in quotes "
                            f"(without them, YAML reads ` #` as the start of a comment)")
    if not isinstance(raw, Mapping):
        raise FlowError(f"{path}: needs a mapping: settings ({', '.join(SETTINGS)}) and one "
                        f"list per group ({', '.join(GROUPS)})")
    for key in raw:
        if key not in SETTINGS and key not in GROUPS:
            raise _fail(path, str(key), f"unknown group '{key}' (groups: {', '.join(GROUPS)}; "
                        f"settings: {', '.join(SETTINGS)})")
    spellings = _mapping(path, "spellings", raw.get("spellings"))
    for k, v in spellings.items():
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise _fail(path, f"spellings.{k}", f"needs a word, not {v!r}")
    vocab = Vocabulary({str(k): str(v) for k, v in spellings.items()},
                       _strings(path, "joins", raw.get("joins"), required=False))
    for name, members in _mapping(path, "sets", raw.get("sets")).items():
        try:
            vocab.add_set(str(name), _strings(path, f"sets.{name}", members))
        except ValueError as exc:
            raise _fail(path, f"sets.{name}", str(exc)) from exc
    gap = raw.get("gap", 2)
    if not isinstance(gap, int) or isinstance(gap, bool) or not 0 <= gap <= 5:
        raise _fail(path, "gap", f"needs a whole number from 0 to 5, not {gap!r}")
    markers = {str(k): _strings(path, f"markers.{k}", v)
               for k, v in _mapping(path, "markers", raw.get("markers")).items()}
    for kind in markers:
        if kind in GROUPS or kind in (*_FIXED, ALWAYS):
            raise _fail(path, f"markers.{kind}", "a marker kind may not be named like a group")
    rules = _rules(path, raw.get("imminent"), markers)
    reader = _reader(path, raw.get("model"))

    def compile_all(kind: str, where: str, items: list[str],
                    negations: frozenset[int] = frozenset()) -> list[Pattern]:
        out = []
        for i, item in enumerate(items):
            try:
                out.append(vocab.compile(kind, item, negations))
            except ValueError as exc:
                raise _fail(path, f"{where}[{i}]", str(exc)) from exc
        return out

    negations = compile_all("negation", "negations",
                            _strings(path, "negations", raw.get("negations"), required=False))
    negative = frozenset(w for p in negations for w in p.words[0])
    stops = compile_all("negation_stops", "negation_stops",
                        _strings(path, "negation_stops", raw.get("negation_stops"),
                                 required=False))
    patterns = negations
    for kind in ("ignore", "skip"):
        patterns += compile_all(kind, kind, _strings(path, kind, raw.get(kind), required=False))
    patterns += compile_all("minor", "minor", _strings(path, "minor", raw.get("minor"),
                                                       required=False))
    for kind in ("child_named", "young_writer", "young_not", "self_victim", "other_victim",
                 "healed", "fresh", "past", "then", "today", "other_at_risk", "accident",
                 "recent_not", "long_ago", "childhood", "story", "story_not", "story_end"):
        patterns += compile_all(kind, kind, _strings(path, kind, raw.get(kind), required=False))
    for kind in ("selfharm_again", "recent", "assault", "safe_now"):  # with their negations
        patterns += compile_all(kind, kind, _strings(path, kind, raw.get(kind),
                                                     required=False), negative)
    for group in GROUPS:
        patterns += compile_all(group, group, _strings(path, group, raw.get(group)), negative)
    images = compile_all("sexual", "images", _strings(path, "images", raw.get("images"),
                                                      required=False), negative)
    image_ids = frozenset(range(len(patterns), len(patterns) + len(images)))
    patterns += images
    if_minor: set[int] = set()
    anywhere: set[int] = set()
    for section, numbers in (("if_minor", if_minor), ("if_minor_anywhere", anywhere)):
        for group, items in _mapping(path, section, raw.get(section)).items():
            if group not in GROUPS:
                raise _fail(path, f"{section}.{group}",
                            f"unknown group '{group}' (groups: {', '.join(GROUPS)})")
            more = compile_all(str(group), f"{section}.{group}",
                               _strings(path, f"{section}.{group}", items), negative)
            numbers.update(range(len(patterns), len(patterns) + len(more)))
            patterns += more
    if_minor |= anywhere
    not_when: dict[int, str] = {}
    for group, items in _mapping(path, "not_when", raw.get("not_when")).items():
        if group not in GROUPS and group not in markers:  # a group, or a marker kind
            raise _fail(path, f"not_when.{group}", f"unknown group or marker kind '{group}' "
                        f"(groups: {', '.join(GROUPS)}; markers: {', '.join(markers)})")
        more = compile_all("not_when", f"not_when.{group}",
                           _strings(path, f"not_when.{group}", items))
        not_when.update({n: str(group) for n in range(len(patterns), len(patterns) + len(more))})
        patterns += more
    for kind, items in markers.items():
        patterns += compile_all(kind, f"markers.{kind}", items, negative)
    stop_ids = frozenset(w for p in stops for w in p.words[0])
    gap_stops = {}
    for group, items in _mapping(path, "gap_stops", raw.get("gap_stops")).items():
        if group not in GROUPS and group not in markers:
            raise _fail(path, f"gap_stops.{group}", f"unknown group or marker kind '{group}' "
                        f"(groups: {', '.join(GROUPS)}; markers: {', '.join(markers)})")
        words = compile_all("gap_stops", f"gap_stops.{group}",
                            _strings(path, f"gap_stops.{group}", items))
        gap_stops[str(group)] = frozenset(w for p in words for w in p.words[0])
    return CrisisWords(vocab, patterns, rules, gap, stop_ids, gap_stops, frozenset(if_minor),
                       reader, not_when, image_ids, frozenset(anywhere))


def _reader(path: Path, value: Any) -> Reader | None:
    """The `model` setting: its file (next to the lists), threshold and minimum words."""
    if value is None:
        return None
    setting = _mapping(path, "model", value)
    threshold, min_words = setting.get("threshold"), setting.get("min_words", 1)
    if not isinstance(threshold, float | int) or isinstance(threshold, bool) \
            or not 0 < threshold < 1:
        raise _fail(path, "model.threshold", f"needs a number between 0 and 1, not {threshold!r}")
    if not isinstance(min_words, int) or isinstance(min_words, bool) or min_words < 1:
        raise _fail(path, "model.min_words", f"needs a whole number from 1, not {min_words!r}")
    file = setting.get("file")
    if not isinstance(file, str) or not file.strip():
        raise _fail(path, "model.file", "needs the model's file name")
    try:
        model = CrisisModel.load(path.parent / file)
    except ValueError as exc:
        raise _fail(path, "model.file", f"{file}: {exc}") from exc
    return Reader(model, float(threshold), min_words)


def _rules(path: Path, value: Any, markers: Mapping[str, list[str]]) -> dict[str, frozenset[str]]:
    rules: dict[str, frozenset[str]] = {}
    for group, rule in _mapping(path, "imminent", value).items():
        where = f"imminent.{group}"
        if group not in GROUPS:
            raise _fail(path, where, f"unknown group '{group}' (groups: {', '.join(GROUPS)})")
        names = [ALWAYS] if rule == ALWAYS else _strings(path, where, rule)
        for i, name in enumerate(names):
            if name != ALWAYS and name not in markers and name not in GROUPS:
                raise _fail(path, f"{where}[{i}]", f"'{name}' is no marker kind "
                            f"({', '.join(markers)}) nor group, nor '{ALWAYS}'")
        rules[group] = frozenset(names)
    return rules
