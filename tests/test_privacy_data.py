"""DATA and UBAH fulfilled: the family's copy (their answers and the processing history, no
internal notes, no one else's data) reviewed, then sent in the chat in order; a correction
applied with old and new values audited, and the family told."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlalchemy import select

from bot.privacy import correct, export
from bot.privacy.cli import family_texts
from bot.service import Service
from storage import privacy as store
from storage.models import Case, CaseEvent
from tests.support import FrozenClock, deliver
from tests.test_handoff import Person
from tests.test_scheduler import hire

NOTE = "Catatan internal: suami terlihat di pasar kemarin"


def _request(service: Service, kind: str) -> store.Request:
    with service.db.connect() as conn:
        (req,) = [r for r in store.listing(conn, ("open", "done")) if r.kind == kind]
    return req


def test_data_copy_has_answers_and_history_without_notes_or_others_and_arrives_in_order(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """The copy holds the family's answers under their questions and what was done with
    their data; not the counselor's note nor another family's words. Reviewed first (a
    JSON copy, mode 600), then sent in the chat, every part in order; the request closes."""
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    other = Person(service, "other")
    other.say("halo")
    other.say("Tetangga saya bernama Yakobus")
    family = Person(service, "fam")
    number = family.intake()
    family.say("DATA")  # while a counselor holds the case, DATA goes to the counselor
    family.unread()
    sup = Person(service, "sup")
    sup.say(f"/ambil {number}")
    sup.say(f"/catatan {NOTE}")
    family.unread()  # "a person serves you now"
    req = _request(service, "data")
    folder = tmp_path / "exports"

    early = export.export(service.db, req.id, folder, family_texts(), clock(), True, "cli:t")
    assert early.code == 1 and "jalankan dulu" in early.lines[0]  # review comes first
    shown = export.export(service.db, req.id, folder, family_texts(), clock(), False, "cli:t")
    assert shown.code == 0
    (kept,) = folder.iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    copy = json.loads(kept.read_text())
    questions = [a["question"] for a in copy["answers"]]
    assert any("Distrik" in q or "distrik" in q for q in questions), questions
    assert [c["number"] for c in copy["cases"]] == [number]
    assert {"case_opened", "claim", "consent"} <= {e["kind"] for e in copy["history"]}
    assert "note" not in {e["kind"] for e in copy["history"]}
    flat = json.dumps(copy, ensure_ascii=False)
    assert NOTE not in flat and "Yakobus" not in flat and "halo" in flat

    sent = export.export(service.db, req.id, folder, family_texts(), clock(), True, "cli:t")
    assert sent.code == 0, sent.lines
    deliver(service)
    got = "\n".join(p["text"] for p in family.unread())
    assert got == export.text(copy, family_texts())
    assert got.startswith("Salinan data Anda di LK3") and NOTE not in got
    assert _request(service, "data").status == "done"


def test_ubah_applies_the_correction_audits_old_and_new_and_tells_the_family(
        service: Service, clock: FrozenClock) -> None:
    """`privacy correct --field distrik --value V`: the case and the conversation say V,
    the audit row holds old and new, the family hears the corrected answer in words."""
    family = Person(service, "fam")
    family.intake()
    family.say("UBAH")
    family.unread()
    req = _request(service, "correct")
    bad = correct.correct(service.db, req.id, "distrik", "atlantis", "cli:t", clock(),
                          family_texts())
    assert bad.code == 2 and "tidak ada dalam pilihan" in bad.lines[0]
    with service.db.connect() as conn:
        old = conn.execute(select(Case.distrik)).scalar_one()
    new = "wania" if old != "wania" else "kuala_kencana"
    done = correct.correct(service.db, req.id, "distrik", new, "cli:t", clock(),
                           family_texts())
    assert done.code == 0, done.lines
    with service.db.connect() as conn:
        assert conn.execute(select(Case.distrik)).scalar_one() == new
        (audit,) = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "privacy_corrected")).scalars().all()
    assert (audit["old"], audit["new"]) == (old, new)
    deliver(service)
    (told,) = [p["text"] for p in family.unread()]
    assert told.startswith("Data Anda sudah kami perbaiki") and "Wania" in told
    assert _request(service, "correct").status == "done"
