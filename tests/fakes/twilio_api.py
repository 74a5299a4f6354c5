"""A fake Twilio REST API on 127.0.0.1, for the real twilio client (via TWILIO_API_BASE_URL).

It serves `POST /2010-04-01/Accounts/{sid}/Messages.json` and, for inbound media a test set
with `add_media`, `GET .../Messages/{MM}/Media/{ME}` (basic auth checked), and
`DELETE .../Messages/{SM}.json` or `.../Messages/{MM}/Media/{ME}.json` (204 once, then 404;
kept in `deleted`); it answers in
Twilio's shapes
(message JSON with an "SM..." sid; errors as {"code", "message", "more_info", "status"}),
checks basic auth like Twilio does, and records every request. Any other path is answered
400 and kept in `unknown`, so a test can fail loudly on it. Knobs: `fail_next` (5xx, 429 with
Retry-After, or a Twilio error code such as 21610 or 63016), `hang_next` (no answer until
released or the client gives up: a timeout) and `fail_next_deletes` (5xx to DELETEs).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
MEDIA = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/[^/]+/Media/[^/]+$")
# DELETE of a message or of one of its media (bot.privacy.provider): 204 once, 404 after.
DELETE_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<message>(SM|MM)"
                         r"[0-9a-f]{32})(/Media/(?P<media>ME[0-9a-f]{32}))?\.json$")
MESSAGES_TEXT = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21619: "A text message body or media urls must be specified.",
    63016: "Failed to send freeform message because you are outside the allowed window. "
           "If you are using WhatsApp, please use a Message Template.",
    63018: "Rate limit exceeded for Channel",
}


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    headers: dict[str, str]
    status: int = 0  # what the fake answered
    media_urls: list[str] = field(default_factory=list)  # every MediaUrl field, in order


@dataclass
class Failure:
    status: int
    code: int | None
    retry_after: str | None
    body: str | None  # a raw (non-JSON) body instead of Twilio's error JSON
    hang: bool = False


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    requests: list[Recorded] = field(default_factory=list)
    unknown: list[Recorded] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (bytes, type)
    deleted: list[str] = field(default_factory=list)  # "SM..." or "MM.../ME...", in order

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._plan: list[Failure] = []
        self._failing_deletes = 0
        self._release = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- knobs -----------------------------------------------------------------------------------

    def fail_next(self, times: int = 1, *, status: int = 500, code: int | None = None,
                  retry_after: float | str | None = None, body: str | None = None) -> None:
        """The next `times` creates fail: HTTP `status` with Twilio error `code`."""
        with self._lock:
            self._plan += [Failure(status, code, None if retry_after is None
                                   else str(retry_after), body) for _ in range(times)]

    def fail_next_deletes(self, times: int = 1) -> None:
        """The next `times` DELETEs answer 500 (Twilio's side is down); nothing is deleted."""
        with self._lock:
            self._failing_deletes += times

    def hang_next(self, times: int = 1) -> None:
        """The next `times` creates get no answer (until `release`), so the client times out."""
        with self._lock:
            self._plan += [Failure(504, None, None, None, hang=True) for _ in range(times)]

    def add_media(self, n: int, data: bytes, mime: str) -> str:
        """Inbound media the fake serves (with basic auth, like Twilio); returns its URL."""
        path = (f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}"
                f"/Media/ME{n:032x}")
        with self._lock:
            self.media[path] = (data, mime)
        return self.url + path

    def media_fetches(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if MEDIA.match(r.path)]

    def release(self) -> None:
        self._release.set()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.unknown.clear()
            self.created.clear()
            self.deleted.clear()
            self._plan.clear()
            self._failing_deletes = 0
        self._release.set()
        self._release = threading.Event()

    # -- what was sent ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def creates(self) -> list[Recorded]:
        """Every create attempt, failed or not, in arrival order."""
        with self._lock:
            return [r for r in self.requests if MESSAGES.match(r.path)]

    def bodies(self, to: str) -> list[str]:
        """Bodies of the messages the fake accepted for `to`, in order."""
        with self._lock:
            return [m["body"] for m in self.created if m["to"] == to]

    # -- the server ------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
        self.port = int(sock.getsockname()[1])
        app = Starlette(routes=[Route("/{path:path}", self._handle,
                                      methods=["GET", "POST", "PUT", "DELETE", "PATCH"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="fake-twilio", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "the fake Twilio server did not stop"

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _handle(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        pairs = parse_qsl(raw, keep_blank_values=True)
        form = dict(pairs)
        record = Recorded(request.method, request.url.path, form, _basic_auth(request),
                          {k.lower(): v for k, v in request.headers.items()},
                          media_urls=[v for k, v in pairs if k == "MediaUrl"])
        with self._lock:
            self.requests.append(record)
        media = MEDIA.match(request.url.path)
        if request.method == "GET" and media is not None and request.url.path in self.media:
            if record.auth != (self.account_sid, self.auth_token) or \
                    media.group("sid") != self.account_sid:
                record.status = 401
                return _error(401, 20003)
            data, mime = self.media[request.url.path]
            record.status = 200
            return Response(data, media_type=mime)
        gone = DELETE_PATH.match(request.url.path)
        if request.method == "DELETE" and gone is not None:
            with self._lock:
                failing, self._failing_deletes = self._failing_deletes > 0, \
                    max(self._failing_deletes - 1, 0)
            if failing:
                record.status = 500
                return _error(500, 20500)
            record.status = self._delete(gone, record)
            return Response(status_code=204) if record.status == 204 else \
                _error(record.status, 20404 if record.status == 404 else 20003)
        match = MESSAGES.match(request.url.path)
        if request.method != "POST" or match is None:
            with self._lock:
                self.unknown.append(record)
            record.status = 400
            return JSONResponse({"code": 20404, "message": f"fake Twilio: unknown "
                                 f"{request.method} {request.url.path}",
                                 "more_info": "", "status": 400}, status_code=400)
        response = await self._create(match.group("sid"), record)
        record.status = response.status_code
        return response

    def _delete(self, match: re.Match[str], record: Recorded) -> int:
        return _delete_status(self, match, record)

    async def _create(self, sid: str, record: Recorded) -> Response:
        if record.auth != (self.account_sid, self.auth_token) or sid != self.account_sid:
            return _error(401, 20003)
        with self._lock:
            planned = self._plan.pop(0) if self._plan else None
        if planned is not None:
            if planned.hang:
                release = self._release
                await asyncio.to_thread(release.wait, 30)
                return _error(504, 20500)
            headers = {"Retry-After": planned.retry_after} if planned.retry_after else {}
            if planned.body is not None:
                return Response(planned.body, status_code=planned.status, headers=headers)
            return _error(planned.status, planned.code or (20429 if planned.status == 429
                                                           else 20500), headers)
        form = record.form
        if not form.get("To"):
            return _error(400, 21211)
        if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            return _error(400, 21619)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        message_sid = "SM" + uuid.uuid4().hex
        message = {
            "account_sid": sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": None,
            "num_media": str(len(record.media_urls)),
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": message_sid,
            "status": "queued", "to": form["To"],
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{sid}/Messages/"
                                          f"{message_sid}/Media.json"},
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
        }
        with self._lock:
            self.created.append(message)
        return JSONResponse(message, status_code=201)


def _delete_status(fake: FakeTwilio, match: re.Match[str], record: Recorded) -> int:
    if record.auth != (fake.account_sid, fake.auth_token) or \
            match.group("sid") != fake.account_sid:
        return 401
    item = match.group("message") + (f"/{match.group('media')}" if match.group("media")
                                     else "")
    with fake._lock:
        if item in fake.deleted:
            return 404
        fake.deleted.append(item)
    return 204


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _error(status: int, code: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"code": code, "message": MESSAGES_TEXT.get(code, "Error"),
                         "more_info": f"https://www.twilio.com/docs/errors/{code}",
                         "status": status}, status_code=status, headers=headers)
