"""`lk3 bench --relay`: the outbox relay against a Bot API that answers after a round trip.

A small Bot API of our own on loopback (getMe, sendMessage) answers each request after
`rtt_ms`; the real relay sends a filled outbox through the real Telegram sender
(python-telegram-bot's Bot) with Telegram's limits (30 messages a second overall, one a
second per chat). The reference is the configured send rate: a relay that keeps it up
sends at 1.0x of it. Every queued row must end sent, or the run fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from sqlalchemy import func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import Bot

from bot.channels.telegramsend import TelegramSender
from bot.pipeline.relay import Relay
from storage import keys, migrate
from storage.db import make_engine
from storage.models import OutboxMessage

TOKEN = "123456:relay-bench"
REQUIRED = 0.95  # x the configured rate: the bar
POLL = 0.2  # the relay's poll interval in service when a run finds nothing due


def _api(rtt: float) -> Starlette:
    count = [0]

    async def endpoint(request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if method == "getMe":
            return JSONResponse({"ok": True, "result": {
                "id": 1, "is_bot": True, "first_name": "LK3", "username": "lk3_bot"}})
        body = (await request.body()).decode()
        kind = request.headers.get("content-type", "")
        form: Any = json.loads(body) if "json" in kind else \
            {k: v[0] for k, v in parse_qs(body).items()}
        await asyncio.sleep(rtt)  # the round trip to Telegram
        count[0] += 1
        return JSONResponse({"ok": True, "result": {
            "message_id": count[0], "date": int(time.time()),
            "chat": {"id": int(str(form.get("chat_id"))), "type": "private"},
            "text": str(form.get("text", ""))}})

    return Starlette(routes=[Route("/bot{token}/{method}", endpoint, methods=["POST", "GET"])])


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(rows: int, chats: int, rtt: float) -> dict[str, Any]:
    port = _port()
    server = uvicorn.Server(uvicorn.Config(_api(rtt), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    with tempfile.TemporaryDirectory(prefix="lk3-relay-") as tmp, keys.throwaway():
        db = make_engine(f"sqlite:///{Path(tmp) / 'relay.db'}")
        migrate.upgrade(db)
        now = datetime.now(UTC)
        with db.begin() as conn:
            conn.execute(insert(OutboxMessage), [{
                "channel": "telegram", "recipient": str(1000 + i % chats), "contact_id": None,
                "case_id": None, "payload": {"text": f"balasan {i}", "choices": []},
                "dedupe_key": f"bench:{i}", "status": "pending", "attempts": 0,
                "available_at": now, "created_at": now} for i in range(rows)])
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot")
        await bot.initialize()
        sender = TelegramSender(bot)
        assert sender.limit is not None
        rate = sender.limit.rate
        relay = Relay(db, {"telegram": sender}, lambda: datetime.now(UTC))
        cpu, start = time.process_time(), time.perf_counter()
        while True:
            if not await relay.run_once():
                with db.connect() as conn:
                    left = conn.execute(select(func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.status.in_(("pending", "sending")))).scalar_one()
                if not left:
                    break
                await asyncio.sleep(POLL)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        with db.connect() as conn:
            sent = conn.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "sent")).scalar_one()
        await bot.shutdown()
        db.dispose()
    server.should_exit = True
    await serving
    return {"rows": rows, "sent": sent, "seconds": seconds, "cpu": cpu, "rate": rate}


def run(rows: int = 600, chats: int = 300, rtt_ms: float = 50.0) -> int:
    """Measure and print; 0 when the relay keeps REQUIRED of the configured rate."""
    print(f"lk3 bench --relay: {rows} replies to {chats} chats, Bot API round trip "
          f"{rtt_ms:.0f} ms, Telegram's limits (30/s overall, 1/s per chat)")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    r = asyncio.run(_run(rows, chats, rtt_ms / 1000))
    # the first second's 30 go at once (a full bucket), so the steady rate is over the rest
    achieved = r["sent"] / r["seconds"] if r["seconds"] > 0 else 0.0
    ratio = achieved / r["rate"]
    ok = r["sent"] == r["rows"]
    print(f"sent               {r['sent']} of {r['rows']} in {r['seconds']:.2f} s "
          f"({achieved:.1f} msg/s; CPU {r['cpu'] * 1000 / max(r['sent'], 1):.2f} ms a message)")
    print(f"reference          {r['rate']:.0f} msg/s, the configured send rate")
    passed = ok and ratio >= REQUIRED
    print(f"requirement        {'PASS' if passed else 'FAIL'}: {ratio:.3f}x of the configured "
          f"rate (needs >= {REQUIRED}x, every reply sent)")
    return 0 if passed else 1
