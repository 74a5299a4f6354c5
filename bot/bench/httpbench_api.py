"""The wire of `lk3 bench --http`: a fake Bot API and the families' webhook posts, lean.

Both run in the measuring process, beside the system under test on the same machine, so
each costs as little CPU as HTTP/1.1 allows: plain asyncio streams, keep-alive connections,
Content-Length bodies (what python-telegram-bot's httpx client and uvicorn send). The fake
API serves getMe, setWebhook and sendMessage, and notes when each reply arrives; any other
call is answered 400 and recorded in `unknown`, which fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

BOT = {"id": 123456, "is_bot": True, "first_name": "LK3", "username": "lk3_bench_bot"}
MAX_HEADERS = 100


class WireError(Exception):
    """The other side said something this small HTTP/1.1 does not read."""


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """(start line, headers with lower-case names, body) of one request or response;
    an empty start line when the connection closed between messages."""
    start = (await reader.readline()).rstrip(b"\r\n")
    if not start:
        return b"", {}, b""
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = (await reader.readline()).rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise WireError("chunked body")
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return start, headers, body


@dataclass
class Api:
    """The fake Bot API for one token; `got` counts replies per chat, and `waiting[chat]`
    (how many replies, a future) learns the time the last of them arrived."""

    token: str
    got: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, tuple[int, asyncio.Future[float]]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        """Serve on a free loopback port (yielded) until the block ends."""
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        try:
            yield int(server.sockets[0].getsockname()[1])
        finally:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                start, headers, body = await read_message(reader)
                if not start:
                    break
                status, answer = self.answer(start, headers, body)
                data = json.dumps(answer).encode()
                writer.write(b"HTTP/1.1 %d OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (status, len(data), data))
        except (ConnectionError, asyncio.IncompleteReadError, WireError, ValueError):
            pass
        finally:
            writer.close()

    def answer(self, start: bytes, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, Any]]:
        path = start.split(b" ")[1].decode()
        token, _, method = path.removeprefix("/bot").partition("/")
        if token != self.token or method not in ("getMe", "setWebhook", "sendMessage"):
            self.unknown.append(method)
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {method}"}
        if method != "sendMessage":
            return 200, {"ok": True, "result": BOT if method == "getMe" else True}
        form: dict[str, Any] = json.loads(body) if "json" in headers.get(
            "content-type", "") else {k: v[0] for k, v in parse_qs(body.decode()).items()}
        chat = str(form.get("chat_id"))
        self.arrived(chat)
        return 200, {"ok": True, "result": {
            "message_id": self.got[chat], "date": int(time.time()),
            "text": str(form.get("text", "")), "chat": {"id": int(chat), "type": "private"}}}

    def arrived(self, chat: str) -> None:
        now = time.perf_counter()
        self.got[chat] = self.got.get(chat, 0) + 1
        target, done = self.waiting.get(chat, (0, None))
        if done is not None and not done.done() and self.got[chat] >= target:
            done.set_result(now)


class Poster:
    """POSTs on one keep-alive connection, one at a time (a family's, or a few in turn)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in
                            {"Host": f"127.0.0.1:{port}", **headers}.items()).encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        """The answer's status (its body is read and dropped)."""
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        try:
            writer.write(b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
                method.encode(), path.encode(), self.head, len(body), body))
            start, headers, _ = await read_message(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            raise
        if not start:
            self.close()
            raise ConnectionResetError("the server closed the connection")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(start.split(b" ")[1])

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None
