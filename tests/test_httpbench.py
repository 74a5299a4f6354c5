"""`lk3 bench --http` drives `lk3 serve`'s app and a python-telegram-bot webhook bot over
real HTTP: every message of every family must get all its replies in both (what it
measures is printed, never asserted)."""

from __future__ import annotations

import argparse
import json

import pytest

from bot.bench import httpbench
from bot.config import Settings


def test_every_message_gets_its_replies_from_both_systems(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Five families through both systems, twice each: every webhook accepted, every reply
    the engine (and the out-of-hours notice) promises arrives at the fake Bot API, no
    unexpected Bot API call, the verdict and exit status agree, and one reply missing fails
    the run."""
    parser = argparse.ArgumentParser()
    httpbench.add_arguments(parser)
    args = parser.parse_args(["--http", "--http-families", "5", "--concurrency", "3", "--json"])
    status = httpbench.run(args, Settings())
    result = json.loads(capsys.readouterr().out)
    expected = result["messages_expected"]
    assert result["families"] == 5 and expected > 5 * 10
    for name in ("lk3", "reference"):
        system = result[name]
        assert system["lost"] == [] and system["unknown_api_calls"] == []
        assert system["messages"] == system["answered"] == expected
        assert system["replies"] == system["replies_expected"] >= expected
        assert system["complete"] is True
        assert system["rate"] > 0 and 0 < system["p50_ms"] <= system["p99_ms"]
        assert [r["rate"] > 0 for r in system["rounds"]] == [True] * result["rounds"] == [True] * 2
    assert result["reference"]["replies"] == expected  # one reply per message
    assert set(result) >= {"throughput_ratio", "p50_ratio", "passed"}
    assert (status == 0) == result["passed"]
    result["reference"]["replies"] -= 1  # a reply that never came: the run fails
    assert not httpbench.verdict(result)["passed"]
    assert result["reference"]["complete"] is False
