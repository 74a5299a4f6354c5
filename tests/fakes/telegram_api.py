"""A fake Telegram Bot API on 127.0.0.1, spoken to over real HTTP by python-telegram-bot.

Point the bot at it with TELEGRAM_API_BASE_URL = `fake.base_url`. It serves getMe, getUpdates
(long polling, with offsets that confirm updates), setWebhook, deleteWebhook, getWebhookInfo,
sendMessage, sendPhoto/Voice/Audio/Video/Document/Location, answerCallbackQuery,
editMessageText, deleteMessages (recorded in `deleted`) and getFile, serves file downloads
(`files[file_id] = bytes`), records every request, and can fail on demand (429 with
retry_after, 5xx, 403, 400, or hang past the client's timeout), for a number of calls
(`fail_next`) or until told otherwise (`go_down`, `come_back`: an outage). `queue_raw`
hands out an update as raw JSON text, for what Python's json cannot write (a lone
surrogate, 100,000 levels of nesting).
A method it does not know is answered 400 and recorded in `unknown`: tests check it is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnopq"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "LK3 Mimika",
            "username": "lk3_mimika_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
NOW = 1764462600  # 2025-11-30 00:30 UTC
JSON_FIELDS = ("reply_markup", "allowed_updates", "entities", "link_preview_options",
               "reply_parameters", "message_ids")
MAX_DELETE = 100  # message ids per deleteMessages call
ACCEPT_THEN_HANG = -1


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class Failure:
    # 429, 500, 502, 403, 400; 0 means hang until the client gives up; ACCEPT_THEN_HANG:
    # the call takes effect, and its answer waits for `answer_hanging` (a crash mid-send)
    status: int
    description: str
    retry_after: int | None = None


@dataclass(frozen=True)
class RawUpdate:
    """An update as JSON text, served as it is."""

    update_id: int
    text: str


def _uid(update: dict[str, Any] | RawUpdate) -> int:
    return update.update_id if isinstance(update, RawUpdate) else int(update["update_id"])


@dataclass
class Sent:
    chat_id: str
    message_id: int
    text: str  # the caption of a media message
    reply_markup: dict[str, Any] | None
    kind: str = "text"  # or photo, voice, audio, video, document, location
    media: str = ""  # the file id or URL sent ("lat,lon" for a location)

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback data) of each inline button, in order."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b["callback_data"]) for row in rows for b in row]


@dataclass
class FakeTelegram:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    blocked: set[str] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> what a download gets
    downloads: list[str] = field(default_factory=list)  # file ids downloaded, in order
    deleted: list[tuple[str, list[int]]] = field(default_factory=list)  # (chat, ids) per call
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any] | RawUpdate] = []
        self._down: dict[str, int] = {}  # method -> status of its outage
        self._update_ids = itertools.count(100_000)
        self._message_ids = itertools.count(500)
        self._failures: dict[str, list[Failure]] = {}
        self._edited: dict[tuple[str, int], str] = {}
        self.confirmed = 0  # updates below this id were confirmed by an offset
        self.polls_waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._release: asyncio.Event | None = None
        self._answer: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeTelegram:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint,
                                      methods=["GET", "POST"]),
                                Route("/file/bot{token}/{path:path}", self._file)])
        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop and self._server
            asyncio.set_event_loop(self._loop)
            self._wake, self._release = asyncio.Event(), asyncio.Event()
            self._answer = asyncio.Event()
            self._loop.run_until_complete(self._server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10  # a bounded wait for the server to be ready
        while not self._server.started:
            assert time.monotonic() < deadline, "fake Telegram did not start"
            assert self._thread.is_alive(), "fake Telegram thread died"
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(timeout=10)
        self._loop.close()
        self._server = None

    def _shutdown(self) -> None:
        assert self._server and self._release and self._wake and self._answer
        self._release.set()
        self._answer.set()
        self._wake.set()
        self._server.should_exit = True

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[FakeTelegram]:
        fake = cls().start()
        try:
            yield fake
        finally:
            fake.stop()

    # -- knobs for tests ----------------------------------------------------------------------

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is given when missing)."""
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": next(self._update_ids), **update}
            self._updates.append(update)
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)
        return update

    def queue_raw(self, text: str, update_id: int | None = None) -> int:
        """Queue an update given as JSON text (its update_id must be `update_id`)."""
        with self._lock:
            uid = update_id if update_id is not None else next(self._update_ids)
            self._updates.append(RawUpdate(uid, text))
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)
        return uid

    def answer_hanging(self) -> None:
        """Answer the calls held by ACCEPT_THEN_HANG (they took effect already)."""
        assert self._loop is not None and self._answer is not None
        self._loop.call_soon_threadsafe(self._answer.set)

    def go_down(self, method: str, status: int = 500) -> None:
        """Every call of `method` fails with `status` until `come_back`."""
        with self._lock:
            self._down[method] = status

    def come_back(self, method: str) -> None:
        with self._lock:
            self._down.pop(method, None)

    def fail_next(self, method: str, times: int = 1, *, status: int = 500,
                  retry_after: int | None = None, description: str | None = None) -> None:
        """The next `times` calls of `method` fail this way (0 = hang past the timeout)."""
        text = description or {429: f"Too Many Requests: retry after {retry_after}",
                               403: "Forbidden: bot was blocked by the user",
                               400: "Bad Request: chat not found",
                               0: "hang"}.get(status, "Internal Server Error")
        with self._lock:
            self._failures.setdefault(method, []).extend(
                Failure(status, text, retry_after) for _ in range(times))

    def block(self, chat_id: int | str) -> None:
        """The person blocked the bot: every send to them is 403 from now on."""
        self.blocked.add(str(chat_id))

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method]

    def messages_to(self, chat_id: int | str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.chat_id == str(chat_id)]

    def texts_to(self, chat_id: int | str) -> list[str]:
        return [s.text for s in self.messages_to(chat_id)]

    def pending_updates(self) -> list[dict[str, Any] | RawUpdate]:
        with self._lock:
            return list(self._updates)

    def deleted_in(self, chat_id: int | str) -> list[int]:
        """Message ids deleted in this chat, in the order of the calls."""
        with self._lock:
            return [i for chat, ids in self.deleted if chat == str(chat_id) for i in ids]

    def edited_text(self, chat_id: int | str, message_id: int) -> str | None:
        return self._edited.get((str(chat_id), message_id))

    # -- the API ------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            params = await _params(request)
        except ValueError as exc:
            return _error(400, f"Bad Request: {exc}")
        with self._lock:
            self.calls.append(Call(method, params))
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            with self._lock:
                self.unknown.append(method)
            return _error(400, f"fake Telegram: unknown method {method}")
        with self._lock:
            queue = self._failures.get(method) or []
            failure = queue.pop(0) if queue else None
            if failure is None and method in self._down:
                failure = Failure(self._down[method], "Internal Server Error")
        if failure is not None and failure.status == ACCEPT_THEN_HANG:
            assert self._answer is not None
            self._answer.clear()
            result = await handler(params)
            await self._answer.wait()
            return JSONResponse({"ok": True, "result": result})
        if failure is not None:
            if failure.status == 0:
                assert self._release is not None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), 30)
                return _error(504, "Gateway Timeout")
            return _error(failure.status, failure.description,
                          {"retry_after": failure.retry_after} if failure.retry_after else None)
        try:
            result = await handler(params)
        except _ApiError as exc:
            return _error(exc.status, exc.description)
        if isinstance(result, list) and any(isinstance(u, RawUpdate) for u in result):
            items = [u.text if isinstance(u, RawUpdate) else json.dumps(u) for u in result]
            return Response('{"ok": true, "result": [' + ", ".join(items) + "]}",
                            media_type="application/json")
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = str(request.path_params["path"])
        file_id = path.removeprefix("photos/").removesuffix(".jpg")
        with self._lock:
            self.downloads.append(file_id)
        data = self.files.get(file_id, b"\x00fake-file\x00")
        return Response(data, media_type="application/octet-stream")

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                 "active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + timeout
        assert self._wake is not None
        with self._lock:
            self.polls_waiting += 1
        try:
            while True:
                self._wake.clear()
                with self._lock:
                    if offset:  # an offset confirms every update before it
                        self._updates = [u for u in self._updates if _uid(u) >= offset]
                        self.confirmed = max(self.confirmed, offset)
                    ready = [u for u in self._updates if _uid(u) >= offset][:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0 or (self._release and self._release.is_set()):
                    return ready
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
        finally:
            with self._lock:
                self.polls_waiting -= 1

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        secret = str(params.get("secret_token", ""))
        if not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
        if secret and not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = params
        if params.get("drop_pending_updates") in ("true", "True", True):
            with self._lock:
                self._updates.clear()
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates") in ("true", "True", True):
            with self._lock:
                self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id, text = str(params.get("chat_id", "")), str(params.get("text", ""))
        if not chat_id:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        with self._lock:
            message_id = next(self._message_ids)
            self.sent.append(Sent(chat_id, message_id, text, markup))
        result: dict[str, Any] = {"message_id": message_id, "date": NOW, "text": text,
                                  "from": BOT_USER, "chat": _chat(chat_id)}
        if markup:
            result["reply_markup"] = markup
        return result

    def _media_message(self, params: dict[str, Any], kind: str, media: str) -> Any:
        chat_id = str(params.get("chat_id", ""))
        if not chat_id:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not media:
            raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = str(params.get("caption") or "")
        if len(caption) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        markup = params.get("reply_markup")
        with self._lock:
            message_id = next(self._message_ids)
            self.sent.append(Sent(chat_id, message_id, caption, markup, kind, media))
        result: dict[str, Any] = {"message_id": message_id, "date": NOW, "from": BOT_USER,
                                  "chat": _chat(chat_id)}
        if caption:
            result["caption"] = caption
        if kind == "location":
            lat, _, lon = media.partition(",")
            result["location"] = {"latitude": float(lat), "longitude": float(lon)}
        return result

    async def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "photo", str(params.get("photo") or ""))

    async def _m_sendVoice(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "voice", str(params.get("voice") or ""))

    async def _m_sendAudio(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "audio", str(params.get("audio") or ""))

    async def _m_sendVideo(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "video", str(params.get("video") or ""))

    async def _m_sendDocument(self, params: dict[str, Any]) -> Any:
        return self._media_message(params, "document", str(params.get("document") or ""))

    async def _m_sendLocation(self, params: dict[str, Any]) -> Any:
        lat, lon = params.get("latitude"), params.get("longitude")
        if lat in (None, "") or lon in (None, ""):
            raise _ApiError(400, "Bad Request: location is missing")
        return self._media_message(params, "location", f"{lat},{lon}")

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired")
        return True

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        chat_id, text = str(params.get("chat_id", "")), str(params.get("text", ""))
        message_id = int(params.get("message_id", 0) or 0)
        if not chat_id or not message_id or not text:
            raise _ApiError(400, "Bad Request: message to edit not found")
        self._edited[(chat_id, message_id)] = text
        result: dict[str, Any] = {"message_id": message_id, "date": NOW, "edit_date": NOW,
                                  "text": text, "from": BOT_USER, "chat": _chat(chat_id)}
        if params.get("reply_markup"):
            result["reply_markup"] = params["reply_markup"]
        return result

    async def _m_deleteMessages(self, params: dict[str, Any]) -> Any:
        chat_id, ids = str(params.get("chat_id", "")), params.get("message_ids")
        if not chat_id:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_DELETE or \
                not all(isinstance(i, int) for i in ids):
            raise _ApiError(400, "Bad Request: message_ids must be 1-100 message identifiers")
        if chat_id in self.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        with self._lock:  # ids that cannot be deleted are skipped, as Telegram does
            self.deleted.append((chat_id, list(ids)))
        return True

    async def _m_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        if not file_id:
            raise _ApiError(400, "Bad Request: invalid file_id")
        size = len(self.files.get(file_id, b"\x00fake-file\x00"))
        return {"file_id": file_id, "file_unique_id": f"u-{file_id[:8]}", "file_size": size,
                "file_path": f"photos/{file_id}.jpg"}


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _chat(chat_id: str) -> dict[str, Any]:
    if chat_id.lstrip("-").isdigit() and int(chat_id) > 0:
        return {"id": int(chat_id), "type": "private", "first_name": "Ibu"}
    return {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else 0, "type": "group",
            "title": "Group"}


def _error(status: int, description: str,
           parameters: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    """Parameters from a query string, a form or a JSON body; nested JSON strings decoded."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if body and kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        params.update(data)
    elif body and kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    elif body:
        raise ValueError(f"fake Telegram cannot read {kind or 'untyped'} bodies")
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except ValueError as exc:
                raise ValueError(f"can't parse {key} JSON object") from exc
    return params
