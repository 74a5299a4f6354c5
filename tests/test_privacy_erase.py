"""HAPUS fulfilled: `lk3 privacy erase` removes the family's words and number everywhere
(database files with their WAL, outbox, exports, logs, Twilio's copies), keeps the case
skeleton, changes nothing the second time, and waits for a legal hold."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.casework.scheduler import Scheduler
from bot.privacy import erase, export, provider
from bot.privacy.cli import family_texts
from bot.service import Service
from storage import counselors, inbox
from storage import privacy as store
from storage.db import sqlite_file
from storage.models import Base, Case, InboxMessage, PrivacyRequest, ProviderCopy
from tests.fakes.twilio_api import FakeTwilio
from tests.support import CollectingSender, FrozenClock, deliver
from tests.test_handoff import Person
from tests.test_scheduler import hire, texts
from tests.test_whatsapp import (
    SID,
    TOKEN,
    WhatsApp,
    _client,
    make_wa_service,
    media_url,
    settings_for,
)

PHONE = "whatsapp:+6281277001234"
DIGITS = "6281277001234"


def everything(db: Engine) -> list[tuple[str, tuple[Any, ...]]]:
    """Every row of every table, in id order: what "changes nothing" compares."""
    out = []
    with db.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            out += [(table.name, tuple(r)) for r in conn.execute(select(table).order_by(*order))]
    return out


def found_in_rows(db: Engine, needle: str) -> list[str]:
    return [name for name, row in everything(db) if needle in repr(row)]


def found_in_files(db: Engine, needle: str) -> list[str]:
    path = sqlite_file(db.url.render_as_string(False))
    assert path is not None
    files = [Path(f"{path}{s}") for s in ("", "-wal", "-shm")]
    return [f.name for f in files if f.exists() and needle.encode() in f.read_bytes()]


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as fake:
        yield fake


@pytest.fixture
async def wa(db: Engine, clock: FrozenClock, twilio_api: FakeTwilio) -> AsyncIterator[WhatsApp]:
    twilio_api.reset()
    service = make_wa_service(db, clock, settings_for(db, twilio_api.url))
    service.senders["test"] = CollectingSender()  # the supervisor's chat
    async with _client(service) as http:
        yield WhatsApp(service, twilio_api, http)
    assert twilio_api.unknown == [], "the client called a path the fake does not serve"


def _request(db: Engine, kind: str) -> store.Request:
    with db.connect() as conn:
        (req,) = [r for r in store.listing(conn, ("open", "erasing", "done", "deferred"))
                  if r.kind == kind]
    return req


async def test_erase_removes_the_sentence_and_number_everywhere_and_keeps_the_skeleton(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """After HAPUS and `lk3 privacy erase`: the unique sentence and the phone number are in
    no table, no database file (WAL included, after the checkpoint), no export and no log;
    Twilio deleted every message and the photo; the family was told; the case skeleton is
    left; a second erase changes nothing."""
    caplog.set_level(logging.DEBUG)
    sentence = f"Suami saya memukul dengan kayu di dapur {uuid.uuid4().hex[:10]}"
    service, db = wa.service, wa.db
    hire(db, clock, "sup", role="supervisor", duty=False)
    await wa.walk_intake(PHONE, special={"account": {
        "body": sentence, "NumMedia": "1", "MediaUrl0": media_url(7),
        "MediaContentType0": "image/jpeg"}})
    assert found_in_rows(db, sentence)
    await wa.say(PHONE, "DATA")
    exports = tmp_path / "exports"
    data = _request(db, "data")
    written = export.export(db, data.id, exports, family_texts(), clock(), False, "cli:test")
    assert written.code == 0 and sentence in "\n".join(written.lines)
    assert any(sentence in p.read_text() for p in exports.iterdir())
    await wa.say(PHONE, "HAPUS")
    req = _request(db, "erase")
    delete = provider.twilio(service.settings)
    with db.connect() as conn:
        inbound = conn.execute(select(InboxMessage.provider_message_id)).scalars().all()

    refused = erase.erase(db, req.id, "cli:test", clock(), family_texts(), delete, exports)
    assert refused.code == 1 and "masih terbuka" in refused.lines[0]  # close it first,
    assert "/ambil NOMOR" in refused.lines[0] and "/selesai HASIL" in refused.lines[0]  # how
    await _supervisor_closes(db, wa, clock)

    done = erase.erase(db, req.id, "cli:test", clock(), family_texts(), delete, exports)
    assert done.code == 0, done.lines
    assert "percakapan" in done.lines[0] and "messages" not in done.lines[0]  # in words
    await wa.drain(clock)
    told = wa.fake.bodies(PHONE)[-1]
    assert "sudah kami hapus" in told and "HP Anda" in told
    # Twilio's copies go after this notice: it says they are being deleted (walk V-10)
    assert "(Twilio) sedang kami hapus juga" in told and "juga salinan pesan" not in told
    Scheduler(db, clock).run_once()  # the notice sent: the address goes too
    assert _request(db, "erase").status == "done"
    again = erase.erase(db, req.id, "cli:test", clock(), family_texts(), delete, exports)
    assert again.code == 0 and "tidak ada yang diubah" in again.lines[0]

    sids = [m["sid"] for m in wa.fake.created if m["to"] == PHONE]
    assert set(sids) <= set(wa.fake.deleted), "every reply deleted at Twilio"
    assert set(inbound) <= set(wa.fake.deleted), "every message of theirs deleted at Twilio"
    assert f"MM{7:032x}/ME{7:032x}" in wa.fake.deleted
    for needle in (sentence, DIGITS):
        assert found_in_rows(db, needle) == [], needle
        if db.dialect.name == "sqlite":
            assert found_in_files(db, needle) == [], needle
        assert needle not in caplog.text
        assert not any(needle in p.read_text() for p in exports.iterdir())
    with db.connect() as conn:
        case = conn.execute(select(Case)).one()
    assert (case.status, case.priority, case.category, case.outcome) == (
        "closed", case.priority, case.category, "selesai")
    assert case.category is not None and case.distrik is not None

    before = everything(db)
    third = erase.erase(db, req.id, "cli:test", clock(), family_texts(), delete, exports)
    assert third.code == 0
    assert everything(db) == before


def _held_and_asked(service: Service, clock: FrozenClock) -> tuple[Person, str, store.Request]:
    """A family's case closed and put on a legal hold, then the family's HAPUS."""
    family = Person(service, "fam")
    number = family.intake()
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    sup = Person(service, "sup")
    sup.say(f"/ambil {number}")
    sup.say("/selesai dirujuk")
    held = erase.hold(service.db, number, "proses hukum UU TPKS", "cli:test", clock())
    assert held.code == 0 and "ditahan" in held.lines[0]
    family.say("HAPUS")
    family.unread()
    return family, number, _request(service.db, "erase")


def test_a_legal_hold_defers_erasure_and_the_family_is_told_why(
        service: Service, clock: FrozenClock) -> None:
    """A held case defers HAPUS (the words stay, the family hears why, the hold and the
    deferral are audited); released, the erasure goes ahead."""
    family, number, req = _held_and_asked(service, clock)
    out = erase.erase(service.db, req.id, "cli:test", clock(), family_texts(),
                      provider.nothing)
    assert out.code == 0 and "ditunda" in out.lines[0]
    deliver(service)
    (why,) = [p["text"] for p in family.unread()]
    assert "proses hukum atau perlindungan anak" in why
    assert _request(service.db, "erase").status == "deferred"
    with service.db.connect() as conn:
        assert conn.execute(select(PrivacyRequest.reason)).scalar_one() == "hold"
        case = store.numbers(conn, req.case_ids)
    assert number in case.values()
    assert found_in_rows(service.db, "HAPUS"), "nothing erased while held"
    assert erase.hold(service.db, number, None, "cli:test", clock(), release=True).code == 0
    after = erase.erase(service.db, req.id, "cli:test", clock(), family_texts(),
                        provider.nothing)
    assert after.code == 0 and "dihapus" in after.lines[0]
    assert _request(service.db, "erase").status == "erasing"


def test_on_telegram_the_family_is_told_what_stays_on_their_phone(
        service: Service, clock: FrozenClock) -> None:
    """Telegram cannot delete the family's side of a chat: the last notice says so."""
    service.senders["telegram"] = CollectingSender(channel="telegram")
    family = Person(service, "4242", channel="telegram")
    family.say("halo")
    family.say("HAPUS")
    req = _request(service.db, "erase")
    out = erase.erase(service.db, req.id, "cli:test", clock(), family_texts(),
                      provider.nothing)
    assert out.code == 0
    deliver(service)
    told = [p["text"] for p in family.unread()][-1]
    assert "Telegram tidak mengizinkan kami menghapus obrolan" in told
    Scheduler(service.db, clock).run_once()
    assert found_in_rows(service.db, "'4242'") == []


def test_erase_clears_a_counselors_note_referral_and_message_from_their_inbox(
        service: Service, clock: FrozenClock) -> None:
    """A counselor's note, referral reason and message to the family, each quoting the
    family's sentence, are in no table after the erasure (the counselor's raw inbox rows
    included); another family's note stays."""
    sentence = f"ibu Yosefina bilang suami punya senjata api {uuid.uuid4().hex[:10]}"
    other = f"catatan keluarga lain {uuid.uuid4().hex[:10]}"
    hire(service.db, clock, "kons")
    kons = Person(service, "kons")
    for user, words in (("fam2", other), ("fam", sentence)):
        number = Person(service, user).intake()
        kons.say(f"/ambil {number}")
        kons.say(f"/catatan RAHASIA-NOTE {words}")
        if user == "fam":
            kons.say(f"/rujuk uptd_ppa {words}")
            kons.say(f"Ibu, kami sudah catat: {words}")
        kons.say("/selesai dirujuk")
    Person(service, "fam").say("HAPUS")
    assert "inbox" in found_in_rows(service.db, sentence)
    out = erase.erase(service.db, _request(service.db, "erase").id, "cli:test", clock(),
                      family_texts(), provider.nothing)
    assert out.code == 0, out.lines
    deliver(service)
    Scheduler(service.db, clock).run_once()
    assert found_in_rows(service.db, sentence) == []
    if service.db.dialect.name == "sqlite":
        assert found_in_files(service.db, sentence) == []
    assert "inbox" in found_in_rows(service.db, other), "only this family's words go"


def test_releasing_a_hold_reopens_the_deferred_erasure_with_a_new_deadline(
        service: Service, clock: FrozenClock) -> None:
    """Released, a deferred erasure is open again, due 3x24 hours from the release: the
    release names it and the command to run, supervisors hear of it at once and again
    when it is overdue."""
    _, number, req = _held_and_asked(service, clock)
    deferred = erase.erase(service.db, req.id, "cli:test", clock(), family_texts(),
                           provider.nothing)
    assert deferred.code == 0 and "ditunda" in deferred.lines[0]
    clock.advance(days=20)
    before = len(texts(service.db, "sup"))
    released = erase.hold(service.db, number, None, "cli:test", clock(), release=True)
    said = "\n".join(released.lines)
    assert released.code == 0 and f"lk3 privacy erase {req.label}" in said
    again = _request(service.db, "erase")
    assert (again.status, again.due_at) == ("open", clock() + timedelta(hours=72))
    (alert,) = texts(service.db, "sup")[before:]
    assert alert.startswith(f"Permintaan hak data {req.label}") and "3 hari" in alert
    clock.now = again.due_at + timedelta(minutes=1)
    Scheduler(service.db, clock).run_once()
    assert any(t.startswith(f"TERLAMBAT: permintaan {req.label}")
               for t in texts(service.db, "sup")[before:])


def test_a_deferred_erasure_whose_hold_ended_otherwise_is_opened_by_the_scheduler(
        service: Service, clock: FrozenClock) -> None:
    """A hold released without `cases hold --release` reopening the erasure (released
    before that existed): the scheduler's privacy job opens it, due 3x24 hours later,
    supervisors alerted; while a hold stands, and once open, it does nothing more."""
    _, _, req = _held_and_asked(service, clock)
    erase.erase(service.db, req.id, "cli:test", clock(), family_texts(), provider.nothing)
    Scheduler(service.db, clock).run_once()
    assert _request(service.db, "erase").status == "deferred"  # still held: untouched
    with service.db.begin() as conn:
        (case_id,) = store.case_ids_of(conn, req.contact_id)
        store.release(conn, case_id, "cli:old", clock())
    clock.advance(hours=1)
    before = len(texts(service.db, "sup"))
    Scheduler(service.db, clock).run_once()
    again = _request(service.db, "erase")
    assert (again.status, again.due_at) == ("open", clock() + timedelta(hours=72))
    (alert,) = texts(service.db, "sup")[before:]
    assert alert.startswith(f"Permintaan hak data {req.label}")
    Scheduler(service.db, clock).run_once()
    assert len(texts(service.db, "sup")) == before + 1


def test_the_family_hears_of_a_deferral_once(service: Service, clock: FrozenClock) -> None:
    """Erasing a held case again and again tells the family once (someone else may read a
    shared phone); staff read that the family was told before."""
    family, _, req = _held_and_asked(service, clock)
    outs = [erase.erase(service.db, req.id, "cli:test", clock(), family_texts(),
                        provider.nothing) for _ in range(3)]
    clock.advance(hours=1)
    outs.append(erase.erase(service.db, req.id, "cli:test", clock(), family_texts(),
                            provider.nothing))
    deliver(service)
    told = [p["text"] for p in family.unread()]
    assert len(told) == 1 and "proses hukum atau perlindungan anak" in told[0]
    assert all(o.code == 0 and "ditunda" in o.lines[0] for o in outs)
    assert "sudah diberi tahu" in outs[0].lines[0]
    assert all("sudah diberi tahu sebelumnya" in o.lines[0] for o in outs[1:])


KONS = "whatsapp:+6281277009999"
OTHER = "whatsapp:+6281277005555"


def _number_of(db: Engine) -> str:
    with db.connect() as conn:
        return str(conn.execute(select(Case.number).order_by(Case.id.desc())).scalars().first())


async def _staff(wa: WhatsApp, words: str) -> str:
    """A counselor's WhatsApp message; its Twilio sid."""
    sid = f"SM{uuid.uuid4().hex}"
    await wa.inbound(KONS, words, MessageSid=sid)
    await wa.pump()
    return sid


async def test_erase_deletes_a_whatsapp_counselors_side_at_twilio_too(
        wa: WhatsApp, clock: FrozenClock) -> None:
    """A counselor on WhatsApp: the family's words relayed to them and what they wrote on the
    case are deleted at Twilio with the family's erasure; another family's stay."""
    sentence = f"bapak dia pukul sa deng kabel {uuid.uuid4().hex[:10]}"
    other = f"keluarga lain pu cerita {uuid.uuid4().hex[:10]}"
    db = wa.db
    with db.begin() as conn:
        cid = counselors.add(conn, name="Sari", role="counselor", now=clock(),
                             accounts=[("whatsapp", KONS)])
        counselors.set_duty(conn, cid, True)
    await _staff(wa, "/bantuan")  # opens WhatsApp's 24-hour window to the counselor
    staff_sids: dict[str, list[str]] = {}
    for phone, words in ((OTHER, other), (PHONE, sentence)):
        await wa.walk_intake(phone)
        await _staff(wa, f"/ambil {_number_of(db)}")
        await wa.say(phone, words)  # relayed to the counselor's WhatsApp
        staff_sids[phone] = [await _staff(wa, f"Ibu, kami sudah catat: {words}"),
                             await _staff(wa, "/selesai selesai")]
    await wa.drain(clock)
    relayed = {m["body"]: m["sid"] for m in wa.fake.created if m["to"] == KONS}
    to_kons = [sid for body, sid in relayed.items() if sentence in body]
    kept = [sid for body, sid in relayed.items() if other in body]
    assert to_kons and kept, "both families' words reached the counselor"
    await wa.say(PHONE, "HAPUS")

    done = erase.erase(db, _request(db, "erase").id, "cli:test", clock(), family_texts(),
                       provider.twilio(wa.service.settings))
    assert done.code == 0, done.lines
    assert set(to_kons) <= set(wa.fake.deleted), "the relays to the counselor"
    assert set(staff_sids[PHONE]) <= set(wa.fake.deleted), "what the counselor wrote"
    assert not {*kept, *staff_sids[OTHER]} & set(wa.fake.deleted), "the other family's"
    assert found_in_rows(db, sentence) == []


async def test_retention_deletes_twilio_copies_and_tries_again_while_twilio_is_down(
        wa: WhatsApp, clock: FrozenClock) -> None:
    """A closed WhatsApp case past its retention period: the scheduler anonymises it and
    deletes its messages at Twilio; while Twilio fails, none is lost: the next try waits 15
    minutes, and then every copy goes."""
    db = wa.db
    await wa.walk_intake(PHONE)
    hire(db, clock, "sup", role="supervisor", duty=False)
    for command in (f"/ambil {_number_of(db)}", "/selesai selesai"):
        with db.begin() as conn:
            inbox.store(conn, channel="test", sender="sup", payload={"text": command},
                        provider_message_id=f"sup-{command}", now=clock())
        await wa.pump()
    await wa.drain(clock)
    with db.connect() as conn:
        theirs = set(conn.execute(select(InboxMessage.provider_message_id).where(
            InboxMessage.channel == "whatsapp")).scalars())
    theirs |= {m["sid"] for m in wa.fake.created if m["to"] == PHONE}
    clock.advance(days=5 * 365 + 2)
    scheduler = Scheduler(db, clock, deleter=provider.twilio(wa.service.settings))

    wa.fake.fail_next_deletes(len(theirs))
    scheduler.run_once()  # anonymised; Twilio answers 500 to each
    assert found_in_rows(db, DIGITS) == []
    assert wa.fake.deleted == []
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProviderCopy)).scalar() == \
            len(theirs)
    tries = len(wa.fake.requests)
    clock.advance(minutes=14)
    scheduler.run_once()
    assert len(wa.fake.requests) == tries, "not before its time"
    clock.advance(minutes=2)
    scheduler.run_once()
    assert set(wa.fake.deleted) == theirs
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProviderCopy)).scalar() == 0
    scheduler.run_once()
    assert len(wa.fake.deleted) == len(theirs), "nothing asked twice"


async def test_without_twilio_configured_the_notice_claims_nothing_of_its_copies(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> None:
    """Walk V-10: the notice said the copies at Twilio were deleted while the CLI said
    "Salinan di Twilio: 0 dihapus, 37 belum" (no Twilio configured). With no provider to
    delete them, the notice says nothing about them."""
    db = wa.db
    hire(db, clock, "sup", role="supervisor", duty=False)
    await wa.walk_intake(PHONE)
    await wa.say(PHONE, "HAPUS")
    req = _request(db, "erase")
    await _supervisor_closes(db, wa, clock)
    done = erase.erase(db, req.id, "cli:test", clock(), family_texts(), provider.nothing,
                       tmp_path)
    assert done.code == 0, done.lines
    await wa.drain(clock)
    told = wa.fake.bodies(PHONE)[-1]
    assert told.startswith("Data Anda di LK3 sudah kami hapus.") and "HP Anda" in told
    assert "Twilio" not in told and "penyedia" not in told


async def _supervisor_closes(db: Engine, wa: Any, clock: FrozenClock) -> None:
    """The supervisor takes the family's only case and closes it, in the staff chat."""
    with db.connect() as conn:
        number = conn.execute(select(Case.number)).scalar_one()
    for command in (f"/ambil {number}", "/selesai selesai"):
        with db.begin() as conn:
            inbox.store(conn, channel="test", sender="sup", payload={"text": command},
                        provider_message_id=f"sup-{command}", now=clock())
        await wa.pump()
