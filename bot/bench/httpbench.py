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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bench.httpbench_api import Api, Poster, WireError
from bot.config import Settings

TOKEN = "123456:http-bench"
SECRET = "lk3-http-bench"
STORY = "sa pu suami pukul sa tadi malam"
CHATS = 10_000  # chat id of family 0
WARMUP = 8  # families saying "halo" before the clock starts (every processor warm)
STALL = 30.0  # seconds a family waits for its replies before the run counts it lost
START = 90.0  # seconds a system may take to answer its first webhook
REQUIRED_RATE = 1.0  # x the reference's messages per second; p50 no higher than its
WEBHOOK = "/webhooks/telegram"  # the service's (bot.channels.telegram), and the reference's
HEADERS = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
LK3 = "from bot.bench.httpbench_systems import serve_lk3; serve_lk3()"
REFERENCE = "import sys; from bot.bench.httpbench_systems import reference; reference(sys.argv[1:])"


@dataclass(frozen=True)
class Script:
    says: list[str]
    replies: list[int]  # replies the service gives to each message


def scripts(families: int, now: datetime | None = None) -> list[Script]:
    """Each family's words (`lk3 bench`'s walk with STORY after "halo") and the service's
    replies to each: the engine's, and the out-of-hours notice the processor adds when a
    case opens (bot.pipeline.casehooks). Raises when the words no longer lead to the end."""
    from bot import bench
    from bot.pipeline.handoff import out_of_hours_notice
    from flows.engine import Engine as FlowEngine
    from flows.types import Inbound

    flows, now = FlowEngine.load("intake"), now or datetime.now(UTC)
    catalog = flows.bundle.catalog
    out = []
    for family in range(families):
        says = bench.script(flows, family)[0]
        says.insert(1, STORY)
        snap, counts = None, list[int]()
        for k, said in enumerate(says):
            turn = flows.step(snap, Inbound("telegram", str(CHATS + family), f"w{k}", said),
                              now)
            opened = next((e for e in turn.events if e.kind == "case_upsert"), None)
            notice = opened is not None and (snap is None or snap.case_number is None) and \
                out_of_hours_notice(catalog, "id", opened.data["priority"], now) is not None
            snap, counts = turn.snapshot, [*counts, len(turn.replies) + notice]
            if opened is not None and snap.case_number is None:
                snap = replace(snap, case_number="LK3-SIM")  # as the processor numbers it
        if snap is None or not flows.flow.states[snap.state].end:
            raise RuntimeError(f"bench --http: family {family} does not reach the end of the "
                               "flow with STORY inserted; update bot/bench/httpbench.py")
        out.append(Script(says, counts))
    return out


@dataclass
class Drive:
    """What one system did: per message latency, what arrived, what went wrong."""

    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    expected_replies: int = 0
    lost: list[str] = field(default_factory=list)  # "chat: why", one per family stopped
    first: float = 0.0
    last: float = 0.0


def _update(n: int, chat: int, text: str) -> bytes:
    person = {"id": chat, "is_bot": False, "first_name": "Mama"}
    return json.dumps({"update_id": n, "message": {
        "message_id": n, "date": int(time.time()), "from": person, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Mama"}}}).encode()


class Families:
    """Families posting updates to one webhook, each waiting for all its replies."""

    def __init__(self, api: Api, port: int) -> None:
        self.api, self.port = api, port
        self.update_id = 0
        self.drive = Drive()

    async def talk(self, chat: int, script: Script, lines: asyncio.Queue[Poster],
                   stall: float) -> None:
        """One family, on a connection of its own while it talks (at most `concurrency`)."""
        line = await lines.get()
        try:
            await self._talk(chat, script, line, stall)
        finally:
            lines.put_nowait(line)

    async def _talk(self, chat: int, script: Script, line: Poster, stall: float) -> None:
        target, key = 0, str(chat)
        for said, replies in zip(script.says, script.replies, strict=True):
            target += replies
            done = asyncio.get_running_loop().create_future()
            self.api.waiting[key] = (target, done)
            self.update_id += 1
            body, start = _update(self.update_id, chat, said), time.perf_counter()
            try:
                status = await line.request("POST", WEBHOOK, body)
            except (OSError, asyncio.IncompleteReadError, WireError) as exc:
                self.drive.lost.append(f"{chat}: webhook failed ({type(exc).__name__})")
                return
            if status != 200:
                self.drive.lost.append(f"{chat}: webhook answered {status}")
                return
            self.drive.sent += 1
            self.drive.expected_replies += replies
            if replies:
                try:
                    arrived = await asyncio.wait_for(done, stall)
                except TimeoutError:
                    self.drive.lost.append(f"{chat}: no reply to {said!r} in {stall:.0f} s")
                    return
                self.drive.latencies.append(arrived - start)
                self.drive.last = max(self.drive.last, arrived)

    async def run(self, chats: list[int], scripts: list[Script], concurrency: int,
                  stall: float = STALL) -> Drive:
        lines: asyncio.Queue[Poster] = asyncio.Queue()
        for _ in range(concurrency):
            lines.put_nowait(Poster(self.port, HEADERS))
        self.drive = Drive(first=time.perf_counter())
        try:
            await asyncio.gather(*(self.talk(c, s, lines, stall)
                                   for c, s in zip(chats, scripts, strict=True)))
        finally:
            while not lines.empty():
                lines.get_nowait().close()
        return self.drive


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A system under test in its own process; SIGTERM at the end (killed after 20 s)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return "\n".join(lines[-15:]) or "(no output)"


async def _ready(name: str, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the system answers /healthz (any status below 500)."""
    started, health = time.perf_counter(), Poster(port, {})
    try:
        while True:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, WireError):
                if await health.request("GET", "/healthz") < 500:
                    return
            if proc.poll() is not None or time.perf_counter() - started > START:
                raise RuntimeError(f"{name} did not start:\n{_tail(log)}")
            await asyncio.sleep(0.1)
    finally:
        health.close()


async def _system(name: str, argv: list[str], env: dict[str, str], port: int, api: Api,
                  chats: list[int], runs: list[Script], concurrency: int,
                  tmp: Path) -> dict[str, Any]:
    """Start one system, warm it with WARMUP greetings, then time the families."""
    log = tmp / f"{name}.log"
    with _process(argv, env, log) as proc:
        await _ready(name, proc, port, log)
        families = Families(api, port)
        warm = [Script(["halo"], [runs[0].replies[0]])] * WARMUP
        warmed = await families.run([CHATS * 9 + i for i in range(WARMUP)], warm, WARMUP,
                                    START)
        if warmed.lost:
            raise RuntimeError(f"{name} did not answer its first greetings: "
                               f"{warmed.lost[0]}\n{_tail(log)}")
        cpu = time.process_time()
        drive = await families.run(chats, runs, concurrency)
        cpu = time.process_time() - cpu
    return _figures(drive, api, chats, cpu)


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in ms."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered), max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))) - 1] \
        * 1000


def _figures(drive: Drive, api: Api, chats: list[int], driver_cpu: float) -> dict[str, Any]:
    seconds = max(drive.last - drive.first, 1e-9)
    replies = sum(api.got.get(str(c), 0) for c in chats)
    return {"messages": drive.sent, "answered": len(drive.latencies),
            "replies": replies, "replies_expected": drive.expected_replies,
            "lost": drive.lost, "unknown_api_calls": list(api.unknown),
            "seconds": round(seconds, 3), "rate": len(drive.latencies) / seconds,
            "p50_ms": _pct(drive.latencies, 50), "p99_ms": _pct(drive.latencies, 99),
            "driver_cpu_seconds": round(driver_cpu, 3)}


def _env(tmp: Path, settings: Settings, port: int, api: str) -> dict[str, str]:
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
                              "processors": settings.lk3_processors,
                              "messages_expected": sum(len(s.says) for s in runs)}
    with tempfile.TemporaryDirectory(prefix="lk3-http-") as name:
        tmp = Path(name)
        for system in ("lk3", "reference"):
            api, port = Api(TOKEN), _port()
            async with api.serving() as api_port:
                base = f"http://127.0.0.1:{api_port}/bot"
                if system == "lk3":
                    argv, env = [sys.executable, "-c", LK3], _env(tmp, settings, port, base)
                    measured = runs
                else:  # as many questions as the longest script: it never runs out
                    argv = [sys.executable, "-c", REFERENCE, str(port), base,
                            str(tmp / "ptb.pickle"), TOKEN, SECRET,
                            str(max(len(s.says) for s in runs))]
                    env, measured = dict(os.environ), [Script(s.says, [1] * len(s.says))
                                                       for s in runs]
                result[system] = await _system(system, argv, env, port, api, chats,
                                               measured, concurrency, tmp)
    return result


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
    print(f"lk3 bench --http: {r['families']} families ({r['messages_expected']} "
          f"messages), at most {r['concurrency']} talking at once, webhook POST -> reply "
          f"at a fake Bot API on loopback; Telegram's send limits off in both")
    for name, label in (("lk3", f"lk3 serve ({r['processors']} processor"
                                f"{'s' if r['processors'] > 1 else ''}, SQLite)"),
                        ("reference", "python-telegram-bot webhook, ConversationHandler, "
                                      "PicklePersistence written every 60 s: answers 200 "
                                      "before anything is durable")):
        s = r[name]
        print(f"{name:<18} {s['rate']:,.0f} msg/s, p50 {s['p50_ms']:.1f} ms, p99 "
              f"{s['p99_ms']:.1f} ms; {s['answered']} of {s['messages']} messages answered, "
              f"{s['replies']} of {s['replies_expected']} replies ({s['seconds']:.2f} s, "
              f"driver CPU {s['driver_cpu_seconds']:.2f} s; {label})")
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
