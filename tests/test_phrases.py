"""Rights asked for in a sentence (flows/phrases.yaml): recall on what families write, in
Papuan Malay, Indonesian and English, and no false alarm on ordinary messages and stories
that mention deleting, data or changing. A miss is a right ignored; a false alarm tells a
family we will erase what they never asked to erase."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.service import Service
from flows.engine import Engine
from flows.text import clean, command_of
from flows.types import Inbound
from storage import privacy as store
from tests.support import deliver
from tests.test_handoff import Person, add_staff

ASKED = {
    "erase": [
        "tolong hapus sa pu data", "Hapus data saya.", "hapus data saya", "hps data sy",
        "sa mau hapus semua sa pu data", "kaka tolong hapus sa pu data e",
        "Mohon hapus data saya", "saya ingin data saya dihapus", "sa pu data hapus sudah",
        "bisa hapus sa pu nomor ka", "Tolong hapus percakapan ini", "hapus semua pesan",
        "tolong hapus", "please delete my data", "delete my data", "Erase my data please",
        "sa mau data dihapus saja",
        # a walk-through's families (each had been added to the case as a message)
        "tolong hapus semua yang sa kirim",
        "iya kaka. tapi tolong hapus semua yang sa kirim, nanti paitua baca",
        "bisa hapus sa pu data ka? sa takut suami baca, de suka cek hp",  # walk K
        # walk S (S-4): a reason before or after, the story or the number named, "semua"
        "kaka sa mau hapus sa pu data saja, sa takut nanti orang tau",
        "sa takut paitua liat. tolong hapus semua saja",
        "tolong hapus semua pesan sa, paitua nanti liat", "kaka tolong hapus sa pu cerita tadi",
        "hapus sa pu nomor dari kam pu catatan",
        "tolong hapus sa pu cerita yang tadi e kaka", "kk hapus semua sa pu chat deng kam",
        "sa mo kam hapus sa pu data", "tolong hapus sa pu data dari catatan lk3",
        "sa tra mau kam simpan sa pu data", "hapus semua saja kaka, sa takut",
        "bisa kam hapus sa pu cerita ka", "sa pu data tolong dihapus saja",
        "tolong hapus semua pesan yang sa kirim tadi, nanti sa pu suami baca",
        "hapus sa pu nama deng nomor hp", "kaka sa takut nanti orang tau, hapus sa pu data e",
    ],
    "data": [
        "sa mau tau kam catat apa saja tentang sa", "kam simpan apa tentang sa?",  # walk T
        "sa mau liat sa pu data", "minta data saya", "kirim sa pu data",
        "saya mau lihat data saya", "boleh minta salinan data saya", "tolong kirim data saya",
        "data apa yang kam simpan", "data apa yg kalian simpan tentang saya",
        "send me a copy of my data", "I want to see my data", "cek sa pu data",
        "sa mau liat data apa yang kam simpan",
        "sa mau liat sa pu data yg kam simpan",  # walk K
    ],
    "correct": [
        "sa mau ubah sa pu data", "tolong ganti sa pu nomor", "perbaiki data saya",
        "sa pu alamat salah", "nama saya salah tolong perbaiki", "data saya salah",
        "ganti alamat", "please correct my data", "I want to change my address",
        "sa pu distrik salah", "ubah jawaban saya", "koreksi data sa",
        "nomor hp sa salah, tolong ganti", "sa mau ubah sa pu nomor hp",
        # walk S (S-4): "salah tulis", a name the intake never asked for, the age alone
        "sa pu nama salah tulis", "sa pu umur salah tulis", "nama sa salah tulis kaka",
        "sa pu nomor hp salah tulis", "alamat sa salah tulis, tolong perbaiki",
        "sa pu kampung salah tulis", "sa pu umur salah", "data sa ada yang salah",
        "kaka sa pu nama salah ditulis", "tolong perbaiki sa pu nama",
        # walk U-12: the age asked to be changed (mid-intake its question again)
        "sa mo ubah sa pu umur, sa salah tulis", "sa mau ganti sa pu umur",
    ],
    # BERHENTI in a sentence: the consent text promises it stops everything
    "stop": [
        "stop kirim", "jangan kirim pesan lagi", "sa tra mau lagi dapat pesan",
        "sa tra mau lagi dapat pesan dari kam", "tolong berhenti kirim pesan",
        "please stop sending me messages", "tra usah kirim sms lagi",
        # walk S (S-4, S-14): stopping said as people say it
        "sa mau berhenti", "udah stop saja", "tra usah lanjut", "sa mau berhenti saja kaka",
        "sa tra mau lanjut", "sudah, sa berhenti saja", "stop saja sudah",
        "tidak usah dilanjutkan", "sa tra mau lanjut lagi", "berhenti saja kaka", "sa mo stop",
        "tra usah kirim2 lagi", "sa tra mau lanjut, makasih",
    ],
    # LANGGANAN in a sentence (walk S, S-14: "Terima kasih sudah bercerita", then an intake)
    "subscribe": [
        "sa mau dapat info kegiatan parenting dari dinsos", "sa mau terima info2 dari LK3",
        "daftar info", "sa mau daftar terima info", "sa mau ikut info2 dari dinsos",
        "bisa dapat info kegiatan ka", "sa mo langganan info", "daftar langganan",
        "sa mau terima info kelas parenting", "kaka sa mau dapat info2 kegiatan lk3 e",
        "tolong kirim sa info kegiatan dari lk3", "i want to get updates from lk3",
    ],
    # BERHENTI INFO in a sentence: broadcasts only, consent to the intake kept (walk S, S-14:
    # "jangan kirim info lagi" was BERHENTI, read as consent withdrawn)
    "unsubscribe": [
        "kaka jangan kirim info lagi", "jangan kirim info lagi", "sa tra mau dapat info lagi",
        "stop kirim info", "tra usah kirim info2 lagi", "berhenti kirim info kegiatan",
        "sa mau berhenti terima info", "sa tra mau terima info dari lk3 lagi",
        "hapus sa dari daftar info", "stop info2", "sa su tra mau info2 lagi kaka",
    ],
}
# what a false alarm would be: a right, stopping, or broadcasts
RIGHTS = ("erase", "data", "correct", "stop", "subscribe", "unsubscribe")
ORDINARY = [
    # answers and greetings from the intake
    "1", "2", "3", "iya", "tra", "ya", "tidak", "LEWATI", "halo", "selamat pagi", "mama",
    "sa di kwamki narama", "wania", "sore saja", "iya boleh", "tra usah", "ok kaka",
    # stories that mention deleting, data or changing
    "dia hapus sa pu foto", "sa su hapus pesan tadi", "sa pu hp dia hapus semua",
    "de hapus sa pu nomor dari hp", "sa su kirim data", "data sudah sa kirim kemarin",
    "sa pu suami ganti nomor", "dia ganti sa pu nomor hp", "jangan hapus sa pu cerita",
    "tra usah hapus", "ubah sa pu hidup", "sa minta informasi", "minta informasi",
    "sa mau tau kapan petugas datang", "kirim nomor polisi", "sa ganti nomor baru ini",
    "suami pukul sa, tolong", "mama minta tolong", "sa mau lapor", "sa takut suami tau",
    "anak sa pu data sekolah hilang", "de hapus sa pu chat dengan mama, sa takut",
    "bapa ganti kunci rumah", "sa pu nama Yosefina", "sa salah kirim",
    "dia minta sa pu data KTP", "petugas bisa datang ka", "informasi apa yang ko punya",
    "remove the bruise", "ganti baju anak",
    # a request with a story after it: the story is read for danger (it was taken whole)
    "bisa hapus sa pu data ka? sa takut suami pukul sa lagi, de su pegang parang",
    # a complaint that nothing came, and no-contact wishes about others, are no BERHENTI
    "sa tra dapat pesan dari petugas", "petugas belum kirim pesan", "jangan kirim polisi ke rumah",
    "de tra mau kirim uang", "jangan hubungi sa pu suami", "tra usah hubungi paitua",
    "jangan hubungi sa di nomor ini, hubungi di nomor lain", "jangan hubungi sa",
    # walk S: "hapus", "stop", "berhenti", "info", "data", "salah tulis", "lanjut" in another
    # sense: stories, questions, other people's deeds
    "hapus air mata", "de suruh sa hapus sa pu foto", "paitua hapus semua sa pu kontak",
    "sa su hapus chat deng de", "de hapus sa pu nomor, sa tra bisa telpon anak",
    "sa takut de hapus sa pu foto", "sa mau hapus de pu nomor dari sa pu hp",
    "jangan hapus dulu, sa masih mau cerita", "bagaimana cara hapus chat di wa",
    "anak sa hapus tugas sekolah", "hapus sudah, sa tra peduli de lagi",
    "sa pu data KIS hilang", "data dtks sa tra ada", "sa su kasih data ke kelurahan",
    "data anak sa di sekolah salah", "nama anak sa salah di akta", "sa pu nama di KIS salah",
    "umur anak salah di kartu keluarga", "sa salah tulis nama anak di surat",
    "sa salah pilih suami", "sa pu nama Maria", "sa pu umur 17",
    "de su berhenti minum", "sa mo berhenti kerja", "jangan stop kasih makan anak", "bus stop",
    "hujan su berhenti", "sa tra bisa berhenti pikir dia", "sa mau berhenti minum",
    "sa mau berhenti pukul sa pu maitua", "de tra mau berhenti pukul", "sa mau berhenti sekolah",
    "tolong bikin de berhenti", "anak tra mau lanjut sekolah", "jangan berhenti doakan kami",
    "sa mau berhenti minum sopi", "de stop sa di jalan", "sa tra mau lanjut hidup",
    "sa tra mau lanjut sekolah", "tra usah lanjut cerita ke mama",
    "info lowongan kerja ada?", "minta info nomor polisi", "sa mau info soal PKH",
    "sa dapat info dari tetangga", "sa dapat info dari teman kalau lk3 bisa bantu",
    "de su daftar sa pu anak di sekolah", "daftar pkh", "jangan kasih info ke paitua",
    "sa belum dapat info dari petugas", "info dari petugas belum ada", "sa mau daftar sekolah",
    "sa mau terima de kembali", "sa mau dapat bantuan", "sa mau dapat uang",
]


# a request beside words of harm: never taken whole, the message is read for danger first
DANGER_BESIDE = [
    "tolong hapus semua yang sa kirim, nanti paitua bunuh sa",
    "sa takut paitua pukul sa, tolong hapus semua",
    "kaka tolong hapus sa pu data, de pegang parang",
    "sa mau berhenti, de pukul sa terus", "jangan kirim info lagi, sa mo bunuh diri",
    "sa tra mau lanjut hidup", "sa pu nama salah tulis, bapa tiri paksa sa tidur deng dia",
    "sa tra mau lanjut, suami ancam bunuh sa",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load("intake")


def test_recall_on_rights_asked_in_a_sentence(engine: Engine) -> None:
    """Every phrase families were seen or expected to write is the right they ask for;
    before flows/phrases.yaml only the bare words (HAPUS, DATA, UBAH) were."""
    b = engine.bundle
    missed = {right: [t for t in said if command_of(t, b.keywords, b.phrases) != right]
              for right, said in ASKED.items()}
    assert missed == {right: [] for right in ASKED}
    asked = sum(len(v) for v in ASKED.values())
    assert asked >= 40
    bare = sum(command_of(t, b.keywords, ()) == r for r, said in ASKED.items() for t in said)
    assert bare <= 1  # the keywords alone: only "tolong hapus"-like bare words, if any


def test_no_false_alarm_on_ordinary_messages_and_stories(engine: Engine) -> None:
    """Ordinary answers and stories that mention deleting, data or changing are no request
    (the story is read for danger like any message)."""
    b = engine.bundle
    alarms = [t for t in ORDINARY
              if command_of(t, b.keywords, b.phrases) in RIGHTS]
    assert alarms == []


def test_a_request_beside_words_of_harm_is_read_for_danger(engine: Engine) -> None:
    """A request with a reason that names harm ("tolong hapus semua yang sa kirim, nanti
    paitua bunuh sa") is never a command taken whole: the words of danger are read (the
    reason was any 8 words before walk S; now only words of being seen)."""
    b = engine.bundle
    taken = [t for t in DANGER_BESIDE if command_of(t, b.keywords, b.phrases) is not None]
    unread = [t for t in DANGER_BESIDE if not b.crisis.scan(clean(t))]
    assert (taken, unread) == ([], [])


def test_a_right_in_a_sentence_is_a_request_even_while_a_counselor_holds_the_case(
        service: Service) -> None:
    """A family whose case Sari holds writes "tolong hapus sa pu data" and later "sa mau
    liat sa pu data": each is a request due in 3x24 hours, the family is answered by the
    bot, and Sari hears of each at once (before, DATA and UBAH reached only her, with no
    request and no deadline)."""
    family = Person(service, "fam")
    number = family.intake()
    _, sari = add_staff(service, "Sari", "sari")
    sari.say(f"/ambil {number}")
    family.unread(), sari.unread()
    erase = family.say("tolong hapus sa pu data")
    data = family.say("sa mau liat sa pu data")
    fix = family.say("UBAH")
    assert erase and data and fix  # the bot answered each
    deliver(service)
    heard = [p["text"] for p in sari.unread()]
    assert len([t for t in heard if number in t]) >= 3, heard
    with service.db.connect() as conn:
        kinds = sorted(r.kind for r in store.listing(conn, ["open"]))
    assert kinds == ["correct", "data", "erase"]


# -- questions about the service, asked in any state -----------------------------------------

QUESTIONS = {
    "ask_secret": [
        "ini rahasia kah?", "rahasia", "halo kak, ini rahasia kah?", "cerita sa rahasia to",
        "jangan kasih tau mama", "jgn kasih tau sa pu mama e", "tolong jangan bilang ke bapa",
        "apakah data saya dirahasiakan?", "is this confidential?", "will my husband find out?",
        "do you tell my parents", "ini rahasia kah? jangan kasih tau mama",
        "jangan kasih tau bapa tiri, ini rahasia to",
        "ini rahasia kah? nanti orang lain tau?",  # a walk-through, as the next three
        # a girl of 15 (a walk-through)
        "kaka sa mo tanya tapi jang kasi tau sa pu mama e", "nanti mama tau ka? sa takut",
        "kalo sa setuju nanti mama deng bapa tiri tau ka?", "apa dorang tau?",
        "nanti sa pu mama bapa tau ka",  # a pregnant girl of 16 at consent (a walk-through)
        "kam janji rahasia ka", "dijamin rahasia kah",  # at consent (a re-check)
        # a girl of 16 pregnant by her teacher (a re-check: asked again, four times)
        "nanti sa pu mama bapa dikasi tau ka?", "kalo sa setuju dong dikasi tau ka?",
        # a girl of 15 at consent (walk M: "Mohon jawab dulu pertanyaan ini")
        "kk nanti mama deng bapa tiri tau ka kalo sa lapor?",
    ],
    "not_understood": [
        "sa tra mengerti", "maksudnya apa kaka", "sa bingung", "tra paham maksudnya",
        "i don't understand", "apa artinya", "kaka sa kurang paham", "sa tra ngerti ini apa",
        "what does this mean",
        # at the consent question (walk S: the numbers again)
        "sa tra tau setuju apa", "setuju apa?", "setuju untuk apa kaka",
    ],
    "ask_hours": [
        "jam brapa buka?", "kantor LK3 dimana?", "selamat pagi, kantor LK3 dimana?",
        "alamat kantor dimana", "lk3 buka jam berapa", "jam berapa kantor buka", "jam buka",
        "where is the office", "what time do you open",
        "permisi, sa mau tanya dulu. LK3 ini buka jam brapa?", "sa cuma mau tanya jam buka",
        "kantornya dimana?",
        # a walk-through's mother who only wanted to know
        "sa mau tanya kantor LK3 itu dimana kah, buka jam brapa", "alamat kantor",
        "kantor buka hari sabtu ka", "lk3 buka hari minggu ka",  # a walk-through, as below
        "is the office open on saturday",
        # a walk-through's questions, not understood before
        "sabtu buka ka", "alamatnya di jalan apa? dekat mana", "alamat kantor di jalan apa",
        "hari apa sa bisa datang? sabtu buka ka?",
        # the hours with the address (a walk-through: the first message's question dropped)
        "selamat sore, kantor lk3 buka jam brp dan alamatnya dimana?",
        "sa cuma mo tau jam buka deng alamat kantor",
        # asked the other way round, or with "kk" (a re-check: the welcome alone, or "Maaf, saya
        # belum mengerti")
        "dimana kantornya?", "di mana kantor lk3 kaka", "sa mo datang ke kantor, di mana itu?",
        "sa mo pigi ke kantor lk3 lewat mana", "alamat kantor lk3 di mana ya kk", "alamatnya?",
        # walk O: the whole address asked, and the office by its district's name
        "alamat lengkapnya di jalan apa?", "kk alamat kantor dinsos mimika di mana?",
        "what is the street address", "what is the address of the office",
    ],
    # walk O: no phone number is configured; what exists is said ("Maaf, saya belum mengerti")
    "ask_phone": [
        "ada nomor telp kantor ka?", "nomor telepon kantor lk3 berapa", "minta nomor kantor",
        "what is the street address and phone number", "do you have a phone number",
        "what is your phone number",
    ],
    "ask_aid": [
        "sa mau tanya soal PKH", "BPJS sa mati, bisa bantu ka", "kenapa pkh sa belum cair",
        "ada PKH ka anak?", "bantuan sembako ada ka",
        "bansos", "tolong bantu urus bpjs", "how do i apply for pkh",
        # first messages (a walk-through: only the greeting came back)
        "selamat pagi, sa mau tanya bantuan PKH untuk anak yatim",
        "sa mau daftar pkh buat sa pu mama",
        # rice aid, asked at rest (walk O: "your message was added to the case")
        "kk kapan bantuan beras datang", "bantuan beras belum datang kk",
        "sa bisa dapat bantuan PKH ka nak? sa tra pernah dapat",  # a grandmother (walk K)
        "kalo daftar PKH harus bawa KK deng KTP ka?",  # walk O: mid-intake
    ],
    "ask_appointment": [
        "bisa buat janji ketemu petugas ka", "sa mau datang ke kantor bisa ka",
        "sa mau buat janji hari sabtu bisa ka", "bisa buat janji besok pagi ka",
        "can I make an appointment", "bisa atur jadwal konsultasi ka",
        # walk O: asked in English (the welcome alone, the closing alone)
        "how do i book a pre-marriage counselling session?",
        "is there an anger management class or counselling?",
        "bisa sa datang ke kantor?", "kapan sa bisa datang ke kantor",
    ],
    "ask_bot": [
        "ini saya chat dengan orang atau mesin?",  # walk Q
        "ada orang ka", "ada orang ka di sana kk", "is anyone there",  # walk R
        "kam ini manusia ka robot?", "ini robot ka", "kamu manusia kah", "are you a bot",
        "ko orang asli ka", "ini bot atau manusia",
    ],
    "ask_documents": [
        "harus bawa ktp ka", "sa perlu bawa apa2 kah", "perlu ktp kah", "harus bawa kk ka tra",
        "do i need to bring my id", "perlu bawa ktp ka kalo datang?",
    ],
    "ask_when": [
        "halo, kapan dorang telpon sa?", "kaka kapan sa ditelpon? sa tunggu",  # walk T-3
        "kapan petugas hubungi sa?", "masih lama ka?", "petugas blm hubungi sa",
        "kapan kam telpon sa", "when will someone contact me", "masih lama kah kaka",
        "jam berapa petugas telepon",
        "how long does it take",  # walk O: when staff will be in touch, who explain the rest
        # walk M: a woman back with signal, a wait since yesterday
        "petugas su balas ka?", "sa tunggu dari kemarin, petugas belum hubungi",
    ],
    "ask_cost": [
        "bayar kah atau gratis?", "gratis kah", "ini gratis kah?", "biaya berapa",
        "konsultasi bayar kah", "is it free", "do i have to pay", "bayar ka tra?",
        "ini harus bayar ka anak",
    ],
    # a wife asking about coming as a couple (a walk-through: not understood twice)
    "ask_together": [
        "boleh bawa suami ka", "boleh sa bawa sa pu suami ka? kami dua mo konsultasi",
        "can I bring my husband", "bisa datang deng istri ka",
    ],
}
NOT_QUESTIONS = [
    "sa takut dia kasih tau mama", "sa mau bayar utang", "dia rahasiakan uang dari sa",
    "rahasia keluarga", "sa simpan rahasia", "kantor sa jauh",
    "kapan de pulang", "sa tra tau kapan de datang",
    "sa orang mimika", "bapa orang baik", "kam orang lk3 ka", "anak sa main robot",
    "sa pu ktp hilang", "ktp sa ditahan suami", "dia bawa sa pu ktp", "sa mau urus akta anak",
    "sa mau ke kantor", "gratis sekolah ka", "sa pu suami tra kasih tau gaji",
    "sa bawa suami ke rumah sakit", "suami tra mau datang",
    "dia bilang ini rahasia kami berdua", "om bilang jangan kasih tau siapa-siapa",
    "selamat malam", "sa aman", "ini aman kah", "sa tra aman di rumah",
    "sa mau tanya dulu", "jam kerja suami tra tentu", "sa tanya dulu ke mama",
    "bayar sekolah anak", "dia tanya sa pu nomor",
    "dia tau", "nanti dia tau sa pu nomor", "sa takut nanti mama tau sa hamil",
    "sa kerja hari sabtu", "janji dia tra pukul lagi", "dia janji mau berubah",
    # an answer to "how may staff contact you?", not a question (a re-check)
    "sa datang ke kantor", "sa mo datang ke kantor saja", "sa mau ketemu petugas",
    "paitua pukul sa waktu sa tanya uang pkh", "sa pu anak dapat pkh tapi paitua ambil semua",
    # a story, a wish to report, an arrest told of: not a question about LK3
    "sa tra mengerti kenapa de pukul sa", "sa mau lapor polisi", "paitua su ditangkap polisi",
    "de pernah dipenjara", "sa bingung mau cerita dari mana, de pukul sa tiap malam",
    "anak sa tra paham pelajaran",
    # walk O: telling, not asking; a number that is not the office's
    "sa mo datang langsung", "sa mau tanya", "dia tra kasih sa nomor hp",
    "is there a way to stop him", "how long does it take for him to calm down",
]


def test_questions_about_the_service_are_recognised(engine: Engine) -> None:
    """A family that asks whether it is secret, when the office opens or whether it costs
    anything gets an answer, not "Maaf, saya belum mengerti"; ordinary messages and stories
    with those words (a perpetrator's "jangan kasih tau siapa-siapa") are not taken for one."""
    b = engine.bundle
    missed = {q: [t for t in said if command_of(t, b.keywords, b.phrases) != q]
              for q, said in QUESTIONS.items()}
    assert missed == {q: [] for q in QUESTIONS}
    taken = [t for t in NOT_QUESTIONS
             if command_of(t, b.keywords, b.phrases) not in (None, "hello")]  # a greeting
    assert taken == []


THANKS = ["makasih", "ok trima kasih kaka", "terima kasih banyak ibu, Tuhan berkati",
          "Terima kasih atas bantuannya 🙏", "oke makasih e", "thank you so much", "tq kak",
          "trimakasih banyak lk3",
          # a goodbye after information (a walk-through: "Mohon jawab dulu")
          "ok makasih nanti sa datang langsung saja", "makasih kaka, nanti sa datang ke kantor"]
NOT_THANKS = ["makasih kaka, tapi de masih pukul sa skarang", "iya makasih",
              "sa mau bilang terima kasih ke dia", "terima kasih tapi sa masih takut",
              "makasih, sa su tra kuat hidup"]


HUMAN = ["sa mo bicara deng orang langsung, bukan mesin", "sa mau bicara dengan petugas",
         "bukan mesin, sa mau manusia", "i want to talk to a real person",
         "can i speak with a counsellor",
         # walk O: a woman who wanted a person (read as "only helpline numbers")
         "kasi sa nomor hp petugas saja", "kasi sa nomor hp petugas",
         "minta nomor petugas lk3", "can i have the counsellor s number"]
NOT_HUMAN = ["sa bicara dengan petugas kemarin", "de bicara sama orang lain",
             "petugas su telpon sa tadi", "kasi sa nomor bantuan", "minta nomor polisi",
             "petugas minta sa pu nomor hp"]


def test_asking_for_a_person_in_words_is_petugas(engine: Engine) -> None:
    """"sa mo bicara deng orang langsung, bukan mesin" got "Maaf, saya belum mengerti" (a
    walk-through); it asks for a person, as PETUGAS does."""
    b = engine.bundle
    assert [t for t in HUMAN if command_of(t, b.keywords, b.phrases) != "human"] == []
    assert [t for t in NOT_HUMAN if command_of(t, b.keywords, b.phrases) is not None] == []


def test_a_bot_question_and_a_person_wanted_are_both_heard_and_no_guess_sticks(
        engine: Engine) -> None:
    """Walk O-17: "ini bot ka? sa mo bicara deng orang" had the welcome alone; "sa tra mau
    deng mesin. kasi sa nomor hp petugas saja" was offered "only helpline numbers", and
    that guess came back after every message, PETUGAS too. Now: the bot says plainly what it
    is, a person is asked for as PETUGAS would, and no guess is offered."""
    from datetime import UTC, datetime, timedelta

    from flows.actions import OFFER
    from flows.types import Snapshot

    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    first = engine.step(None, Inbound("test", "u1", "m1",
                                      text="ini bot ka? sa mo bicara deng orang"), now)
    keys = [r.key for r in first.replies]
    assert keys[:2] == ["faq.bot", "human_requested.no_consent.start"], keys
    assert "human_requested" in first.snapshot.flags
    second = engine.step(first.snapshot, Inbound(
        "test", "u1", "m2", text="sa tra mau deng mesin. kasi sa nomor hp petugas saja"),
        now + timedelta(minutes=1))
    keys = [r.key for r in second.replies]
    assert keys[0] == "human_requested.no_consent.start" and "did_you_mean" not in keys, keys
    guessed = Snapshot(engine.flow.name, "greeting", "id",
                       {OFFER: ["greeting", "numbers"], "_greeted": True}, (), 0,
                       engine.flow.version, None, now)
    after = engine.step(guessed, Inbound("test", "u1", "m3", text="PETUGAS"), now)
    assert "did_you_mean" not in [r.key for r in after.replies]
    assert OFFER not in after.snapshot.answers


NOW_FOR_TOLONG = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 22:00 WIT
TOLONG = ["kaka tolong", "tolong kaka", "tolong kk!!", "ibu tolong", "darurat kaka",
          "kaka tolong e", "KAKA TOLONG", "om tolong"]
NOT_TOLONG = ["kaka tolong bantu sa isi formulir", "tolong kaka, jam buka kapan",
              "tolong kirim alamat kantor"]


def test_tolong_with_a_form_of_address_is_the_emergency_word(engine: Engine) -> None:
    """"kaka tolong" as a boy's first message got the plain welcome (a walk-through): with a
    form of address before or after it, TOLONG and DARURAT are still the word; a request
    that only begins with "tolong" is not."""
    b = engine.bundle
    assert [t for t in TOLONG if command_of(t, b.keywords, b.phrases) != "emergency"] == []
    assert [t for t in NOT_TOLONG
            if command_of(t, b.keywords, b.phrases) == "emergency"] == []
    turn = engine.step(None, Inbound("test", "u1", "m1", text="kaka tolong"), NOW_FOR_TOLONG)
    assert turn.replies[0].key == "emergency"


NO_NEED = ["tra usah sudah, sa su baik", "tra usah sudah kaka, sa su baik skarang. makasih",
           "sa su baik kaka, tra usah", "tidak usah, saya sudah aman terima kasih",
           "sa su aman jadi tra usah", "tra usah e, sa su tenang"]
NOT_NO_NEED = ["tidak usah", "tra usah", "sa su aman", "sa su baik", "anak sa su baik",
               "tra usah kasih tau sa pu mama", "sa su baik tapi paitua masih pukul sa",
               "tra usah telpon, sa su aman di rumah tetangga"]


def test_no_need_i_am_fine_is_a_pause_and_never_a_safety_answer(engine: Engine) -> None:
    """"tra usah sudah, sa su baik" at the greeting (a walk-through: the crisis model read it
    as self-harm, then "Maaf, saya belum mengerti"): a kind word that they can write any
    time, nothing more asked. Mid-intake it pauses, answers kept. At the safety question "sa
    su aman, tra usah" is the answer safe, never a pause; a bare "tidak usah" answers yes/no
    questions as before."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    b = engine.bundle
    assert [t for t in NO_NEED if command_of(t, b.keywords, b.phrases) != "later"] == []
    assert [t for t in NOT_NO_NEED if command_of(t, b.keywords, b.phrases) == "later"] == []
    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)

    def step(state: str, text: str, answers: dict[str, str]) -> tuple[list[str], Snapshot]:
        snap = Snapshot(engine.flow.name, state, "id", answers, (), 0, engine.flow.version,
                        None, now - timedelta(minutes=1))
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), now, "id")
        return [r.key for r in turn.replies], turn.snapshot

    keys, snap = step("greeting", "tra usah sudah, sa su baik", {})
    assert keys == ["later.start"] and not any(f.startswith("crisis") for f in snap.flags)
    base = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}
    keys, snap = step("category", "sa su baik kaka, tra usah", base)
    assert keys == ["later"] and snap.answers["consent"] == "agree"
    at_risk = {**base, "category": "dv", "who": "self", "_return_to": "who",
               "_focus": "violence"}
    keys, snap = step("emergency_check", "sa su aman, tra usah", at_risk)
    assert "later" not in keys and snap.answers.get("still_in_danger_answer") == "safe"


def test_a_thank_you_is_welcomed_and_nothing_else(engine: Engine) -> None:
    """"ok trima kasih kaka" after the closing was added to the case as a new message, and
    after the end of a conversation it started the greeting over (a walk-through). Now it
    is welcomed; at rest nothing more is said, at a question the question comes again. A
    thank-you with more in it ("makasih kaka, tapi de masih pukul sa") is read as ever, and
    "iya makasih" answers the question."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    b = engine.bundle
    assert [t for t in THANKS if command_of(t, b.keywords, b.phrases) != "thanks"] == []
    assert [t for t in NOT_THANKS if command_of(t, b.keywords, b.phrases) is not None] == []
    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}

    def say(state: str, text: str) -> list[str]:
        snap = Snapshot(engine.flow.name, state, "id", answers, (), 0, engine.flow.version,
                        "LK3-2026-00001" if state == "closing" else None,
                        now - timedelta(minutes=1))
        return [r.key for r in engine.step(snap, Inbound("test", "u1", "m1", text=text), now,
                                           "id").replies]

    assert say("closing", "ok trima kasih kaka") == ["thanks"]
    assert say("done", "makasih") == ["thanks"]  # was the greeting, from the start
    assert say("category", "makasih") == ["thanks", "category"]
    # at the greeting, after the welcome: only its question again, never the whole welcome
    # (a father asking hours and cost heard it five times, a walk-through)
    first = engine.step(None, Inbound("test", "u1", "m1", text="halo"), now, "id")
    again = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="jam buka"), now, "id")
    assert [r.key for r in again.replies] == ["menu.hours_text", "greeting.again"]
    assert "emergency.violence" in say("category", NOT_THANKS[0])


def test_a_question_mid_intake_is_answered_and_the_place_kept(engine: Engine) -> None:
    """A teenager at the "who is affected" question asks "ini rahasia kah?": the limits of
    confidentiality (never a promise of total secrecy), then the same question again."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "under18",
               "category": "sexual"}
    snap = Snapshot(engine.flow.name, "who", "id", answers, (), 0, engine.flow.version, None,
                    now - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="ini rahasia kah?"), now, "id")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "faq.secret.young" and turn.snapshot.state == "who", keys  # "kamu"
    said = engine.bundle.catalog.render(turn.replies[0], "id", {}).text
    assert "wajib bertindak" in said  # the limits, as the consent text says them
    assert engine.flow.states["who"].prompt in keys


def test_when_a_person_will_come_is_answered(engine: Engine) -> None:
    """"kapan petugas hubungi sa?" while the case waits: when to expect a person, by the
    case's priority and the service hours (a walk-through: "added to your case" three times,
    no time); mid-intake: after the questions, and the question again."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # a Monday, 09:30 WIT: open
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "category": "economy", "who": "self"}
    waiting = Snapshot(engine.flow.name, "closing", "id", answers, (), 0, engine.flow.version,
                       "LK3-2026-00009", now - timedelta(hours=2))
    turn = engine.step(waiting, Inbound("test", "u1", "m1", text="kapan petugas hubungi sa?"),
                       now, "id")
    assert [r.key for r in turn.replies] == ["faq.when"]
    said = engine.bundle.catalog.render(turn.replies[0], "id",
                                        {"case_number": "LK3-2026-00009"}).text
    assert "LK3-2026-00009" in said and "1 hari kerja" in said, said
    asking = Snapshot(engine.flow.name, "who", "id", {**answers, "who": None}, (), 0,
                      engine.flow.version, None, now - timedelta(minutes=1))
    turn = engine.step(asking, Inbound("test", "u1", "m2", text="masih lama ka?"), now, "id")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "faq.when.no_case" and turn.snapshot.state == "who", keys


def test_a_pause_keeps_the_answers_and_lanjut_goes_on(engine: Engine) -> None:
    """"tra jadi" mid-intake is a pause (answers kept, no question after it), and "mau lanjut"
    asks the same question again (a walk-through: only BERHENTI stopped, withdrawing consent,
    and coming back began from zero). "lanjut" at the greeting stays its answer."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
               "category": "economy", "who": "self"}
    snap = Snapshot(engine.flow.name, "distrik", "id", answers, (), 0, engine.flow.version,
                    None, now - timedelta(minutes=1))
    paused = engine.step(snap, Inbound("test", "u1", "m1", text="tra jadi"), now, "id")
    assert [r.key for r in paused.replies] == ["later"]
    assert paused.snapshot.state == "distrik"
    assert paused.snapshot.answers["consent"] == "agree"  # nothing withdrawn
    back = engine.step(paused.snapshot, Inbound("test", "u1", "m2", text="mau lanjut"),
                       now + timedelta(hours=1), "id")
    keys = [r.key for r in back.replies]
    assert keys[0] == "resumed" and back.snapshot.state == "distrik", keys
    greeting = Snapshot(engine.flow.name, "greeting", "id", {}, (), 0, engine.flow.version,
                        None, now - timedelta(minutes=1))
    chat = engine.step(greeting, Inbound("test", "u1", "m3", text="lanjut"), now, "id")
    assert chat.snapshot.answers.get("mode") == "chat"


def test_to_stop_for_now_is_a_pause_and_at_is_it_safe_to_chat_so_is_to_stop(
        engine: Engine) -> None:
    """"sa mau berhenti dulu" is a pause wherever it comes (it was "belum mengerti" at "is it
    safe to chat?"); "sa mau berhenti" at that question, where "no" pauses, is stopping for
    now, her answers kept, not consent withdrawn (she may be in danger); BERHENTI, the word,
    still withdraws, and elsewhere "sa mau berhenti" stops (walk S-4)."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    answers = {"mode": "chat", "danger": "now", "consent": "agree", "age": "adult",
               "category": "dv", "who": "self", "injury": "yes"}

    def said(state: str, text: str) -> tuple[list[str], Snapshot]:
        snap = Snapshot(engine.flow.name, state, "id", answers, (), 0, engine.flow.version,
                        None, now - timedelta(minutes=1))
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), now, "id")
        return [r.key for r in turn.replies], turn.snapshot

    for text in ("sa mau berhenti dulu", "sa berhenti dulu kaka", "sa mau berhenti"):
        keys, snap = said("risk_safe_chat", text)
        assert keys == ["later"] and snap.answers["consent"] == "agree", (text, keys)
    keys, _ = said("distrik", "sa mau berhenti dulu")
    assert keys == ["later"], keys
    for state, text in (("risk_safe_chat", "BERHENTI"), ("distrik", "sa mau berhenti")):
        keys, snap = said(state, text)
        assert keys[0].startswith("stopped") and "consent" not in snap.answers, (text, keys)


TO_LANGUAGE = {
    "to_english": ["english please", "can we talk in english", "English", "in english please",
                   "i speak english", "bisa pake bahasa inggris ka", "english only please"],
    "to_indonesian": ["bahasa indonesia", "pake bahasa indonesia saja", "Bahasa Indonesia please",
                      "indonesian please", "ganti ke bahasa indonesia"],
}
NOT_LANGUAGE = ["sa tra bisa bahasa inggris", "guru bahasa inggris sa pukul sa",
                "anak sa les bahasa inggris", "sa orang indonesia", "sa tinggal di indonesia"]


def test_a_language_asked_for_by_name_is_that_language(engine: Engine) -> None:
    """"english please" (a walk-through: LANGUAGE/BAHASA goes to the next language, so it
    could not be asked for plainly): that language, from either, and the question again in
    it; a sentence that only mentions a language is no such request."""
    bundle = engine.bundle
    for command, texts in TO_LANGUAGE.items():
        missed = [t for t in texts if command_of(t, bundle.keywords, bundle.phrases) != command]
        assert not missed, (command, missed)
    wrong = [t for t in NOT_LANGUAGE
             if command_of(t, bundle.keywords, bundle.phrases) in TO_LANGUAGE]
    assert not wrong, wrong
    for text, lang, to in (("english please", "id", "en"), ("english please", "en", "en"),
                           ("pake bahasa indonesia saja", "en", "id")):
        turn = _say(engine, "category", text, lang)
        assert turn.snapshot.language == to and [r.key for r in turn.replies] == [
            "language_switched", "category"], (text, lang)


def _say(engine: Engine, state: str, text: str, lang: str):
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    snap = Snapshot(engine.flow.name, state, lang, {"mode": "chat", "danger": "no",
                                                    "consent": "agree", "age": "adult"},
                    (), 0, engine.flow.version, None, now - timedelta(minutes=1))
    return engine.step(snap, Inbound("test", "u1", "m1", text=text), now, lang)


def test_a_family_that_does_not_understand_hears_it_more_simply(engine: Engine) -> None:
    """"sa tra mengerti" at the consent question (a re-check: a grandmother was told "Maaf,
    saya belum mengerti" herself) brings the consent in plain words, with its limits, then
    the short question and its choices, at once and without counting a miss; at another
    question, a word that it was unclear and the short question; at rest, where it stands."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)

    def turn(state: str, text: str, answers: dict[str, str]) -> tuple[list[str], int]:
        snap = Snapshot(engine.flow.name, state, "id", answers, (), 0, engine.flow.version,
                        None, now - timedelta(minutes=1))
        out = engine.step(snap, Inbound("test", "u1", "m1", text=text), now, "id")
        return [r.key for r in out.replies], out.snapshot.misses

    base = {"mode": "chat", "danger": "no"}
    assert turn("consent", "sa tra mengerti", base) == (["consent.plain", "consent.short"], 0)
    plain = engine.bundle.catalog.texts["id"]["consent.plain"]
    assert "Batas kerahasiaan" in plain and "HAPUS" in plain
    assert turn("category", "maksudnya apa kaka", {**base, "consent": "agree",
                                                   "age": "adult"})[0] == ["explain",
                                                                           "category"]
    rested, _ = turn("helplines", "sa bingung", {"mode": "numbers"})
    assert rested == ["helplines.idle"], rested
    # a story that says it does not understand something is a story, read as ever
    keys, _ = turn("consent", "sa tra mengerti kenapa de pukul sa", base)
    assert "consent.plain" not in keys and any(k.startswith("crisis") for k in keys), keys


def test_dont_know_where_it_is_no_choice_brings_the_question_plainer(engine: Engine) -> None:
    """"sa tra tau" at the danger question, which has no "don't know" choice (a
    walk-through: "Maaf, saya belum mengerti. Balas dengan nomor pilihan"): what the question
    means and which choice fits someone unsure, then the question again. A second "tra tau"
    is that choice, as the plainer text said (walk O: "sa tra tau kk" was offered a person
    and asked again): unsure is 2, afraid, a P1 with the helplines. Where "don't know" is a
    choice it is still the answer."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    snap = Snapshot(engine.flow.name, "danger", "id", {"mode": "chat"}, (), 0,
                    engine.flow.version, None, now - timedelta(minutes=1))
    first = engine.step(snap, Inbound("test", "u1", "m1", text="sa tra tau kaka"), now, "id")
    assert [r.key for r in first.replies] == ["danger.plain", "danger.short"]
    assert first.replies[1].choices and first.snapshot.state == "danger"
    plain = engine.bundle.catalog.texts["id"]["danger.plain"]
    assert "pilih 2" in plain and "ragu" in plain
    second = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="tra tau"), now, "id")
    assert second.snapshot.answers["danger"] == "afraid"
    assert second.replies[0].key.startswith("safety_p1"), second.replies
    assert second.snapshot.state == "consent"
    picked = engine.step(first.snapshot, Inbound("test", "u1", "m3", text="2"), now, "id")
    assert picked.snapshot.answers["danger"] == "afraid"


def test_the_codeword_is_explained_to_whoever_asks_what_it_is(engine: Engine) -> None:
    """"maksudnya apa" at the codeword question: what a codeword is for, then the question
    again; a child writing reads it in "kamu"."""
    from datetime import UTC, datetime, timedelta

    from flows.actions import YOUNG
    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    for answers, key in [({}, "codeword.plain"), ({YOUNG: True}, "codeword.plain.young")]:
        snap = Snapshot(engine.flow.name, "codeword", "id", {"mode": "chat", **answers}, (),
                        0, engine.flow.version, None, now - timedelta(minutes=1))
        out = engine.step(snap, Inbound("test", "u1", "m1", text="maksudnya apa"), now, "id")
        assert out.replies[0].key == key
        assert out.snapshot.state == "codeword" and "codeword" not in out.snapshot.answers


def test_thanks_at_the_rating_after_a_close_leaves_it(engine: Engine) -> None:
    """"makasih" at the optional 1-5 rating after a counselor closed the case: welcome, and
    the rating is left, not asked again (a walk-through's family was asked it twice)."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    snap = Snapshot(engine.flow.name, "feedback", "id", {"mode": "chat"}, (), 0,
                    engine.flow.version, "LK3-2026-00001", now - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="makasih kaka"), now, "id")
    assert [r.key for r in turn.replies] == ["thanks"]
    assert turn.snapshot.state == "done"  # the rating left, the conversation at its end
    # "ok" or a thumbs-up: the goodbye, not the whole welcome again (walk K); words of a
    # new request do start again
    for text in ("ok", "ok kaka", "👍", "sip", "siap kaka", "oke sip kaka"):  # (walk U-11:
        # "sip" began the whole first-contact welcome)
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), now, "id")
        assert [r.key for r in turn.replies] == ["done"], text
    turn = engine.step(snap, Inbound("test", "u1", "m1", text="sa mau tanya lagi soal anak"),
                       now, "id")
    assert [r.key for r in turn.replies][-1] == "greeting"
    # the rating with praise after it (walk L: "5 kk, mantap" restarted the welcome)
    rated = engine.step(snap, Inbound("test", "u1", "m1", text="5 kk, mantap"), now, "id")
    assert [r.key for r in rated.replies] == ["done"]
    assert [e.data for e in rated.events if e.kind == "satisfaction"] == [{"score": 5}]


def test_a_bare_question_mark_is_a_family_that_did_not_understand(engine: Engine) -> None:
    """"?" or "apa" at the greeting (a re-check: "Maaf, saya belum mengerti. Balas dengan
    nomor pilihan") brings the question in plain words, not a miss."""
    from datetime import UTC, datetime

    from flows.types import Inbound

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    first = engine.step(None, Inbound("test", "u1", "m1", text="halo"), now, "id")
    for text in ("?", "??", "apa"):
        turn = engine.step(first.snapshot, Inbound("test", "u1", "m2", text=text), now, "id")
        assert [r.key for r in turn.replies] == ["greeting.plain", "greeting.short"], text
        assert turn.snapshot.misses == 0


def test_petugas_at_the_greeting_says_what_comes_first(engine: Engine) -> None:
    """PETUGAS at the greeting was told to answer "the consent question", which had not been
    shown (a walk-through): it says to pick how to talk, then consent."""
    from flows.types import Inbound
    from tests.answer_replies import NOW

    first = engine.step(None, Inbound("test", "u1", "m1", text="halo"), NOW, "id")
    turn = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="petugas"), NOW, "id")
    assert turn.replies[0].key == "human_requested.no_consent.start"
    said = engine.bundle.catalog.texts["id"]["human_requested.no_consent.start"]
    assert "Pilih 1" in said and "persetujuan" in said


def test_a_greeting_after_the_greeting_is_greeted_back(engine: Engine) -> None:
    """"halo kaka" or "p" after the welcome got "Maaf, saya belum mengerti" (a walk-through):
    a greeting back and the question. The first message gets the whole welcome, a text
    question takes it as its answer, and at rest it is a message for the case."""
    from flows.types import Inbound
    from tests.answer_replies import NOW

    first = engine.step(None, Inbound("test", "u1", "m1", text="halo kaka"), NOW, "id")
    assert first.replies[-1].key == "greeting"
    for text in ("halo kaka", "p", "selamat pagi ibu"):
        again = engine.step(first.snapshot, Inbound("test", "u1", "m2", text=text), NOW, "id")
        assert [r.key for r in again.replies] == ["hello", "greeting.again"], text
    from dataclasses import replace
    at_codeword = replace(first.snapshot, state="codeword",
                          answers={"mode": "chat", "consent": "agree"})
    kept = engine.step(at_codeword, Inbound("test", "u1", "m3", text="halo"), NOW, "id")
    assert kept.snapshot.answers.get("codeword") == "halo"


def test_someone_coming_in_is_a_pause_at_once(engine: Engine) -> None:
    """"nanti dulu, mama masuk kamar" at the suicide question (a walk-through: a pregnant
    girl of 16; "Maaf, saya belum mengerti" and the question again on her screen): a pause,
    no question shown. "tolong kaka sa takut" mid-intake is help now, not "kakak"."""
    from datetime import timedelta

    from flows.types import Inbound, Snapshot
    from tests.answer_replies import NOW

    b = engine.bundle
    for text in ("nanti dulu, mama masuk kamar", "tunggu, ada orang datang",
                 "sebentar kaka, paitua su pulang",
                 # walk M: a girl whose mother came home, a woman whose signal goes
                 "mama su pulang, nanti sa chat lg", "nanti sa chat lagi",
                 "signal mo hilang, besok sore baru sa bisa balas"):
        assert command_of(text, b.keywords, b.phrases) == "later", text
    for text in ("hp sa mati", "nanti sa pu anak datang", "besok sa mau ke kantor",
                 # a story after it is read for danger (the property test found it swallowed)
                 "pulsa habis, ini pake wifi tetangga. sa mo gantung diri malam ini",
                 "signal mo hilang. de pukul sa skarang"):
        assert command_of(text, b.keywords, b.phrases) != "later", text
    def at(state: str, category: str) -> Snapshot:
        answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "under18",
                   "category": category}
        return Snapshot(engine.flow.name, state, "id", answers, (), 0, engine.flow.version,
                        None, NOW - timedelta(minutes=1))

    turn = engine.step(at("asq_now", "selfharm"),
                       Inbound("test", "u1", "m1", text="nanti dulu, mama masuk kamar"), NOW, "id")
    # she is 16: "kamu"; her mother came in: nothing more written until she writes (U-2)
    assert [r.key for r in turn.replies] == ["later.unsafe.young"]
    scared = engine.step(at("who", "dv"), Inbound("test", "u1", "m2",
                                                  text="tolong kaka sa takut"), NOW, "id")
    assert scared.snapshot.answers.get("who") is None
    assert scared.replies[0].key.startswith("emergency"), scared.replies[0].key


# walk U-2: someone near or looking, or "I cannot chat now": a pause at once, nothing more
# written to her (not even a list of numbers, nor a counselor's reply) until she writes
UNSAFE_PAUSES = [
    "sa tra bisa chat skarang, bapa ada dekat", "nanti dulu, mama tiri ada lihat",
    "stop dulu kaka ada orang", "sa mo berhenti dulu, mama tiri ada lihat",
    "tunggu, ada orang datang", "sebentar kaka, paitua su pulang", "nanti dulu, mama masuk kamar",
    "mama su pulang, nanti sa chat lg", "bapa ada dekat, sa berhenti dulu",
    "nanti dulu, suami ada di rumah", "sa tra bisa chat skarang", "sa tra bisa balas dulu",
    "tunggu, mama ada", "sa belum bisa cerita sekarang", "stop dulu ada orang",
]
# a pause with no one near: the answers kept, staff may still write
PLAIN_PAUSES = ["nanti dulu", "tra jadi", "nanti dulu, anak bangun", "nanti",
                "signal mo hilang, besok sore baru sa bisa balas"]
# ordinary messages and stories with the same words: no pause, read as ever (for danger too)
NOT_PAUSES = [
    "bapa ada dekat sekolah", "mama tiri ada lihat sa pu adik", "ada orang di rumah",
    "sa tra bisa chat lama, pulsa sedikit", "paitua su pulang dari kerja", "mama ada lihat",
    "sa tra bisa tulis panjang", "tunggu petugas datang", "sebentar lagi bapa pulang",
    "nanti sa pu mama datang", "de tra bisa chat sekarang", "sa tra bisa lanjut sekolah",
    "sa tra bisa bicara sekarang",  # can't speak: chat only, not a pause
    # beside danger words: the danger text, never a pause
    "tunggu, bapa datang bawa parang", "nanti dulu, de ada dekat, de mo pukul sa",
    "stop dulu de pukul sa", "sa tra bisa chat skarang, de pukul sa",
    "nanti dulu ada orang mo bunuh sa",
]


def test_someone_near_or_looking_is_a_pause_that_holds_what_is_written(
        engine: Engine) -> None:
    """Walk U-2 at the category question: the danger text with every 24-hour number, or
    "Maaf, saya belum mengerti", went to a phone her father or stepmother was looking at.
    Now a pause (the answers kept) that says, without numbers, nothing more comes until she
    writes (UNSAFE_NOW: bot.pipeline.held holds staff's words, even as a reply), which her
    next message lifts. A pause with no one near holds nothing; the same words in ordinary
    messages, or beside danger, are no pause."""
    from datetime import timedelta

    from flows.actions import UNSAFE_NOW
    from flows.types import Inbound, Snapshot
    from tests.answer_replies import NOW

    b = engine.bundle
    answers = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}
    snap = Snapshot(engine.flow.name, "category", "id", answers, (), 0, engine.flow.version,
                    None, NOW - timedelta(minutes=1))
    for text in UNSAFE_PAUSES:
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
        keys = [r.key for r in turn.replies]
        assert keys == ["later.unsafe"], (text, keys)
        assert UNSAFE_NOW in turn.snapshot.flags and turn.snapshot.state == "category", text
        assert turn.snapshot.answers["consent"] == "agree", text
        assert any(e.kind == "paused_by_family" and e.data.get("unsafe")
                   for e in turn.events), text
        again = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="2"),
                            NOW + timedelta(hours=1), "id")
        assert UNSAFE_NOW not in again.snapshot.flags, text  # she wrote again
        assert again.snapshot.answers.get("category") == "dv", text
    said = b.catalog.render(turn.replies[0], "id").text
    assert not any(n in said for n in ("110", "129", "1500")), said
    for text in PLAIN_PAUSES:
        turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")
        assert [r.key for r in turn.replies] == ["later"], text
        assert UNSAFE_NOW not in turn.snapshot.flags, text
    alarms = [t for t in NOT_PAUSES if command_of(t, b.keywords, b.phrases) == "later"]
    assert alarms == []
    assert not [t for t in ORDINARY if command_of(t, b.keywords, b.phrases) == "later"]


def test_several_questions_about_the_service_in_one_message_are_each_answered(
        engine: Engine) -> None:
    """Walk K: "selamat sore, kantor LK3 dimana ya? buka jam brp? bayar ka?" got only the
    welcome, and "kantor di mana? jam brapa buka?" at "when is it safe to contact you?" was
    kept as the safe time and read back. Each question is answered once, then the question
    on the screen again, nothing saved."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    first = engine.step(None, Inbound("test", "u1", "m1", text="selamat sore, kantor LK3 "
                                      "dimana ya? buka jam brp? bayar ka?"), now, "id")
    assert [r.key for r in first.replies] == ["menu.hours_text", "faq.cost", "greeting"]
    snap = Snapshot(engine.flow.name, "safe_times", "id", {"mode": "chat", "contact": "office"},
                    (), 0, engine.flow.version, None, now - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m2", text="kantor di mana? jam brapa "
                                     "buka?"), now, "id")
    assert [r.key for r in turn.replies] == ["menu.hours_text", "safe_times"]
    assert "safe_times" not in turn.snapshot.answers
    # a story with one question in it is still a story (and "jam 10" in it a time)
    told = engine.step(snap, Inbound("test", "u1", "m3", text="pagi jam 10, sa di kebun"),
                       now, "id")
    assert told.snapshot.answers["safe_times"] == "pagi jam 10, sa di kebun"
    # walk M: a bare "pagi" greeting before them, and the office guessed by a landmark (it
    # had been kept as the safe time and read back in the closing)
    morning = engine.step(None, Inbound("test", "u1", "m4", text="pagi, kantor lk3 buka jam "
                                        "brp? hari sabtu buka ka?"), now, "id")
    assert [r.key for r in morning.replies] == ["menu.hours_text", "greeting"]
    landmark = engine.step(snap, Inbound("test", "u1", "m5", text="kantor dinsos itu di "
                                         "mana? dekat gereja katedral ka?"), now, "id")
    assert [r.key for r in landmark.replies] == ["menu.hours_text", "safe_times"]
    assert "safe_times" not in landmark.snapshot.answers
    # a re-check: the address asked again in a word of its own
    again = engine.step(None, Inbound("test", "u1", "m6", text="kantor lk3 dimana ya? "
                                      "alamatnya?"), now, "id")
    assert [r.key for r in again.replies] == ["menu.hours_text", "greeting"]


OFFICE_AND_MORE = [  # walk O: (where, message, the answers before the question again)
    ("greeting", "selamat siang, kantor LK3 dimana kah? sa mo datang langsung",
     ["menu.hours_text"]),
    ("safe_times", "alamat lengkapnya di jalan apa? buka jam brapa?", ["menu.hours_text"]),
    ("category", "ada nomor telp kantor ka?", ["faq.phone"]),
    ("category", "kk alamat kantor dinsos mimika di mana?", ["menu.hours_text"]),
    ("who", "ok makasih. alamat lengkapnya di jalan apa?", ["menu.hours_text"]),
    ("greeting", "hi, where is your office? what is the street address and phone number?",
     ["menu.hours_text", "faq.phone"]),
    ("greeting", "how do i book a pre-marriage counselling session?", ["faq.appointment"]),
    ("who", "sa mo tanya dulu, kalo daftar PKH harus bawa KK deng KTP ka?", ["faq.aid"]),
    ("closing", "is there an anger management class or counselling? how long does it take? "
     "do i have to pay?", ["faq.appointment", "faq.when", "faq.cost"]),
]


@pytest.mark.parametrize(("state", "text", "said"), OFFICE_AND_MORE)
def test_questions_about_the_office_and_the_service_as_families_ask_them(
        engine: Engine, state: str, text: str, said: list[str]) -> None:
    """Walk O-11 and O-15: where the office is, asked in a longer message or another way,
    its phone number, a session booked in English, PKH's documents mid-intake, three
    questions after the closing: each had the welcome, "Mohon jawab dulu", "Maaf, saya
    belum mengerti", the closing alone, or was taken as the answer to "who needs help".
    Each is answered (no phone number invented: none is configured), nothing is saved as
    an answer, and the question on the screen comes again."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    answers = {} if state == "greeting" else {
        "mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
        **({"category": "dv"} if state in ("who", "safe_times", "closing") else {}),
        **({"contact": "office"} if state in ("safe_times", "closing") else {})}
    snap = None if state == "greeting" else Snapshot(
        engine.flow.name, state, "id", answers, (), 0, engine.flow.version,
        "LK3-2026-00001" if state == "closing" else None, now - timedelta(minutes=1))
    turn = engine.step(snap, Inbound("test", "u1", "m1", text=text), now, "id")
    keys = [r.key for r in turn.replies]
    assert keys[:len(said)] == said, keys
    assert turn.snapshot.answers == ({**answers, **{k: v for k, v in
                                                    turn.snapshot.answers.items()
                                                    if k.startswith("_")}}), text
    phone = engine.bundle.catalog.render(turn.replies[0], "id", {}).text \
        if keys[0] == "faq.phone" else ""
    assert not phone or ("110" in phone and "PETUGAS" in phone), phone


def test_a_story_at_the_codeword_question_is_not_the_codeword(engine: Engine) -> None:
    """Walk N: a story typed at "make up a short codeword" was kept as the codeword, and the
    counselor would have said it back. A message of more than a few words is asked again,
    once, with what a codeword is (the message stays in the transcript); the next answer is
    taken as it comes."""
    from datetime import UTC, datetime, timedelta

    from flows.types import Inbound, Snapshot

    now = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    snap = Snapshot(engine.flow.name, "codeword", "id",
                    {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
                     "category": "couple", "contact": "chat"},
                    (), 0, engine.flow.version, None, now - timedelta(minutes=1))
    story = engine.step(snap, Inbound("test", "u1", "m1", text=(
        "sa tinggal di sp2 dekat pasar, hp ini sa pu sendiri")), now, "id")
    assert [r.key for r in story.replies] == ["codeword.not_word"]
    assert "codeword" not in story.snapshot.answers
    word = engine.step(story.snapshot, Inbound("test", "u1", "m2", text="mangga"), now, "id")
    assert word.snapshot.answers["codeword"] == "mangga"
    short = engine.step(snap, Inbound("test", "u1", "m3", text="buah mangga"), now, "id")
    assert short.snapshot.answers["codeword"] == "buah mangga"


def test_stop_said_again_after_stopping_is_no_new_start(engine: Engine) -> None:
    """Walk S (S-14): after BERHENTI, "tra usah kirim2 lagi" got "Karena tadi Anda ketik
    BERHENTI, kita mulai lagi" and the whole greeting. It is BERHENTI again: stopped."""
    now = datetime(2026, 11, 30, 11, 30, tzinfo=UTC)
    snap = None
    for i, said in enumerate(["malam", "1", "3", "1", "stop", "tra usah kirim2 lagi"]):
        turn = engine.step(snap, Inbound("test", "u1", f"m{i}", text=said), now, "id")
        snap = turn.snapshot
    assert (snap.state, [r.key for r in turn.replies]) == ("stopped", ["stopped.no_case"])
