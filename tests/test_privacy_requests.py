"""Data rights as work with a deadline: DATA/UBAH/HAPUS become requests due in 3x24 hours,
supervisors hear at once, before the due time and after it; staff list and refuse them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.casework.scheduler import Scheduler
from bot.privacy import erase, export, provider, requests
from bot.privacy.cli import family_texts
from bot.service import Service
from storage import privacy as store
from storage.models import CaseEvent, PrivacyRequest
from tests.support import FrozenClock, deliver
from tests.test_handoff import Person
from tests.test_scheduler import hire, texts


def all_requests(db: Engine) -> list[store.Request]:
    with db.connect() as conn:
        return store.listing(conn, requests.ALL)


def test_hapus_before_consent_is_a_request_due_in_72_hours_and_supervisors_hear(
        service: Service, clock: FrozenClock) -> None:
    """HAPUS with no case yet: one request, due 3x24 hours later, a supervisor alerted at
    once with the due time in WIT; the same word again adds no second request."""
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    family = Person(service, "fam")
    family.say("halo")
    answer = family.say("HAPUS")
    assert any("3×24 jam" in t for t in answer)
    (req,) = all_requests(service.db)
    assert (req.kind, req.status, req.case_ids) == ("erase", "open", [])
    assert req.due_at == clock() + timedelta(hours=72)
    (alert,) = texts(service.db, "sup")
    assert "P-1" in alert and "hapus data (HAPUS)" in alert and "belum ada kasus" in alert
    assert "2026-12-03 09:30 WIT" in alert  # Monday 09:30 WIT + 72 h
    family.say("HAPUS")
    assert len(all_requests(service.db)) == 1
    assert len(texts(service.db, "sup")) == 1


def test_each_right_in_english_too_links_the_familys_cases(service: Service,
                                                          clock: FrozenClock) -> None:
    """DATA, UBAH (or English words) after the intake: requests of their kinds, linked to
    the family's case."""
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    family = Person(service, "fam")
    number = family.intake()
    family.say("DATA")
    family.say("UBAH")
    found = {r.kind: r for r in all_requests(service.db)}
    assert set(found) == {"data", "correct"}
    with service.db.connect() as conn:
        assert store.numbers(conn, found["data"].case_ids) == {found["data"].case_ids[0]:
                                                               number}
        kinds = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "privacy_request")).scalars().all()
    assert [d["request"] for d in kinds] == [found["data"].id, found["correct"].id]


def test_an_unhandled_request_is_reannounced_before_and_after_its_due_time(
        service: Service, clock: FrozenClock) -> None:
    """The scheduler reminds supervisors 24 h before the due time, when it passes and every
    24 h after; nothing twice at the same moment; nothing once it is refused."""
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    family = Person(service, "fam")
    family.say("halo")
    family.say("DATA")
    (req,) = all_requests(service.db)
    scheduler = Scheduler(service.db, clock)

    def at(delta: timedelta) -> list[str]:
        before = len(texts(service.db, "sup"))
        clock.now = req.due_at + delta
        scheduler.run_once()
        scheduler.run_once()  # the same moment again: nothing more
        return texts(service.db, "sup")[before:]

    assert at(-timedelta(hours=25)) == []
    (near,) = at(-timedelta(hours=24))
    assert near.startswith("Pengingat: permintaan P-1") and "tinggal 24 jam" in near
    assert at(-timedelta(hours=1)) == []
    (late,) = at(timedelta(minutes=1))
    assert late.startswith("TERLAMBAT: permintaan P-1") and "3×24 jam" in late
    assert at(timedelta(hours=23)) == []
    (again,) = at(timedelta(hours=24, minutes=2))
    assert again.startswith("TERLAMBAT")
    out = requests.refuse(service.db, req.id, "third_party", "cli:test", clock(),
                          family_texts())
    assert out.code == 0
    assert at(timedelta(days=3)) == []


@pytest.mark.parametrize("language", ["id", "en"])
def test_refusal_tells_the_family_why_in_their_language(service: Service, clock: FrozenClock,
                                                       language: str) -> None:
    """A refused request is closed with its reason, and the family hears the reason (UU PDP
    Pasal 33) in the language they chose."""
    family = Person(service, "fam")
    family.say("halo")
    if language == "en":
        family.say("LANGUAGE")
    family.say("DATA")
    (req,) = all_requests(service.db)
    out = requests.refuse(service.db, req.id, "safety", "cli:test", clock(), family_texts())
    assert out.code == 0 and "diberi tahu" in out.lines[0]
    deliver(service)
    (told,) = [p["text"] for p in family.unread()]
    assert ("membahayakan keselamatan" if language == "id" else "endanger your safety") \
        in told
    (done,) = all_requests(service.db)
    assert (done.status, done.reason, done.closed_by) == ("refused", "safety", "cli:test")
    again = requests.refuse(service.db, req.id, "safety", "cli:test", clock(), family_texts())
    assert again.code == 1 and "sudah ditolak" in again.lines[0]


def test_list_shows_open_requests_in_words_and_json_with_codes(
        service: Service, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """`lk3 privacy list`: kind, contact, cases, due time in WIT and state in Indonesian;
    --json: codes and UTC times; closed requests only with --all."""
    for user in ("a", "b"):
        family = Person(service, user)
        family.say("halo")
        family.say("HAPUS" if user == "a" else "DATA")
    clock.advance(hours=80)
    assert requests.list_requests(service.db, False, False, clock()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["PERMINTAAN", "JENIS", "KONTAK"]
    assert out[1].split("  ")[0] == "P-1" and "hapus data (HAPUS)" in out[1]
    assert "#1 (test)" in out[1] and "2026-11-30 09:30" in out[1]
    assert "2026-12-03 09:30 (lewat 8 jam)" in out[1] and out[1].endswith("terbuka")
    requests.refuse(service.db, 2, "safety", "cli:test", clock(), family_texts())
    assert requests.list_requests(service.db, True, False, clock()) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert {k: only[k] for k in ("request", "kind", "status", "overdue", "due_at")} == {
        "request": "P-1", "kind": "erase", "status": "open", "overdue": True,
        "due_at": "2026-12-03T00:30:00Z"}
    assert requests.list_requests(service.db, True, True, clock()) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["open", "refused"]


def test_the_privacy_request_event_has_its_effect(service: Service,
                                                  clock: FrozenClock) -> None:
    """The flow's `privacy_request` event makes the request (not only an audit row): one
    request and one audit row after the message is processed."""
    family = Person(service, "fam")
    family.say("halo")
    family.say("HAPUS")
    with service.db.connect() as conn:
        assert conn.execute(select(PrivacyRequest.id)).scalars().all() == [1]
        assert len(conn.execute(select(CaseEvent.id).where(
            CaseEvent.kind == "privacy_request")).all()) == 1


def test_erasing_a_family_closes_their_other_open_requests(
        service: Service, clock: FrozenClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """After HAPUS is done, the family's DATA request is closed as erased, in the audit
    trail too: the erase output names it, it leaves the open list, its overdue alerts stop
    and it writes no (empty) copy."""
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    family = Person(service, "fam")
    family.say("halo")
    family.say("DATA")
    family.say("HAPUS")
    data, hapus = sorted(all_requests(service.db), key=lambda r: r.id)
    out = erase.erase(service.db, hapus.id, "cli:test", clock(), family_texts(),
                      provider.nothing)
    assert out.code == 0
    assert any(data.label in line and "ditutup" in line for line in out.lines), out.lines
    closed = {r.id: r for r in all_requests(service.db)}[data.id]
    assert (closed.status, closed.closed_by) == ("erased", "cli:test")
    with service.db.connect() as conn:
        (audit,) = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "privacy_closed_by_erasure")).scalars().all()
    assert audit == {"request": data.id, "erased_by": hapus.id}
    assert requests.list_requests(service.db, False, False, clock()) == 0
    assert data.label not in capsys.readouterr().out
    before = len(texts(service.db, "sup"))
    for hours in (1, 30):
        clock.now = data.due_at + timedelta(hours=hours)
        Scheduler(service.db, clock).run_once()
    assert not any(data.label in t for t in texts(service.db, "sup")[before:])
    exports = tmp_path / "exports"
    copy = export.export(service.db, data.id, exports, family_texts(), clock(), False,
                         "cli:test")
    assert copy.code == 1 and "ditutup (datanya sudah dihapus)" in copy.lines[0]
    assert not exports.exists() or list(exports.iterdir()) == []


def test_with_no_supervisor_and_nobody_on_duty_every_counselor_hears(
        service: Service, clock: FrozenClock) -> None:
    """A small office: no supervisor, nobody on duty. A new request still reaches someone,
    every counselor, rather than nobody (it would miss its 3x24 hours unseen)."""
    hire(service.db, clock, "ana", duty=False)
    hire(service.db, clock, "yos", duty=False)
    family = Person(service, "fam")
    family.say("halo")
    family.say("HAPUS")
    for who in ("ana", "yos"):
        (alert,) = texts(service.db, who)
        assert "P-1" in alert and "hapus data (HAPUS)" in alert


def test_rights_asked_as_families_say_them_are_requests(service: Service,
                                                        clock: FrozenClock) -> None:
    """Walk S (S-4): "kaka sa mau hapus sa pu data saja, sa takut nanti orang tau" was added
    to the case, "sa pu nama salah tulis" not understood: each is a request due in 3x24
    hours, and its reply says so."""
    family = Person(service, "fam")
    family.intake()
    erase_said = family.say("kaka sa mau hapus sa pu data saja, sa takut nanti orang tau")
    fix_said = family.say("sa pu nama salah tulis")
    assert any("3×24 jam" in t for t in erase_said + fix_said)
    got = sorted((r.kind, r.due_at) for r in all_requests(service.db))
    assert got == [("correct", clock() + timedelta(hours=72)),
                   ("erase", clock() + timedelta(hours=72))]
