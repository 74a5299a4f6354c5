"""Notices (flows/phrases.yaml `notices`): a short word of help where LK3 is not the help,
said once, first, wherever a family writes it, and the conversation goes on. Measured on
what mothers of sick children write, and on ordinary messages and danger, which must not
get it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.definition import FlowError
from flows.engine import Engine
from flows.loader import FLOWS_DIR, load_notices
from flows.types import Inbound, Snapshot

NOW = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 22:30 WIT, a Monday night

SICK = [
    "mlm ibu, sa pu anak umur 2 thn panas tinggi skali dari sore tra mau makan, malam begini "
    "sa bawa kemana kah",
    "tolong ibu sa pu anak sakit panas",
    "bayi sa demam dan muntah terus",
    "sa pu cucu diare dari pagi",
    "ade kecil sesak napas",
    "anak sa malaria lagi, puskesmas buka malam ka",
    "de sakit panas, sa harus bawa ke rumah sakit ka",
    "my child has a high fever, which hospital is open",
    "anak2 batuk dan panas",
    "sa pu anak demam, sa bawa kemana",
]
ORDINARY = [
    "halo", "1", "iya", "panas skali hari ini", "anak sa tra mau sekolah",
    "sa mau konseling pra nikah", "paitua mabuk tiap sabtu", "sa sakit hati deng paitua",
    "sa pu mama su tua, perlu bantuan", "cucu tra sekolah karena tra ada uang",
    "kantor dinsos di mana", "sa mau ke rumah sakit jenguk tanta",
    # the child and the illness far apart, or not an illness of the body (a walk-through)
    "slamat siang anak, sa mama tua, cucu tiga, yang besar 12 thn, uang su habis, sa sakit kaki",
    "sa pu adik laki2 su 2 bulan tra mau makan, bicara sendiri, sa rasa de sakit jiwa",
    # a health card is the question (walk N)
    "bapa pu kartu bpjs su tra aktif, bapa sakit gula harus ambil obat di rsud",
]
LOCATE = [
    "sa pu maitua su bawa lari anak2 pulang ke de pu kampung di agimuga, sa mau ketemu sa pu "
    "anak. sa bapa dong, sa punya hak. bisa bantu cari tau de tinggal di mana ka",
    "jadi petugas bisa kasih sa de pu alamat ka tra",
    "sa minta petugas kasih sa de pu nomor hp baru",
    "istri sembunyi di mana, tolong kasih tau", "I want her new number", "I need her address",
    # the model alone read this as harming others, and its P1 text came instead (a re-check)
    "where does my wife live now",
]
NOT_LOCATE = ["sa minta alamat kantor", "kantor lk3 alamatnya di mana", "paitua ganti nomor",
              "sa pu anak lari dari rumah, sa tra tau de di mana", "alamat sa di sp2"]
DANGER = ["de pukul anak sa sampe pingsan", "paitua pukul sa, sa pu kepala berdarah"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load("intake")


def _first(engine: Engine, text: str, state: str = "greeting") -> list[str]:
    snap = Snapshot(engine.flow.name, state, "id", {"mode": "chat"} if state != "greeting"
                    else {}, (), 0, engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
    return [r.key for r in turn.replies]


def test_a_sick_child_is_told_of_the_igd_first(engine: Engine) -> None:
    """Each message of a worried mother gets the health notice before anything else."""
    missed = [text for text in SICK if _first(engine, text)[:1] != ["notice.health"]]
    assert not missed, missed
    said = engine.bundle.catalog.render(
        engine.step(Snapshot(engine.flow.name, "greeting", "id", {}, (), 0,
                             engine.flow.version, None, NOW),
                    Inbound("test", "u1", "m1", text=SICK[0]), NOW, "id").replies[0],
        "id", {}).text
    assert "IGD RSUD Mimika" in said and "24 jam" in said


def test_no_notice_on_ordinary_messages_or_beside_danger(engine: Engine) -> None:
    """Ordinary words ("panas skali hari ini", "sakit hati") get no notice; danger words get
    their own texts (which say where to go), not the notice as well."""
    noticed = [text for text in ORDINARY + DANGER if "notice.health" in _first(engine, text)]
    assert not noticed, noticed


def test_the_notice_is_said_once_and_the_question_goes_on(engine: Engine) -> None:
    """At the danger question, the notice, then the question again; a second sick message
    in the same conversation gets no second notice."""
    snap = Snapshot(engine.flow.name, "danger", "id", {"mode": "chat"}, (), 0,
                    engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="tolong ibu sa pu anak sakit "
                                                               "panas"), NOW, "id")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "notice.health" and turn.snapshot.state == "danger", keys
    again = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="de masih panas "
                                                                         "tinggi"), NOW, "id")
    assert "notice.health" not in [r.key for r in again.replies]
    done = engine.step(again.snapshot, Inbound("test", "u1", "m3", text="3"), NOW, "id")
    assert done.snapshot.answers.get("danger") == "no"


def test_no_one_is_helped_to_find_where_someone_lives(engine: Engine) -> None:
    """Asked for a partner's address or new number (Never 5: a woman who fled may be the one
    looked for), the family hears plainly that LK3 gives no one's whereabouts; the office's
    own address and a missing child are no such request."""
    missed = [text for text in LOCATE if "notice.locate" not in _first(engine, text)]
    assert not missed, missed
    wrong = [text for text in NOT_LOCATE if "notice.locate" in _first(engine, text)]
    assert not wrong, wrong
    said = engine.bundle.catalog.texts["id"]["notice.locate"]
    assert "tidak memberi tahu alamat" in said


def test_a_request_for_someones_whereabouts_is_among_the_cases_reasons(engine: Engine) -> None:
    """Staff see on the case that the family asked where someone lives (a walk-through's
    father got a P0 case with no mark of it): a reason beside the others, which raises no
    priority by itself, and an event that says what was asked, in words."""
    snap = Snapshot(engine.flow.name, "greeting", "id", {}, (), 0, engine.flow.version, None,
                    NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text=LOCATE[0]), NOW, "id")
    assert "asked_whereabouts" in turn.snapshot.flags
    assert [e.data for e in turn.events if e.kind == "noticed"] == [
        {"notice": "locate", "state": "greeting"}]
    triage = engine.bundle.triage
    alone = triage.assess({"asked_whereabouts": "yes"})
    assert (alone.priority, alone.reasons) == ("P3", ("asked_whereabouts",))
    beside = triage.assess({"asked_whereabouts": "yes", "danger": "now"})
    assert beside.priority == "P0" and "asked_whereabouts" in beside.reasons
    assert "tidak diberikan" in triage.label("asked_whereabouts", "id")


def test_a_notice_without_its_text_is_refused(tmp_path: Path) -> None:
    """A notice whose `notice.NAME` text is missing from a catalog stops loading, naming it."""
    from flows.catalog import load_catalog
    from flows.loader import _load_lists

    _, labels = _load_lists(FLOWS_DIR / "lists.yaml")
    catalog = load_catalog(FLOWS_DIR / "catalog", extra=labels)
    path = tmp_path / "phrases.yaml"
    path.write_text("notices:\n  weather:\n    - 'hujan'\n", encoding="utf-8")
    with pytest.raises(FlowError, match=r"notices\.weather.*notice\.weather"):
        load_notices(path, catalog)


# -- questions a danger text does not answer (flows/phrases.yaml `beside_danger`) ----------

POLICE = [
    "kam bisa telpon polisi ka?", "kam bisa kirim polisi ka", "ibu tolong panggil polisi",
    "tolong telponkan polisi", "kaka bisa hubungi polisi ka sa tra bisa bicara",
    "can you call the police for me", "kam kirim orang ka",
    # beside danger words: the emergency text says "call 110", not that the bot cannot
    "tolong panggil polisi, de pukul sa skarang", "kam bisa kirim polisi ke rumah ka, de mo "
    "bunuh sa",
]
NOT_POLICE = [
    "sa su telpon polisi tadi", "tolong jangan panggil polisi, sa cuma mau konseling",
    "jgn lapor polisi e kaka", "polisi su datang tadi", "sa pu bapa polisi",
    "kam jangan kasih tau polisi",
]
WHERE_GO = [
    "sa harus pi mana skarang", "sa harus pergi kemana", "kemana sa harus lari",
    "sa bisa tinggal di mana malam ini", "ada rumah aman ka di timika",
    "where should i go now",
]
NOT_WHERE_GO = [
    "anak sa lari ke mana sa tra tau", "kantor lk3 di mana", "sa mau pi kantor",
    "sa tinggal di kwamki", "de pi mana sa tra tau",
]
FETCH = [
    "sa bole pi jemput de?", "sa mau pi jemput sa pu maitua di rumah de pu kaka",
    "bagaimana supaya de mau pulang", "tolong suruh de pulang", "gimana biar istri balik",
    "can i go get her back", "how can i get my wife to come back",
]
NOT_FETCH = [
    "sa mau jemput anak di sekolah", "sa bole jemput de di bandara", "suami mau jemput sa",
    "de jemput sa tadi", "sa mau pulang ke kampung", "anak sa belum pulang dari kemarin",
]
# afraid that telling means an arrest or a report (re-checks: a woman at consent, a girl of
# 16 pregnant by her teacher, a drunk man who had gone out to calm down)
ARREST = [
    "nanti paitua ditangkap polisi ka?", "kalo sa setuju nanti de ditangkap ka",
    "sa pu suami nanti dipenjara ka", "kam langsung lapor polisi ka",
    "apakah petugas akan lapor ke polisi", "nanti bapa masuk penjara kah, sa takut",
    "will you report this to the police", "will my husband be arrested",
    "kalo sa cerita nanti sa ditangkap polisi ka?", "guru itu nanti ditangkap ka? sa takut",
    "kam mo lapor polisi ka? sa tra pukul de", "lk3 bisa lapor ke polisi ka",
    # a sister afraid for a girl held at a karaoke bar (a walk-through: unanswered)
    "kalo sa lapor nanti bos itu ditangkap ka? sa takut dong marah trus ade yg kena",
    "bos itu nanti ditangkap polisi ka?",
    # a mother whose son threatens her with a knife (a walk-through: not understood twice)
    "tp nanti polisi tangkap sa pu anak ka?", "sa pu anak nanti ditangkap polisi ka",
    "Apakah orang tuanya akan ditangkap?",
]
NOT_ARREST = [
    "sa mau de ditangkap", "sa ditangkap polisi kemarin", "paitua su ditangkap polisi",
    "polisi tangkap sa pu anak kemarin", "apakah anak saya sudah makan",
    "sa mau lapor polisi", "de pernah dipenjara", "kam bisa telpon polisi ka?",
]
SEARCH = [
    # a child gone days, told at length (walk N: "lapor ke mana" unanswered)
    "tolong kk, sa pu anak prempuan 14 thn su 3 hari hilang, ikut laki2 yg de kenal di fb. "
    "sa harus lapor ke mana",
    "kam bisa cari de ka?", "kam bisa cari sa pu anak ka", "tolong cari sa pu anak",
    "kaka tolong sa pu anak prempuan umur 17 lari ikut de pu pacar su 4 hari tra pulang, hp "
    "tra aktif. kam bisa cari de ka? sa tra tau de di mana", "can you help me find my daughter",
    # where to report someone gone (a walk-through: a wife whose husband did not come home)
    "sa pu suami hilang su 3 hari, sa mo lapor ke mana",
    "paitua pigi tra pulang2 su seminggu, hp mati. lapor ke mana ka",
    "sa mo lapor ke mana kalo sa pu anak tra pulang", "where do I report my missing husband",
    "sa pu anak perempuan 14 thn lari dari rumah su 3 hari, tra tau de di mana",  # walk K
    # a child not home for days, or lost, with no question asked (walk U-15)
    "sa pu anak perempuan 14 tahun su 3 hari tra pulang, de ikut laki2 dewasa",
    "sa pu anak laki2 su 2 hari tra pulang, tadi de kirim sms bilang de mo bunuh diri",
    "nona tra pulang su dua malam", "sa pu ade hilang dari kemarin, de baru 10 tahun",
]
NOT_SEARCH = [
    "sa cari kerja", "sa sudah cari de kemana2", "de cari sa terus", "dong cari uang di kota",
    "sa cari kantor lk3", "sa mo lapor ke mana kalo paitua pukul sa",
    "sa pu hp hilang, lapor ke mana", "de su pulang, sa mo lapor ke siapa",
    "sa pu anak hilang sabar", "anak sa su 2 hari tra masuk sekolah karna sakit",
    "anak su pulang tadi malam, su 3 hari de tra mau bicara", "sa pu anak pu hp hilang",
]
DISCLOSE = [
    "de bilang sa pukul de ka?", "maitua ada lapor apa ke kam", "de bilang apa ke kam?",
    "apa yang de ceritakan ke petugas", "de ada lapor ke kam ka", "suami ada chat kalian ka",
    "what did she tell you", "did my wife contact you",
    # a re-check of walk N's husband, asking the second time
    "sa cuma mo tau de cerita apa tentang sa", "sa mau tahu istri lapor apa",
    # walk O: a husband, in his own words (helplines and the welcome, a guess of "only
    # helpline numbers", "Maaf, saya belum mengerti")
    "sa ini suami dari ibu yg lapor ke lk3 kemarin",
    "sa tra butuh nomor2 itu. sa cuma mo tau sa pu istri lapor apa",
    "sa suaminya, sa berhak tau to", "kasi tau sa nomor kasus sa pu istri",
    "sa istrinya, sa berhak tahu kan",
]
NOT_DISCLOSE = [
    "sa tra tau de bilang apa", "de bilang de mau bunuh sa", "de bilang sa jelek, sa sedih",
    "dia cerita ke teman2 soal sa", "sa mau lapor ke kam", "suami bilang sa harus pulang",
    "de cerita tentang sa pu anak ke guru",
    # a wife about her own report, or her rights: not a spouse asking what was told
    "sa mau lapor suami", "sa ibu yg lapor kemarin, kapan petugas datang",
    "sa istrinya, sa berhak tau de pu gaji berapa", "kasi tau sa nomor kasus sa",
    "sa ini istri dari bapak yang pukul sa", "sa berhak tau to",
]
ADAT = [
    "de perkosa sa, keluarganya mo selesaikan secara adat, bisa ka?",
    "keluarga laki2 mo bayar babi deng uang, bisa selesai adat ka",
    "dong minta damai saja, sa harus terima ka",
    "bapa tiri su bayar denda adat, jadi kasus su selesai ka",
    "apa bisa diselesaikan secara kekeluargaan", "nanti ada sidang adat di kampung",
    "his family wants to settle it with pigs and money",
    # walk Q: a wife told to make peace for a payment, a girl of 12 told to keep quiet
    "paitua pukul sa minggu lalu, skarang de minta maaf, keluarga bilang baku damai saja deng "
    "bayar adat. sa harus terima ka?", "jadi sa terima damai adat saja ka kk?",
    "mama bilang jang kasih tau orang nanti malu, nanti selesai adat saja",
]
NOT_ADAT = [
    "acara adat di kampung minggu depan", "sa mau hidup damai deng suami", "pesta adat",
    "mas kawin adat su lunas", "sa kasih makan babi dulu baru chat", "rumah adat",
    "sa orang adat, tinggal di kampung", "kami baku damai su, sa deng paitua su baik",
    "pakaian adat untuk acara sekolah",
    "sa pu bapa ade deng sa pu om baku marah soal tanah ulayat, bisa bantu selesaikan secara "
    "adat ka",
]

SECRET = [
    "sa setuju, tapi jang kasi tau sa pu anak", "iya setuju asal jangan kasih tau sa pu anak",
    "bapa tiri masuk sa pu kamar tiap malam. jang kasi tau mama",
    "sa mau cerita tapi tra usah kasih tau sa pu suami e",
    "paitua pukul sa, jang bilang ke de pu keluarga",
    # a walk-through's questions, thanked as a story before
    "ini rahasia to? sa tra mau sa pu mama tau", "data sa nanti paitua bisa liat ka?",
    "nanti guru itu tau sa yg lapor ka?", "sa tanya, guru itu bisa tau ka kalo sa yg lapor?",
    # whether LK3 tells someone, asked (a walk-through: a girl of 15, not understood)
    "kam kasi tau sa pu orang tua ka?", "nanti kam kasi tau sa pu mama ka", "kam lapor ke "
    "sa pu bapa ka?", "kaka nanti bilang ke mama to?", "sa pu orang tua nanti dikasih tau ka?",
    "sa takut, will you tell my parents?",
    "klo sa setuju nanti kam kasi tau sa pu bapa mama ka?",  # a girl of 17 (a walk-through)
    "jgn sebut sa pu nama ee",  # a neighbour reporting a child (a walk-through)
    # walk U-13: keep my name secret, in common words
    "tolong rahasiakan sa pu nama ya", "rahasiakan nama saya", "sa pu nama tolong dirahasiakan",
    "nama sa jang disebut e",
]
NOT_SECRET = [
    "sa su kasih tau sa pu mama", "tolong kasih tau sa jam buka kantor",
    "jangan lupa kasih makan anak", "anak sa tra mau kasih tau nama pacarnya",
    "guru bilang sa pu anak nakal", "sa pu suami punya rahasia", "sa mau tau sa pu data",
    "sa mau kasi tau sa pu mama dulu", "kam bilang ke sa pu mama saja, de yang urus",
    "sa su lapor ke sa pu bapa", "mama su dikasih tau tadi", "tell my mother I am fine",
    # the same words in ordinary messages
    "nama sa Yosina", "sa tra tau de pu nama", "nama anak sa dirahasiakan di sekolah",
    "de sembunyikan sa pu hp", "sa pu nama di KK salah", "rahasiakan saja dulu",
]

SCHOOL_AID = [
    # a grandmother raising three grandchildren (a walk-through: never answered)
    "sa tra mengerti. ada bantuan uang skola ka tdk", "bantuan uang sekolah ada ka",
    "cucu 3 org sd smp. sa tra kerja, cuma kebun. skola minta uang seragam deng buku. ada "
    "bantuan ka anak", "bisa dapat KIP ka", "is there help with school fees",
]
NOT_SCHOOL_AID = ["anak sa tra mau sekolah", "uang sekolah su bayar",
                  "guru bantu anak sa di sekolah", "de pukul sa pu anak di sekolah"]

IMAGES_DOWN = [
    # a young woman whose ex posted her photos (a walk-through: unanswered)
    "sa harus lapor kemana soal foto itu?",
    "sa mau foto2 itu dihapus dari fb. bisa kam bantu hapus ka?",
    "tolong hapus sa pu video di tiktok", "how do I get the photos taken down, remove my photos",
]
NOT_IMAGES_DOWN = ["sa hapus foto di hp", "foto anak sa di fb bagus", "sa kirim foto KK",
                   "hapus sa pu data"]

LEGAL = [
    # a widow whose brothers want her out of their late father's house (a walk-through)
    "Apa LK3 bisa bantu sa dapat sa pu bagian warisan?",
    "kaka2 bilang minggu depan sa harus keluar dari rumah bapa. sa mo tau LK3 bisa urus "
    "warisan ka atau sa harus ke mana?", "ada sengketa tanah deng sa pu om",
    "can LK3 help with my inheritance",
    # a land quarrel to be settled by adat is no sexual violence (walk O: told it was)
    "sa pu bapa ade deng sa pu om baku marah soal tanah ulayat, bisa bantu selesaikan secara "
    "adat ka", "tanah adat kami dirampas perusahaan, kami mau bawa ke sidang adat",
    "kk sa pu keluarga ada masalah tanah deng marga sebelah", "our customary land was taken",
]
NOT_LEGAL = ["sa pu tanah di kampung", "bapa meninggal bulan lalu", "sa tinggal di rumah bapa",
             "sa mau jual tanah untuk biaya sekolah anak", "anak main di tanah lapang",
             "tanah longsor di kampung"]

AFTER_REPORT = [
    # a teacher and a neighbour reporting children (a walk-through: never answered)
    "Apa yang terjadi sesudah saya lapor? Apakah orang tuanya akan ditangkap?",
    "apakah sekolah harus lapor juga ke polisi, dan apakah nama saya sebagai guru akan disebut?",
    "apa yg nanti petugas bikin? dong datang ke rumah itu ka?",
    "kalo sa lapor, petugas nanti bikin apa", "what happens after I report this",
    # walk K: an old man and a neighbour who reported
    "jgn kasi tau dong sa yg lapor", "nanti de marah sa ka krn sa lapor?",
    # walk U-13, U-6: whom not to tell unsaid; "kalo sa lapor" without "yang"
    "jang kasi tau sa yg lapor", "jangan kasih tau kalau saya yang lapor",
    "jang kasi tau de kalo sa lapor", "tolong rahasiakan kalo sa yg lapor",
]
NOT_AFTER_REPORT = [
    "sa mau lapor", "nama saya Maria", "petugas su bikin apa buat sa",
    "apa yang terjadi sama sa pu anak", "sa su lapor kemarin",
    # the same words in ordinary messages
    "jang lupa kasi tau sa kalo petugas datang", "jangan kasi tau sa kalo de meninggal",
    "de bilang jangan lapor", "sa su lapor ke polisi, de tau sa yang lapor",
    "kasi tau sa kalo sa harus lapor", "sa yang lapor kemarin",
]

WELFARE = [
    "Tetangga bilang mama su 2 hari tra keluar rumah, pintu tutup trus, mama tra angkat telpon",
    "nene tinggal sendiri, dari kemarin tra angkat hp",
    "kam bisa kirim orang pigi liat mama skarang ka? sa jauh",
    "sa tra tau, mungkin mama jatuh di dalam rumah",
    "my father lives alone and has not answered his phone for two days",
    "sa boleh bongkar jendela ka? bayi su tra menangis keras lagi",  # a neighbour
]
NOT_WELFARE = [
    "sa pu anak tra mau keluar rumah, de malas sekolah", "sa tinggal sendiri di kos",
    "mama sakit gula, su kontrol di rsud", "sa su 2 hari tra tidur pikir anak",
    "paitua tra angkat telpon dari tadi, de marah", "suami pulang malam, mungkin de sakit",
]

POLICE_HARM = [
    "tadi malam sa ditangkap polisi di jalan ahmad yani, dong pukul sa di pos sampe sa pu muka "
    "bengkak, gigi goyang. sa mo lapor ke mana?",
    "sa dipukul polisi", "anak sa dihajar aparat waktu demo", "I was beaten by the police",
    # a father of a boy of 17 (a walk-through: sent to the police)
    "sa pu anak laki2 umur 17 tadi sore dong tahan di pos polisi trus dong pukul de pake rotan",
    "kk polisi bole pukul anak sa ka?",  # a father whose son of 16 is held (walk N)
]
NOT_POLICE_HARM = [
    "paitua pukul sa, sa mau lapor polisi", "polisi tangkap paitua karna de pukul sa",
    "sa su lapor polisi tapi belum ada kabar", "kam bisa telpon polisi ka",
    "dong bawa sa ke pos polisi, sa tra dipukul",
]

CHAT_ONLY = [
    # fled and hiding (walk O: then told to phone 110 and go somewhere crowded)
    "sa lari sembunyi di rumah tetangga", "kami terpaksa sembunyi di hutan",
    "jgn telpon, sa cuma bisa chat", "tolong jangan telpon sa, paitua ada di rumah",
    "sa tra bisa bicara, de ada di luar kamar", "sa cuma bisa ketik diam2",
    "sa tra bisa angkat telpon", "chat only please",
    "please don't call me", "I can't talk right now", "saya tuli. kakak saya pukul saya",
    # hiding (walk N)
    "sa di kamar mandi", "sa sembunyi di kamar", "sa lagi sembunyi", "I am hiding",
]
NOT_CHAT_ONLY = [
    "sa mau ditelpon saja", "telpon sa jam 10 pagi", "sa bisa bicara bahasa indonesia",
    "sa tra bisa datang ke kantor", "nanti sa telpon kam", "hp sa rusak, pake nomor lain",
    "paitua tra angkat telpon dari tadi, de marah", "sa cuma bisa datang hari sabtu",
    "sa mau mandi dulu", "kamar mandi rusak", "sa di kamar mandi tadi waktu de datang, skarang "
    "sa aman",
    # the chat itself is read: not "hanya membalas lewat chat ini" (phone_watched below)
    "de suka cek sa pu hp", "chat only please, he checks my calls",
]

# "sa pu paitua suka cek sa pu hp. kalo de tau sa chat ini de marah" (a tester playing a
# family read "petugas ... hanya membalas lewat chat ini", the chat her husband reads)
PHONE_WATCHED = [
    "sa pu paitua suka cek sa pu hp. kalo de tau sa chat ini de marah. de sering tampar sa",
    # walk T: "ada" as Papuan Malay says "is (doing)"; a child who looks at her phone
    "paitua ada baca sa pu hp", "paitua ada cek sa pu hp", "sa pu anak ada lihat sa pu hp",
    "paitua suka cek sa pu hp", "de baca sa pu chat", "de baca sa pu wa", "de baca sa pu sms",
    "de periksa hp sa tiap malam", "kalo de tau sa chat ini de marah",
    "suami sering ambil hp sa", "suami sa sering buka hp sa trus marah2",
    "de suka cek sa pu hp", "sa takut suami baca", "chat only please, he checks my calls",
    "my husband reads my messages", "my husband checks my phone",
    "if he finds out i am chatting with you he will hit me",
    "sa pu mama suka baca sa pu chat, bapa tiri pukul sa",
]
NOT_PHONE_WATCHED = [
    "sa cek hp tadi", "de pinjam hp sa untuk telpon mama", "hp sa rusak",
    "paitua ada liat hp trus", "sa pu anak ada main hp terus",
    "paitua liat hp trus, tra urus anak", "sa su baca pesan dari kam", "anak sa baca buku",
    "mama baca pesan dari guru", "jgn telpon, sa cuma bisa chat", "sa lari sembunyi di rumah "
    "tetangga", "I can't talk right now", "kaka sa cek hp de",
]

NO_SHELTER = [
    "sa tra punya tempat aman malam ini", "sa tra ada tempat tinggal malam ini",
    "sa tra tau mo tidur di mana malam ini, paitua usir sa", "paitua usir sa dari rumah",
    "Kak aku umur 15, aku diusir dari rumah karena hamil, aku gak punya tempat tinggal",
    "I have no safe place tonight", "he kicked me out of the house",
]
NOT_NO_SHELTER = [
    "sa tinggal di rumah mama", "sa tra punya uang untuk sewa kos", "sa tidur di rumah kaka",
    "anak sa tra mau tidur malam", "sa punya tempat aman di rumah tanta",
    "sa tra tau de tinggal di mana",
]

CUSTODY = [
    "kalo sa cerai, anak2 ikut sa ka ikut bapa?", "hak asuh anak bagaimana kalo cerai?",
    "sa mau tau kalo cerai anak2 ikut siapa, sa takut anak diambil de pu keluarga",
    "bagaimana cara urus cerai", "who gets custody of the children",
]
NOT_CUSTODY = [
    "sa pu anak ikut sa ke pasar", "de mau cerai katanya", "anak2 tinggal deng nenek",
    "sa su pisah rumah deng paitua",
]
TIRED = ["capek", "sa capek sekali kk", "sa su capek sekali", "lelah", "I am so tired"]
NOT_TIRED = [
    "sa capek kerja tapi aman", "anak sa capek pulang sekolah", "sa tra capek",
    "capek urus dokumen di kantor",
]
REPORT_CHOICE = [
    "sa harus lapor polisi ka?", "should I report to police? should I call his employer?",
    "bagus sa lapor polisi ka tidak", "sa bisa lapor ke polres ka",
]
NOT_REPORT_CHOICE = [
    "sa su lapor polisi", "polisi su datang", "sa tra mau lapor polisi",
    "kam bisa telpon polisi ka",
]

NO_ANSWER_110 = [
    "masih kk, de masih batarea. sa su telp 110 tra diangkat",  # walk L
    "sa su telpon polisi tapi tra ada yg angkat", "110 tidak bisa", "polsek tra datang",
    "I called the police but nobody answered",
]
NOT_NO_ANSWER_110 = [
    "sa su telpon 110 tadi, dong su datang", "polisi su datang", "sa tra mau telpon polisi",
    "hp sa tra bisa telpon",
]

GO_ALONE = [
    "sa boleh pigi liat ka?", "sa harus masuk ka tra", "sa mo lerai dong, boleh ka",
    "kami bisa langsung ke rumah de ka", "apa saya harus pergi melihat anak itu",
    "sa bole pigi tolong anak itu ka", "should I go over there and check on the child?",
]
NOT_GO_ALONE = [
    "sa boleh datang ke kantor ka", "sa bisa pigi liat jadwal ka", "sa mau masuk kerja",
    "kam bisa kirim orang pigi liat mama skarang ka? sa jauh", "sa boleh pigi gereja ka",
    "anak sa boleh masuk sekolah ka",
]

CIVIL_DOCS = [
    "sa mau urus akta kematian paitua, sa harus ke mana", "kk sa hilang",
    "cucu blum ada akta lahir, bisa urus di sini ka", "cara bikin kia untuk anak",
    "how do I get a birth certificate for my baby",
]
NOT_CIVIL_DOCS = [
    "perlu bawa ktp ka kalo datang?", "ktp sa tra ada, bisa datang ka",
    "sa pu suami meninggal, sa butuh bantuan", "surat dari kampung sa su ada",
]

# an old person alone with the food gone (walk O: the welcome alone, P2)
ELDER_NO_FOOD = [
    # told by a granddaughter (walk R: read by the model as a child in danger)
    "sa pu tete umur 78 tinggal sendiri di kampung kadun jaya. de pu anak2 su pigi semua. de "
    "su 2 hari tra makan, tra ada beras, de tra bisa jalan",
    "selamat sore anak. mama su tua, umur 70. sa pu anak2 su kawin semua, dong tra pernah "
    "datang liat mama. mama tinggal sendiri di rumah, kaki sakit tra bisa jalan jauh, beras su "
    "habis 2 hari. mama malu minta2 tetangga",
    "sa pu nenek tinggal sendiri, makanan su tra ada", "tete su blum makan 2 hari",
    "my grandmother lives alone and has no food",
    # a word between the rice and its end (a tester: no notice, P3)
    "slamat siang. sa ini nene umur 70 thn. sa tinggal sendiri di kampung nawaripi. sa pu "
    "anak2 su tra urus sa. sa pu kaki sakit tra bisa jalan jauh. beras juga su habis",
    "tete tinggal sendiri, makanan di rumah su tra ada",
]
NOT_ELDER_NO_FOOD = [
    "sa pu mama su tua, perlu bantuan", "beras mahal skali skarang", "nenek su makan tadi",
    "sa pu anak2 lapar, beras su habis", "sa pu anak2 lapar, beras juga su habis",
    "nenek su tua, beras juga mahal skarang",
]

# a health card gone inactive (walk N: an old man's card; once a whole-message question,
# which left a story's danger unread)
HEALTH_CARD = [
    "kartu bpjs sa su tra aktif, urus di mana?", "kis nenek tidak berlaku lagi",
    "bapa pu kartu bpjs su tra aktif, bapa sakit gula harus ambil obat di rsud. bapa harus "
    "urus di mana?", "my BPJS card is not active",
]
NOT_HEALTH_CARD = [
    "sa pu anak sering dipukul bapa, sa takut", "bpjs sa aktif", "sa mau daftar pkh",
    "sa tra aktif di gereja lagi",
]

REHAB = [
    "tempat rehab di mana", "sa pu anak kecanduan aibon, bisa dibawa ke mana",
    "bagaimana supaya de berhenti pake narkoba", "is there a drug treatment program here",
    "sa pu anak laki2 su ketagihan lem, sa tra tau lagi",
    # read as danger by the model, or beside danger words: still answered (walk O)
    "sa pu paitua kalo mabuk de marah2 terus, sa mau de berhenti minum, kam ada tempat rehab ka",
    "bagaimana supaya bapa berhenti mabuk", "anak sa isap lem lalu pukul de pu adik, rehab di mana",
]
NOT_REHAB = [
    "sa pu anak suka minum deng teman2", "de isap rokok", "lem sepatu sa lepas",
    "anak sa berhenti sekolah", "sa su berhenti minum kopi", "de berhenti minum obat",
]

MARRIAGE_RIGHTS = [
    "sa istri kedua, kami kawin adat, sa pu hak apa kalo de tinggalkan sa",
    "sa cuma kawin adat, tra ada surat nikah, anak2 dapat apa",
    "kami nikah siri, kalo de pergi sa dapat nafkah ka",
    "what rights do I have as a second wife",
]
NOT_MARRIAGE_RIGHTS = [
    "kami kawin adat tahun 2010", "sa istri kedua dari bapa itu", "sa mau konseling pra nikah",
    "paitua kawin lagi deng perempuan lain",
]

NO_FOOD = [
    "slamat malam anak, sa ini nene, tinggal deng 4 cucu. beras su habis 3 hari, cucu2 lapar",
    "anak2 lapar, beras habis dari kemarin", "makanan tra ada, bayi menangis lapar",
    "we have no food and the children are hungry",
]
NOT_NO_FOOD = [
    "anak sa lapar, mo makan", "beras habis, sa mau ke pasar", "sa lapar",
    "cucu sa sakit, tra mau makan",
]

WENT_QUIET = [
    "anak skarang su diam, sa takut", "sa takut, bayi su tra menangis lagi",
    "de tiba2 su diam, sa kuatir skali", "the child has gone quiet and I am scared",
]
NOT_WENT_QUIET = [
    "anak su diam, su tidur", "bayi su tra menangis lagi, makasih kk", "sa takut paitua marah",
    "de su diam sekarang, aman",
]

FORCED_MARRIAGE = [
    "sa pu ade perempuan umur 15 mo dikawinkan bulan depan, bapa su terima mas kawin. ade tra "
    "mau. sa bisa bikin apa?", "sa dipaksa kawin deng laki2 tua", "anak sa mo dijodohkan",
    "my sister is being forced to marry",
    # a bride price taken, the girl made to go (walk O)
    "sa pu bapa su terima mas kawin dari laki2 tua di kampung, sa harus ikut de bulan depan. "
    "sa baru 15 thn, sa tra mau",
    "keluarga su terima babi deng uang, jadi sa pu ade perempuan harus ikut laki2 itu, de "
    "masih SMP",
]
NOT_FORCED_MARRIAGE = [
    "sa mau konseling pra nikah", "kami su kawin 5 tahun", "paitua kawin lagi",
    "sa mau menikah tahun depan", "mas kawin adat su lunas, kami su nikah 10 tahun",
    "keluarga laki2 su bayar mas kawin, bulan depan kami nikah di gereja",
    "anak sa umur 10 harus ikut bapa ke kampung",
]

DISABILITY_AID = [
    "sa pu anak laki2 umur 24 tahun, de disabilitas. ada bantuan kursi roda ka atau bantuan "
    "lain dari dinsos?", "bisa dapat kursi roda ka", "bapa sa lumpuh, ada bantuan ka",
    "is there help for a wheelchair",
]
NOT_DISABILITY_AID = [
    "sa pu anak disabilitas, de sering dipukul teman", "kursi di kantor ada ka",
    "sa mau tanya bantuan pkh",
]

PEER_PRESSURE = [
    "kk sa umur 16. sa pu tmn2 paksa sa minum sopi, kalo sa tra mau dong bilang sa banci",
    "teman2 suka ajak sa ngelem", "my friends pressure me to drink",
]
WHERE_CARE = [
    "aman kk, de ada di rumah. tapi sa tra tau mo bawa ke mana, puskesmas su tutup",
    "sa harus bawa de ke mana, su malam", "puskesmas di kwamki su tutup",
    "rumah sakit mana yang buka malam ini", "where can I take my son now",
    "sa pu bapa digigit ular di kebun, kaki bengkak, sa harus bawa ke mana",
]
NOT_WHERE_CARE = [
    "paitua bawa anak2 ke mana sa tra tau", "toko su tutup", "sa mau tanya kantor buka jam brapa",
    "sa bawa de ke puskesmas tadi", "dong bawa lari sa pu anak",
]

SOCIAL_AID = [
    # walk Q: a mother whose PKH stopped, asked three ways
    "mau tanya kk, sa pu nama su tra keluar di bansos PKH tahun ini, dulu dapat. sa harus lapor "
    "ke mana", "bukan itu kk, sa tanya PKH sa tra dapat lagi", "nomor untuk PKH ada ka?",
    "bpnt sa belum cair 3 bulan", "my PKH payment stopped",
]
NOT_SOCIAL_AID = [
    "sa dapat pkh tiap 3 bulan", "paitua ambil uang pkh sa", "nomor kantor dinsos berapa",
    "sa tra dapat kerja",
]

NOT_PEER_PRESSURE = [
    "sa pu anak suka minum deng teman2", "teman ajak sa ke gereja",
    "dong paksa sa pu anak minum", "sa suka minum kopi",
]


def _said(engine: Engine, text: str, state: str = "greeting") -> list[str]:
    """The notices said, by name ("notice.no_shelter.young": its form for a child)."""
    return [".".join(k.split(".")[:2]) for k in _first(engine, text, state)
            if k.startswith("notice.")]


@pytest.mark.parametrize(("name", "said", "unsaid"), [
    ("police", POLICE, NOT_POLICE), ("where_go", WHERE_GO, NOT_WHERE_GO),
    ("fetch", FETCH, NOT_FETCH), ("disclose", DISCLOSE, NOT_DISCLOSE),
    ("search", SEARCH, NOT_SEARCH), ("arrest", ARREST, NOT_ARREST),
    ("adat", ADAT, NOT_ADAT), ("secret", SECRET, NOT_SECRET),
    ("welfare", WELFARE, NOT_WELFARE), ("police_harm", POLICE_HARM, NOT_POLICE_HARM),
    ("after_report", AFTER_REPORT, NOT_AFTER_REPORT), ("school_aid", SCHOOL_AID, NOT_SCHOOL_AID),
    ("images_down", IMAGES_DOWN, NOT_IMAGES_DOWN), ("legal", LEGAL, NOT_LEGAL),
    ("civil_docs", CIVIL_DOCS, NOT_CIVIL_DOCS), ("rehab", REHAB, NOT_REHAB),
    ("marriage_rights", MARRIAGE_RIGHTS, NOT_MARRIAGE_RIGHTS),
    ("no_food", NO_FOOD, NOT_NO_FOOD), ("went_quiet", WENT_QUIET, NOT_WENT_QUIET),
    ("forced_marriage", FORCED_MARRIAGE, NOT_FORCED_MARRIAGE),
    ("disability_aid", DISABILITY_AID, NOT_DISABILITY_AID),
    ("peer_pressure", PEER_PRESSURE, NOT_PEER_PRESSURE),
    ("chat_only", CHAT_ONLY, NOT_CHAT_ONLY), ("no_shelter", NO_SHELTER, NOT_NO_SHELTER),
    ("phone_watched", PHONE_WATCHED, NOT_PHONE_WATCHED),
    ("custody", CUSTODY, NOT_CUSTODY), ("tired", TIRED, NOT_TIRED),
    ("report_choice", REPORT_CHOICE, NOT_REPORT_CHOICE),
    ("no_answer_110", NO_ANSWER_110, NOT_NO_ANSWER_110), ("go_alone", GO_ALONE, NOT_GO_ALONE),
    ("health_card", HEALTH_CARD, NOT_HEALTH_CARD),
    ("elder_no_food", ELDER_NO_FOOD, NOT_ELDER_NO_FOOD),
    ("where_care", WHERE_CARE, NOT_WHERE_CARE),
    ("social_aid", SOCIAL_AID, NOT_SOCIAL_AID)])
def test_questions_a_family_asks_in_danger_are_answered(
        engine: Engine, name: str, said: list[str], unsaid: list[str]) -> None:
    """A woman hiding in the bathroom asked "kam bisa telpon polisi ka?" and "sa harus pi
    mana" and got "Maaf, saya belum mengerti" (a walk-through); a young woman asked whether
    her rape could be settled by adat. Each is answered, on what families write, and not on
    ordinary messages that share a word."""
    missed = [t for t in said if f"notice.{name}" not in _said(engine, t)]
    assert not missed, missed
    wrong = [t for t in unsaid if f"notice.{name}" in _said(engine, t)]
    assert not wrong, wrong


def test_fear_of_being_seen_at_consent_is_no_refusal(engine: Engine) -> None:
    """"jangan kaka nanti de lihat" at the consent question (walk U-6): the notice for a
    phone someone reads, then the consent question again, as "tra usah, nanti de lihat"
    got; it was recorded as refusing consent and the intake ended ("Ketik ULANG"). Her "1"
    after it is consent. "tidak setuju" with the same fear is still a refusal, and "jangan,
    nanti de lihat" at "may we leave a message?" is still its "no"."""
    asked = Snapshot(engine.flow.name, "consent", "id", {"mode": "chat", "danger": "no"}, (),
                     0, engine.flow.version, None, NOW - timedelta(minutes=1))
    for text in ("jangan kaka nanti de lihat", "tra usah, nanti de lihat",
                 "tidak, nanti paitua baca"):
        turn = engine.step(asked, Inbound("test", "u1", "m1", text=text), NOW, "id")
        keys = [r.key for r in turn.replies]
        assert keys == ["notice.phone_watched", "consent.short"], (text, keys)
        assert turn.snapshot.state == "consent" and "consent_refused" not in turn.snapshot.flags
        assert not any(e.kind == "consent" for e in turn.events), text
    agreed = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="1"), NOW, "id")
    assert agreed.snapshot.answers.get("consent") == "agree"
    refused = engine.step(asked, Inbound("test", "u1", "m1",
                                         text="tidak setuju, nanti de lihat"), NOW, "id")
    assert refused.snapshot.state == "refused"
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "category": "dv", "who": "self", "distrik": "wania", "kampung": "skipped",
               "contact": "chat", "safe_times": "skipped"}
    leave = Snapshot(engine.flow.name, "leave_message", "id", answers, (), 0,
                     engine.flow.version, None, NOW - timedelta(minutes=1))
    no = engine.step(leave, Inbound("test", "u1", "m1", text="jangan, nanti de lihat"), NOW)
    assert no.snapshot.answers.get("leave_message") == "no"


def test_a_reporter_who_asks_not_to_be_named_mid_intake_is_answered(engine: Engine) -> None:
    """At the category question after consent (walk U-13: a neighbour of an old man got
    "Maaf, saya belum mengerti. Balas dengan nomor pilihan"): "jang kasi tau sa yg lapor"
    hears that the reporter is not named, "tolong rahasiakan sa pu nama ya" what stays
    secret (as "jgn sebut sa pu nama" does); the question follows, and staff see the
    condition."""
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}
    for text, notice in (("jang kasi tau sa yg lapor", "notice.after_report"),
                         ("tolong rahasiakan sa pu nama ya", "notice.secret"),
                         ("jgn sebut sa pu nama", "notice.secret")):
        snap = Snapshot(engine.flow.name, "category", "id", answers, (), 0,
                        engine.flow.version, None, NOW - timedelta(minutes=1))
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
        keys = [r.key for r in turn.replies]
        assert keys[0] == notice and not any(k.startswith("reprompt") for k in keys), \
            (text, keys)
        assert turn.snapshot.state == "category", text
    assert "asked_secrecy" in turn.snapshot.flags


HUSBAND = ["sa ini suami dari ibu yg lapor ke lk3 kemarin. sa mo tau de lapor apa tentang sa? "
           "de bilang apa sa pu istri",
           "sa tra butuh nomor2 itu. sa cuma mo tau sa pu istri lapor apa. kasi tau sa nomor "
           "kasusnya",
           "sa suaminya, sa berhak tau to", "sa pu istri lapor apa ke kam?"]


def test_a_husband_asking_again_hears_the_same_no_each_time(engine: Engine) -> None:
    """Never 5 (walk O: a husband's long first question had the helplines of a guessed
    danger, his second was offered "only helpline numbers" and that guess came back after
    every message): each time he asks what his wife reported he hears that LK3 tells no
    one, without a danger text, a guess, or whether a case exists; staff see he asked."""
    snap, now = None, NOW
    for text in HUSBAND:
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), now, "id")
        keys = [r.key for r in turn.replies]
        assert keys[0] == "notice.disclose", (text, keys)
        assert not any(k.startswith(("crisis", "emergency", "safety", "did_you_mean"))
                       for k in keys), (text, keys)
        snap, now = turn.snapshot, now + timedelta(minutes=2)
    assert snap is not None and snap.case_number is None
    assert "asked_disclosure" in snap.flags
    assert not any(f.startswith("crisis") for f in snap.flags), snap.flags


def test_the_bot_says_it_cannot_call_the_police_after_the_danger_text(engine: Engine) -> None:
    """A plea for the police is danger (the emergency text first, a P0 case) and is told
    that the bot itself calls no one, with the WhatsApp line for someone who cannot speak."""
    turn = engine.step(None, Inbound("test", "u1", "m1", text="tolong panggil polisi"), NOW)
    keys = [r.key for r in turn.replies]
    assert keys[0].startswith("emergency") and keys[1] == "notice.police", keys
    assert turn.snapshot.state == "emergency_check"
    said = engine.bundle.catalog.texts["id"]["notice.police"]
    assert "tidak bisa menelepon polisi atau mengirim orang" in said and "08111-129-129" in said


def test_an_adat_question_beside_sexual_violence_is_answered_no(engine: Engine) -> None:
    """Never 4: told of a rape and asked about an adat settlement, the family gets the
    sexual-violence text and the plain answer that it cannot be settled so, after it."""
    turn = engine.step(None, Inbound("test", "u1", "m1", text=ADAT[0]), NOW)
    keys = [r.key for r in turn.replies]
    assert "notice.adat.sexual" in keys and keys.index("notice.adat.sexual") > 0, keys
    assert [e.data["notice"] for e in turn.events if e.kind == "noticed"] == ["adat"]
    for lang in ("id", "en"):
        said = engine.bundle.catalog.texts[lang]["notice.adat.sexual"]
        assert ("tidak bisa diselesaikan secara adat" if lang == "id"
                else "cannot be settled through adat") in said


def test_an_adat_question_about_a_beating_leads_with_a_beating(engine: Engine) -> None:
    """Walk S: a pastor asking whether a wife's beating could be settled by adat read first
    "Kekerasan seksual tidak bisa diselesaikan secara adat". Where no sexual violence was
    told, the answer leads with violence at home and against children; it still says no."""
    turn = engine.step(None, Inbound("test", "u1", "m1", text="sa pu paitua pukul sa, bisa "
                                     "diselesaikan secara adat ka?"), NOW)
    (said,) = [engine.bundle.catalog.render(r, "id").text for r in turn.replies
               if r.key.startswith("notice.adat")]
    assert said.startswith("Untuk kekerasan dalam rumah tangga"), said
    assert "tidak menyarankan penyelesaian adat" in said


def test_a_question_answered_is_not_misunderstood(engine: Engine) -> None:
    """At "are you safe now?", "kam bisa telpon polisi ka?" gets its answer and the question
    again, without "Maaf, saya belum mengerti" (it was understood) and without counting as
    a miss (two misses bring the simpler question)."""
    snap = Snapshot(engine.flow.name, "emergency_check", "id", {"mode": "chat"}, (), 0,
                    engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="kam bisa telpon polisi ka?"),
                       NOW, "id")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "notice.police" and not any(k.startswith("reprompt") for k in keys), keys
    assert turn.snapshot.state == "emergency_check" and turn.snapshot.misses == 0
    again = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="sa harus pi mana"),
                        NOW, "id")
    assert again.replies[0].key == "notice.where_go"
    assert again.snapshot.misses == 0


def test_a_condition_set_at_consent_is_answered_and_kept_for_staff(engine: Engine) -> None:
    """An old man beaten by his son agreed "tapi jang kasi tau sa pu anak" (a walk-through:
    asked again, the condition unanswered). He hears what stays secret and its limits, his
    agreement is taken, and staff see the condition among the case's reasons; said alone,
    the condition is the secrecy question's answer and staff see it as well."""
    snap = Snapshot(engine.flow.name, "consent", "id", {"mode": "chat", "danger": "no"}, (),
                    0, engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1",
                                     text="sa setuju, tapi jang kasi tau sa pu anak"), NOW, "id")
    assert [r.key for r in turn.replies] == ["notice.secret", "age"]
    assert turn.snapshot.answers["consent"] == "agree"
    assert "asked_secrecy" in turn.snapshot.flags
    # "orang lain" whole, not "orang" leaving "lain" to spoil the agreement (this session)
    other = engine.step(snap, Inbound("test", "u1", "m1", text="iya sa setuju tapi jangan "
                                      "kasi tau orang lain"), NOW, "id")
    assert other.snapshot.answers.get("consent") == "agree", [r.key for r in other.replies]
    alone = engine.step(snap, Inbound("test", "u1", "m1", text="jang kasi tau sa pu anak e"),
                        NOW, "id")
    assert alone.replies[0].key == "faq.secret"
    assert "asked_secrecy" in alone.snapshot.flags
    said = engine.bundle.catalog.texts["id"]["notice.secret"]
    assert "tanpa izin Anda" in said and "wajib bertindak" in said
    triage = engine.bundle.triage
    beside = triage.assess({"asked_secrecy": "yes", "danger": "now"})
    assert beside.priority == "P0" and "asked_secrecy" in beside.reasons
    assert "tidak diberitahukan" in triage.label("asked_secrecy", "id")


def test_staff_read_every_notice_in_words(engine: Engine) -> None:
    """The case history names each automatic word of help in words, in both staff languages
    ("minta bot memanggil polisi ..."), never its code."""
    from bot.casework import labels

    names = {name for _, name in engine.bundle.notices + engine.bundle.beside_danger}
    assert {"health", "locate", "where_go", "fetch", "police", "adat",
            "disclose", "search", "arrest", "secret", "welfare", "police_harm"} <= names
    for lang in ("id", "en"):
        unnamed = [n for n in names if labels.word("noticed", n, lang) == n]
        assert not unnamed, (lang, unnamed)


def test_an_adat_question_about_custody_is_not_left_with_violence_only(engine: Engine) -> None:
    """A divorced father asked whether custody could be settled by adat and read only of
    sexual violence and its victims (a walk-through). The answer still says no to settling
    violence, and says what LK3 does for a family matter without violence."""
    text = "bisa diselesaikan secara adat saja ka? sa pu keluarga siap bayar denda adat biar " \
           "anak2 ikut sa"
    assert "notice.adat" in _said(engine, text)
    for lang, words in (("id", "hak asuh anak"), ("en", "custody of children")):
        assert words in engine.bundle.catalog.texts[lang]["notice.adat"]


def test_no_clinic_notice_once_danger_was_told(engine: Engine) -> None:
    """A grandson told of a mob at his grandmother's house (P0), then that the child she is
    accused of harming had malaria: he got "LK3 melayani konsultasi keluarga, bukan
    pengobatan ... kita bisa lanjut" (a walk-through). Once danger was told, the danger texts
    have named the IGD already; the notice is for families with no danger."""
    snap = Snapshot(engine.flow.name, "category", "id",
                    {"mode": "chat", "danger": "now", "consent": "agree", "age": "adult"},
                    ("crisis_violence", "crisis_now"), 0, engine.flow.version,
                    "LK3-2026-00001", NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="dong bilang nene makan anak itu "
                                     "pu jantung, padahal anak itu sakit malaria"), NOW, "id")
    assert "notice.health" not in [r.key for r in turn.replies]
    assert "notice.health" in _said(engine, "anak sa sakit malaria, demam tinggi")


def test_a_goodbye_after_words_of_wanting_to_die_is_answered(engine: Engine) -> None:
    """"ok kaka. sa pamit e, makasih su mo dengar sa" from a boy in an open P0 self-harm case
    got a generic keyword line (a walk-through): where dying was spoken of, a goodbye is
    answered with 119 and "do not be alone tonight". Elsewhere "sa pamit" is a goodbye."""
    for flags, said in ((("crisis_selfharm",), True), (("crisis_violence",), False), ((), False)):
        snap = Snapshot(engine.flow.name, "refused", "id", {}, flags, 0, engine.flow.version,
                        None, NOW - timedelta(minutes=1))
        turn = engine.step(snap, Inbound("test", "u1", "m1",
                                         text="ok kaka. sa pamit e, makasih su mo dengar sa"),
                           NOW, "id")
        assert ("notice.farewell" in [r.key for r in turn.replies]) == said, flags
    assert "119" in engine.bundle.catalog.texts["id"]["notice.farewell"]


def test_a_child_asking_where_to_go_is_told_as_a_child(engine: Engine) -> None:
    """A girl of 17 who asked "bisa sa tinggal di rumah aman ka?" read "Anda... bawa
    anak-anak bila bisa" (a walk-through): a child gets "kamu" and an adult she trusts."""
    snap = Snapshot(engine.flow.name, "category", "id", {"mode": "chat", "age": "under18"},
                    (), 0, engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1",
                                     text="sa harus bikin apa? bisa sa tinggal di rumah aman ka?"),
                       NOW, "id")
    keys = [r.key for r in turn.replies]
    assert "notice.where_go.young" in keys, keys
    said = engine.bundle.catalog.render(turn.replies[keys.index("notice.where_go.young")],
                                        "id", {}).text
    assert "orang dewasa yang kamu percaya" in said and "anak-anak" not in said


def test_a_notice_that_tells_the_problem_leaves_the_answer_read(engine: Engine) -> None:
    """"soal warisan" at "what is the problem?" is told where legal aid is and taken as its
    answer (Lainnya), not asked again: legal and school costs tell the problem itself."""
    snap = Snapshot(engine.flow.name, "category", "id", {"mode": "chat", "consent": "yes"},
                    (), 0, engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="soal warisan"), NOW, "id")
    assert turn.replies[0].key == "notice.legal"
    assert turn.snapshot.answers.get("category") == "other"


def test_a_woman_who_cannot_speak_is_not_phoned_and_is_heard_when_she_says_it_again(
        engine: Engine) -> None:
    """A walk-through: a girl who could not speak or go out ("de ada di luar kamar") wrote
    "jgn telpon, sa cuma bisa chat" at "are you safe now?" and read "Maaf, saya belum
    mengerti"; nothing told staff not to call, and "masih dalam bahaya" told her to phone
    110. Staff read "jangan ditelepon" with the case the first message opens; she hears that
    no one will call, and the WhatsApp line; said again, it is understood, not a miss; still
    in danger, she is told what to do without a voice."""
    first = engine.step(None, Inbound("test", "u1", "m1", text="sa tra bisa bicara, de ada di "
                                      "luar kamar. sa cuma bisa ketik diam2"), NOW, "id")
    keys = [r.key for r in first.replies]
    assert keys[0].startswith("emergency.") and "notice.chat_only" in keys, keys
    numbers = [ln for ln in engine.bundle.catalog.render(first.replies[0], "id").text
               .splitlines() if ln.startswith("•")]
    assert numbers[0].startswith("• Kekerasan pada perempuan & anak (SAPA)"), numbers  # WA
    opened = next(e for e in first.events if e.kind == "case_upsert")
    assert opened.data["priority"] == "P0" and "chat_only" in opened.data["reasons"]
    assert "jangan ditelepon" in engine.bundle.triage.label("chat_only", "id")
    again = engine.step(first.snapshot, Inbound("test", "u1", "m2",
                                                text="jgn telpon, sa cuma bisa chat"), NOW, "id")
    assert [r.key for r in again.replies] == ["emergency.short"]
    assert again.snapshot.misses == 0
    still = engine.step(again.snapshot, Inbound("test", "u1", "m3", text="2"), NOW, "id")
    assert still.replies[0].key == "emergency.still_ack.silent"
    said = engine.bundle.catalog.texts["id"]["emergency.still_ack.silent"]
    assert "08111-129-129" in said and "tanpa menelepon" in said


def test_a_woman_with_no_safe_place_tonight_is_told_where_to_go_and_staff_know(
        engine: Engine) -> None:
    """A walk-through: "sa tra punya tempat aman malam ini" got the emergency text's "go to a
    safe place" and nothing for having none, and was P0 by "sa ... tidak aman" across two
    words (DOMAIN.md: no safe place tonight is P1). She hears where to go tonight and who
    finds shelter; after consent, a case opens at once with "tidak ada tempat aman malam
    ini" (P1); beside danger words, with them."""
    text = "sa tra punya tempat aman malam ini"
    first = engine.step(None, Inbound("test", "u1", "m1", text=text), NOW, "id")
    assert [r.key for r in first.replies] == ["notice.no_shelter", "greeting"]
    assert not any(e.kind == "case_upsert" for e in first.events)  # no consent yet
    snap = Snapshot(engine.flow.name, "age", "id", {"mode": "chat", "danger": "no",
                                                    "consent": "agree"}, (), 0,
                    engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
    assert turn.replies[0].key == "notice.no_shelter"
    opened = next(e for e in turn.events if e.kind == "case_upsert")
    assert opened.data["priority"] == "P1" and "no_safe_place" in opened.data["reasons"]
    beside = engine.step(None, Inbound("test", "u1", "m1", text="paitua pukul sa, sa tra "
                                       "punya tempat aman malam ini"), NOW, "id")
    keys = [r.key for r in beside.replies]
    assert keys[0].startswith("crisis.p1") and "notice.no_shelter" in keys, keys
    said = engine.bundle.catalog.texts["id"]["notice.no_shelter"]
    assert "08111-129-129" in said and "tempat berlindung sementara" in said


def test_a_question_about_agreeing_is_answered_and_consent_asked_again(engine: Engine) -> None:
    """A walk-through: "kalo sa setuju, kam langsung lapor polisi ka?" at the consent question
    was recorded as consent (the notice took "kam ... lapor polisi ka", "kalo" was dropped,
    "sa setuju" was left), and her "2", meant as consent with referral, became her age. UU
    PDP consent is an unambiguous act: she hears the answer, and the question again."""
    snap = Snapshot(engine.flow.name, "consent", "id", {"mode": "chat", "danger": "no"}, (),
                    0, engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="kalo sa setuju, kam langsung "
                                     "lapor polisi ka?"), NOW, "id")
    assert [r.key for r in turn.replies] == ["notice.arrest", "consent.short"]
    assert "consent" not in turn.snapshot.answers
    assert not any(e.kind == "consent" for e in turn.events)
    then = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="2"), NOW, "id")
    assert then.snapshot.answers["consent"] == "agree_refer"


def test_one_beaten_by_the_police_is_not_offered_domestic_violence(engine: Engine) -> None:
    """Walk K: "kemarin malam sa dipukul polisi di pos waktu razia" was later offered the
    category "Kekerasan dalam rumah tangga". Nothing is offered; said at the category
    question itself it is "Lainnya"; a husband's blows are still KDRT."""
    story = engine.step(None, Inbound("test", "u1", "m1", text="kemarin malam sa dipukul "
                                      "polisi di pos waktu razia"), NOW, "id")
    at = replace(story.snapshot, state="category",
                 answers={**story.snapshot.answers, "mode": "chat", "danger": "no",
                          "consent": "agree", "age": "adult"})
    asked = engine.step(at, Inbound("test", "u1", "m2", text="hah"), NOW, "id")
    assert not any(r.key.startswith("category.suggest") for r in asked.replies)
    snap = Snapshot(engine.flow.name, "category", "id", {"mode": "chat", "consent": "agree"},
                    (), 0, engine.flow.version, None, NOW - timedelta(minutes=1))
    said = engine.step(snap, Inbound("test", "u1", "m3", text="sa dipukul polisi kemarin"),
                       NOW, "id")
    assert said.snapshot.answers["category"] == "other"
    husband = engine.step(snap, Inbound("test", "u1", "m3", text="sa dipukul suami kemarin"),
                          NOW, "id")
    assert husband.snapshot.answers["category"] == "dv"


def test_a_mother_whose_son_the_police_hold_is_never_sent_to_the_police(
        engine: Engine) -> None:
    """Walk L: a mother whose son of 16 was beaten at the polsek was answered as the one who
    hurts ("sa takut dong pukul de lagi"), then told about ten times to "telepon Polisi 110
    sekarang" or "bawa anak ke tempat aman", and nothing said what a child in custody has a
    right to. Now: harm by the police, her son's danger, 110 after the others, the right to a
    parent and a lawyer; still in danger, the same."""
    first = engine.step(None, Inbound("test", "u1", "m1", text="ya sa pu anak masih di polsek, "
                                      "sa takut dong pukul de lagi"), NOW, "id")
    keys = [r.key for r in first.replies]
    assert keys[0] == "emergency.violence.other.police", keys
    assert "hurt_by_police" in first.snapshot.flags
    assert "crisis_harms_others" not in first.snapshot.flags
    said = engine.bundle.catalog.render(first.replies[0], "id").text
    assert "pengacara" in said and "telepon Polisi 110" not in said
    numbers = [ln for ln in said.splitlines() if ln.startswith("•")]
    assert numbers[-1].startswith("• Polisi") or not numbers[0].startswith("• Polisi"), numbers
    still = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="2"), NOW, "id")
    assert still.replies[0].key == "emergency.still_ack.police.other"
    text = engine.bundle.catalog.texts["id"]["emergency.still_ack.police.other"]
    assert "Polisi 110" not in text and "pengacara" in text


def test_a_neighbour_not_to_be_named_hears_that_reporters_are_protected(engine: Engine) -> None:
    """Walk L: "jgn kasi tau de pu bapa kalo sa yg lapor, kami tetangga dekat" got the limits
    of confidentiality ("petugas wajib bertindak"), which read as if her name could be given;
    what fits is that LK3 does not tell the family who reported."""
    assert "notice.after_report" in _said(
        engine, "jgn kasi tau de pu bapa kalo sa yg lapor, kami tetangga dekat")


def test_after_110_did_not_answer_the_bot_does_not_say_call_110(engine: Engine) -> None:
    """Walk L: a neighbour of a child beaten next door answered "still in danger" with "sa su
    telp 110 tra diangkat"; the notice gave her other ways, and the line after it said
    "telepon Polisi 110 sekarang". Now it only says the danger is marked; a child writing
    is still sent to an adult they trust."""
    first = engine.step(None, Inbound("test", "u1", "m1", text=(
        "tolong tetangga pukul de pu anak skarang, anak menangis teriak")), NOW)
    turn = engine.step(first.snapshot, Inbound("test", "u1", "m2", text=(
        "masih, sa su telp 110 tra diangkat")), NOW)
    keys = [r.key for r in turn.replies]
    assert keys[:2] == ["notice.no_answer_110", "emergency.still_ack.marked"], keys
    after = " ".join(engine.bundle.catalog.render(r, "id", {}).text for r in turn.replies[1:])
    assert "110" not in after
    assert "still_in_danger" in turn.snapshot.flags
    child = engine.step(None, Inbound("test", "u1", "m1", text=(
        "sa umur 13, bapa pukul sa skarang")), NOW)
    turn = engine.step(child.snapshot, Inbound("test", "u1", "m2", text=(
        "masih, sa su telp 110 tra diangkat")), NOW)
    assert "emergency.still_ack.marked.young" in [r.key for r in turn.replies]
    help_now = engine.step(engine.step(None, Inbound("test", "u1", "m1", text=(
        "de pukul anak skarang")), NOW).snapshot, Inbound("test", "u1", "m2", text="masih"), NOW)
    assert "emergency.still_ack.marked" not in [r.key for r in help_now.replies]


def test_a_first_message_with_a_notice_still_gets_the_whole_welcome(engine: Engine) -> None:
    """Walk M: a grandmother's first message about her hungry grandchildren, and a widow's
    about an akta, were answered with the notice and "Mau lanjut chat, ditelepon petugas,
    atau hanya nomor bantuan?": never told who writes back, nor that it is a bot (Never 7).
    The first welcome is whole after a notice; the next time the question alone. Children
    without food are P1 for staff once there is consent."""
    first = engine.step(None, Inbound("test", "u1", "m1", text=NO_FOOD[0]), NOW)
    keys = [r.key for r in first.replies]
    assert keys == ["notice.no_food", "greeting"], keys
    said = engine.bundle.catalog.render(first.replies[1], "id", {}).text
    assert "asisten otomatis, bukan manusia" in said
    again = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="kk nanti sa pu mama "
                                                "tau ka"), NOW)
    assert "greeting" not in [r.key for r in again.replies]
    facts = {**first.snapshot.answers, **{f: "yes" for f in first.snapshot.flags}}
    assessed = engine.bundle.triage.assess(facts)
    assert assessed.priority == "P1" and "no_food" in assessed.reasons
    # an old woman alone, the rice gone two days (walk O: the welcome alone, P2)
    elder = engine.step(None, Inbound("test", "u1", "m3", text=ELDER_NO_FOOD[0]), NOW)
    assert [r.key for r in elder.replies] == ["notice.elder_no_food", "greeting"]
    facts = {**elder.snapshot.answers, **{f: "yes" for f in elder.snapshot.flags}}
    assessed = engine.bundle.triage.assess(facts)
    assert assessed.priority == "P1" and "elder_no_food" in assessed.reasons


def test_no_safe_place_tonight_answered_at_its_question_says_where_to_go(
        engine: Engine) -> None:
    """Walk N: a woman beaten last night answered "tra ada" to "a safe place tonight?" and read
    only "Kasus Anda sudah kami teruskan", then the next question; the closing promised a
    call tomorrow at 08.00. The answer brings the shelter notice (where to go tonight, who
    finds shelter), once, with the case for staff; "tra ada, sa tra tau mo pigi ke mana" is
    the same answer."""
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "category": "dv"}
    snap = Snapshot(engine.flow.name, "risk_safe_place", "id", answers, (), 0,
                    engine.flow.version, None, NOW - timedelta(minutes=1))
    for text in ("tra ada", "2", "tra ada, sa tra tau mo pigi ke mana"):
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW)
        keys = [r.key for r in turn.replies]
        assert keys[0] == "notice.no_shelter", (text, keys)
        assert turn.snapshot.state == "risk_safe_chat", text
        assert any(e.kind == "case_upsert" for e in turn.events), text
    young = replace(snap, answers={**answers, "age": "under18"})
    turn = engine.step(young, Inbound("test", "u1", "m1", text="tra ada"), NOW)
    assert turn.replies[0].key == "notice.no_shelter.young"


def test_one_hiding_is_understood_and_answered_quietly(engine: Engine) -> None:
    """Walk N: a woman hiding from a man with a machete wrote "sa di kamar mandi" at "are you
    safe now?" and read "Maaf, saya belum mengerti"; "de cari sa" then brought "telepon
    Polisi 110 sekarang" and three messages, three sounds, after she was told to silence her
    phone. Hiding is still in danger, with the no-calls notice (SAPA by WhatsApp) and one
    short line after it; no separate list of numbers."""
    first = engine.step(None, Inbound("test", "u1", "m1", text=(
        "tlg kk de ada pukul sa skrg de pegang parang")), NOW)
    turn = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="sa di kamar mandi"),
                       NOW)
    keys = [r.key for r in turn.replies]
    assert keys[:2] == ["notice.chat_only", "emergency.still_ack.marked"], keys
    assert "emergency.still_numbers" not in keys
    said = " ".join(engine.bundle.catalog.render(r, "id", {}).text for r in turn.replies)
    assert "telepon Polisi 110 sekarang" not in said
    assert turn.snapshot.answers["still_in_danger_answer"] == "danger"
    assert "chat_only" in turn.snapshot.flags


def test_a_mother_safe_but_asking_where_to_take_her_child_is_answered_and_heard(
        engine: Engine) -> None:
    """Walk O: at "is the injured one safe now?", "aman kk, tapi sa tra tau mo bawa ke mana"
    (a child hurt in a fall, the Puskesmas closed at night) was asked again, her question
    unanswered. She hears where care is open now, and her "aman" is her answer (a "but"
    that leads to a question goes with it; "aman, tapi anak2 masih di rumah deng de" is
    still asked again)."""
    snap = Snapshot(engine.flow.name, "emergency_check", "id",
                    {"mode": "chat", "_focus": "injury", "_accident": True,
                     "_return_to": "danger"}, ("crisis_injury", "crisis_now"), 0,
                    engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1",
                                     text="aman kk, tapi sa tra tau mo bawa ke mana"), NOW, "id")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "notice.where_care", keys
    assert turn.snapshot.answers.get("still_in_danger_answer") == "safe"
    assert turn.snapshot.state != "emergency_check"


WATCHED = "sa pu paitua suka cek sa pu hp. kalo de tau sa chat ini de marah. de sering tampar sa"


def test_a_woman_whose_husband_reads_her_phone_is_not_told_we_write_here(
        engine: Engine) -> None:
    """A tester playing a family: after the violence helplines she read "petugas LK3 tidak
    akan menelepon Anda, hanya membalas lewat chat ini", the chat her husband reads. She
    reads that staff never write first to this phone, only reply after she writes, to
    delete the chat, KELUAR, and a codeword; staff read, in Indonesian, not to write first,
    and the case says to contact only once she writes."""
    turn = engine.step(None, Inbound("test", "u1", "m1", text=WATCHED), NOW, "id")
    keys = [r.key for r in turn.replies]
    assert keys[:2] == ["crisis.p1.violence", "notice.phone_watched"], keys  # helplines first
    assert "notice.chat_only" not in keys, keys
    said = engine.bundle.catalog.render(turn.replies[keys.index("notice.phone_watched")],
                                        "id", {}).text
    assert "tidak akan menulis atau menelepon lebih dulu" in said, said
    assert "hanya membalas lewat chat ini" not in said and "KELUAR" in said, said
    assert "hapus chat ini" in said and "kata sandi" in said, said
    assert "phone_watched" in turn.snapshot.flags and "chat_only" not in turn.snapshot.flags
    constraint = next(e for e in turn.events if e.kind == "contact_constraint")
    assert constraint.data == {"constraint": "wait_for_writer", "notice": "phone_watched"}
    now = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="1"), NOW, "id")
    danger = engine.step(now.snapshot, Inbound("test", "u1", "m3", text="1"), NOW, "id")
    kinds = [e.kind for e in danger.events]  # danger now: the case opens, the constraint on it
    opened = next(e for e in danger.events if e.kind == "case_upsert")
    assert opened.data["priority"] == "P0" and "phone_watched" in opened.data["reasons"]
    assert kinds.index("contact_constraint") > kinds.index("case_upsert"), kinds
    label = engine.bundle.triage.label("phone_watched", "id")
    assert "jangan menulis atau menelepon lebih dulu" in label, label
    again = engine.step(replace(danger.snapshot, case_number="K-1"),
                        Inbound("test", "u1", "m4", text="2"), NOW, "id")
    assert not any(e.kind == "contact_constraint" for e in again.events)  # said once


def test_a_watched_phone_alone_is_p1_and_its_notice_is_young_for_a_child(
        engine: Engine) -> None:
    """Without danger words too, someone reading her phone is P1 (staff may not write
    first: the moment she writes is the one to answer in); a child reads it in "kamu"."""
    snap = Snapshot(engine.flow.name, "category", "id", {"mode": "chat", "consent": "agree"},
                    (), 0, engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="paitua suka cek sa pu hp"),
                       NOW, "id")
    assert turn.replies[0].key == "notice.phone_watched"
    opened = next(e for e in turn.events if e.kind == "case_upsert")
    assert opened.data["priority"] == "P1" and "phone_watched" in opened.data["reasons"]
    young = replace(snap, answers={**snap.answers, "age": "under18"})
    turn = engine.step(young, Inbound("test", "u1", "m1", text="mama suka baca sa pu chat"),
                       NOW, "id")
    assert turn.replies[0].key == "notice.phone_watched.young"


def test_the_closing_for_a_watched_phone_promises_no_message_first(engine: Engine) -> None:
    """The closing and the words at rest do not tell her "Petugas akan menghubungi Anda
    lewat chat ini" once she said her phone is read, even having chosen the office or this
    chat; a pause lifted later leaves the constraint on her case."""
    answers = {"mode": "chat", "consent": "agree", "age": "25_59", "category": "dv",
               "contact": "office"}
    snap = Snapshot(engine.flow.name, "account", "id", answers, ("phone_watched",), 0,
                    engine.flow.version, None, NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="lewati"), NOW, "id")
    keys = [r.key for r in turn.replies]
    assert keys[-1] == "closing.phone_watched", keys
    said = engine.bundle.catalog.render(turn.replies[-1], "id", {}).text
    assert "tidak akan menulis atau menelepon lebih dulu" in said, said
    assert "lewat chat ini" not in said and "menulis dulu di chat ini" not in said, said
    rest = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="ok"), NOW, "id")
    assert [r.key for r in rest.replies] == ["closing.idle.phone_watched"]
    paused = replace(snap, state="after_pause", flags=("phone_watched", "paused"))
    back = engine.step(paused, Inbound("test", "u1", "m3", text="1"), NOW, "id")
    kinds = [e.kind for e in back.events]
    assert kinds[-1] == "contact_constraint" and "resumed" in kinds, kinds


def test_the_danger_text_to_a_watched_phone_promises_no_contact_first(engine: Engine) -> None:
    """Walk R-6: the violence text to "sa pu paitua suka cek sa pu hp ... de sering tampar
    sa" ended "Ketik PETUGAS bila ingin petugas LK3 menghubungi Anda", and the next message
    said staff would not write first. Its line about staff says they answer only after she
    writes."""
    first = engine.step(None, Inbound("test", "u1", "m1", text="sa pu paitua suka cek sa pu "
                                      "hp. kalo de tau sa chat ini de marah. de sering tampar "
                                      "sa"), NOW)
    said = engine.bundle.catalog.render(first.replies[0], "id").text
    assert first.replies[0].key.startswith("crisis.p1"), first.replies
    assert "menghubungi Anda" not in said and "setelah Anda menulis" in said


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_emergency_texts_to_a_watched_phone_promise_no_contact_first(
        engine: Engine, lang: str) -> None:
    """Walk R-6: a woman whose husband reads her phone, in danger now, read "petugas LK3,
    yang akan menghubungi Anda secepatnya" in the emergency text, again in its repeat and in
    "we have marked that you are still in danger". Every one of them says staff answer here
    once she writes; without the watched phone they still say staff will contact her."""
    def texts(first: str) -> list[str]:
        snap, said = None, []
        for i, msg in enumerate([first, "1", "1", "de pukul sa lagi tadi", "2"]):
            turn = engine.step(snap, Inbound("test", "u1", f"m{i}", text=msg), NOW, lang)
            said += [engine.bundle.catalog.render(r, lang).text for r in turn.replies
                     if r.key.startswith("emergency")]
            snap = turn.snapshot
        assert snap.answers.get("still_in_danger_answer") == "danger", snap.answers
        return said

    contact = {"id": "menghubungi Anda", "en": "contact you"}[lang]
    answer = {"id": "setelah Anda menulis", "en": "as soon as you write"}[lang]
    watched = texts("sa pu paitua suka pukul sa. de juga suka cek sa pu hp")
    assert len(watched) == 3, watched  # the text, its repeat, the acknowledgement
    for text in watched:
        assert contact not in text and answer in text and "{" not in text, text
    for text in texts("sa pu paitua suka pukul sa"):
        assert contact in text and answer not in text and "{" not in text, text


def test_a_watched_phone_is_not_offered_a_call_to_it_or_a_home_visit(engine: Engine) -> None:
    """Walk R-6: asked how staff should reach her, she was offered a call to this phone and a
    home visit, then asked when to be written to and whether a message may be left. She is
    offered this chat (staff answer after she writes), another safe number or the office;
    the chat goes straight to the codeword; another number is asked for, with its times."""
    answers = {"mode": "chat", "consent": "agree", "age": "adult", "category": "dv",
               "who": "self", "distrik": "mimika_baru"}
    snap = Snapshot(engine.flow.name, "risk_safe_chat", "id", answers, ("phone_watched",), 0,
                    engine.flow.version, "K-1", NOW - timedelta(minutes=1))
    asked = engine.step(snap, Inbound("test", "u1", "m1", text="1"), NOW, "id")
    assert asked.snapshot.state == "contact_watched"
    (question,) = asked.replies
    values = [v for v, _ in question.choices]
    assert values == ["chat", "phone_other", "office"], values
    said = engine.bundle.catalog.render(question, "id").text
    assert "tidak menulis atau menelepon lebih dulu" in said, said
    for text, state in (("chat saja", "codeword"), ("rumah", "contact_watched"),
                        ("2", "other_number"), ("kantor", "visit_time")):
        turn = engine.step(asked.snapshot, Inbound("test", "u1", "m2", text=text), NOW, "id")
        assert turn.snapshot.state == state, (text, turn.snapshot.state)
    plain = engine.step(replace(snap, flags=()), Inbound("test", "u1", "m1", text="1"), NOW,
                        "id")
    assert plain.snapshot.state == "contact_pref"
    assert [v for v, _ in plain.replies[0].choices] == [
        "chat", "phone_this", "phone_other", "office", "visit"]


def test_an_erasure_asked_because_the_phone_is_read_marks_the_phone(engine: Engine) -> None:
    """A review: "tolong hapus sa pu data, sa takut suami baca" was an erasure request whose
    answer said staff would explain what must be kept, to the phone her husband reads, and
    staff were never told not to write first. The request stands; the phone is marked as
    read by someone else (the contact constraint), and the answer says staff do not write
    first. Without such words, the plain answer."""
    answers = {"mode": "chat", "consent": "agree", "age": "adult", "category": "dv"}
    snap = Snapshot(engine.flow.name, "who", "id", answers, (), 0, engine.flow.version, None,
                    NOW - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="tolong hapus sa pu data, sa "
                                     "takut suami baca"), NOW, "id")
    assert turn.replies[0].key == "privacy.erase.phone_watched", turn.replies
    assert "phone_watched" in turn.snapshot.flags
    assert any(e.kind == "contact_constraint" for e in turn.events)
    assert any(e.kind == "privacy_request" for e in turn.events)
    plain = engine.step(snap, Inbound("test", "u1", "m2", text="tolong hapus sa pu data"),
                        NOW, "id")
    assert plain.replies[0].key == "privacy.erase" and not plain.snapshot.flags
