"""`lk3 privacy` as an operator types it: an option the action does not take stops the
command before anything is done (an erase never runs as a "dry run"), in Indonesian."""

from __future__ import annotations

import json
from pathlib import Path

from bot.privacy import correct
from bot.privacy.cli import family_texts
from bot.service import Service
from storage import privacy as store
from tests.support import FrozenClock, deliver
from tests.test_cli import FAMILY, case_number, lk3
from tests.test_handoff import Person


def test_options_an_action_does_not_take_change_nothing(tmp_path: Path) -> None:
    """`erase P-1 --dry-run` and `purge P-1` are refused with one sentence that says
    nothing was erased; the family's request and case are as before."""
    chat = lk3("chat", "--user", "u1", cwd=tmp_path,
               stdin="\n".join([*FAMILY, "HAPUS"]) + "\n")
    assert chat.returncode == 0, chat.stderr
    before = json.loads(lk3("privacy", "list", "--json", cwd=tmp_path).stdout)
    assert [(r["request"], r["kind"]) for r in before] == [("P-1", "erase")]

    dry = lk3("privacy", "erase", "P-1", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 2 and dry.stdout == ""
    assert dry.stderr.startswith("lk3: lk3 privacy erase tidak memakai --dry-run; "
                                 "tidak ada yang dihapus.")
    assert len(dry.stderr.strip().splitlines()) == 1
    whole = lk3("privacy", "purge", "P-1", cwd=tmp_path)
    assert whole.returncode == 2 and "tidak memakai REQUEST" in whole.stderr
    listed = lk3("privacy", "list", "--dry-run", cwd=tmp_path)
    assert listed.returncode == 2 and "tidak ada yang dijalankan" in listed.stderr

    assert json.loads(lk3("privacy", "list", "--json", cwd=tmp_path).stdout) == before
    shown = lk3("cases", "show", case_number(), cwd=tmp_path)
    assert shown.returncode == 0 and "Jawaban keluarga (0)" not in shown.stdout


def test_missing_parts_are_asked_for_in_indonesian(tmp_path: Path) -> None:
    """No request number, no refusal reason, no field: one sentence each, in Indonesian."""
    chat = lk3("chat", "--user", "u1", cwd=tmp_path,
               stdin="\n".join([*FAMILY, "UBAH"]) + "\n")
    assert chat.returncode == 0, chat.stderr
    for args, words in ((("erase",), "Sebutkan nomor permintaannya"),
                        (("refuse", "P-1"), "Sebutkan alasan penolakan dengan --reason"),
                        (("correct", "P-1"), "butuh --field NAMA dan --value NILAI")):
        done = lk3("privacy", *args, cwd=tmp_path)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)
    hold = lk3("cases", "hold", cwd=tmp_path)
    assert hold.returncode == 2 and "butuh nomor kasus" in hold.stderr
    for action in ("show", "audit", "hold"):
        nothing = lk3("cases", action, "LK3-2099-00099", "--reason", "x", cwd=tmp_path) \
            if action == "hold" else lk3("cases", action, "LK3-2099-00099", cwd=tmp_path)
        assert nothing.returncode == 1, (action, nothing.stderr)
        assert "Kasus LK3-2099-00099 tidak ada" in nothing.stderr, (action, nothing.stderr)


def test_ubah_after_keluar_says_the_family_was_not_told_and_why(service: Service,
                                                               clock: FrozenClock) -> None:
    """A family that left with KELUAR is not written to: staff read that, and why, in
    words; the engine's own answers (`_priority`) are not offered as fields."""
    family = Person(service, "fam")
    family.intake()
    family.say("UBAH")
    family.say("KELUAR")
    family.unread()
    with service.db.connect() as conn:
        (req,) = store.listing(conn, ["open"])
    inner = correct.correct(service.db, req.id, "_priority", "P3", "cli:t", clock(),
                            family_texts())
    assert inner.code == 2 and "_priority" not in inner.lines[0].split(":", 1)[1]
    done = correct.correct(service.db, req.id, "distrik", "wania", "cli:t", clock(),
                           family_texts())
    assert done.code == 0, done.lines
    assert "keluarga tidak bisa dihubungi lewat chat (keluarga keluar dengan KELUAR" \
        in done.lines[0] and "quick_exit" not in done.lines[0]
    deliver(service)
    assert family.unread() == []  # nothing reached the phone someone else may hold
