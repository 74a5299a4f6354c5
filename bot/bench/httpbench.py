"""`lk3 bench --http`: what a family feels, from webhook POST to the reply at the Bot API.

Two systems serve Telegram webhooks, one after the other, each in processes of its own
(bot/bench/httpbench_systems.py): the service as `lk3 serve` runs it (`create_app` with the
Telegram channel in webhook mode, real processors per the settings' LK3_PROCESSORS, relay
and scheduler, a fresh SQLite file), and the reference, a plain python-telegram-bot webhook
bot (ConversationHandler, PicklePersistence, one reply per message). Both reply through a
fake Bot API on loopback in this process (bot/bench/httpbench_api.py), which answers at once and
notes when each reply arrives. Telegram's send limits are off in the service for the run,
as the reference has none.

Families act in a closed loop with at most `concurrency` talking at once: each posts its
next update once every reply to the last one has arrived. Their words are `lk3 bench`'s walk
of the real flow to a case, with a Papuan-Malay sentence after "halo"; how many replies the
service gives to each message comes from replaying that walk through the (pure) engine. Both
systems get the same updates; a message without all its replies fails the run.

Each system runs twice, in the order lk3, reference, reference, lk3, each time on a fresh
process and database: a machine that speeds up or slows down during the run weighs on both
alike. A system's rate is its messages over the time of both its rounds, its percentiles
over all its messages; each round's rate is printed too. (Measured once each, the ratio
moved 0.89x-1.28x between runs of the same code on a noisy 2-core machine.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bench.httpbench_api import Api
from bot.bench.httpbench_families import CHATS, SECRET, Drive, Families, Script, pct, scripts
from bot.bench.processes import START, free_port, ready, running, tail, tree_cpu
from bot.config import Settings

TOKEN = "123456:http-bench"
WARMUP = 8  # families saying "halo" before the clock starts (every processor warm)
REQUIRED_RATE = 1.0  # x the reference's messages per second; p50 no higher than its
LK3 = "from bot.bench.httpbench_systems import serve_lk3; serve_lk3()"
REFERENCE = "import sys; from bot.bench.httpbench_systems import reference; reference(sys.argv[1:])"


ROUNDS = (("lk3", "reference"), ("reference", "lk3"))


@dataclass
class Round:
    """One system's timed run: the families' drive, what the fake API saw, CPU spent."""

    drive: Drive
    replies: int
    unknown: list[str]
    driver_cpu: float
    system_cpu: float


async def _system(name: str, argv: list[str], env: dict[str, str], port: int, api: Api,
                  chats: list[int], runs: list[Script], concurrency: int,
                  tmp: Path) -> Round:
    """Start one system, warm it with WARMUP greetings, then time the families."""
    log = tmp / f"{name}.log"
    with running(argv, env, log) as proc:
        await ready(name, proc, port, log)
        families = Families(api, port)
        warm = [Script(["halo"], [runs[0].replies[0]])] * WARMUP
        warmed = await families.run([CHATS * 9 + i for i in range(WARMUP)], warm, WARMUP,
                                    START)
        if warmed.lost:
            raise RuntimeError(f"{name} did not answer its first greetings: "
                               f"{warmed.lost[0]}\n{tail(log)}")
        cpu, system = time.process_time(), tree_cpu(proc.pid)
        drive = await families.run(chats, runs, concurrency)
        cpu, system = time.process_time() - cpu, tree_cpu(proc.pid) - system
    return Round(drive, sum(api.got.get(str(c), 0) for c in chats), list(api.unknown), cpu,
                 system)


def _rate(drive: Drive) -> float:
    return len(drive.latencies) / max(drive.last - drive.first, 1e-9)


def _merged(rounds: list[Round]) -> dict[str, Any]:
    """One system's rounds as one: its rate over the time of all of them, its percentiles
    over every message."""
    latencies = [x for r in rounds for x in r.drive.latencies]
    seconds = sum(r.drive.last - r.drive.first for r in rounds)
    messages = sum(r.drive.sent for r in rounds)
    return {"messages": messages, "answered": len(latencies),
            "replies": sum(r.replies for r in rounds),
            "replies_expected": sum(r.drive.expected_replies for r in rounds),
            "lost": [x for r in rounds for x in r.drive.lost],
            "unknown_api_calls": [x for r in rounds for x in r.unknown],
            "seconds": round(seconds, 3), "rate": len(latencies) / max(seconds, 1e-9),
            "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99),
            "rounds": [{"rate": _rate(r.drive), "p50_ms": pct(r.drive.latencies, 50)}
                       for r in rounds],
            "driver_cpu_seconds": round(sum(r.driver_cpu for r in rounds), 3),
            "system_cpu_ms_per_message": round(sum(r.system_cpu for r in rounds)
                                               / max(messages, 1) * 1000, 3)}


def service_env(tmp: Path, settings: Settings, port: int, api: str) -> dict[str, str]:
    """The service's settings for the run: the deployment's processors and poll interval,
    a fresh SQLite file and key file, Telegram at the fake API in webhook mode, no Twilio."""
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'lk3.db'}", "LK3_DATA_KEYS": "",
            "LK3_HOST": "127.0.0.1", "LK3_PORT": str(port), "LOG_LEVEL": "WARNING",
            "LK3_PROCESSORS": str(settings.lk3_processors),
            "LK3_POLL_INTERVAL": str(settings.lk3_poll_interval),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api,
            "TELEGRAM_WEBHOOK_SECRET": SECRET, "TWILIO_ACCOUNT_SID": "",
            "TWILIO_AUTH_TOKEN": "", "TWILIO_WHATSAPP_FROM": "", "LK3_EXPORT_DIR": ""}


async def _both(families: int, concurrency: int, settings: Settings) -> dict[str, Any]:
    runs = scripts(families)
    chats = [CHATS + f for f in range(families)]
    result: dict[str, Any] = {"families": families, "concurrency": concurrency,
                              "processors": settings.lk3_processors, "rounds": len(ROUNDS),
                              "messages_expected": sum(len(s.says) for s in runs) * len(ROUNDS)}
    done: dict[str, list[Round]] = {"lk3": [], "reference": []}
    with tempfile.TemporaryDirectory(prefix="lk3-http-") as name:
        for k, order in enumerate(ROUNDS):
            for system in order:
                tmp = Path(name) / f"{system}-{k}"
                tmp.mkdir()
                done[system].append(await _one(system, tmp, runs, chats, concurrency,
                                               settings))
    return result | {system: _merged(rounds) for system, rounds in done.items()}


async def _one(system: str, tmp: Path, runs: list[Script], chats: list[int], concurrency: int,
               settings: Settings) -> Round:
    """One round of one system, against a fake Bot API of its own."""
    api, port = Api(TOKEN), free_port()
    async with api.serving() as api_port:
        base = f"http://127.0.0.1:{api_port}/bot"
        if system == "lk3":
            argv, env = [sys.executable, "-c", LK3], service_env(tmp, settings, port, base)
            measured = runs
        else:  # as many questions as the longest script: it never runs out
            argv = [sys.executable, "-c", REFERENCE, str(port), base, str(tmp / "ptb.pickle"),
                    TOKEN, SECRET, str(max(len(s.says) for s in runs))]
            env, measured = dict(os.environ), [Script(s.says, [1] * len(s.says)) for s in runs]
        return await _system(system, argv, env, port, api, chats, measured, concurrency, tmp)


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Ratios, checks and the verdict added to `result`."""
    ours, ref = result["lk3"], result["reference"]
    for system in (ours, ref):
        system["complete"] = (not system["lost"] and not system["unknown_api_calls"]
                              and system["answered"] == system["messages"]
                              == result["messages_expected"]
                              and system["replies"] == system["replies_expected"])
    result["throughput_ratio"] = ours["rate"] / ref["rate"] if ref["rate"] else 0.0
    result["p50_ratio"] = ours["p50_ms"] / ref["p50_ms"] if ref["p50_ms"] else float("inf")
    result["passed"] = bool(ours["complete"] and ref["complete"]
                            and result["throughput_ratio"] >= REQUIRED_RATE
                            and ours["p50_ms"] <= ref["p50_ms"])
    return result


def measure(families: int, concurrency: int, settings: Settings) -> dict[str, Any]:
    return verdict(asyncio.run(_both(families, concurrency, settings)))


def _print(r: dict[str, Any]) -> None:
    print(f"lk3 bench --http: {r['families']} families ({r['messages_expected'] // r['rounds']}"
          f" messages) a round, {r['rounds']} rounds a system, at most {r['concurrency']} "
          "talking at once, webhook POST -> reply at a fake Bot API on loopback; Telegram's "
          "send limits off in both")
    for name, label in (("lk3", f"lk3 serve ({r['processors']} processor"
                                f"{'s' if r['processors'] > 1 else ''}, SQLite)"),
                        ("reference", "python-telegram-bot webhook, ConversationHandler, "
                                      "PicklePersistence written every 60 s: answers 200 "
                                      "before anything is durable")):
        s = r[name]
        print(f"{name:<18} {s['rate']:,.0f} msg/s, p50 {s['p50_ms']:.1f} ms, p99 "
              f"{s['p99_ms']:.1f} ms; {s['answered']} of {s['messages']} messages answered, "
              f"{s['replies']} of {s['replies_expected']} replies ({s['seconds']:.2f} s, "
              f"driver CPU {s['driver_cpu_seconds']:.2f} s; its processes' CPU "
              f"{s['system_cpu_ms_per_message']:.2f} ms a message; {label})")
        print(f"{'':<18} rounds: " + ", ".join(f"{x['rate']:,.0f} msg/s (p50 "
                                                f"{x['p50_ms']:.1f} ms)" for x in s["rounds"]))
        for problem in [*s["lost"][:3], *(f"unexpected Bot API call {m}"
                                         for m in s["unknown_api_calls"][:3])]:
            print(f"  {problem}")
    ok = r["lk3"]["complete"] and r["reference"]["complete"]
    print(f"ratios             {r['throughput_ratio']:.3f}x throughput, p50 "
          f"{r['p50_ratio']:.3f}x of the reference's")
    print(f"checks             {'ok' if ok else 'MISSING REPLIES OR FAILED WEBHOOKS'}: every "
          "message answered with every reply, in both")
    print(f"requirement        {'PASS' if r['passed'] else 'FAIL'}: "
          f"{r['throughput_ratio']:.3f}x throughput (needs >= {REQUIRED_RATE}x), p50 "
          f"{r['lk3']['p50_ms']:.1f} ms vs {r['reference']['p50_ms']:.1f} ms (needs <=)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`lk3 bench`'s options for --http (its --families belongs to the pipeline bench)."""
    parser.add_argument("--http", action="store_true",
                        help="measure webhook to reply over HTTP against a python-telegram-bot "
                             "webhook bot")
    parser.add_argument("--http-families", type=int, default=200,
                        help="families for --http (default 200)")
    parser.add_argument("--concurrency", type=int, default=50,
                        help="families talking at once for --http (default 50)")
    parser.add_argument("--json", action="store_true",
                        help="with --http or --broadcast: print every figure and verdict as "
                             "one JSON object instead of the report (the pipeline bench and "
                             "--relay ignore it)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Measure both systems and print; 0 when the service meets both targets."""
    families, concurrency = args.http_families, args.concurrency
    if families < 1 or concurrency < 1:
        print("lk3 bench --http: --http-families and --concurrency must be at least 1")
        return 2
    try:
        result = measure(families, concurrency, settings)
    except RuntimeError as exc:
        print(f"requirement        FAIL: {exc}")
        return 1
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0 if result["passed"] else 1
