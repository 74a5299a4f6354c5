"""Crisis words on what families write: the corpus thresholds, the matching rules one by one,
`lk3 flow eval`, and the lists file's refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.flowcli import MAX_FALSE_ALARMS, MIN_RECALL, corpus_path, evaluate, read_corpus
from flows.crisis import GROUPS, CrisisWords, load_crisis_words
from flows.danger import FOCUS_ORDER
from flows.definition import FlowError
from flows.lexicon import stem
from flows.loader import FLOWS_DIR

WORDS = load_crisis_words(FLOWS_DIR / "crisis.yaml")
CORPUS = read_corpus(corpus_path())
REPO = Path(__file__).resolve().parent.parent
STORY = next(t for t, _, _ in CORPUS.danger if len(t) > 1300)
# what a practitioner's test found missed before these lists
PRACTITIONER = [
    ("sa mo gantung diri malam ini", "selfharm"), ("sa su cape hidup", "selfharm"),
    ("mending sa mati saja", "selfharm"), ("sa ingin menyakiti diri", "selfharm"),
    ("minum baygon", "selfharm"), ("dia tampar sa", "violence"),
    ("dia ancam bunuh sa", "violence"), ("sa pu kepala berdarah", "injury"),
    ("dia raba-raba sa", "sexual"), ("anak belum makan dua hari", "child"),
    ("tolong saya", "help_now"), ("I want to kill myself", "selfharm"),
    ("3 tra, tapi sa mo bunuh diri", "selfharm"), (STORY, "violence"),
]


def groups(text: str) -> tuple[str, ...]:
    return WORDS.scan(text).groups


# -- the corpus ------------------------------------------------------------------------------

def test_corpus_is_large_and_holds_the_practitioners_phrases() -> None:
    """The corpus has the sizes asked for and every phrase a practitioner found missed."""
    counts = {g: sum(1 for _, group, _ in CORPUS.danger if group == g) for g in GROUPS}
    for g in ("selfharm", "violence", "sexual", "child"):
        assert counts[g] >= 40, counts
    for g in ("injury", "help_now", "harms_others"):
        assert counts[g] >= 20, counts
    assert len(CORPUS.ordinary) >= 300
    texts = {t for t, _, _ in CORPUS.danger}
    assert all(t in texts for t, _ in PRACTITIONER)
    assert 1350 <= len(STORY) <= 1500 and STORY.endswith("Tolong")


def test_corpus_thresholds() -> None:
    """Recall >= 0.95 per group and for imminence; false alarms <= 2% of ordinary messages."""
    result = evaluate(WORDS, CORPUS)
    misses = "\n".join(f"{m['expected']}: {m['text'][:80]!r} -> {m['got']}"
                       for m in result["misses"])
    for g, r in result["groups"].items():
        assert r["recall"] >= MIN_RECALL, f"{g} recall {r['recall']:.2f}\n{misses}"
    assert result["imminent"]["recall"] >= MIN_RECALL, misses
    alarms = "\n".join(f"{a['text']!r} -> {a['got']} {a['matched']}" for a in result["alarms"])
    assert result["false_alarms"]["rate"] <= MAX_FALSE_ALARMS, alarms
    assert result["passed"]


@pytest.mark.parametrize(("text", "group"), PRACTITIONER, ids=lambda x: str(x)[:30])
def test_practitioners_phrases_are_found(text: str, group: str) -> None:
    """Every phrase a practitioner found missed is found, with its group."""
    assert group in groups(text)


# -- normalising and matching ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "group"), [
    ("sa dipukuli suami", "violence"), ("suami saya memukuli saya", "violence"),
    ("sa ingin menyakiti diri", "selfharm"), ("saya mengakhiri hidup saja", "selfharm"),
    ("sa pu anak dicabuli", "sexual"), ("anak ditelantarkan", "child"),
    ("sa disetubuhi bapa tiri", "sexual"),
])
def test_stemming_matches_every_form_of_a_root(text: str, group: str) -> None:
    """Stemming: a root in the lists matches its affixed forms (dipukuli, memukuli, menyakiti)."""
    assert stem("dipukuli") == "pukul" and stem("menyakiti") == "sakit"
    assert group in groups(text)


@pytest.mark.parametrize("text", [
    "sa mau urus akta kematian bapa", "ada pembunuhan di kampung sebelah",
    "sa mau mematikan lampu", "tubuh sa sakit semua", "sa berdiri dari pagi",
    "pukul 8 pagi", "besok pukul delapan", "jam pukul 10", "sa mau ke kantor pukul 9",
])
def test_over_stemming_does_not_raise_alarms(text: str) -> None:
    """Over-stemming: kematian/mematikan are not `=mati`, tubuh is not disetubuhi, pukul 8 is
    a time."""
    assert not WORDS.scan(text), WORDS.scan(text)


@pytest.mark.parametrize(("text", "group"), [
    ("sa di pukul suami", "violence"), ("paitua baku pukul deng sa", "violence"),
    ("sa mo bu nuh di ri", "selfharm"), ("anak di tinggal sendiri", "child"),
    ("tetangga pu anak di ikat di tiang", "child"),  # joined, then squeezed as `diikat` is
])
def test_spacing_inside_words(text: str, group: str) -> None:
    """Spacing: `di pukul` = dipukul, `baku pukul`, and a word typed in pieces (`bu nuh di ri`);
    a joined word with a doubled letter (`di ikat`) reads as the word typed whole."""
    assert group in groups(text)


@pytest.mark.parametrize(("text", "group"), [
    ("sa mau matiiii", "selfharm"), ("TOLOOONG SAAA", "help_now"),
    ("anak2 ditinggal sendiri", "child"), ("dia pegang2 sa pu badan", "sexual"),
    ("dipukuuuul trus 😭😭", "violence"),
])
def test_repeated_letters_and_emoji(text: str, group: str) -> None:
    """Repeated letters are squeezed, `anak2` is doubled, emoji and case do not matter."""
    assert group in groups(text)


@pytest.mark.parametrize(("text", "group"), [
    ("bunh diri", "selfharm"), ("sa mo gantug diri", "selfharm"), ("sa diperkosaa", "sexual"),
    ("kemarin sa dipkul lagi", "violence"), ("sa su dicabulli", "sexual"),
])
def test_typos_match_by_edit_distance(text: str, group: str) -> None:
    """Typos: an unknown word one edit from a listed word of 5+ letters counts as that word."""
    assert group in groups(text)


@pytest.mark.parametrize("text", [
    "sa pu mata sakit", "pukat ikan di Pomako", "sa mau pisah deng suami", "barang sa hilang",
    "my back hurts", "tenang saja", "panas skali hari ini", "dia marah tapi su baik",
    # things, not people (a walk-through: a tired father who would smash his son's phone was
    # told of the duty to report)
    "rasanya sa mau banting de pu hp", "sa banting pintu trus keluar", "de banting piring",
])
def test_real_words_do_not_fuzz_into_danger(text: str) -> None:
    """Fuzz stays tight: real words (mata, pukat, pisah, barang, panas, marah) and short or
    English words never count as danger words one letter away."""
    assert not WORDS.scan(text), WORDS.scan(text)


@pytest.mark.parametrize("text", [
    "tra ada yang pukul sa", "sa tidak pernah dipukul", "bukan kekerasan, kami cuma baku marah",
    "no one hurts me", "he never hits me", "sa tra pernah pikir bunuh diri",
    "sa tidak dalam bahaya", "tidak ada yang terluka", "saya tidak mau bunuh diri",
    "sa aman ibu. sa tra ada pikir bunuh diri, sa cuma mau konseling deng suami",  # walk
    # "not yet": the injury emergency came for it (a walk-through)
    "sampe skarang blum ada yang luka tapi kami takut kalo de ngamuk", "belum ada yang terluka",
])
def test_negation_cancels(text: str) -> None:
    """Negation: a negation just before a phrase (or inside it) cancels it."""
    assert not WORDS.scan(text), WORDS.scan(text)


@pytest.mark.parametrize(("text", "group"), [
    ("sa tra mau hidup lagi", "selfharm"), ("I don't want to live", "selfharm"),
    ("sa su tra tahan dipukul terus", "violence"), ("anak belum makan dua hari", "child"),
    ("tidak, tapi dia pukul sa", "violence"), ("ade tra sadar dari tadi", "injury"),
])
def test_phrases_with_their_own_negation_still_match(text: str, group: str) -> None:
    """A phrase that says the negation itself (`tra mau hidup`) still matches, and a stop word
    (`tahan`, `tapi`) keeps a negation from reaching the phrase after it."""
    assert group in groups(text)


@pytest.mark.parametrize("text", [
    "pukul 8 pagi", "jam pukul 10", "mati lampu lagi", "HP sa mati", "motor mati di jalan",
    "mati ketawa sa", "pisau dapur untuk masak", "parang untuk kebun", "bunuh nyamuk",
    "tolong bantu urus KIP", "tolong kirim info", "tolong saya mau tanya soal PKH",
    "sakit kepala", "anak sakit demam", "sa banting tulang cari uang", "patah hati",
    "suami ancam cerai", "kami pukul tifa di gereja", "anak sa tra mau makan sayur",
    "anak sa mau lompat dari kursi, sa larang", "sa bangun kesiangan lagi hari ini",
    "anak sa dibawa orang tua ke pesta adat", "de ngamuk minta hp",
    "sa sembunyi hadiah ulang tahun untuk sa pu anak", "anak sa diikat rambutnya",
    # a walk-through's families, read by the lists and the model as the bot reads them
    "sa tra tau dong aman ka tra, makanya sa mau petugas cari tau dong di mana",
    "tra ada yg sakiti de, de cuma mabuk", "paitua ada di rumah tidur, tapi de tra menyakiti sa",
    "masalah deng paitua, de mabuk", "sa su aman skarang",
    # walk K: a father asking about his son's glue sniffing was P0 and paged at night; a
    # woman with no safe place tonight was P0 by "sa ... tidak aman" across two words
    "Tolong bantu kami, anak sa isap lem", "sa tra punya tempat aman malam ini",
    # walk Q: a father's stress, a land quarrel taken to adat (P0 and P1 before)
    "sa marah sekali sampe sa usir de dari rumah, sa pu kepala mo pecah",
    "dong ancam mo bawa ke lembaga adat deng minta denda babi", "de ancam lapor sa ke polisi",
])
def test_figures_of_speech_and_everyday_words(text: str) -> None:
    """Everyday uses of danger words (pukul 8 = eight o'clock, mati lampu, tolong = please)
    raise nothing."""
    assert not WORDS.scan(text), WORDS.scan(text)


@pytest.mark.parametrize(("text", "group", "expected"), [
    ("sa pukul sa pu anak", "harms_others", True),
    ("saya sering memukul istri", "harms_others", True),
    ("I hit my kids", "harms_others", True),
    ("sa dipukul suami", "harms_others", False),
    ("sa kena tampar lagi", "harms_others", False),
    ("suami saya pukul anak", "harms_others", False),
    ("sa pu paitua pukul sa", "harms_others", False),
    ("sa pukul sa pu anak", "violence", False),
    ("sa dapa pukul trus dari sa pu laki", "harms_others", False),  # `dapa`: got hit
    ("sa dapa pukul trus dari sa pu laki", "violence", True),
    # "dong" (they): a mother afraid the police will beat her son again (walk L: read as a
    # confession, "Kalau Anda merasa bisa menyakiti seseorang")
    ("sa takut dong pukul de lagi", "harms_others", False),
    ("sa takut dong pukul de lagi", "violence", True),
    ("kk td sa dengar dong blg mo pukul de lagi kalo de tra ngaku", "violence", True),
    ("sa su pukul de tapi de tra berubah", "harms_others", True),
    ("sa pu istri sa tampar tadi, sa menyesal", "harms_others", True),  # "my wife I slapped"
    ("bapak saya sering mukul ibu pakai selang", "violence", True),  # spoken `mukul`
    ("dia bilang kalo sa pergi dia bunuh anak-anak", "harms_others", False),  # his threat
    ("dia bilang kalo sa pergi dia bunuh anak-anak", "violence", True),
    ("kalau sa pulang, sa bunuh dia", "harms_others", True),
    ("suami sa selingkuh trus kalo sa tanya dia cekik sa", "harms_others", False),  # gap_stops
    ("sa dengar tetangga pukul istrinya tiap malam", "harms_others", False),
    ("sa pu suami bakar sa pu baju dan pukul sa", "harms_others", False),  # `+` in the phrase
    ("saya ayah yang kasar, saya mau berubah", "harms_others", True),
    # a small child who hits is no child in danger (walk K: a mother asking about her
    # toddler got the child-abuse numbers); a child who is hit is, "sering" between or not
    ("sa pu anak 4 tahun suka gigit dan pukul adiknya", "child", False),
    ("anak saya suka memukul temannya di sekolah", "child", False),
    ("sa pu anak sering dipukul bapa", "child", True),
    ("anak saya sering dipukul", "child", True),
    ("bapa anak suka pukul anak", "child", True),  # the children's father
    # the child told of in the sentence before
    ("sa pu anak umur 5 tahun, bapa tiri suka pukul de", "child", True),
    # a girl "bothered" by a man of the house is how abuse is told (walk M: a P3 case)
    ("sa pu anak nona 12 thn diganggu de pu om. bilang selesaikan adat saja", "sexual", True),
    ("sa pu anak nona diganggu de pu om", "sexual", True),
    ("om suka ganggu sa pu anak 8 thn", "sexual", True),
    ("anak sa umur 9 diganggu teman di sekolah", "sexual", False),
    ("sa pu kambing su 3 hari hilang", "child", False),
    # told of another, in English (walk M: the model's guess alone, no SAPA)
    ("My housekeeper told me her husband beats her", "violence", True),
    ("My housekeeper told me her husband beats her", "harms_others", False),
    ("anak sa 2 org umur 5 dan 3. paitua pukul sa", "child", False),
    # a husband who left his wife with the children: the mother has them (walk M: a second
    # wife got the child-abuse numbers); children left on their own are still in danger
    ("paitua su kawin lagi trus de tinggalkan sa deng anak2, tra kasi uang", "child", False),
    ("bapa dorang tinggalkan kami deng anak2 su 3 bulan", "child", False),
    ("mama tinggalkan anak2 di rumah sendiri su 2 hari", "child", True),
    # her own small son who hits other children (walk O: a P0 case for a mother asking how
    # to raise him); other children hit by an adult still are
    ("sa pu anak laki2 umur 4 thn suka pukul anak2 lain di gereja deng di tetangga, kemarin "
     "de gigit sa pu ponakan sampe menangis. sa mo tanya cara didik yg baik", "child", False),
    ("sa pu anak laki2 umur 4 thn suka pukul anak2 lain di gereja", "violence", False),
    ("om pukul anak2 lain di asrama", "child", True),
    # a parent hit by a grown son is still violence (the lists, not the model alone: a
    # re-read of this session's own change found the son's words had stopped them)
    ("sa pu anak suka pukul sa kalo de mabuk", "violence", True),
    ("anak saya sering memukul saya", "violence", True),
    ("anak saya sering memukul saya", "harms_others", False),
    # a sister with a husband is grown (walk O: "Anak yang terluka" for a woman of 24)
    ("tolong sa pu ade perempuan di pukul suaminya pake kayu, de pu kepala bocor darah",
     "child", False),
    ("tolong sa pu ade perempuan di pukul suaminya pake kayu, de pu kepala bocor darah",
     "violence", True),
    ("sa pu ade di pukul bapa tiri", "child", True),
])
def test_who_hits_whom(text: str, group: str, expected: bool) -> None:
    """`saya pukul` is the writer hurting someone (harms_others); `dipukul`, `kena tampar` and
    `suami saya pukul` are not."""
    assert (group in groups(text)) is expected


# -- imminence -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "group", "imminent"), [
    ("sa mau bunuh diri", "selfharm", False),
    ("sa mau minum racun", "selfharm", True),  # a method
    ("sa mau bunuh diri malam ini", "selfharm", True),  # a time
    ("dia pukul sa", "violence", False),
    ("dia pukul sa pake parang", "violence", True),  # a weapon
    ("dia tidak bawa senjata tapi dia pukul sa", "violence", False),  # the weapon negated
    ("dia bilang mo bunuh sa", "violence", True),  # a threat to kill
    ("dia pukul sa sampe berdarah", "violence", True),  # an injury
    ("sa dipukul suami. Kepala sa berdarah", "violence", True),  # in another sentence
    ("sa pu kepala berdarah", "injury", True),  # always
    ("tolong kami", "help_now", True),  # always
    ("sa diperkosa tahun lalu", "sexual", False),
    ("sa diperkosa, dia masih di rumah", "sexual", True),  # happening / there now
    ("anak dipukul", "child", False),
    ("anak dipukul skarang", "child", True),
    ("dia cekek sa", "violence", False),  # strangled, not now: P1 (DOMAIN.md's P0 is now)
    ("sa pu mama dicekik bapa skarang, tolong", "violence", True),  # now
    ("suami kasi masuk sa pu kepala ke air", "violence", True),  # an attempt on life
    ("sa pu laki bakar rumah waktu sa deng anak2 di dalam", "violence", True),
    ("sa lihat sa pu teman mo lompat dari lantai atas", "selfharm", True),  # a method
    ("bapa masih keliling cari mama deng kayu, td de pukul mama", "violence", True),  # present
    ("de ada pukul sa pu mama sa tra bisa tahan de", "violence", True),  # "ada": at it now
    ("suami pukul sa, skarang sa di rumah mama", "violence", False),  # got away: not now
    ("sa mo akhiri hidup. pisau su di sa pu kamar", "selfharm", True),  # a knife to hand
    ("ada bekas luka di tangan tapi su sembuh", "injury", False),  # healed: danger that was
    ("dulu de pukul sa sampe luka, skarang su sembuh", "violence", False),
    ("luka lama su sembuh, tapi td malam de pukul sa lagi sampe berdarah", "injury", True),
    ("anak sa su sembuh dari malaria. paitua pukul sa sampe berdarah", "injury", True),
    ("luka lama su sembuh. td de pukul sa sampe luka lagi", "injury", True),  # the same word
    ("bekas luka lama di tangan. de pukul sa sampe luka lagi", "injury", True),  # again, fresh
    ("de tampar sa sampe biru bulan lalu", "violence", False),  # long ago, in its sentence
    ("minggu lalu sa capek kerja. dia cekik sa sampe sa tra bisa napas", "violence", True),
    # a sentence of back then ("dulu", "5 tahun lalu") with no word of today: not P0 by
    # its words of now (a walk-through: a woman asking for family counselling)
    ("dulu paitua pernah pukul sa waktu de masih suka mabuk, tapi itu su lama", "violence",
     False),
    ("5 tahun lalu sa dikurung di kamar, skarang sa takut tidur sendiri", "violence", False),
    ("dulu de pukul sa dan skarang de masih di rumah", "violence", True),  # today too
    ("dulu de pukul sa, skarang de masih cari sa", "violence", True),  # another sentence
    # a weapon or a threat that was ("pernah": has ever) is not danger now (a re-check: at
    # "has he ever threatened you with a weapon?" the answer brought the emergency message)
    ("de pernah ancam pake pisau", "violence", False),
    ("dulu de ancam sa pake parang", "violence", False),
    ("de pernah ancam sa pake parang, skarang de pegang parang lagi", "violence", True),
    ("sa pernah mo bunuh diri, malam ini sa mo gantung diri", "selfharm", True),
    # a working day is no "since this morning": children left alone while parents work
    ("anak dong ditinggal sendiri tiap hari dari pagi sampe malam, orang tua kerja", "child",
     False),
    ("anak2 ditinggal sendiri dari pagi, skarang su malam dong belum makan", "child", True),
    # the weather today is no time of a plan (walk M: P0 for a complaint about the heat)
    ("aduh panas skali hari ini, rasa mo mati. kk sa mo tanya konsultasi pranikah", "selfharm",
     False),

    ("hari ini panas, sa mo gantung diri malam ini", "selfharm", True),
    ("sa mo mati hari ini", "selfharm", True),
    # a girl of 14 gone three days with a man met on Facebook (walk N: the model's guess,
    # no TePSA, no case before consent): a child missing, danger now
    ("sa pu anak prempuan 14 thn su 3 hari hilang, ikut laki2 yg de kenal di fb", "child",
     True),
    # an attempt back then: a thought to ask about now (ASQ), not danger now (walk M)
    ("tahun lalu sa pernah minum racun rumput", "selfharm", False),
    ("dulu sa pernah coba, skarang sa mo minum racun lagi", "selfharm", True),
])
def test_imminence_rules(text: str, group: str, imminent: bool) -> None:
    """Imminence by the rules in crisis.yaml: self-harm with a method or time, violence with a
    weapon/threat/injury or the one who hurts there now, injury and help_now always unless
    the injury has healed, sexual and child when it is now."""
    scan = WORDS.scan(text)
    assert group in scan.groups, scan
    assert (group in scan.imminent) is imminent, scan


@pytest.mark.parametrize("text", [
    "panas skali hari ini rasa mo mati",
    "aduh panas skali hari ini rasa mo mati kk 😅 listrik mati lagi",
])
def test_how_hot_it_is_is_no_wish_to_die(text: str) -> None:
    """Walk O: a complaint about the heat, "rasa mo mati" right after "panas skali", made two
    P1 suicide cases ("Bila pikiran menyakiti diri datang"). The same words of dying after
    anything else, or told apart from the heat, still count."""
    assert not WORDS.scan(text), WORDS.scan(text)
    assert "selfharm" in WORDS.scan("hari ini sa rasa mo mati saja").groups
    assert "selfharm" in WORDS.scan("panas skali hari ini, sa capek hidup, rasa mo mati").groups


@pytest.mark.parametrize("text", [
    "sa mo mati capek kerja di freeport",
    "aduh sa capek kerja sampe mo mati, dari subuh",
    "mati capek sa hari ini kaka",
])
def test_tired_from_work_is_no_wish_to_die(text: str) -> None:
    """Walk S: "sa mo mati capek kerja di freeport" from a man asking about marriage
    preparation opened a P1 self-harm case and paged the supervisor. Tired of living, or
    dying said apart from being tired, still counts."""
    assert not WORDS.scan(text), WORDS.scan(text)
    assert "selfharm" in WORDS.scan("sa capek hidup, mo mati saja").groups
    assert "selfharm" in WORDS.scan("sa su capek, sa mo mati saja").groups
    assert "selfharm" in WORDS.scan("sa capek mau mati saja").groups
    assert "selfharm" in WORDS.scan("sa su capek mau mati saja, tra kuat lagi").groups


def test_a_child_run_away_for_nights_is_danger() -> None:
    """Walk S: "sa mama yang kemarin tanya soal anak tra mau sekolah. skarang de lari dari
    rumah su 2 malam tra pulang" (a girl of 9) opened no case and told no one. A husband
    not home for two nights is no child in danger."""
    said = ("halo kaka, sa mama yang kemarin tanya soal anak tra mau sekolah. skarang de "
            "lari dari rumah su 2 malam tra pulang")
    assert "child" in WORDS.scan(said).groups
    assert "child" in WORDS.scan("sa pu nona 15 thn su 2 malam tra pulang").groups
    assert not WORDS.scan("paitua su 2 malam tra pulang, sa pu uang habis")
    assert "child" not in WORDS.scan("sa lari dari rumah su 2 malam, sa tinggal di sa pu kaka"
                                     ).groups  # a wife who fled (a review)
    assert "child" in WORDS.scan("sa pu anak lari dari rumah su 3 hari").groups


def test_a_time_ago_is_no_childs_age() -> None:
    """"5 tahun lalu" is a time, not a child of 5: an adult's story of back then does not
    get the texts for someone telling of a child; "anak 5 tahun" still does."""
    assert not WORDS.scan("5 tahun lalu de kunci sa di kamar 3 hari").child
    assert WORDS.scan("anak 5 tahun dikunci di kamar 3 hari").child


@pytest.mark.parametrize("text", ["de lagi di jalan ke sini bawa teman2 nya",
                                  "sa di depan rumah tunggu ojek dari tadi",
                                  "paitua su pulang dari tambang tadi"])
def test_words_of_now_alone_are_no_danger(text: str) -> None:
    """The words that make violence P0 now (`present`) are no danger on their own."""
    assert not WORDS.scan(text, model=False)


def test_matched_names_the_entries() -> None:
    """`matched` lists the entries as written in crisis.yaml, with the markers that made a group
    imminent, for the staff audit trail."""
    scan = WORDS.scan("sa mo gantung diri malam ini")
    assert scan.groups == ("selfharm",) and scan.imminent == ("selfharm",)
    assert "gantung diri" in scan.matched and "malam ini" in scan.matched
    assert WORDS.scan("sa pu paitua pukul sa").matched == ("@perp @hit", "@hit @me")
    assert WORDS.scan("halo").matched == ()


DETECTED = [(t, g) for t, g, _ in CORPUS.danger if g in WORDS.scan(t, model=False).groups]
PIECES = [t for t in CORPUS.ordinary if len(t) < 400]


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(DETECTED), st.lists(st.sampled_from(PIECES), max_size=3),
       st.lists(st.sampled_from(PIECES), max_size=3), st.sampled_from([". ", "\n", "! ", ", "]))
def test_danger_inside_ordinary_text_is_still_found(
        item: tuple[str, str], before: list[str], after: list[str], sep: str) -> None:
    """A danger phrase with ordinary sentences before and after it is still found by the
    lists, with the same groups and imminence at least. (The model reads a message as a
    whole: ordinary sentences around a hint may outweigh it. That is why the lists come
    first and the model only reads what they find nothing in.)"""
    text, group = item
    alone = WORDS.scan(text, model=False)
    embedded = WORDS.scan(sep.join([*before, text, *after]), model=False)
    assert group in embedded.groups
    assert set(alone.groups) <= set(embedded.groups)
    assert set(alone.imminent) <= set(embedded.imminent)


# -- lk3 flow eval ---------------------------------------------------------------------------

def lk3(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "flow", "eval", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def test_eval_passes_on_the_corpus() -> None:
    """`lk3 flow eval` prints a recall line per group, imminence and false alarms; exit 0."""
    done = lk3()
    assert done.returncode == 0, done.stdout + done.stderr
    for g in GROUPS:
        assert f"\n{g}" in "\n" + done.stdout and "recall" in done.stdout
    assert "imminent" in done.stdout and "false alarms" in done.stdout


def test_eval_fails_on_a_missed_phrase(tmp_path: Path) -> None:
    """A corpus with a phrase the lists miss makes `lk3 flow eval` list it and exit 1."""
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(yaml.safe_dump({
        "danger": [{"text": "sa dipukul suami", "group": "violence"},
                   {"text": "langit biru hari ini", "group": "violence"}],
        "ordinary": ["selamat pagi", "dia tampar sa"]}), encoding="utf-8")
    done = lk3("--corpus", str(corpus))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "violence      recall 0.50 (1/2)" in done.stdout
    assert "false alarms  50.0% (1/2; lists and model)" in done.stdout
    assert "langit biru hari ini" in done.stdout and "dia tampar sa" in done.stdout
    result = json.loads(lk3("--corpus", str(corpus), "--json").stdout)
    assert result["groups"]["violence"]["found"] == 1 and not result["passed"]


def test_eval_counts_what_the_family_is_answered_with(tmp_path: Path) -> None:
    """A child named beside violence words is answered with the child's numbers too, and a
    message is P0 whichever kind made it so: the eval counts them so ("anak tetangga dari
    tadi dipukul" is the violence the lists found, about a child; a beating told with a call for
    help now is P0 by its help-now words)."""
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(yaml.safe_dump({
        "danger": [{"text": "anak tetangga di SP3 dari tadi dipukul pake kabel", "group": "child"},
                   {"text": "paitua pukul sa kemarin. tolong sa skarang",
                    "group": "violence", "imminent": True}],
        "ordinary": ["selamat pagi"]}), encoding="utf-8")
    scan = WORDS.scan("anak tetangga di SP3 dari tadi dipukul pake kabel", model=False)
    assert "child" not in scan.groups and scan.child  # found as violence, a child named
    scan = WORDS.scan("paitua pukul sa kemarin. tolong sa skarang", model=False)
    assert scan.imminent == ("help_now",)  # the beating is not P0 itself
    result = json.loads(lk3("--corpus", str(corpus), "--json").stdout)
    assert result["groups"]["child"]["found"] == 1, result["misses"]
    assert result["imminent"]["found"] == 1, result["misses"]


def test_eval_without_a_corpus(tmp_path: Path) -> None:
    """A missing corpus is a one-line error and exit 2."""
    done = lk3("--corpus", str(tmp_path / "none.yaml"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "none.yaml" in done.stderr


# -- the lists file's refusals ---------------------------------------------------------------

def broken(tmp_path: Path, change: dict[str, object]) -> str:
    raw = yaml.safe_load((FLOWS_DIR / "crisis.yaml").read_text(encoding="utf-8"))
    raw.update(change)
    path = tmp_path / "crisis.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    shutil.copy(FLOWS_DIR / "crisis_model.json", tmp_path)
    with pytest.raises(FlowError) as err:
        load_crisis_words(path)
    message = str(err.value)
    assert str(path) in message, message
    return message


@pytest.mark.parametrize(("change", "place"), [
    ({"selfharn": ["mau mati"]}, "selfharn"),  # an unknown group
    ({"sexual": []}, "sexual"),  # an empty list
    ({"child": "anak dipukul"}, "child"),  # not a list
    ({"violence": ["dipukul", {"a": 1}]}, "violence[1]"),  # not a phrase
    ({"injury": ["luka @wound"]}, "injury[0]"),  # an unknown set
    ({"spellings": ["sa", "saya"]}, "spellings"),  # not a mapping
    ({"sets": {"child": ["anak kecil"]}}, "sets.child"),  # two words in a set
    ({"gap": "two"}, "gap"),
    ({"imminent": {"selfharm": ["metod"]}}, "imminent.selfharm[0]"),  # no such marker
    ({"imminent": {"selfharn": "always"}}, "imminent.selfharn"),  # no such group
    ({"markers": {"violence": ["parang"]}}, "markers.violence"),  # a marker named like a group
    ({"gap_stops": {"harms_other": ["@perp"]}}, "gap_stops.harms_other"),  # no such kind
    ({"gap_stops": {"harms_others": ["@nobody"]}}, "gap_stops.harms_others[0]"),
    ({"harms_others": ["+saya pukul"]}, "harms_others[0]"),  # `+` with nothing before it
    ({"if_minor": {"sexal": ["dia hamil"]}}, "if_minor.sexal"),  # no such group
    ({"if_minor": {"sexual": "dia hamil"}}, "if_minor.sexual"),  # not a list
])
def test_bad_lists_are_refused_naming_file_and_key(
        tmp_path: Path, change: dict[str, object], place: str) -> None:
    """load_crisis_words refuses bad data with a FlowError naming the file and the key."""
    assert place in broken(tmp_path, change)


def test_a_hash_that_yaml_would_read_as_a_comment_is_refused(tmp_path: Path) -> None:
    """`- ditinggal # hari` is "ditinggal" to YAML: every child left at the office would be a
    danger. The file is refused, naming the line, rather than read as something else."""
    text = (FLOWS_DIR / "crisis.yaml").read_text(encoding="utf-8")
    assert '"ditinggal # hari"' in text
    path = tmp_path / "crisis.yaml"
    shutil.copy(FLOWS_DIR / "crisis_model.json", tmp_path)
    path.write_text(text.replace('"ditinggal # hari"', "ditinggal # hari", 1), encoding="utf-8")
    with pytest.raises(FlowError, match=r"line \d+: a phrase with `#` must be in quotes"):
        load_crisis_words(path)
    path.write_text(text.replace('"ditinggal # hari"', '"ditinggal # hari"  # a comment', 1),
                    encoding="utf-8")
    assert load_crisis_words(path).scan("anak ditinggal 4 hari").groups == ("child",)


@pytest.mark.parametrize(("text", "groups"), [
    ("sa pu ade prempuan umur 13 su hamil 4 bulan", ("sexual",)),
    ("anak sa yg prempuan 12 thn hamil", ("sexual",)),
    ("om itu su tidur sama sa dari sa kelas 6", ("sexual",)),
    ("dorang mo kasih kawin sa pu ade umur 14 thn deng laki2 dari kampung", ("child",)),
    # the same words without a child's age, or with the age in another sentence
    ("sa pu ade prempuan su hamil 4 bulan, sa senang", ()),
    ("sa pu istri hamil, anak pertama umur 3 tahun", ()),
    ("anak sa umur 20 tahun su hamil, kami senang", ()),
    ("dorang mo kasih kawin sa pu kaka bulan depan", ()),
])
def test_some_phrases_count_only_beside_a_childs_age(text: str, groups: tuple[str, ...]) -> None:
    """`if_minor` phrases (a pregnancy, a marriage) are danger only in a sentence that gives an
    age under 18 (`#young`, `kelas 6`)."""
    assert WORDS.scan(text).groups == groups


def test_no_victim_in_the_corpus_is_answered_as_someone_who_hurts_others() -> None:
    """The texts of the first kind of danger in FOCUS_ORDER lead, and harms_others comes
    early: a danger message of any other kind must never have harms_others as its focus
    (a threatened mother would be told how to stop hurting her children)."""
    wrong = []
    for text, group, _ in CORPUS.danger:
        scan = WORDS.scan(text)
        pool = scan.imminent or scan.groups
        focus = next((g for g in FOCUS_ORDER if g in pool), None)
        if group != "harms_others" and focus == "harms_others":
            wrong.append(text)
    assert wrong == []


def test_every_self_harm_message_in_the_corpus_gets_the_self_harm_texts() -> None:
    """A person who writes of ending their life hears the self-harm texts (healing119, do not
    stay alone), never the violence texts ("find a safe place"), even where violence words
    made the message imminent ("sa mo habisi sa pu nyawa sendiri" matched `habisi ku`)."""
    wrong = []
    for text, group, _ in CORPUS.danger:
        scan = WORDS.scan(text)
        pool = scan.imminent or scan.groups
        if group == "selfharm" and scan.groups and \
                next(g for g in FOCUS_ORDER if g in pool) != group:  # a miss: recall's
            wrong.append(text)
    assert wrong == []


def test_poison_given_by_someone_else_is_violence_not_self_harm() -> None:
    """"kasi sa minum racun" (made me drink poison) is violence and P0, never the writer's
    own "minum racun"; a glass of water or medicine given is nothing."""
    forced = WORDS.scan("sa pu laki kasi sa minum racun rumput tadi paksa")
    assert forced.groups == ("violence",) and forced.imminent == ("violence",), forced
    assert WORDS.scan("sa mau minum racun").imminent == ("selfharm",)
    assert not WORDS.scan("tolong kasi sa minum, sa haus skali")
    assert not WORDS.scan("mama kasi sa minum obat tadi")


def test_a_parent_who_would_take_the_children_along_is_p0() -> None:
    """Self-harm words with the children ("bunuh diri sama anak-anaknya") are P0."""
    scan = WORDS.scan("dia bilang mau bunuh diri sama anak-anaknya")
    assert scan.imminent == ("selfharm",), scan
    assert WORDS.scan("dia bilang mau bunuh diri").imminent == ()


def test_the_real_lists_load_with_every_group() -> None:
    """The shipped lists have every group, and scan returns the engine's shapes."""
    assert isinstance(WORDS, CrisisWords)
    scan = WORDS.scan("sa pu paitua pukul sa tiap malam")
    assert scan and scan.groups == ("violence",) and WORDS.groups_in("halo") == []
    assert not WORDS.scan("🙏") and not WORDS.scan("12345")


@pytest.mark.parametrize("text", [
    "suami marah sama sa trus pukul sa", "de marah sama sa trus tampar sa",
    "sa pu suami marah sama sa sampe pukul sa", "sa takut nanti pukul sa lagi",
    "suami marah sa langsung pukul sa", "suami suka lempar barang ke saya dan cekik leher saya",
])
def test_a_writer_who_was_hit_is_not_read_as_hurting_others(text: str) -> None:
    """`saya ... pukul` inside "X marah sama sa trus pukul sa": the `pukul` is `pukul sa`, the
    writer was hit (`not_when`). Read as hurting others, a victim got the text for someone
    who hurts their family (found by replies written as families write, 2026-12-06)."""
    assert groups(text) == ("violence",)


@pytest.mark.parametrize(("text", "found"), [
    ("dia marah, sa lalu pukul dia", ("harms_others",)),
    ("sa pukul de karena de pukul sa duluan", ("violence", "harms_others")),
    ("sa marah2 trus sama sa pu istri sampe tampar, sa mo ubah", ("violence", "harms_others")),
])
def test_a_writer_who_hits_is_still_read_as_hurting_others(text: str,
                                                           found: tuple[str, ...]) -> None:
    assert groups(text) == found


def test_a_child_gone_for_days_is_danger_now_and_a_husband_is_not() -> None:
    """A girl of 17 gone four days with a man of 25 is a child in danger now (a walk-through:
    not read as danger at all); a husband three days away is no child, and an adult who ran
    off with a partner is no danger."""
    gone = WORDS.scan("sa pu anak prempuan umur 17 lari ikut de pu pacar su 4 hari tra pulang",
                      model=False)
    assert gone.groups == ("child",) and gone.imminent == ("child",), gone
    assert WORDS.scan("sa pu nona umur 16 kabur ikut laki2", model=False).groups == ("child",)
    for text in ("paitua su 3 hari tra pulang", "sa umur 30 lari ikut pacar ke jayapura"):
        assert not WORDS.scan(text, model=False), text


def test_children_left_with_the_one_who_hurts_are_in_danger() -> None:
    """"anak2 masih di dalam rumah deng de" from a woman who fled a man with a machete (a
    walk-through: not read as danger); "deng de pu nenek" (their grandmother) is not."""
    for text in ("anak2 masih di dalam rumah deng de", "io anak2 ada di rumah deng de"):
        assert WORDS.scan(text, model=False).groups == ("child",), text
    assert not WORDS.scan("anak2 ada di rumah deng de pu nenek", model=False)


def test_children_still_inside_after_a_blow_is_danger_now() -> None:
    """A mother who fled and left the children inside, without "deng de" (a walk-through:
    P1, not danger now); a child still in the womb, or children at home while she is at the
    market, are not."""
    for text in ("paitua pukul sa. sa lari ke tetangga, anak2 masih di dalam rumah",
                 "paitua pukul sa, anak2 masih di dalam rumah deng de",
                 "de pukul sa trus sa lari, anak2 masih di dalam"):
        assert "violence" in WORDS.scan(text, model=False).imminent, text
    assert not WORDS.scan("paitua pukul sa waktu sa hamil, anak masih di dalam kandungan",
                          model=False).imminent
    assert not WORDS.scan("anak2 masih di dalam rumah, sa di pasar", model=False)


def test_how_the_writer_is_since_is_not_sexual_abuse_now() -> None:
    """"bulan lalu sa diperkosa. skarang sa takut keluar rumah" was P0 by its `sekarang` (a
    walk-through); how she is since (afraid, pregnant, sleepless) is not abuse now. The one
    who abused still in the house, or abuse now, still is."""
    for text in ("bulan lalu sa diperkosa sa pu om. skarang sa takut keluar rumah",
                 "sa diperkosa sebulan yang lalu. skrg sa hamil",
                 "satu bulan lalu om perkosa sa. sekarang sa tra bisa tidur"):
        scan = WORDS.scan(text, model=False)
        assert scan.groups == ("sexual",) and not scan.imminent, text
    for text in ("om perkosa sa. skarang de masih tinggal di rumah", "om perkosa sa sekarang",
                 "om perkosa sa, skarang sa takut de datang malam ini"):
        assert WORDS.scan(text, model=False).imminent == ("sexual",), text


def test_the_writer_hit_by_a_child_or_calling_the_bot_anak_is_no_child_hurt() -> None:
    """An old man who calls the bot "anak" ("sa sendiri yang kena pukul anak", a
    walk-through) was read as telling of a child hurt, and got the child lines; so was "sa
    kena pukul sa pu anak" (hit by his son). A child hit, or hit before the children, still is."""
    for text in ("sa ini su tua anak, sa sendiri yang kena pukul anak",
                 "sa kena pukul sa pu anak", "saya dipukul anak saya"):
        scan = WORDS.scan(text, model=False)
        assert scan.groups == ("violence",) and not scan.child, text
    for text in ("bapa pukul anak", "sa dipukul depan anak2", "ade dipukul anak tetangga"):
        scan = WORDS.scan(text, model=False)
        assert "child" in scan.groups and scan.child, text


def test_a_father_who_may_lose_control_or_keeps_a_machete_ready_harms_others() -> None:
    """A father in a custody fight: "sa takut sa gelap mata" went unnoticed, and "sa pu parang
    su sa simpan di motor, kalo besok dong usir sa lagi, dong liat saja" got the victim's
    "hide" text (a walk-through). He is one who may hurt others, the machete makes it now;
    his wife's words that her husband says "ko liat saja" are not his."""
    assert WORDS.scan("sa su sabar, tapi kalo de pu keluarga tahan trus, sa takut sa gelap "
                      "mata", model=False).groups == ("harms_others",)
    scan = WORDS.scan("de pu kaka laki2 usir sa. sa pu parang su sa simpan di motor, kalo "
                      "besok dorang usir sa lagi, dorang liat saja", model=False)
    assert "harms_others" in scan.imminent
    assert "harms_others" not in WORDS.scan("paitua bilang: ko liat saja", model=False).groups


KARAOKE = ("kaka sa mo tanya. sa pu ade prempuan umur 16 dibawa tanta dari nabire ke timika, "
           "katanya kerja jaga toko. tapi ternyata de kerja di tempat karaoke, malam2 de harus "
           "temani om2 minum. de sms sa diam2, bilang de mo pulang tapi bos tahan de pu hp deng "
           "ktp, bilang de masih ada utang tiket")


def test_a_girl_held_in_a_karaoke_bar_is_a_child_in_danger_told_by_her_sister() -> None:
    """Her sister told of a girl of 16 made to sit with men drinking, her phone and ID held
    (a walk-through: read by the model alone as the sister's own sexual violence, with
    "mencegah kehamilan" advice to her). A child in danger now, someone else's; an adult
    who works at a karaoke bar, or a child's age in a story with no danger, is not."""
    scan = WORDS.scan(KARAOKE, model=False)
    assert scan.imminent == ("child",) and scan.other
    assert not WORDS.scan("sa kerja di tempat karaoke, sa 24 tahun", model=False)
    assert not WORDS.scan("sa pu ade umur 15 su tra sekolah. de kerja di toko", model=False)


def test_a_neighbour_writing_in_english_of_toddlers_left_alone_for_days() -> None:
    """"Parents went to town 2 days ago and have not come back ... I dont think they ate since
    yesterday" (a walk-through: read by the model alone, P1, the emergency two turns late):
    a child in danger now, someone else's."""
    scan = WORDS.scan("Next door there are 3 small kids, the youngest maybe 2. Parents went "
                      "to town 2 days ago and have not come back, the kids have been crying "
                      "all night and I dont think they ate since yesterday.", model=False)
    assert scan.imminent == ("child",) and scan.other
    assert not WORDS.scan("my son has had a fever since yesterday", model=False)


@pytest.mark.parametrize("text", [
    "dulu bapa tiri sering perkosa sa, skarang de su meninggal",
    "sa diperkosa waktu masih SMA, skarang sa su kerja",
])
def test_how_life_went_on_since_is_no_abuse_now(text: str) -> None:
    """Sexual violence long ago, then how life went on ("skarang de su meninggal", "skarang
    sa su kerja"): `sekarang` there is no abuse now (not_when.now), so not P0 at night."""
    scan = WORDS.scan(text)
    assert scan.groups == ("sexual",) and not scan.imminent


# -- sexual violence told as recent (walk S) ------------------------------------------------

RECENT = yaml.safe_load((REPO / "tests" / "data" / "sexual_recent.yaml").read_text("utf-8"))


def test_sexual_violence_told_as_recent_is_imminent_and_long_ago_is_not() -> None:
    """An assault told within about 3x24 hours ("tadi", "semalam", "2 hari lalu", typos)
    is imminent with `recent` (P0 by `sexual_recent`): recall >= 0.95 on
    tests/data/sexual_recent.yaml; told as long ago, or with no assault on the body (photos,
    a forced marriage, groping), it stays sexual and not imminent, and ordinary messages
    with a time word are not made imminent: no false alarm. The figures are printed."""
    def p0(text: str) -> bool:
        scan = WORDS.scan(text)
        return scan.recent and "sexual" in scan.imminent

    caught = [t for t in RECENT["recent"] if p0(t)]
    raised = {k: [t for t in RECENT[k] if p0(t) or WORDS.scan(t).imminent]
              for k in ("old", "not_body", "ordinary")}
    print(f"\nrecent sexual violence caught {len(caught)}/{len(RECENT['recent'])}; "
          + "; ".join(f"{k} raised {len(v)}/{len(RECENT[k])}" for k, v in raised.items()))
    assert len(caught) / len(RECENT["recent"]) >= MIN_RECALL, \
        sorted(set(RECENT["recent"]) - set(caught))
    assert raised == {"old": [], "not_body": [], "ordinary": []}
    assert all("sexual" in WORDS.scan(t).groups for t in RECENT["old"] + RECENT["not_body"])


@pytest.mark.parametrize(("text", "recent"), [
    ("sa diperkosa tadi malam", True),
    ("bukan tadi, su 2 minggu lalu om perkosa sa", False),  # the time negated
    ("2 hari lalu sa diperkosa", True),
    ("5 hari lalu sa diperkosa", False),  # `#few`: 1 to 3 days only
    ("waktu sa kecil, om perkosa sa. tadi sa baru berani cerita", False),  # of the telling
    ("dulu om perkosa sa, tadi de perkosa sa lagi", True),  # another sentence, today
    ("om tra perkosa sa tadi", False),  # the assault negated
    ("kemarin dia ancam sebar sa pu video telanjang", False),  # images: no visum in 72 hours
])
def test_recent_reads_the_time_the_assault_and_long_ago(text: str, recent: bool) -> None:
    """`recent` needs an assault on the body, a time within about three days that is not
    negated nor of the telling, and an assault sentence not told as long ago."""
    assert WORDS.scan(text).recent is recent


@pytest.mark.parametrize(("text", "now"), [
    # walk V-8: when it was told is not when it happens
    ("sa pu anak perempuan 14 tahun diperkosa om nya tahun lalu, baru de cerita skarang",
     False),
    ("de baru cerita skarang ke sa, om nya perkosa de waktu liburan", False),
    ("sa baru berani cerita skarang, bapa tiri sering perkosa sa waktu sa smp", False),
    ("om su buka pintu, skarang de mo perkosa sa", True),
    ("sa baru cerita skarang, om masih di rumah, de perkosa sa tadi", True),
])
def test_a_telling_only_now_is_no_danger_now(text: str, now: bool) -> None:
    scan = WORDS.scan(text)
    assert "sexual" in scan.groups and bool(scan.imminent) is now, scan


# -- danger long over, news and dreams (batch C-tune, 2026-12-08) ----------------------------

@pytest.mark.parametrize("text", [
    "10 thn lalu sa dipukul paitua, skarang aman",
    "5 tahun lalu sa dikurung di kamar, skarang sa aman",  # was P1 violence before C-tune
    "dulu waktu kecil sa sering dipukul bapa pake rotan krn nakal. skrg sa su jadi bapa, sa "
    "tra mau ulang itu ke sa pu anak. ada kelas parenting?",
    "tete sa dulu ikut perang suku tahun 80an, skrg de su tua dan pelupa. ada bantuan lansia?",
    "sa su lapor polisi 2 thn lalu dan pelaku su dipenjara 8 thn. skrg sa baik2 saja",
])
def test_violence_long_over_and_safe_now_is_no_danger(text: str) -> None:
    """Blows told of long ago, and the writer saying it is over now ("skarang aman", "skrg
    sa su jadi bapa"): no numbers, and the model is not asked either."""
    assert not WORDS.scan(text), WORDS.scan(text)


@pytest.mark.parametrize(("text", "group"), [
    ("dulu sering dipukul, tadi juga", "violence"),  # a word of now
    ("10 thn lalu sa dipukul, skarang aman tapi de masih ancam sa", "violence"),
    ("dulu de pukul sa, skarang aman. tapi de pukul sa lagi td malam", "violence"),
    ("10 thn lalu dipukul, skarang blum aman", "violence"),  # not said safe
    ("dulu bapa tiri perkosa sa, skarang su aman", "sexual"),  # never long over
    ("dulu sa pernah coba bunuh diri, skrg su baik", "selfharm"),
    ("dulu de pukul sa pu anak, skrg aman", "child"),  # a child's harm, not the writer's own
    # grown up is not safe (is she still in his house?); "jadi" only a parent
    ("waktu sa umur 10 sa sering dipukul bapa, skarang sa su besar", "violence"),
    ("dulu sa dipukul bapa, skrg sa su jadi korban paitua", "violence"),
])
def test_danger_of_now_beside_long_ago_is_still_danger(text: str, group: str) -> None:
    """The long-over rule never silences a word of now, danger in a sentence of now, sexual
    violence, self-harm, or another's child hurt before."""
    assert group in WORDS.scan(text, model=False).groups, WORDS.scan(text, model=False)


@pytest.mark.parametrize("text", [
    "sa baca di koran ada anak hilang di SP 12 tapi su ketemu, syukur",
    "ada berita kasus bunuh diri di kwamki minggu lalu, sa cuma mo tanya penyuluhan",
    "film tadi malam di TV seram skali, ada orang dibunuh pake kampak, anak2 tra bisa tidur",
    "tadi malam sa mimpi ada orang kejar sa bawa parang",
])
def test_news_a_film_or_a_dream_is_not_lived(text: str) -> None:
    """What the writer read, watched or dreamed: its danger words are not the family's."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


@pytest.mark.parametrize(("text", "group"), [
    ("di berita ada perempuan dipukul suami, sama seperti sa", "violence"),
    ("film tadi malam seram, paitua pukul sa waktu kami nonton", "violence"),
    ("sa pu anak masuk berita krn dipukul guru", "violence"),
    ("sa mimpi buruk terus sejak paitua pukul sa", "violence"),
    ("dapat berita dari kampung, ade dipukul de pu suami", "violence"),
])
def test_the_writers_own_danger_beside_news_is_still_danger(text: str, group: str) -> None:
    """`story_not` ("sama seperti sa", "sa pu", "sejak") and `story_end` (a sentence that
    names the writer's own) keep the family's danger."""
    assert group in WORDS.scan(text, model=False).groups, WORDS.scan(text, model=False)


@pytest.mark.parametrize(("text", "imminent"), [
    ("sa skarang berdiri di pinggir jembatan, air di bawah deras", True),
    ("obatnya masih sa pegang di tangan", True),
    ("de bilang de mo bunuh diri. barusan de masuk kamar bawa tali jemuran dan kunci pintu",
     True),
    ("kemarin sa coba gantung tp talinya putus", True),
    ("apa dosa kalo orang mati dgn tangan sendiri?", False),
])
def test_self_harm_told_sideways_is_found(text: str, imminent: bool) -> None:
    """Batch C-tune: the edge of a bridge, the pills still in the hand, a room locked after
    words of dying, an attempt told, death "by one's own hand" asked as a sin."""
    scan = WORDS.scan(text, model=False)
    assert scan.groups == ("selfharm",) and bool(scan.imminent) is imminent, scan


@pytest.mark.parametrize("text", [
    "sa berdiri di pinggir jalan tunggu ojek", "sa pegang obat dari puskesmas",
    "paitua masuk kamar dan kunci pintu, de marah", "sa mo gantung baju di luar",
])
def test_everyday_edges_pills_and_doors_are_no_self_harm(text: str) -> None:
    """The same words without a bridge, without the means held still, without words of
    dying: nothing."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


@pytest.mark.parametrize(("text", "imminent"), [
    ("cuma tampar sedikit sj sih tiap malam, sy sdh biasa. sy mau tanya biaya cerai", False),
    ("de kirim sms: 'sa kasi abis ko deng ko pu keluarga'", True),
    ("de masih di luar pintu, pegang besi", True),
    ("ada laki2 seret perempuan masuk mobil, perempuan teriak2 minta tolong", True),
    ("bapa ada kejar mama pake piso", True),
])
def test_violence_made_small_quoted_or_witnessed_is_found(text: str, imminent: bool) -> None:
    """Batch C-tune: blows made small, a threat quoted from a text message ("ko" is the
    writer), an iron bar at the door, a woman dragged into a car, the Papuan "piso"."""
    scan = WORDS.scan(text, model=False)
    assert "violence" in scan.groups and bool(scan.imminent) is imminent, scan


@pytest.mark.parametrize("text", [
    "bapa pigi berburu, de panah babi hutan dua ekor",
    "kemarin babi kena panah di kebun tete",
    "kitong bakar batu utk syukuran, potong babi 3 ekor",
    "persipura dipukul 3-0 lawan persija tadi malam",
    "anak tetangga suka lempar batu kecil ke atap rumah waktu main",
    "sa kasi abis nasi deng ikan, sa kenyang",
])
def test_hunting_football_and_children_at_play_are_no_violence(text: str) -> None:
    """An animal shot with an arrow, a score, stones thrown in play, food finished."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


def test_a_score_is_no_beating_but_blows_counted_are() -> None:
    """"dipukul 3-0" is a score; "dipukul 2-3 kali" is blows."""
    assert "violence" in WORDS.scan("sa dipukul 2-3 kali sama paitua", model=False).groups


@pytest.mark.parametrize(("text", "imminent"), [
    ("om sa sering pegang sa di tempat yg tra boleh kalo sa nginap di rumah nene", False),
    ("de diancam bos, kalo tra mau tidur dgn dia kontraknya diputus", False),
    ("sa dapa paksa tadi malam di pesta, sa tra ingat banyak", True),  # within 3x24 hours
    ("laki2 itu masih di luar kamar mandi, de intip sa dari tadi", True),
    ("bapa bilang sa harus 'layani' de pu teman yg bayar uang sekolah", False),
    ("sa pu anak nona 8 thn baru pulang, ada darah di celana dalam", True),
    ("ada yg tawarkan anak2 perempuan di aplikasi", False),
    ("pace tua panggil anak2 kecil masuk rumah kasi uang, baru anak2 keluar menangis", False),
    ("anak sy yg 10 thn 'diganggu' kakeknya", False),
    ("sa pu ade perempuan 13 thn perutnya makin besar", False),
    ("ada pasien remaja 15 th hamil", False),
])
def test_sexual_violence_in_euphemisms_is_found(text: str, imminent: bool) -> None:
    """Batch C-tune: the lists found sexual violence in 1 of its 12 messages."""
    scan = WORDS.scan(text, model=False)
    assert "sexual" in scan.groups and bool(scan.imminent) is imminent, scan


@pytest.mark.parametrize("text", [
    "anak sa kalau tra mau tidur sama mama de menangis",
    "anak perempuan sa 5 thn perutnya besar krn cacingan",
    "sa layani mama pu teman di warung tadi",
    "sa pu anak suka intip sa pu hp",
    "sa dipaksa kerja lembur tadi malam",
])
def test_sleep_a_belly_serving_and_a_phone_are_no_sexual_violence(text: str) -> None:
    """The same words of a child's bedtime, worms, a shop, a phone, overtime."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


@pytest.mark.parametrize(("text", "imminent"), [
    ("anak piara disuruh jual pinang sampe malam dan tra sekolah", False),
    ("paitua bilang kalo bayi menangis lagi de buang ke kali. tadi de angkat bayi kasar skali",
     False),
    ("bayi ini kami temukan di depan pintu rumah tadi malam, masih merah", True),
    ("ada anak kecil tidur di emperan toko su 3 malam, tra ada orang tua", True),
    ("dua anak kecil main di pinggir kali, air su naik dan trada orang tua", True),
    ("mo bawa sa pu ade perempuan 15 thn kerja di kafe", False),
    ("ade laki2 sa umur 14 su 2 hari ikut orang ke pendulangan", False),
])
def test_a_child_sold_handled_roughly_left_or_taken_is_found(text: str, imminent: bool) -> None:
    """Batch C-tune: child labour, a baby handled roughly, a foundling, children with no
    parent anywhere, a girl taken to a café, a boy gone to the gold-panning sites."""
    scan = WORDS.scan(text, model=False)
    assert "child" in scan.groups and bool(scan.imminent) is imminent, scan


@pytest.mark.parametrize("text", [
    "sa su tra ada orang tua, mau urus akta kematian bapa",
    "sa kerja di kafe dekat pasar, mau tanya konseling pranikah",
    "sa disuruh kerja sampai malam sama bos",
    "anak sa su jam 10 malam blum tidur, main hp terus",
])
def test_an_orphan_adult_a_cafe_job_and_a_late_child_are_no_danger(text: str) -> None:
    """The writer's own parents gone, an adult's job, overtime, a child up late."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


@pytest.mark.parametrize("text", [
    "tadi dong siram air aki ke sa pu muka, mata perih sekali sa tra bisa liat",
    "ada korban di depan rumah kami, ditikam orang mabuk di perut",
    "kitong tekan pake kain, ambulans belum datang",
    "sa pu kaka tangan kena parang waktu baku potong deng de pu ipar, darah tra brenti",
])
def test_acid_a_stabbing_and_a_machete_fight_are_injuries_now(text: str) -> None:
    """Batch C-tune: battery acid in the face, a stabbing told with where it landed ("di
    perut": `di @body` never matched the joined "diperut"), a wound pressed while the
    ambulance does not come, a machete fight (no accident: not the health post alone)."""
    scan = WORDS.scan(text, model=False)
    assert "injury" in scan.imminent and not scan.accident, scan


def test_battery_water_for_a_car_is_no_injury() -> None:
    """"air aki" bought for a car or a motorbike is nothing."""
    assert not WORDS.scan("sa mo beli air aki utk motor", model=False)


@pytest.mark.parametrize("text", [
    "TOLONG KAMI CEPAT SKALI", "ada yg bisa datang skrg? ribut besar di rumah, sa takut skali",
    "🙏🙏🙏 siapa saja datang ke rumah sa skrg", "tolong sa skarang juga",
])
def test_a_plea_to_come_now_is_help_now(text: str) -> None:
    """Batch C-tune: "tolong ... cepat" as a whole plea, anyone asked to come now."""
    assert WORDS.scan(text, model=False).imminent == ("help_now",), WORDS.scan(text)


@pytest.mark.parametrize("text", ["tolong sa cepat dapat bantuan PKH",
                                  "siapa saja datang ke acara besok?",
                                  "petugas bisa datang hari kamis?"])
def test_asking_for_speed_or_a_visit_is_no_plea(text: str) -> None:
    """"tolong ... cepat" inside a request, who comes to an event, a visit asked for a day."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


@pytest.mark.parametrize(("text", "imminent"), [
    ("sa laki2. maitua selingkuh. sa su asah parang, malam ini sa mo pi cari laki2 itu", True),
    ("tolong jauhkan sa dari sa pu bayi. sa rasa mau tutup de pu mulut biar de diam", True),
    ("sa pu marga su siap balas. sa juga su pegang busur. kalo malam ini dong datang sa panah "
     "dong semua", True),
    ("kalo paitua pukul sa sekali lagi, sa siram de pake air mendidih waktu de tidur", False),
    ("sa mabuk skarang dan sa su di depan de pu rumah bawa kampak", True),
])
def test_a_writer_about_to_hurt_someone_is_heard(text: str, imminent: bool) -> None:
    """Batch C-tune: a sharpened machete and a man to find tonight, a mother begging to be
    kept from her baby, a clan's revenge and a bow, boiling water, an axe at a door. The
    writer's danger to others leads (FOCUS_ORDER), also beside the words of a victim."""
    scan = WORDS.scan(text, model=False)
    assert "harms_others" in scan.groups and bool(scan.imminent) is imminent, scan
    assert next(g for g in FOCUS_ORDER if g in (scan.imminent or scan.groups)) == \
        "harms_others"


@pytest.mark.parametrize("text", [
    "sa su asah parang untuk ke kebun besok",
    "sa su pegang busur mo pergi berburu",
    "sa siram bunga pake air tiap sore",
])
def test_a_garden_a_hunt_and_flowers_are_no_harm_to_others(text: str) -> None:
    """A machete sharpened for the garden, a bow for the hunt, flowers watered."""
    assert not WORDS.scan(text, model=False), WORDS.scan(text, model=False)


def test_knives_hidden_away_are_no_writer_in_hiding() -> None:
    """"sa su sembunyi semua piso" hides the knives from oneself: not `@me sembunyi`."""
    scan = WORDS.scan("ada suara suruh sa tikam orang. sa su sembunyi semua piso", model=False)
    assert "help_now" not in scan.groups and "harms_others" in scan.groups, scan


@pytest.mark.parametrize("text", [
    # a review of batch C's tuning: a rule for danger long over, news or dreams, or a
    # football score, silenced danger now
    "dulu suami pukul sa. sa su aman, tapi de lagi di jalan ke sini",
    "tahun lalu de tikam sa. sa su aman sekarang tp de su keluar dari penjara dan ada di "
    "depan rumah",
    "sa tra punya mimpi lagi, mau gantung diri saja malam ini",
    "semua mimpi su hancur. mau gantung diri malam ini",
    "sa tra bisa tidur krn mimpi buruk. mau minum racun malam ini",
])
def test_safe_now_news_and_dreams_never_hide_danger_now(text: str) -> None:
    assert WORDS.scan(text).imminent, WORDS.scan(text)


@pytest.mark.parametrize("text", ["sa dipukul 2-3 sama paitua tadi",
                                  "tadi malam sa dipukul 5-6 oleh dorang"])
def test_a_beating_with_numbers_is_no_football_score(text: str) -> None:
    assert "violence" in WORDS.scan(text).groups
