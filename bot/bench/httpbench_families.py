"""The families of `lk3 bench --http` and `--broadcast`: what each says (`lk3 bench`'s walk of
the real flow to a case, with a Papuan-Malay sentence after "halo") and how many replies
the service gives to each message, from replaying that walk through the (pure) engine; and
`Families`, which posts their Telegram updates to a webhook, each family waiting for every
reply to its last message before it writes again (a closed loop)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.bench.httpbench_api import Api, Poster, WireError
from bot.bench.stats import percentile

SECRET = "lk3-http-bench"
STORY = "sa pu suami pukul sa tadi malam"
CHATS = 10_000  # chat id of family 0
STALL = 30.0  # seconds a family waits for its replies before the run counts it lost
WEBHOOK = "/webhooks/telegram"  # the service's (bot.channels.telegram), and the reference's
HEADERS = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}


@dataclass(frozen=True)
class Script:
    says: list[str]
    replies: list[int]  # replies the service gives to each message


def scripts(families: int, now: datetime | None = None) -> list[Script]:
    """Each family's words (`lk3 bench`'s walk with STORY after "halo", the answers after it
    as the story makes the flow go) and the service's replies to each: the engine's, and
    the notice the processor adds when a case opens
    (bot.pipeline.casehooks: the bench has no staff, so an urgent case's alert reaches
    nobody). Raises when the words no longer lead to the end."""
    from bot.bench.families import script
    from bot.pipeline.casehooks import opening_notice
    from bot.pipeline.decide import said_with
    from flows.engine import Engine as FlowEngine
    from flows.types import Inbound

    flows, now = FlowEngine.load("intake"), now or datetime.now(UTC)
    catalog = flows.bundle.catalog
    out = []
    for family in range(families):
        says = script(flows, family, STORY)[0]
        snap, counts = None, list[int]()
        for k, said in enumerate(says):
            turn = flows.step(snap, Inbound("telegram", str(CHATS + family), f"w{k}", said),
                              now)
            opened = next((e for e in turn.events if e.kind == "case_upsert"), None)
            notice = opened is not None and (snap is None or snap.case_number is None) and \
                said_with(opening_notice(catalog, "id", opened.data["priority"], now, 0), turn)
            snap, counts = turn.snapshot, [*counts, len(turn.replies) + notice]
            if opened is not None and snap.case_number is None:
                snap = replace(snap, case_number="LK3-SIM")  # as the processor numbers it
        if snap is None or not flows.flow.states[snap.state].end:
            raise RuntimeError(f"bench --http: family {family} does not reach the end of the "
                               "flow with STORY inserted; update bot/bench/httpbench_families.py")
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


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of latencies in seconds, in ms."""
    return percentile(values, q) * 1000
