"""`lk3 bench` drives the real pipeline: its closed loop must finish with every family's
case waiting and every message answered (what it measures is printed, never asserted)."""

from __future__ import annotations

import pytest

from bot import bench


@pytest.mark.parametrize("workers", [1, 2])
def test_every_family_reaches_its_case_and_every_message_is_answered(workers: int) -> None:
    run, start, end, checks = bench.pipeline(families=6, batch=4, workers=workers)
    assert checks["waiting cases"] == 6 and checks["families with a case"] == 6
    assert checks["families where the engine said"] == 6
    assert checks["unprocessed"] == 0 and checks["failed attempts"] == 0
    assert run.acked and set(run.answered) == set(run.acked)
    assert all(run.answered[i] >= t for i, t in run.acked.items())  # answered after acked
    assert end >= start
