"""A family goes from greeting to a waiting case on every backend."""

from __future__ import annotations

from bot.service import Service
from storage import cases
from tests.support import Family


def test_family_reaches_waiting_case(service: Service) -> None:
    """The first flow ends with a case in the queue, with consent and priority stored."""
    fam = Family(service, "6281100000001")
    assert "asisten otomatis" in fam.say("halo")[0]
    for answer in ["1", "3", "1", "2", "9", "1", "1", "LEWATI", "2", "1", "LEWATI", "2",
                   "LEWATI"]:
        assert fam.say(answer)
    closing = fam.say("LEWATI")
    assert "LK3-2026-00001" in closing[0]
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert (case.status, case.priority, case.category) == ("waiting", "P3", "premarital")
