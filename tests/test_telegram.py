"""Telegram end to end: the real python-telegram-bot against a fake Bot API over loopback HTTP.

Inbound through polling (getUpdates) and the webhook, into the inbox; the real processor;
replies through the outbox relay and the real TelegramSender back to the fake.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy import text as text_sql
from sqlalchemy.exc import OperationalError
from telegram import Bot
from telegram.error import BadRequest

from bot.channels import telegram
from bot.channels.setup import build_channels
from bot.config import ConfigError, Settings
from bot.pipeline.processor import process_all
from bot.pipeline.ratelimit import RateLimit
from bot.pipeline.relay import Relay
from bot.service import Service
from bot.web import create_app
from storage import cases, outbox
from storage.clock import utc
from storage.models import CaseEvent, Contact, InboxMessage, OutboxMessage
from tests.fakes.telegram_api import BOT_USER, NOW, FakeTelegram, Sent
from tests.support import FrozenClock, make_service

SECRET = "lk3-Webhook_secret-0123456789"
PUBLIC = "https://lk3.mimika.example.go.id"
FAMILY, OTHER = 7_100_000_001, 7_100_000_002
CASE_NUMBER = re.compile(r"LK3-\d{4}-\d{5}")
_ids = itertools.count(9000)
REPO = Path(__file__).resolve().parent.parent
LK3 = Path(sys.executable).with_name("lk3")


# -- realistic updates, as Telegram sends them ---------------------------------------------------


def _user(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": "Mama", "last_name": "Yohana",
            "username": f"mama{uid % 1000}", "language_code": "id"}


def _chat(uid: int) -> dict[str, Any]:
    return {"id": uid, "first_name": "Mama", "last_name": "Yohana", "type": "private"}


def message(uid: int, **content: Any) -> dict[str, Any]:
    return {"update_id": next(_ids), "message": {
        "message_id": next(_ids), "from": _user(uid), "chat": _chat(uid), "date": NOW,
        **content}}


def text(uid: int, words: str) -> dict[str, Any]:
    if words.startswith("/"):
        command = words.split(" ", 1)[0]
        return message(uid, text=words,
                       entities=[{"offset": 0, "length": len(command), "type": "bot_command"}])
    return message(uid, text=words)


def press(uid: int, sent: Sent, data: str) -> dict[str, Any]:
    """A button press on a message the bot sent (as the fake recorded it)."""
    msg: dict[str, Any] = {"message_id": sent.message_id, "from": BOT_USER, "chat": _chat(uid),
                           "date": NOW, "text": sent.text}
    if sent.reply_markup:
        msg["reply_markup"] = sent.reply_markup
    return {"update_id": next(_ids), "callback_query": {
        "id": f"43{next(_ids)}77", "from": _user(uid), "message": msg,
        "chat_instance": "-5212440931287731337", "data": data}}


PHOTO = [{"file_id": "AgACAgUAAxkBAAIBZ2small", "file_unique_id": "AQADs", "file_size": 1432,
          "width": 90, "height": 67},
         {"file_id": "AgACAgUAAxkBAAIBZ2large", "file_unique_id": "AQADl", "file_size": 98211,
          "width": 1280, "height": 960}]
VOICE = {"duration": 7, "mime_type": "audio/ogg", "file_id": "AwACAgUAAxkBAAIBaGvoice",
         "file_unique_id": "AgADvoice", "file_size": 23456}
DOCUMENT = {"file_name": "surat_keterangan.pdf", "mime_type": "application/pdf",
            "file_id": "BQACAgUAAxkBAAIBaWdoc", "file_unique_id": "AgADdoc", "file_size": 84512,
            "thumbnail": {"file_id": "AAMCBQADthumb", "file_unique_id": "AQADthumb",
                          "file_size": 900, "width": 240, "height": 320}}
LOCATION = {"latitude": -4.546058, "longitude": 136.883324}
STICKER = {"width": 512, "height": 512, "emoji": "😢", "set_name": "SadCats", "is_animated": False,
           "is_video": False, "type": "regular", "file_id": "CAACAgIAAxkBAAIBbXsticker",
           "file_unique_id": "AgADsticker", "file_size": 28000,
           "thumbnail": {"file_id": "AAMCAgADthumb", "file_unique_id": "AQADst", "file_size": 5000,
                         "width": 128, "height": 128}}
CHANNEL_CHAT = {"id": -1001234567890, "title": "Info Dinsos Mimika", "type": "channel"}
GROUP_CHAT = {"id": -1009876543210, "title": "Keluarga Besar", "type": "supergroup"}


def kinds(uid: int) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every update kind: the update, and the inbox payload it must give (None: ignored); a
    message's payload keeps its message id (a quick exit deletes it)."""
    return {kind: (update, payload if payload is None or "message" not in update
                   else {**payload, "message_id": update["message"]["message_id"]})
            for kind, (update, payload) in _kinds(uid).items()}


def _kinds(uid: int) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    bot_member = {"user": BOT_USER, "status": "member"}
    return {
        "text": (text(uid, "sa pu paitua pukul sa"),
                 {"text": "sa pu paitua pukul sa", "payload": "", "media": []}),
        "start_command": (text(uid, "/start"), {"text": "/start", "payload": "", "media": []}),
        "photo": (message(uid, photo=PHOTO, caption="ini lukanya"),
                  {"text": "ini lukanya", "payload": "", "media": [
                      {"kind": "photo", "ref": "AgACAgUAAxkBAAIBZ2large", "mime": "image/jpeg"}]}),
        "voice": (message(uid, voice=VOICE),
                  {"text": "", "payload": "", "media": [
                      {"kind": "voice", "ref": VOICE["file_id"], "mime": "audio/ogg"}]}),
        "document": (message(uid, document=DOCUMENT),
                     {"text": "", "payload": "", "media": [
                         {"kind": "document", "ref": DOCUMENT["file_id"],
                          "mime": "application/pdf"}]}),
        "location": (message(uid, location=LOCATION),
                     {"text": "", "payload": "", "media": [
                         {"kind": "location", "ref": "-4.546058,136.883324", "mime": ""}]}),
        "venue": (message(uid, location=LOCATION, venue={
                      "location": LOCATION, "title": "Puskesmas Timika Jaya",
                      "address": "Jl. Budi Utomo, Timika"}),
                  {"text": "Puskesmas Timika Jaya, Jl. Budi Utomo, Timika", "payload": "",
                   "media": [{"kind": "location", "ref": "-4.546058,136.883324", "mime": ""}]}),
        "contact": (message(uid, contact={"phone_number": "+6281234567890",
                                          "first_name": "Mama", "user_id": uid}),
                    {"text": "+6281234567890", "payload": "", "media": []}),
        "sticker": (message(uid, sticker=STICKER), {"text": "", "payload": "", "media": []}),
        "button": (press(uid, Sent(str(uid), 501, "Apakah Anda aman sekarang?", {
                       "inline_keyboard": [[{"text": "1. Ya", "callback_data": "yes"}]]}), "yes"),
                   {"text": "", "payload": "yes", "media": []}),
        "edited_message": ({"update_id": next(_ids), "edited_message": {
            "message_id": next(_ids), "from": _user(uid), "chat": _chat(uid), "date": NOW,
            "edit_date": NOW + 30, "text": "sa pu paitua pukul sa tadi malam"}}, None),
        "my_chat_member": ({"update_id": next(_ids), "my_chat_member": {
            "chat": _chat(uid), "from": _user(uid), "date": NOW,
            "old_chat_member": bot_member,
            "new_chat_member": {"user": BOT_USER, "status": "kicked", "until_date": 0}}}, None),
        "channel_post": ({"update_id": next(_ids), "channel_post": {
            "message_id": next(_ids), "sender_chat": CHANNEL_CHAT, "chat": CHANNEL_CHAT,
            "date": NOW, "text": "Pengumuman layanan LK3"}}, None),
        "message_reaction": ({"update_id": next(_ids), "message_reaction": {
            "chat": _chat(uid), "message_id": 501, "user": _user(uid), "date": NOW,
            "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}, None),
        "group_message": ({"update_id": next(_ids), "message": {
            "message_id": next(_ids), "from": _user(uid), "chat": GROUP_CHAT, "date": NOW,
            "text": "halo"}}, None),
        "pinned_service_message": (message(uid, pinned_message={
            "message_id": 400, "chat": _chat(uid), "date": NOW, "text": "old"}), None),
    }


# -- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram.running() as f:
        yield f
        assert f.unknown == [], f"the bot called methods the fake does not know: {f.unknown}"


def tg_settings(db: Engine, fake: FakeTelegram, **extra: Any) -> Settings:
    return Settings.model_validate({
        "DATABASE_URL": db.url.render_as_string(False), "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.base_url, "HTTP_TIMEOUT": 3, "PUBLIC_BASE_URL": None,
        "TELEGRAM_WEBHOOK_SECRET": None, **extra})


@pytest.fixture
def tg(db: Engine, clock: FrozenClock, fake: FakeTelegram) -> Service:
    service = make_service(db, clock)
    service.settings = tg_settings(db, fake)
    return service


@pytest.fixture
async def polling(tg: Service) -> AsyncIterator[telegram.TelegramChannel]:
    channel = telegram.build(tg)
    channel.poll_timeout = 0
    yield channel
    await channel.close()


@pytest.fixture
async def hook(tg: Service, fake: FakeTelegram) -> AsyncIterator[telegram.TelegramChannel]:
    tg.settings = tg_settings(tg.db, fake, PUBLIC_BASE_URL=PUBLIC,
                              TELEGRAM_WEBHOOK_SECRET=SECRET)
    channel = telegram.build(tg)
    await channel.start()
    yield channel
    await channel.close()


@pytest.fixture
async def client(tg: Service, hook: telegram.TelegramChannel) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(tg, run_workers=False, channels=[hook])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://lk3") as c:
        yield c


def relay_of(service: Service) -> Relay:
    return Relay(service.db, service.senders, service.clock, rng=random.Random(7))


async def settle(service: Service, relay: Relay, clock: FrozenClock) -> None:
    """Process the inbox and relay every reply, moving the frozen clock past waits: to the
    next moment a reply is due, or, with replies due that the relay does not take (its
    channel paused by an outage: the relay's own state), on by 5 s, for 2 minutes at most."""
    stuck_since = None
    for _ in range(500):
        processed = process_all(service.processor)
        attempted = await relay.run_once()
        if processed or attempted:
            stuck_since = None
            continue
        with service.db.connect() as conn:
            waits = [utc(t) for t in conn.execute(select(OutboxMessage.available_at).where(
                OutboxMessage.status.in_(("pending", "sending")))).scalars()]
        if not waits:
            return
        later = [t for t in waits if t > clock.now]
        if later:
            clock.now = min(later)  # the next moment a reply (the head of its line) is due
            continue
        stuck_since = stuck_since or clock.now
        assert clock.now - stuck_since < timedelta(minutes=2), \
            "open replies are due but the relay takes none"
        clock.advance(seconds=5)
    with service.db.connect() as conn:
        open_rows = conn.execute(select(OutboxMessage.id, OutboxMessage.status,
                                        OutboxMessage.attempts, OutboxMessage.available_at,
                                        OutboxMessage.last_error).where(
            OutboxMessage.status.in_(("pending", "sending")))).all()
    backlog = count(service.db, InboxMessage, InboxMessage.processed_at.is_(None))
    raise AssertionError(f"the pipeline did not settle at {clock.now}: inbox backlog "
                         f"{backlog}, open outbox rows {open_rows}")


def count(db: Engine, model: Any, *where: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def inbox_payloads(db: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with db.connect() as conn:
        rows = conn.execute(select(InboxMessage.provider_message_id, InboxMessage.sender,
                                   InboxMessage.payload).order_by(InboxMessage.id)).all()
    return [(r[0], r[1], r[2]) for r in rows]


def outbox_rows(db: Engine, chat: int) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(OutboxMessage).where(
            OutboxMessage.channel == "telegram", OutboxMessage.recipient == str(chat))
            .order_by(OutboxMessage.id)).all())


def contact_status(db: Engine, chat: int) -> str:
    with db.connect() as conn:
        return str(conn.execute(select(Contact.status).where(
            Contact.channel == "telegram", Contact.provider_user_id == str(chat))).scalar_one())


def choose(buttons: list[tuple[str, str]]) -> str:
    """The answer a family on the calm path gives: no danger, agree, adult, premarital."""
    values = [data for _, data in buttons]
    for wanted in ("chat", "agree", "adult", "premarital", "self", "continue", "id"):
        if wanted in values:
            return wanted
    if "yes" in values and "no" in values:  # "is it safe to keep chatting?" is the yes one
        safe = [d for t, d in buttons if re.search(r"\baman\b|\bsafe\b", t.lower())]
        return safe[0] if safe else "no"
    return "no" if "no" in values else values[0]


async def intake(fake: FakeTelegram, chat: int, inbound: Any, settle_all: Any) -> list[str]:
    """Walk a family from /start to the closing message; buttons and typed numbers alternate.

    `inbound(update)` hands one update to the bot; `settle_all()` lets the bot answer.
    Returns the texts the family received.
    """
    await inbound(text(chat, "/start"))
    await settle_all()
    for step in range(60):
        texts = fake.texts_to(chat)
        if any(CASE_NUMBER.search(t) for t in texts):
            return texts
        last = fake.messages_to(chat)[-1]
        buttons = last.buttons()
        if not buttons:
            await inbound(text(chat, "LEWATI"))  # a free-text question: skip it
        else:
            value = choose(buttons)
            number = [d for _, d in buttons].index(value) + 1
            await inbound(press(chat, last, value) if step % 2 == 0 else text(chat, str(number)))
        await settle_all()
    raise AssertionError("no closing message:\n" + "\n---\n".join(fake.texts_to(chat)))


def assert_waiting_case(service: Service, texts: list[str]) -> None:
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert case.status == "waiting" and case.channel == "telegram"
    assert case.number in texts[-1] or any(case.number in t for t in texts)


def assert_each_reply_once_in_order(db: Engine, fake: FakeTelegram, chat: int) -> None:
    rows = outbox_rows(db, chat)
    assert rows and all(r.status == "sent" for r in rows)
    assert all(r.delivery_status == "delivered" for r in rows)
    assert fake.texts_to(chat) == [r.payload["text"] for r in rows]
    ids = [m.message_id for m in fake.messages_to(chat)]
    assert [r.provider_message_id for r in rows] == [f"{chat}:{i}" for i in ids]


# -- the whole intake ----------------------------------------------------------------------------


async def test_polling_family_completes_intake(tg: Service, clock: FrozenClock,
                                               fake: FakeTelegram,
                                               polling: telegram.TelegramChannel) -> None:
    """Polling mode: a family goes from /start to a waiting case with buttons and numbers."""
    relay = relay_of(tg)

    async def inbound(update: dict[str, Any]) -> None:
        fake.queue_update(update)
        await polling.run_polling(iterations=1)

    texts = await intake(fake, FAMILY, inbound, lambda: settle(tg, relay, clock))
    assert_waiting_case(tg, texts)
    assert "asisten otomatis" in texts[0]
    assert fake.calls_of("deleteWebhook")  # getUpdates is refused while a webhook is set
    assert fake.confirmed > 0  # offsets confirmed what was stored
    stored = [p for _, _, p in inbox_payloads(tg.db)]
    presses = [p for p in stored if p["payload"]]
    typed = [p for p in stored if p["text"].isdigit()]
    assert presses and typed  # buttons pressed, and numbers typed
    assert len(fake.calls_of("answerCallbackQuery")) == len(presses)
    assert len(fake.calls_of("editMessageText")) == len(presses)  # buttons closed after use
    keyboards = [m.buttons() for m in fake.messages_to(FAMILY) if m.buttons()]
    assert keyboards and all(t.startswith(f"{n}. ") for k in keyboards
                             for n, (t, _) in enumerate(k, 1))
    assert_each_reply_once_in_order(tg.db, fake, FAMILY)


async def test_webhook_family_completes_intake(tg: Service, clock: FrozenClock,
                                               fake: FakeTelegram,
                                               client: httpx.AsyncClient) -> None:
    """Webhook mode: setWebhook with the secret at start-up; the intake ends in a waiting case."""
    (registered,) = fake.calls_of("setWebhook")
    assert registered["url"] == f"{PUBLIC}/webhooks/telegram"
    assert registered["secret_token"] == SECRET
    assert registered.get("drop_pending_updates") in (None, "False", "false")
    relay = relay_of(tg)

    async def inbound(update: dict[str, Any]) -> None:
        r = await client.post("/webhooks/telegram", json=update,
                              headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200

    texts = await intake(fake, FAMILY, inbound, lambda: settle(tg, relay, clock))
    assert_waiting_case(tg, texts)
    assert_each_reply_once_in_order(tg.db, fake, FAMILY)
    assert not fake.calls_of("getUpdates")


# -- inbound: durable, once, fast ------------------------------------------------------------


async def test_webhook_stores_and_answers_before_processing(tg: Service, fake: FakeTelegram,
                                                            client: httpx.AsyncClient) -> None:
    """The webhook answers 200 after the inbox write; nothing is processed or sent yet."""
    r = await client.post("/webhooks/telegram", json=text(FAMILY, "halo"),
                          headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 200
    assert count(tg.db, InboxMessage, InboxMessage.processed_at.is_(None)) == 1
    assert count(tg.db, OutboxMessage) == 0 and fake.sent == []


async def test_webhook_duplicate_delivery_is_processed_once(tg: Service, clock: FrozenClock,
                                                            fake: FakeTelegram,
                                                            client: httpx.AsyncClient) -> None:
    """Telegram delivering the same update_id twice: both acknowledged, one row, one answer."""
    update = text(FAMILY, "halo")
    for _ in range(2):
        r = await client.post("/webhooks/telegram", json=update,
                              headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200
    await settle(tg, relay_of(tg), clock)
    first = fake.texts_to(FAMILY)
    r = await client.post("/webhooks/telegram", json=update,
                          headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 200
    await settle(tg, relay_of(tg), clock)
    assert count(tg.db, InboxMessage) == 1
    assert [p[0] for p in inbox_payloads(tg.db)] == [str(update["update_id"])]
    assert fake.texts_to(FAMILY) == first and "asisten otomatis" in first[0]


async def test_polling_redelivery_after_a_crash_is_processed_once(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """Stored but not yet confirmed when the process died: the new process stores no twin."""
    fake.queue_update(text(FAMILY, "halo"))
    fake.queue_update(text(OTHER, "halo"))
    assert await polling.poll_once() == 2  # stored; confirmed only by the next getUpdates
    assert len(fake.pending_updates()) == 2
    restarted = telegram.TelegramChannel(tg, poll_timeout=0)  # offset unknown after a restart
    try:
        assert await restarted.poll_once() == 2  # Telegram hands the same updates again
        assert await restarted.poll_once() == 0
    finally:
        await restarted.close()
    assert fake.pending_updates() == []
    assert count(tg.db, InboxMessage) == 2
    await settle(tg, relay_of(tg), clock)
    assert len(fake.texts_to(FAMILY)) == len(fake.texts_to(OTHER)) > 0
    assert_each_reply_once_in_order(tg.db, fake, FAMILY)


@contextmanager
def inbox_write_fails(db: Engine, times: int) -> Iterator[None]:
    """The next `times` inserts into the inbox fail as a broken disk would."""
    left = [times]

    def refuse(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if left[0] > 0 and statement.lstrip().upper().startswith("INSERT INTO INBOX"):
            left[0] -= 1
            raise OperationalError(statement, parameters, Exception("injected: disk I/O error"))

    event.listen(db, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(db, "before_cursor_execute", refuse)


async def test_polling_confirms_nothing_it_could_not_store(
        tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel,
        caplog: pytest.LogCaptureFixture) -> None:
    """When the inbox write fails the offset stays: the update is fetched and stored later."""
    update = fake.queue_update(text(FAMILY, "tolong sa pu paitua"))
    with inbox_write_fails(tg.db, 1), caplog.at_level(logging.WARNING):
        await polling.run_polling(iterations=1)  # logged and backed off, not raised
    assert count(tg.db, InboxMessage) == 0
    assert "disk I/O error" in caplog.text and "paitua" not in caplog.text  # no words in logs
    assert polling.offset is None
    assert fake.pending_updates() == [update]
    await polling.run_polling(iterations=2)
    assert [p[0] for p in inbox_payloads(tg.db)] == [str(update["update_id"])]
    assert fake.pending_updates() == []


async def test_webhook_answers_500_when_it_cannot_store(
        tg: Service, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    """A failed inbox write is not acknowledged, so Telegram delivers the update again."""
    update = text(FAMILY, "tolong sa pu paitua")
    with inbox_write_fails(tg.db, 1), caplog.at_level(logging.WARNING):
        r = await client.post("/webhooks/telegram", json=update,
                              headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 500 and count(tg.db, InboxMessage) == 0
    assert "disk I/O error" in caplog.text and "paitua" not in caplog.text  # no words in logs
    r = await client.post("/webhooks/telegram", json=update,
                          headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 200 and count(tg.db, InboxMessage) == 1


async def test_long_polling_returns_when_an_update_arrives(
        tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel) -> None:
    """getUpdates waits on the server (long polling) and returns with the update that came."""
    polling.poll_timeout = 20
    task = asyncio.create_task(polling.poll_once())
    deadline = time.monotonic() + 10  # a bounded wait until the fake holds the long poll
    while fake.polls_waiting == 0:
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.01)
    fake.queue_update(text(FAMILY, "halo"))
    assert await asyncio.wait_for(task, 10) == 1
    (call,) = fake.calls_of("getUpdates")
    assert call["timeout"] == "20"
    assert call["allowed_updates"] == ["message", "callback_query"]
    assert count(tg.db, InboxMessage) == 1


async def test_polling_stop_ends_the_loop(tg: Service, fake: FakeTelegram,
                                          polling: telegram.TelegramChannel) -> None:
    """start() polls in the background; stop() ends it while a long poll is open."""
    polling.poll_timeout = 20
    await polling.start()
    deadline = time.monotonic() + 10
    while fake.polls_waiting == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await asyncio.wait_for(polling.stop(), 5)
    assert polling._task is None


# -- the webhook refuses what is not Telegram's ---------------------------------------------


@pytest.mark.parametrize("headers", [
    {}, {telegram.SECRET_HEADER: ""}, {telegram.SECRET_HEADER: "wrong"},
    {telegram.SECRET_HEADER: SECRET.upper()}, {telegram.SECRET_HEADER: SECRET + "x"},
    {telegram.SECRET_HEADER: SECRET[:-1]}, {telegram.SECRET_HEADER: "sécrèt"},
    {"X-Telegram-Bot-Api-Secret": SECRET},
], ids=["missing", "empty", "wrong", "case", "longer", "shorter", "latin1", "other-header"])
async def test_webhook_without_the_right_secret_is_403_and_stores_nothing(
        tg: Service, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """A forged or missing X-Telegram-Bot-Api-Secret-Token gets 403 and leaves no row."""
    r = await client.post("/webhooks/telegram", json=text(FAMILY, "halo"),
                          headers=[(k.encode(), v.encode("latin-1")) for k, v in headers.items()])
    assert r.status_code == 403
    assert count(tg.db, InboxMessage) == 0


@pytest.mark.parametrize("body", [
    b"not json", b"", b"[]", b'"update"', b"{}", b'{"update_id": "7"}', b'{"update_id": true}',
    b'{"update_id": -1}', b'{"update_id": 7.5}', b'{"update_id": 7, "message": {"text": "x"}}',
    b'{"update_id": 7, "callback_query": 12}', "{\"update_id\": 1, \"x\": \"\xff\"}".encode(
        "latin-1"),
], ids=["text", "empty", "array", "string", "no-id", "id-string", "id-bool", "id-negative",
        "id-float", "message-without-chat", "callback-not-object", "not-utf8"])
async def test_webhook_malformed_payload_is_400_and_stores_nothing(
        tg: Service, client: httpx.AsyncClient, body: bytes) -> None:
    """Malformed JSON, or not an update with an integer update_id: 400, nothing stored."""
    r = await client.post("/webhooks/telegram", content=body,
                          headers={telegram.SECRET_HEADER: SECRET,
                                   "content-type": "application/json"})
    assert r.status_code == 400
    assert count(tg.db, InboxMessage) == 0
    ok = await client.post("/webhooks/telegram", json=text(FAMILY, "halo"),
                           headers={telegram.SECRET_HEADER: SECRET})
    assert ok.status_code == 200  # nothing broke


async def test_webhook_oversized_body_is_413_and_stores_nothing(
        tg: Service, client: httpx.AsyncClient) -> None:
    """A body over the limit is refused with 413, declared or streamed without a length."""
    big = text(FAMILY, "x" * (telegram.MAX_BODY + 10))
    r = await client.post("/webhooks/telegram", json=big, headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"{" + b" " * (telegram.MAX_BODY // 4)

    r = await client.post("/webhooks/telegram", content=chunks(),
                          headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 413
    assert count(tg.db, InboxMessage) == 0


async def test_webhook_only_in_webhook_mode(tg: Service,
                                            polling: telegram.TelegramChannel) -> None:
    """Polling mode has no webhook route; webhook mode needs a valid secret."""
    assert polling.routes == [] and polling.webhook_url is None
    for bad in ("has space", "x" * 257, "ümlaut"):
        tg.settings = tg_settings(tg.db, FakeTelegram(), PUBLIC_BASE_URL=PUBLIC,
                                  TELEGRAM_WEBHOOK_SECRET=bad)
        with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
            telegram.TelegramChannel(tg)


# -- every update kind ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(kinds(FAMILY)))
async def test_webhook_handles_every_update_kind(tg: Service, clock: FrozenClock,
                                                 fake: FakeTelegram, client: httpx.AsyncClient,
                                                 caplog: pytest.LogCaptureFixture,
                                                 kind: str) -> None:
    """Each kind is acknowledged: ours stored as normalised, the others ignored, no error."""
    update, expected = kinds(FAMILY)[kind]
    with caplog.at_level(logging.WARNING):
        r = await client.post("/webhooks/telegram", json=update,
                              headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200
        await settle(tg, relay_of(tg), clock)
    stored = inbox_payloads(tg.db)
    if expected is None:
        assert stored == [] and fake.sent == []
    else:
        assert stored == [(str(update["update_id"]), str(FAMILY), expected)]
        assert fake.texts_to(FAMILY)  # the bot answered (a sticker: its question again)
        with tg.db.connect() as conn:
            (row,) = conn.execute(select(InboxMessage.processed_at, InboxMessage.last_error,
                                         InboxMessage.attempts)).all()
        assert row.processed_at is not None and row.last_error is None and row.attempts == 0
    if kind == "button":
        (answered,) = fake.calls_of("answerCallbackQuery")
        assert answered["callback_query_id"] == update["callback_query"]["id"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_polling_handles_every_update_kind_in_one_batch(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, caplog: pytest.LogCaptureFixture) -> None:
    """One getUpdates answer with every kind: stored in one go, offset past all of them."""
    all_kinds = kinds(FAMILY)
    for update, _ in all_kinds.values():
        fake.queue_update(update)
    with caplog.at_level(logging.WARNING):
        await polling.run_polling(iterations=2)
        await settle(tg, relay_of(tg), clock)
    expected = [(str(u["update_id"]), str(FAMILY), p) for u, p in all_kinds.values() if p]
    assert inbox_payloads(tg.db) == expected
    assert fake.pending_updates() == []
    assert polling.offset == max(u["update_id"] for u, _ in all_kinds.values()) + 1
    assert count(tg.db, InboxMessage, InboxMessage.last_error.is_not(None)) == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# -- buttons --------------------------------------------------------------------------------


async def test_choices_become_an_inline_keyboard(tg: Service, clock: FrozenClock,
                                                 fake: FakeTelegram,
                                                 polling: telegram.TelegramChannel) -> None:
    """Each choice is a button "n. label" whose callback data is the choice value."""
    with tg.db.begin() as conn:
        outbox.enqueue(conn, [{"channel": "telegram", "recipient": str(FAMILY),
                               "contact_id": None, "case_id": None, "dedupe_key": "k1",
                               "payload": {"text": "Apakah Anda aman?", "choices": [
                                   {"number": 1, "value": "yes", "label": "Ya"},
                                   {"number": 2, "value": "no", "label": "Tidak"}]}}], clock())
    await settle(tg, relay_of(tg), clock)
    (call,) = fake.calls_of("sendMessage")
    assert call["text"] == "Apakah Anda aman?"
    assert call["reply_markup"] == {"inline_keyboard": [
        [{"text": "1. Ya", "callback_data": "yes"}],
        [{"text": "2. Tidak", "callback_data": "no"}]]}
    assert call["link_preview_options"] == {"is_disabled": True}


async def test_choice_values_too_long_for_buttons_become_numbered_lines(
        tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel) -> None:
    """A value over 64 bytes cannot be callback data: the numbers go into the text instead."""
    await polling.sender.send(str(FAMILY), {"text": "Pilih:", "choices": [
        {"number": 1, "value": "v" * 65, "label": "Satu"}]})
    (call,) = fake.calls_of("sendMessage")
    assert call["text"] == "Pilih:\n1. Satu" and "reply_markup" not in call


async def test_button_press_is_answered_and_its_keyboard_closed(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        client: httpx.AsyncClient) -> None:
    """A press is stored with its value, the spinner stopped, the buttons replaced by the choice."""
    await client.post("/webhooks/telegram", json=text(FAMILY, "halo"),
                      headers={telegram.SECRET_HEADER: SECRET})
    await settle(tg, relay_of(tg), clock)
    question = [m for m in fake.messages_to(FAMILY) if m.buttons()][-1]
    label, value = question.buttons()[0]
    update = press(FAMILY, question, value)
    r = await client.post("/webhooks/telegram", json=update,
                          headers={telegram.SECRET_HEADER: SECRET})
    assert r.status_code == 200
    assert inbox_payloads(tg.db)[-1][2] == {"text": "", "payload": value, "media": []}
    (answered,) = fake.calls_of("answerCallbackQuery")
    assert answered["callback_query_id"] == update["callback_query"]["id"]
    (edit,) = fake.calls_of("editMessageText")
    assert (edit["chat_id"], edit["message_id"]) == (str(FAMILY), str(question.message_id))
    assert edit["text"] == f"{question.text}\n\n» {label}" and "reply_markup" not in edit


async def test_old_or_repeated_button_presses_do_not_answer_the_current_question(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        client: httpx.AsyncClient) -> None:
    """A press on an older keyboard, or a second press on one message, does not answer the
    current question: the button names its question, and the bot asks the current one again."""
    headers = {telegram.SECRET_HEADER: SECRET}
    await client.post("/webhooks/telegram", json=text(FAMILY, "halo"), headers=headers)
    await settle(tg, relay_of(tg), clock)
    first = [m for m in fake.messages_to(FAMILY) if m.buttons()][-1]
    value = choose(first.buttons())
    assert value.endswith("|greeting")  # the callback data carries its question
    await client.post("/webhooks/telegram", json=press(FAMILY, first, value), headers=headers)
    await settle(tg, relay_of(tg), clock)
    second = [m for m in fake.messages_to(FAMILY) if m.buttons()][-1]
    assert second.message_id > first.message_id
    for stale in (value, first.buttons()[-1][1]):  # a double tap, then the old keyboard
        r = await client.post("/webhooks/telegram", json=press(FAMILY, first, stale),
                              headers=headers)
        assert r.status_code == 200
        await settle(tg, relay_of(tg), clock)
        latest = fake.messages_to(FAMILY)[-1]
        assert latest.text.startswith("Tombol itu dari pertanyaan sebelumnya"), latest.text
        assert [b[1] for b in latest.buttons()] == [b[1] for b in second.buttons()]
    with tg.db.connect() as conn:
        state = conn.execute(text_sql("SELECT state FROM conversations")).scalar_one()
    assert state == "danger"  # still the question the second keyboard asked


# -- outbound failures ------------------------------------------------------------------------


async def _greet(tg: Service, fake: FakeTelegram, polling: telegram.TelegramChannel,
                 *chats: int) -> None:
    for chat in chats:
        fake.queue_update(text(chat, "halo"))
    await polling.run_polling(iterations=1)
    process_all(tg.processor)


async def test_a_provider_failing_for_a_while_then_recovering_gets_every_reply_once_in_order(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """5xx, a timeout and 502 in a row: every reply arrives once, in order for each chat."""
    # a sender with a short timeout, but not so short that an answered send times out on a
    # busy CI machine: at 0.5 s one did (PostgreSQL, two workers), was sent again, and the
    # family had the greeting twice (at-least-once delivery, as the relay promises)
    tg.settings = tg_settings(tg.db, fake, HTTP_TIMEOUT=2.0)
    slow = telegram.TelegramChannel(tg, poll_timeout=0)
    tg.senders["telegram"] = slow.sender
    try:
        await _greet(tg, fake, polling, FAMILY, OTHER)
        fake.fail_next("sendMessage", 3, status=500)
        fake.fail_next("sendMessage", 1, status=0)  # hangs past HTTP_TIMEOUT
        fake.fail_next("sendMessage", 2, status=502)
        relay = relay_of(tg)
        await settle(tg, relay, clock)
        for chat in (FAMILY, OTHER):
            await _greet(tg, fake, polling, chat)  # a second turn after the outage
        await settle(tg, relay, clock)
    finally:
        await slow.close()
    for chat in (FAMILY, OTHER):
        assert_each_reply_once_in_order(tg.db, fake, chat)
    with tg.db.connect() as conn:
        retried = conn.execute(select(OutboxMessage.attempts, OutboxMessage.last_error)
                               .where(OutboxMessage.attempts > 1)).all()
    assert sum(a - 1 for a, _ in retried) == 6  # each failure cost one more attempt


async def test_a_timeout_is_transient(tg: Service, clock: FrozenClock, db: Engine,
                                      fake: FakeTelegram) -> None:
    """A Bot API that does not answer within HTTP_TIMEOUT: the reply is retried later."""
    tg.settings = tg_settings(db, fake, HTTP_TIMEOUT=0.3)
    channel = telegram.build(tg)
    try:
        with tg.db.begin() as conn:
            outbox.enqueue(conn, [{"channel": "telegram", "recipient": str(FAMILY),
                                   "contact_id": None, "case_id": None, "dedupe_key": "t1",
                                   "payload": {"text": "halo", "choices": []}}], clock())
        fake.fail_next("sendMessage", 1, status=0)  # hangs
        relay = relay_of(tg)
        assert await relay.run_once() == 1
        (row,) = outbox_rows(db, FAMILY)
        assert (row.status, row.attempts) == ("pending", 1) and "TimedOut" in row.last_error
        await settle(tg, relay, clock)
    finally:
        await channel.close()
    assert fake.texts_to(FAMILY) == ["halo"]


async def test_connection_errors_are_transient(tg: Service, clock: FrozenClock, db: Engine,
                                               fake: FakeTelegram) -> None:
    """Nothing listening at the Bot API address: the reply waits for a retry, not failed."""
    tg.settings = tg_settings(db, fake, TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot")
    channel = telegram.build(tg)
    try:
        with tg.db.begin() as conn:
                outbox.enqueue(conn, [{"channel": "telegram", "recipient": str(FAMILY),
                                   "contact_id": None, "case_id": None, "dedupe_key": "c1",
                                   "payload": {"text": "halo", "choices": []}}], clock())
        assert await relay_of(tg).run_once() == 1
    finally:
        await channel.close()
    (row,) = outbox_rows(db, FAMILY)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "NetworkError" in row.last_error and fake.token not in row.last_error
    assert utc(row.available_at) > clock()


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_retry_after_is_honoured(tg: Service, clock: FrozenClock, fake: FakeTelegram,
                                           polling: telegram.TelegramChannel) -> None:
    """A 429 with retry_after puts the reply back for exactly that long, then it is sent."""
    await _greet(tg, fake, polling, FAMILY)
    fake.fail_next("sendMessage", 1, status=429, retry_after=17)
    relay = relay_of(tg)
    assert await relay.run_once() == 1
    head = outbox_rows(tg.db, FAMILY)[0]
    assert (head.status, head.attempts, head.error_code) == ("pending", 1, None)
    assert "429" in head.last_error
    assert utc(head.available_at) == clock() + timedelta(seconds=17)
    clock.advance(seconds=16.999)
    assert await relay.run_once() == 0 and fake.sent == []
    clock.advance(seconds=0.001)
    assert await relay.run_once() == 1
    assert len(fake.sent) == 1
    await settle(tg, relay, clock)
    assert_each_reply_once_in_order(tg.db, fake, FAMILY)


async def test_rate_limit_one_message_per_second_per_chat(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """Two replies to one chat are a second apart; other chats are not held up."""
    assert isinstance(polling.sender.limit, RateLimit)
    assert (polling.sender.limit.rate, polling.sender.limit.gap) == (30, 1.0)
    with tg.db.begin() as conn:
        outbox.enqueue(conn, [{"channel": "telegram", "recipient": str(chat), "contact_id": None,
                               "case_id": None, "dedupe_key": f"{chat}-{n}",
                               "payload": {"text": f"part {n}", "choices": []}}
                              for chat in (FAMILY, OTHER) for n in (1, 2)], clock())
    relay = relay_of(tg)
    await relay.run_once()
    await relay.run_once()
    assert len(fake.texts_to(FAMILY)) == len(fake.texts_to(OTHER)) == 1
    clock.advance(seconds=1)
    await relay.run_once()
    assert len(fake.texts_to(FAMILY)) == len(fake.texts_to(OTHER)) == 2


async def test_a_blocked_user_is_marked_unreachable(tg: Service, clock: FrozenClock,
                                                    fake: FakeTelegram,
                                                    polling: telegram.TelegramChannel) -> None:
    """403 "bot was blocked by the user": failed for good, code 403, contact unreachable."""
    await _greet(tg, fake, polling, FAMILY)
    fake.block(FAMILY)
    await settle(tg, relay_of(tg), clock)
    rows = outbox_rows(tg.db, FAMILY)
    assert rows and all((r.status, r.error_code, r.attempts) == ("failed", "403", 1)
                        for r in rows)
    assert "blocked by the user" in rows[0].last_error
    assert contact_status(tg.db, FAMILY) == "unreachable"
    assert count(tg.db, CaseEvent, CaseEvent.kind == "delivery_failed") == len(rows)


async def test_other_400s_fail_for_good_without_marking_the_contact(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel) -> None:
    """A 400 (e.g. chat not found) fails that reply at once; the contact stays active."""
    await _greet(tg, fake, polling, FAMILY)
    fake.fail_next("sendMessage", 1, status=400)
    await settle(tg, relay_of(tg), clock)
    rows = outbox_rows(tg.db, FAMILY)
    assert (rows[0].status, rows[0].error_code, rows[0].attempts) == ("failed", "400", 1)
    assert all(r.status == "sent" for r in rows[1:])
    assert contact_status(tg.db, FAMILY) == "active"


# -- the fake and the wiring ------------------------------------------------------------------


async def test_the_fake_fails_loudly_on_unknown_methods(fake: FakeTelegram) -> None:
    """A Bot API method the fake does not serve is a 400 and recorded, never a silent success."""
    bot = Bot(fake.token, base_url=fake.base_url)
    async with bot:
        with pytest.raises(BadRequest, match="unknown method sendSticker"):
            await bot.send_sticker(FAMILY, "CAACAgIAAxkBAAIBbXsticker")
        assert (await bot.get_file("BQACAgUAAxkBAAIBaWdoc")).file_id == "BQACAgUAAxkBAAIBaWdoc"
    assert fake.unknown == ["sendSticker"]
    fake.unknown.clear()


def test_channel_is_off_without_a_token(sqlite_db: Engine,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """Without TELEGRAM_BOT_TOKEN there is no Telegram channel, and one line says so."""
    service = make_service(sqlite_db, FrozenClock())
    with caplog.at_level(logging.INFO, logger="bot.channels.setup"):
        channels = build_channels(service)
    assert [c.name for c in channels if c.name == "telegram"] == []
    assert "channel telegram is off: TELEGRAM_BOT_TOKEN is not set" in caplog.messages


# -- `lk3 serve` against the fake ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp_path: Path, fake: FakeTelegram, port: int, **env: str) -> subprocess.Popen[str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.upper().startswith(("TELEGRAM_", "TWILIO_", "PUBLIC_", "DATABASE_", "LK3_"))
            or k == "LK3_DATA_KEYS"}  # the keys the test's own writes were sealed with
    return subprocess.Popen(
        [str(LK3), "serve"], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**keep, "LK3_PORT": str(port), "LK3_POLL_INTERVAL": "0.05",
                                     "TELEGRAM_BOT_TOKEN": fake.token,
                                     "TELEGRAM_API_BASE_URL": fake.base_url, **env})


def _until(proc: subprocess.Popen[str], check: Any, seconds: float = 30) -> None:
    """A bounded wait for the server to reach a state (it runs in another process)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert proc.poll() is None, proc.communicate()[1]
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            raise AssertionError(f"lk3 serve did not get there in time:\n{proc.communicate()[1]}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_serve_polls_telegram_and_answers(tmp_path: Path, fake: FakeTelegram) -> None:
    """`lk3 serve` with a token and no PUBLIC_BASE_URL polls, stores, answers; no token in logs."""
    proc = _serve(tmp_path, fake, _free_port())
    try:
        fake.queue_update(text(FAMILY, "halo"))
        _until(proc, lambda: len(fake.texts_to(FAMILY)) >= 1)
    finally:
        err = _stop(proc)
    assert "asisten otomatis" in fake.texts_to(FAMILY)[0]
    assert "telegram: polling" in err and "channel telegram is off" not in err
    assert f"telegram: connected as @{BOT_USER['username']}" in err
    assert fake.token not in err and fake.token.split(":")[1] not in err


def test_serve_registers_the_webhook_and_checks_the_secret(tmp_path: Path,
                                                           fake: FakeTelegram) -> None:
    """`lk3 serve` with PUBLIC_BASE_URL sets the webhook, refuses forgeries, answers families."""
    port = _free_port()
    proc = _serve(tmp_path, fake, port, PUBLIC_BASE_URL=PUBLIC, TELEGRAM_WEBHOOK_SECRET=SECRET)
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    try:
        _until(proc, lambda: fake.webhook is not None)
        _until(proc, lambda: _answers(f"http://127.0.0.1:{port}/healthz"))
        assert httpx.post(url, json=text(FAMILY, "halo"), timeout=5).status_code == 403
        started = datetime.now(UTC)
        r = httpx.post(url, json=text(FAMILY, "halo"), timeout=5,
                       headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200
        assert (datetime.now(UTC) - started).total_seconds() < 1
        _until(proc, lambda: len(fake.texts_to(FAMILY)) >= 1)
    finally:
        err = _stop(proc)
    assert fake.webhook and fake.webhook["url"] == f"{PUBLIC}/webhooks/telegram"
    assert fake.webhook["secret_token"] == SECRET
    assert not fake.calls_of("getUpdates")
    assert SECRET not in err and fake.token not in err


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
