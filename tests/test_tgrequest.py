"""python-telegram-bot's requests over aiohttp (bot.channels.tgrequest), at the HTTP boundary:
each test drives a real `telegram.Bot` against a small real server on loopback that answers
as the case needs (never answers, not JSON, a proxy) and reads what arrived on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import Bot, InputFile
from telegram.error import NetworkError, TelegramError, TimedOut

from bot.bench.httpbench_api import read_message
from bot.channels.base import SendError
from bot.channels.telegramsend import TelegramSender
from bot.channels.tgrequest import AiohttpRequest

TOKEN = "123456:request-test-token"
MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "ok"}

Answer = Callable[[bytes, dict[str, str], bytes], Awaitable[bytes | None]]


def ok(result: object) -> bytes:
    body = json.dumps({"ok": True, "result": result}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" \
        % (len(body), body)


@contextlib.asynccontextmanager
async def server(answer: Answer) -> AsyncIterator[tuple[int, list[tuple[bytes, dict[str, str],
                                                                       bytes]]]]:
    """A loopback HTTP/1.1 server: `answer` gives the raw response (None: none, ever);
    every request that arrived is in the yielded list."""
    seen: list[tuple[bytes, dict[str, str], bytes]] = []
    open_: list[asyncio.StreamWriter] = []

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        open_.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while (request := await read_message(reader))[0]:
                seen.append(request)
                if (response := await answer(*request)) is None:
                    await asyncio.Event().wait()  # accepted, never answered
                else:
                    writer.write(response)

    listening = await asyncio.start_server(one, "127.0.0.1", 0)
    try:
        yield int(listening.sockets[0].getsockname()[1]), seen
    finally:
        listening.close()
        for writer in open_:  # the client's keep-alive connections too
            writer.close()
        await listening.wait_closed()


async def test_a_message_goes_as_the_form_python_telegram_bot_sends() -> None:
    async def answer(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        return ok(MESSAGE)

    request = AiohttpRequest(4, 5)
    async with server(answer) as (port, seen):
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        sent = await bot.send_message(42, "Halo Mama, ini LK3")
        await request.shutdown()
    assert sent.message_id == 7
    ((start, headers, body),) = seen
    assert start == f"POST /bot{TOKEN}/sendMessage HTTP/1.1".encode()
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert body == b"chat_id=42&text=Halo+Mama%2C+ini+LK3"


async def test_a_bot_api_that_never_answers_times_out_instead_of_hanging() -> None:
    async def silent(start: bytes, headers: dict[str, str], body: bytes) -> None:
        return None

    request = AiohttpRequest(4, 0.3)
    async with server(silent) as (port, _):
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        started = time.monotonic()
        with pytest.raises(TimedOut):  # not asyncio's TimeoutError of the guard
            await asyncio.wait_for(bot.send_message(42, "halo"), 5)
        assert time.monotonic() - started < 3
        await request.shutdown()


async def test_a_longer_read_timeout_asked_for_a_call_is_honoured() -> None:
    """getUpdates adds its long poll to the read timeout: an answer after 0.6 s arrives
    though the request's own timeout is 0.3 s."""
    async def slow(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        await asyncio.sleep(0.6)  # the server's pace, not the test's clock
        return ok([])

    request = AiohttpRequest(4, 0.3)
    async with server(slow) as (port, _):
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request,
                  get_updates_request=request)  # as make_bot builds it
        assert await bot.get_updates(timeout=1) == ()
        await request.shutdown()


async def test_a_refused_connection_is_a_network_error_that_does_not_name_the_token() -> None:
    async def answer(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        return ok(MESSAGE)

    async with server(answer) as (port, _):
        pass  # the port is free again: nothing listens there
    request = AiohttpRequest(4, 2)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    with pytest.raises(NetworkError) as raised:
        await bot.send_message(42, "halo")
    assert TOKEN not in str(raised.value) and "aiohttp.Client" in str(raised.value)
    await request.shutdown()


async def test_an_answer_that_is_not_json_fails_without_its_words_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    async def html(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        page = b"<html>pesan rahasia keluarga</html>"
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(page), page)

    request = AiohttpRequest(4, 2)
    async with server(html) as (port, _):
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        with caplog.at_level(logging.DEBUG), pytest.raises(TelegramError,
                                                           match="Invalid server response"):
            await bot.send_message(42, "halo")
        await request.shutdown()
    assert "rahasia" not in caplog.text
    assert "an answer of the Bot API was not JSON (35 bytes)" in caplog.text


async def test_a_file_upload_goes_as_multipart_with_the_other_fields() -> None:
    async def answer(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        return ok(MESSAGE | {"document": {"file_id": "f1", "file_unique_id": "u1"}})

    request = AiohttpRequest(4, 5)
    async with server(answer) as (port, seen):
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        await bot.send_document(42, InputFile(b"isi surat rujukan", filename="rujukan.txt"),
                                caption="Surat rujukan")
        await request.shutdown()
    ((start, headers, body),) = seen
    assert start.startswith(f"POST /bot{TOKEN}/sendDocument ".encode())
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'filename="rujukan.txt"' in body and b"isi surat rujukan" in body
    assert b'name="caption"' in body and b"Surat rujukan" in body
    assert b'name="chat_id"' in body


async def test_requests_go_through_the_proxy_the_environment_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def proxy(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        return ok(MESSAGE)

    async with server(proxy) as (port, seen):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("http_proxy", raising=False)
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.delenv("no_proxy", raising=False)
        request = AiohttpRequest(4, 5)
        bot = Bot(TOKEN, base_url="http://api.telegram.invalid/bot", request=request)
        await bot.send_message(42, "halo")
        await bot.send_message(42, "halo lagi")
        await request.shutdown()
    assert [start for start, _, _ in seen] == [
        f"POST http://api.telegram.invalid/bot{TOKEN}/sendMessage HTTP/1.1".encode()] * 2


def test_one_request_object_serves_event_loops_one_after_another() -> None:
    """Tests run event loops in turn with one Bot: each loop gets a session of its own."""
    async def answer(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        return ok(MESSAGE)

    request = AiohttpRequest(4, 5)

    async def once() -> int:
        async with server(answer) as (port, seen):
            bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
            await bot.send_message(42, "halo")
            await request.shutdown()
            return len(seen)

    assert asyncio.run(once()) == 1
    assert asyncio.run(once()) == 1


async def test_a_sent_message_without_its_id_in_the_answer_is_a_failed_send_to_retry() -> None:
    """The relay keeps the message id of each reply (a quick exit deletes by it): an answer
    of `ok` without one is a transient failure, retried, never an id made up."""
    async def odd(start: bytes, headers: dict[str, str], body: bytes) -> bytes:
        return ok(True)

    request = AiohttpRequest(4, 5)
    async with server(odd) as (port, seen):
        sender = TelegramSender(Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot",
                                    request=request))
        with pytest.raises(SendError) as raised:
            await sender.send("42", {"text": "Halo Mama", "choices": [
                {"number": 1, "label": "Ya", "value": "yes"}], "asked": "consent"})
        await request.shutdown()
    assert raised.value.transient
    ((_, _, body),) = seen  # the keyboard went as the Bot API's JSON
    assert b"reply_markup=%7B%22inline_keyboard%22%3A+%5B%5B%7B%22text%22%3A+%221.+Ya%22" in body
