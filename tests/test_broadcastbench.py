"""`lk3 bench --broadcast` sends a real broadcast through `lk3 serve` to a fake Bot API while
families write, and measures memory by size in processes of their own: every recipient must
get exactly one message and every family its reply (what it measures is printed, never
asserted)."""

from __future__ import annotations

import json

import pytest

from bot.bench import broadcastbench
from bot.bench.broadcastbench_report import verdict
from bot.cli import parser
from bot.config import Settings


def test_every_recipient_gets_one_message_and_every_family_its_reply() -> None:
    """200 subscribers, 10 family messages a phase, memory for 100 and 1,000: the figures
    are all there (JSON), each recipient got exactly one message, the broadcast ended done,
    every family message was answered, both sizes queued everyone; the verdict agrees with
    the figures, and one message missing at the fake fails the rate line."""
    result = broadcastbench.measure(Settings(), recipients=200, families=10, pace=20.0,
                                    sizes=(100, 1_000))
    result = json.loads(json.dumps(result))  # what --json prints
    d = result["delivery"]
    assert d["arrived"] == d["exactly_once"] == 200
    assert d["more_than_once"] == d["missing"] == 0 and d["other_chats"] == []
    assert d["unknown_api_calls"] == [] and d["status"] == "done" and d["complete"]
    assert result["allowed_rate"] == 0.8 * result["telegram_broadcast_mps"]
    assert d["rate"] > 0 and result["rate_ratio"] > 0
    for phase in (result["idle"], result["broadcast"]):
        assert phase["lost"] == [] and phase["answered"] == phase["messages"] == 10
        assert 0 < phase["p50_ms"] <= phase["p99_ms"] and phase["complete"]
    sizes = result["memory"]["sizes"]
    assert [m["recipients"] for m in sizes] == [100, 1_000]
    for m in sizes:
        assert m["queued"] == m["outbox_rows"] == m["recipients"]
        assert m["peak_kib"] >= m["peak_after_create_kib"] > 0
    assert result["memory"]["complete"] and result["memory"]["ratio"] > 0
    assert result["passed"] == (result["passed_rate"] and result["passed_replies"]
                                and result["passed_memory"])
    d["exactly_once"] -= 1  # a recipient without its message: the rate line fails
    assert verdict(result)["passed_rate"] is False


def test_the_command_line_takes_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    """`lk3 bench --broadcast --recipients N --json` parses, and `--help` describes it."""
    args = parser().parse_args(["bench", "--broadcast", "--recipients", "200", "--json"])
    assert args.broadcast and args.recipients == 200 and args.json
    with pytest.raises(SystemExit):
        parser().parse_args(["bench", "--help"])
    shown = capsys.readouterr().out
    assert "--broadcast" in shown and "--recipients" in shown and "TELEGRAM_BROADCAST_MPS" in shown
