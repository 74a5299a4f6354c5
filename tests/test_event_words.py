"""A case's history as staff read it (`lk3 cases show` and the console's case page, both
through bot.cli.caseshow.summary and the `event.*` labels): no codes, no English keys
(walk T-10: `intake_lapsed  tahap: kampung, hours: 4`, `alasan tidak diberi tahu:
contact_constraint`, `nilai kepuasan  score: 5`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.casework import intakeview, labels, staff
from bot.cli.caseshow import _media, summary

ROOT = Path(__file__).resolve().parents[1]
# Events the code writes with no case (staff logins, passwords): never in a case's history
NO_CASE = {"console_login", "password_set"}
# codes that are also the Indonesian word staff read ("tahap: kampung", "cara bicara: chat")
SAME_WORD = {"kampung", "chat", "distrik", "pengasuhan"}

# (kind, data as the code writes it): the values that are codes must read in words
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("intake_lapsed", {"state": "kampung", "hours": 4}),
    ("held_for_writer", {"why": "contact_constraint", "messages": 1}),
    ("held_for_writer", {"why": "queued", "messages": 2}),
    ("held_for_writer", {"why": "paused", "messages": 1}),
    ("held_for_writer", {"why": "quick_exit", "messages": 1}),
    ("held_released", {"messages": 1}),
    ("satisfaction", {"score": 5}),
    ("p0_family_update", {"told": False, "why": "paused", "owed": True}),
    ("p0_family_update", {"told": False, "why": "stopped"}),
    ("p0_family_update", {"told": False, "why": "unreachable"}),
    ("p0_family_update", {"told": True, "language": "id", "with_reply": True}),
    ("mode_changed", {"mode": "chat"}),
    ("stale_button", {"asked": "consent", "state": "distrik"}),
    ("state_lost", {"state": "greeting"}),
    ("paused_by_family", {"state": "risk_safe_chat"}),
    ("referral_agreed", {"institution": "puskesmas"}),
    ("consent_reconsidered", {"state": "consent"}),
    ("consent_asked_again", {"state": "consent"}),
    ("not_yet_asked", {"state": "feedback"}),
    ("answer_taken_back", {"state": "category"}),
    ("message_set_aside", {"inbox_id": 3}),
    ("subscribe", {"topic": "pengasuhan", "language": "id", "source": "keyword"}),
    ("subscribe", {"topic": "all", "language": "en", "source": "link"}),
    ("family_waiting", {"since": "2026-12-01T01:22:00+00:00", "family": True, "told": [1]}),
    ("family_waiting", {"since": "2026-12-01T01:22:00+00:00", "family": False,
                        "why": "contact_constraint", "owed": True, "told": [1]}),
    ("family_waiting", {"since": "2026-12-01T01:22:00+00:00", "family": False,
                        "why": "quick_exit", "told": []}),
    ("family_waiting", {"family": True, "with_reply": True}),
    ("family_waiting_late", {"since": "2026-12-01T01:22:00+00:00", "priority": "P2",
                             "told": [2]}),
    ("held_danger_late", {"since": "2026-12-01T03:23:00+00:00", "priority": "P1",
                          "told": [2]}),
    ("held_danger_now", {"priority": "P1", "told": [2]}),
    # walk V-17: `subscribed`, `parts: 1` read as codes
    ("subscribed", {"topic": "pengasuhan", "language": "id", "source": "keyword",
                    "version": "2026-11", "added": ["pengasuhan"]}),
    ("unsubscribed", {"reason": "keyword", "topics": 2}),
    ("privacy_export_sent", {"parts": 1}),
    ("privacy_export_handed_over", {"copy": "privacy-P-2-20261130T005400Z.json"}),
]


def _codes(kind: str, data: dict[str, Any]) -> list[str]:
    """What must not show: the kind, the keys, and the values that are codes."""
    values = [v for v in data.values() if isinstance(v, str) and re.fullmatch(r"[a-z_]+", v)
              and v not in SAME_WORD]
    return [kind, *data, *values]


@pytest.mark.parametrize(("kind", "data"), EVENTS, ids=[f"{k}-{i}" for i, (k, _) in
                                                       enumerate(EVENTS)])
def test_an_event_in_a_case_history_reads_in_indonesian_words(kind: str,
                                                              data: dict[str, Any]) -> None:
    """Every event's name, keys and coded values read in Indonesian, not as codes."""
    line = f"{labels.word('event', kind, 'id')}  {summary(data, 'id', limit=1000)}"
    for code in _codes(kind, data):
        assert not re.search(rf"\b{re.escape(code)}\b", line), (code, line)


def test_held_reasons_read_as_staff_would_say_them() -> None:
    """A held message's reason is said: 'hanya boleh dihubungi setelah keluarga menulis'."""
    assert summary({"why": "contact_constraint", "messages": 1}, "id") == \
        "alasan tidak diberi tahu: hanya boleh dihubungi setelah keluarga menulis, " \
        "jumlah pesan: 1"
    assert summary({"score": 5}, "id") == "nilai: 5"
    assert "jam sejak pesan terakhir: 4" in summary({"state": "kampung", "hours": 4}, "id")


def _written_kinds() -> set[str]:
    """The event kinds the code writes (Event(...), event_row(...), EventRow(...), KIND)."""
    kinds: set[str] = set()
    patterns = [r'Event\("(\w+)"', r'event_row\(conv, "(\w+)"', r'\b_event\([^)]*?, "(\w+)"',
                r'EventRow\([^"]*?"[^"]*?", "(\w+)"', r'^KIND = "(\w+)"',
                r'HELD_EVENT, RELEASED_EVENT = "(\w+)", "(\w+)"']
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("flows/*.py")]:
        text = path.read_text()
        for p in patterns:
            for found in re.findall(p, text, re.M):
                kinds.update(found if isinstance(found, tuple) else (found,))
    return kinds - NO_CASE


def test_every_event_kind_the_code_writes_has_staff_words() -> None:
    """No event kind the code writes shows as its code in a case history, in either language."""
    kinds = _written_kinds()
    assert {"intake_lapsed", "held_for_writer", "satisfaction", "stale_button"} <= kinds
    for language in ("id", "en"):
        assert [k for k in sorted(kinds) if not staff.has(f"event.{k}", language)] == [], \
            language


def test_a_sticker_or_a_kindless_attachment_reads_in_words() -> None:
    """A sticker reads '[stiker]', an attachment of no known kind '[lampiran]', never '[-]'."""
    assert _media([{"kind": "sticker"}]) == " [stiker]"
    assert _media([{"ref": "x"}]) == " [lampiran]"
    assert _media([{"kind": "hologram"}]) == " [lampiran]"
    questions = intakeview.questions()
    state = questions.bundle.flow.states["kampung"]
    assert questions.answer(state, "", [{"kind": "sticker"}, {"ref": "y"}], "id") == \
        "[stiker] [lampiran]"
