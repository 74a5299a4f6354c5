"""The bars of `lk3 bench --broadcast` and its report: the checks, ratios and verdicts made of
a run's figures (`verdict`), and the lines printed for people (`show`)."""

from __future__ import annotations

from typing import Any

REQUIRED_RATE = 0.95  # x the allowed broadcast rate
LATENCY_FACTOR = 2.0  # broadcast p99 at most this many times the idle p99
MEMORY_RATIO = 1.2  # peak at the larger size at most this many times the smaller's


def verdict(r: dict[str, Any]) -> dict[str, Any]:
    """Checks, ratios and the three verdicts added to `r`."""
    d, idle, busy, mem = r["delivery"], r["idle"], r["broadcast"], r["memory"]
    d["complete"] = (d["exactly_once"] == r["recipients"] == d["arrived"]
                     and not d["other_chats"] and not d["unknown_api_calls"]
                     and d["status"] == "done")
    for phase in (idle, busy):
        phase["complete"] = not phase["lost"] and phase["answered"] == phase["messages"]
    r["rate_ratio"] = d["rate"] / r["allowed_rate"]
    r["p99_ratio"] = busy["p99_ms"] / idle["p99_ms"] if idle["p99_ms"] else float("inf")
    small, large = mem["sizes"]
    mem["complete"] = all(m["queued"] == m["outbox_rows"] == m["recipients"]
                          for m in (small, large))
    mem["ratio"] = large["peak_kib"] / small["peak_kib"] if small["peak_kib"] else float("inf")
    r["passed_rate"] = bool(d["complete"] and r["rate_ratio"] >= REQUIRED_RATE)
    r["passed_replies"] = bool(idle["complete"] and busy["complete"]
                               and r["p99_ratio"] <= LATENCY_FACTOR)
    r["passed_memory"] = bool(mem["complete"] and mem["ratio"] <= MEMORY_RATIO)
    r["passed"] = r["passed_rate"] and r["passed_replies"] and r["passed_memory"]
    return r


def _ok(flag: bool) -> str:
    return "PASS" if flag else "FAIL"


def show(r: dict[str, Any]) -> None:
    d, idle, busy, mem = r["delivery"], r["idle"], r["broadcast"], r["memory"]
    print(f"lk3 bench --broadcast: {r['recipients']:,} Telegram subscribers, lk3 serve "
          f"(SQLite) against a fake Bot API on loopback, TELEGRAM_BROADCAST_MPS="
          f"{r['telegram_broadcast_mps']:g}; {r['families']} family messages a phase at "
          f"{r['pace']:g}/s")
    print(f"sent               {d['arrived']:,} broadcast messages in {d['seconds']:.2f} s "
          f"({d['rate']:.1f} msg/s); {d['exactly_once']:,} recipients got exactly one, "
          f"{d['more_than_once']} more, {d['missing']} none; broadcast {d['status']}")
    print(f"reference          {r['allowed_rate']:.1f} msg/s allowed (80% of "
          f"TELEGRAM_BROADCAST_MPS)")
    for name, p in (("replies idle", idle), ("replies sending", busy)):
        print(f"{name:<18} p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms; {p['answered']} "
              f"of {p['messages']} answered (webhook POST -> last reply at the fake API)")
        for problem in p["lost"][:3]:
            print(f"  {problem}")
    print(f"  while sending    {busy['posted_while_sending']} of {busy['messages']} posted "
          "between the first and the last broadcast message")
    for m in mem["sizes"]:
        print(f"memory {m['recipients']:>9,}   peak {m['peak_kib'] / 1024:.1f} MiB (before "
              f"{m['baseline_kib'] / 1024:.1f} MiB, after creating "
              f"{m['peak_after_create_kib'] / 1024:.1f} MiB); {m['queued']:,} queued in "
              f"{m['feeder_runs']} runs of the job, {m['seconds']:.1f} s")
    print(f"rate               {_ok(r['passed_rate'])}: {r['rate_ratio']:.3f}x the allowed rate "
          f"(needs >= {REQUIRED_RATE}x, each recipient exactly one message)")
    print(f"replies            {_ok(r['passed_replies'])}: p99 {r['p99_ratio']:.2f}x idle "
          f"(needs <= {LATENCY_FACTOR:g}x, every message answered)")
    print(f"memory             {_ok(r['passed_memory'])}: peak {mem['ratio']:.2f}x from "
          f"{mem['sizes'][0]['recipients']:,} to {mem['sizes'][1]['recipients']:,} recipients "
          f"(needs <= {MEMORY_RATIO:g}x)")
