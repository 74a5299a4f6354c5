"""The Bot API's HTTP client: python-telegram-bot's requests over aiohttp rather than httpx.

python-telegram-bot sends through a `BaseRequest`; its default (`HTTPXRequest`) is httpx
over httpcore, whose connection pool looks at every open connection (a `poll()` on each
idle socket) and every waiting request each time a request starts or ends. With the relay's
32 requests in flight that cost about 2.2 ms of CPU a sendMessage; aiohttp's pool keeps
idle connections per host and costs about 0.46 ms (measured on this 2-core machine, 4,000
sends, 32 at once, the same fake Bot API; the README's Benchmark section has the serving
figures). aiohttp is already installed for twilio's async client, and python-telegram-bot's
own contrib repository carries an aiohttp request of the same shape.

`AiohttpRequest` keeps PTB's contract: its timeouts per request (getUpdates adds its long
poll to the read timeout), `TimedOut` and `NetworkError` for what went wrong on the way, the
status and body of every answer for PTB to read (errors included), and a proxy from the
environment (HTTPS_PROXY, NO_PROXY...) as httpx took it: looked up once per host, since
aiohttp's own lookup (`trust_env`) reads the environment and ~/.netrc on every request, a
fifth of a send's cost. Answers are read with `tgupdates.loads`: JSON nested
deeper than the parser's stack is no RecursionError, and an answer that is not JSON is an
error without its content in the log (PTB would log it whole).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.channels.tgupdates import loads

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"


class AiohttpRequest(BaseRequest):
    """Requests to the Bot API on a pool of `pool` keep-alive connections; `timeout` seconds
    for each of waiting for a connection, connecting, writing and reading, unless PTB asks
    otherwise for a call. A session belongs to the event loop that made it; `shutdown` in
    that loop releases it (bot.channels.telegram `close`). Used from another loop (tests
    run one after another), a new session is made for that loop."""

    def __init__(self, pool: int, timeout: float) -> None:
        self.pool, self.timeout = pool, timeout
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float:
        return self.timeout

    async def initialize(self) -> None:
        self._client()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed \
                and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = self._loop = None

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool),
                timeout=aiohttp.ClientTimeout(total=None))
            self._loop = loop
        return self._session

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for `url`'s host (None: straight there)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxies = urllib.request.getproxies()  # the environment's, on Linux
            bypass = urllib.request.proxy_bypass(key[1])  # NO_PROXY
            self._proxies[key] = None if bypass else proxies.get(key[0])
        return self._proxies[key]

    def _seconds(self, value: Any) -> float:
        """PTB's timeout for a call, or ours: None (to PTB, wait forever) is ours too."""
        return self.timeout if isinstance(value, type(BaseRequest.DEFAULT_NONE)) \
            or value is None else float(value)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`. aiohttp has no write timeout: the whole request is
        bounded by the sum of the four instead, so a stalled upload cannot hang forever."""
        read, write = self._seconds(read_timeout), self._seconds(write_timeout)
        connect, pool = self._seconds(connect_timeout), self._seconds(pool_timeout)
        timeout = aiohttp.ClientTimeout(total=pool + connect + write + read,
                                        connect=pool + connect, sock_connect=connect,
                                        sock_read=read)
        try:
            async with self._client().request(method, url, data=_body(request_data),
                                              timeout=timeout, proxy=self._proxy(url),
                                              headers={"User-Agent": self.USER_AGENT}) as res:
                return res.status, await res.read()
        except TimeoutError as exc:  # aiohttp's timeouts are asyncio's (TimeoutError) too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        try:
            data = loads(payload, errors="replace")  # as PTB reads it
        except ValueError:
            log.error("telegram: an answer of the Bot API was not JSON (%d bytes)",
                      len(payload))
            raise TelegramError("Invalid server response") from None
        if not isinstance(data, dict):
            raise TelegramError("Invalid server response")
        return data


def _body(request_data: RequestData | None) -> aiohttp.Payload | aiohttp.FormData | None:
    """PTB's parameters as a form (each value JSON-encoded, as PTB sends them through
    httpx), encoded here rather than by aiohttp's FormData: 0.25 -> 0.23 ms of CPU a
    sendMessage (4,000 sends, 32 at once, a fake Bot API on loopback); with files, a
    multipart form carrying both."""
    if request_data is None:
        return None
    fields, files = request_data.json_parameters, request_data.multipart_data
    if not files:
        return aiohttp.BytesPayload(urlencode(fields).encode(), content_type=FORM)
    form = aiohttp.FormData(fields)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
