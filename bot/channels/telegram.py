"""Telegram through python-telegram-bot: inbound updates into the inbox, replies out of it.

Inbound is durable before it is acknowledged. Polling stores each getUpdates answer in one
transaction before the next call confirms it (the offset moves only after the commit);
webhook mode stores the update and only then answers 200. A second delivery of the same
update_id is acknowledged and ignored by the inbox's unique key. Processing happens later,
in the inbox processor.

Only private chats are served: the intake asks about violence and must never run inside a
group. Media are kept as Telegram file ids (the counselor fetches them); a location becomes
"lat,lon". Update kinds we do not handle are acknowledged and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import hmac
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot import media as media_links
from bot.channels import tgupdates
from bot.channels.base import Sender, SendError
from bot.channels.host import Host
from bot.channels.inbound import Item, Unusable, brief, read_limited, safe
from bot.channels.inbound import store as store_inbound
from bot.channels.split import choice_lines
from bot.config import ConfigError, Settings
from bot.ratelimit import RateLimit
from storage.rejects import Rejected

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024  # Telegram updates are a few KiB; anything this big is not one
POLL_TIMEOUT = 25  # seconds a getUpdates long poll may wait for news
ALLOWED_UPDATES = ("message", "callback_query")  # what we ask Telegram to send at all
MAX_CALLBACK_DATA = 64  # bytes, a Bot API limit
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DELETE = 100  # message ids per deleteMessages call, a Bot API limit
NOT_FORWARDED = " (media tidak bisa diteruskan)"
_SECRET_OK = re.compile(r"[A-Za-z0-9_-]{1,256}")


# -- inbound: one Update -> one inbox row (or nothing) ------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """An update worth storing: the inbox row, and the button press to answer, if any."""

    provider_message_id: str
    sender: str
    payload: dict[str, Any]
    callback: CallbackQuery | None = None


def _media(kind: str, ref: str, mime: str | None) -> dict[str, str]:
    return {"kind": kind, "ref": ref, "mime": mime or ""}


def _message_payload(msg: Message) -> dict[str, Any]:
    """Text (or caption), media references and message id of a message from a family."""
    text = msg.text or msg.caption or ""
    media: list[dict[str, str]] = []
    if msg.photo:
        media.append(_media("photo", msg.photo[-1].file_id, "image/jpeg"))  # the largest size
    if msg.voice:
        media.append(_media("voice", msg.voice.file_id, msg.voice.mime_type or "audio/ogg"))
    if msg.audio:
        media.append(_media("audio", msg.audio.file_id, msg.audio.mime_type))
    if msg.video:
        media.append(_media("video", msg.video.file_id, msg.video.mime_type))
    if msg.video_note:
        media.append(_media("video", msg.video_note.file_id, "video/mp4"))
    if msg.animation:
        media.append(_media("video", msg.animation.file_id, msg.animation.mime_type))
    elif msg.document:  # an animation also comes as a document; keep one reference
        media.append(_media("document", msg.document.file_id, msg.document.mime_type))
    if msg.location:
        loc = msg.location
        media.append(_media("location", f"{loc.latitude},{loc.longitude}", None))
        if msg.venue and not text:
            text = ", ".join(p for p in (msg.venue.title, msg.venue.address) if p)
    if msg.contact and not text:
        text = msg.contact.phone_number  # a shared contact card: the number to call
    # Anything else with content (a sticker, a dice, a poll) arrives as an empty message: the
    # flow answers it politely by asking its current question again. The message id is kept
    # for a quick exit (KELUAR), which deletes the person's messages too (bot.quickexit).
    return {"text": text, "payload": "", "media": media, "message_id": msg.message_id}


def normalise(update: Update) -> Incoming | None:
    """The inbox row for an update, or None for kinds we acknowledge and ignore."""
    uid = str(update.update_id)
    if update.message is not None:
        msg = update.message
        if msg.chat is None:  # not something Telegram sends: kept as rejected, no traceback
            raise Unusable("message without chat",
                           str(msg.from_user.id) if msg.from_user is not None else None)
        if msg.chat.type != "private":
            return None
        if not (msg.text or msg.caption or msg.effective_attachment is not None):
            return None  # a service message (e.g. "pinned"), nothing a person wrote
        return Incoming(uid, str(msg.chat.id), _message_payload(msg))
    if update.callback_query is not None:
        cq = update.callback_query
        chat = cq.message.chat if cq.message is not None else None
        if chat is None or chat.type != "private" or not cq.data:
            # inline-mode or game buttons, or a button in a group: not ours; still answered
            return Incoming(uid, "", {}, callback=cq)
        # Text stays empty: a button carries its choice value only, never a typed number.
        return Incoming(uid, str(chat.id), {"text": "", "payload": cq.data, "media": []},
                        callback=cq
                        if cq.message is not None else None)
    return None  # edited messages, channel posts, member changes, reactions, ...


# -- outbound -------------------------------------------------------------------------------


def keyboard(choices: Sequence[dict[str, Any]], asked: str = "") -> InlineKeyboardMarkup | None:
    """One button per choice, "number. label", carrying `value|question` as callback data.

    The question lets the engine tell a press on an old keyboard from an answer to the
    current question, from the database alone (no memory in this process).
    """
    rows = []
    for c in choices:
        data = f"{c.get('value', '')}|{asked}" if asked else str(c.get("value", ""))
        if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            return None  # cannot be a button; the numbered lines go into the text instead
        rows.append([InlineKeyboardButton(f"{c['number']}. {c['label']}", callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


def _seconds(value: int | float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def retry_after_of(exc: RetryAfter) -> float:
    """The provider's wait in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():  # PTB 22.2+ warns about the int form; both are handled
        warnings.simplefilter("ignore")
        return _seconds(exc.retry_after)


class TelegramSender:
    """Sends one outbox row (sendMessage, and send_photo etc. for its media); errors become
    transient or permanent SendErrors.

    Media held by Telegram go by file id; media held by another provider go as our signed
    link (bot.media), which Telegram fetches. Without PUBLIC_BASE_URL such an item stays a
    text reference that says it could not be passed on.
    """

    channel = CHANNEL

    def __init__(self, bot: Bot, settings: Settings | None = None,
                 clock: Callable[[], dtm.datetime] | None = None) -> None:
        self.bot = bot
        self.settings = settings
        self.clock = clock
        # Telegram's flood limits: about 30 messages a second overall, one a second per chat.
        self.limit: RateLimit | None = RateLimit(30, 1.0)

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        if "delete" in payload:  # quick exit (bot.quickexit): clear the chat, send nothing
            await self._delete(recipient, [int(i) for i in payload["delete"]])
            return None
        text = str(payload.get("text") or "")
        choices = list(payload.get("choices") or [])
        markup = keyboard(choices, str(payload.get("asked") or ""))
        if choices and markup is None:
            text = f"{text}\n{choice_lines(choices)}"
        items, notes = self._sources(list(payload.get("media") or []))
        text = "\n".join(x for x in (text, *notes) if x)
        try:
            if not items:
                return await self._text(recipient, text, markup)
            first: str | None = None
            caption = text if text and markup is None and len(text) <= MAX_CAPTION else ""
            if text and not caption:
                first = await self._text(recipient, text, markup)
            for item, source in items:
                sent = await self._media(recipient, item, source, caption)
                caption = ""  # only on the first item
                first = first or sent
            return first
        except TelegramError as exc:
            raise self.error(exc) from None

    async def _delete(self, recipient: str, ids: list[int]) -> None:
        """deleteMessages, 100 ids a call. Ids Telegram will not delete (too old, already
        gone) are skipped, or refused with a 400: never retried. Other errors are retried as
        any send is (the ids deleted already are skipped then)."""
        for start in range(0, len(ids), MAX_DELETE):
            try:
                await self.bot.delete_messages(recipient, ids[start:start + MAX_DELETE])
            except BadRequest as exc:
                log.info("telegram: some messages not deleted (%s)", self.redact(exc.message))
            except TelegramError as exc:
                raise self.error(exc) from None

    async def _text(self, recipient: str, text: str,
                    markup: InlineKeyboardMarkup | None) -> str:
        msg = await self.bot.send_message(
            chat_id=recipient, text=text, reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True))  # weak connections
        return f"{recipient}:{msg.message_id}"

    def _sources(self, media: list[dict[str, Any]]
                 ) -> tuple[list[tuple[dict[str, Any], str]], list[str]]:
        """(item, file id or URL) for each item we can send; text notes for the others."""
        items: list[tuple[dict[str, Any], str]] = []
        notes: list[str] = []
        for item in media:
            ref = str(item.get("ref") or "")
            if not ref:
                continue
            if item.get("kind") == "location":
                if media_links.coordinates(ref) is None:
                    notes.append(f"(location) {ref}")
                else:
                    items.append((item, ref))
                continue
            if media_links.origin(item) == CHANNEL:
                items.append((item, ref))  # a file id of this bot
                continue
            url = media_links.link(self.settings, item, self.clock() if self.clock else None) \
                if self.settings is not None else None
            if url is None:
                notes.append(f"({item.get('kind', '')}) {ref}{NOT_FORWARDED}")
            else:
                items.append((item, url))
        return items, notes

    async def _media(self, recipient: str, item: dict[str, Any], source: str,
                     caption: str) -> str:
        kind = str(item.get("kind") or "")
        msg: Message
        if kind == "location":
            lat, lon = media_links.coordinates(source) or (0.0, 0.0)
            msg = await self.bot.send_location(chat_id=recipient, latitude=lat, longitude=lon)
            if caption:  # a location has no caption
                await self._text(recipient, caption, None)
            return f"{recipient}:{msg.message_id}"
        extra: dict[str, Any] = {"chat_id": recipient, "caption": caption or None}
        if kind == "photo":
            msg = await self.bot.send_photo(photo=source, **extra)
        elif kind == "voice":
            msg = await self.bot.send_voice(voice=source, **extra)
        elif kind == "audio":
            msg = await self.bot.send_audio(audio=source, **extra)
        elif kind == "video":
            msg = await self.bot.send_video(video=source, **extra)
        else:
            msg = await self.bot.send_document(document=source, **extra)
        return f"{recipient}:{msg.message_id}"

    def redact(self, text: str) -> str:
        return text.replace(self.bot.token, "<token>") if self.bot.token else text

    def error(self, exc: TelegramError) -> SendError:
        """Map python-telegram-bot's exceptions (order matters: BadRequest is a NetworkError)."""
        reason = self.redact(f"{type(exc).__name__}: {exc.message}")
        if isinstance(exc, RetryAfter):
            wait = retry_after_of(exc)
            return SendError(f"429 Too Many Requests: retry after {wait:g}s", transient=True,
                             retry_after=wait, code="429")
        if isinstance(exc, Forbidden):  # the person blocked the bot, or deleted the account
            return SendError(reason, transient=False, code="403", contact_status="unreachable")
        if isinstance(exc, BadRequest | ChatMigrated):
            return SendError(reason, transient=False, code="400")
        if isinstance(exc, InvalidToken):  # the channel pauses until the token works
            log.error("Telegram refused TELEGRAM_BOT_TOKEN; replies wait and are retried")
            return SendError(reason, transient=True, code="401", outage=True)
        if isinstance(exc, TimedOut):
            return SendError(reason, transient=True, code="timeout", outage=True)
        return SendError(reason, transient=True, outage=True)  # 5xx, connection errors, 409


def make_bot(settings: Settings) -> Bot:
    """A Bot on settings.telegram_api_base_url whose every HTTP call has a timeout."""
    if not settings.telegram_bot_token:
        raise ConfigError("Setting TELEGRAM_BOT_TOKEN is missing.")
    t = settings.http_timeout

    def request(pool: int) -> HTTPXRequest:  # answers read without a RecursionError
        return tgupdates.SafeJSONRequest(
            connection_pool_size=pool, connect_timeout=t, read_timeout=t, write_timeout=t,
            pool_timeout=t, media_write_timeout=t)

    # getUpdates adds its long-poll timeout to the read timeout by itself
    base = settings.telegram_api_base_url
    # files download from "<api>/file/bot<token>/<path>": the same host as the API
    files = base.removesuffix("/bot") + "/file/bot" if base.endswith("/bot") \
        else "https://api.telegram.org/file/bot"
    return Bot(settings.telegram_bot_token, base_url=base, base_file_url=files,
               request=request(64), get_updates_request=request(2))


# -- the channel: polling or webhook ------------------------------------------------------------


class TelegramChannel:
    """Receives updates (polling when PUBLIC_BASE_URL is unset, else the webhook)."""

    name = CHANNEL

    def __init__(self, service: Host, bot: Bot | None = None,
                 poll_timeout: int = POLL_TIMEOUT) -> None:
        settings = service.settings
        self.webhook_url = f"{settings.public_base_url}{WEBHOOK_PATH}" \
            if settings.public_base_url else None
        self.secret = settings.telegram_webhook_secret or ""
        if self.webhook_url and not _SECRET_OK.fullmatch(self.secret):
            raise ConfigError("Setting TELEGRAM_WEBHOOK_SECRET is wrong: it must be 1-256 "
                              "characters A-Z a-z 0-9 _ - (Telegram's rule).")
        self.service = service
        self.bot = bot or make_bot(settings)
        self.telegram_sender = TelegramSender(self.bot, settings, service.clock)
        self.sender: Sender = self.telegram_sender
        self.poll_timeout = poll_timeout
        self.offset: int | None = None
        self.routes: list[Any] = [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])] \
            if self.webhook_url else []
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def why(self, exc: BaseException) -> str:
        """An error for the log: brief, and without the token."""
        return self.telegram_sender.redact(brief(exc))

    # -- lifecycle

    async def start(self) -> None:
        self._stopping.clear()
        if self.webhook_url:
            # Telegram unreachable now: keep trying in the background
            if not await self._register():
                self._task = asyncio.create_task(self._retry(self._register))
        else:
            log.info("telegram: polling for updates (PUBLIC_BASE_URL is not set)")
            self._task = asyncio.create_task(self._hello_then(self.run_polling))

    async def stop(self) -> None:
        """Stop receiving. The webhook stays registered; Telegram holds updates meanwhile."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def close(self) -> None:
        """Release the HTTP clients (after the relay stopped using the sender)."""
        await self.stop()
        with contextlib.suppress(Exception):
            await self.bot.shutdown()

    async def _hello_then(self, work: Callable[[], Awaitable[None]]) -> None:
        """Say which bot the token belongs to (a wrong token shows at once), then work."""
        try:
            me = await self.bot.get_me()
            log.info("telegram: connected as @%s", me.username)
        except InvalidToken:
            log.error("telegram: TELEGRAM_BOT_TOKEN was refused by Telegram")
        except TelegramError as exc:
            log.warning("telegram: getMe failed (%s)", self.why(exc))
        await work()

    async def _register(self) -> bool:
        assert self.webhook_url
        try:
            await self.bot.set_webhook(url=self.webhook_url, secret_token=self.secret,
                                       allowed_updates=list(ALLOWED_UPDATES),
                                       drop_pending_updates=False)
        except TelegramError as exc:
            log.error("telegram: setWebhook failed (%s); retrying", self.why(exc))
            return False
        log.info("telegram: webhook registered at %s", self.webhook_url)
        return True

    async def _retry(self, attempt: Callable[[], Awaitable[bool]]) -> None:
        failures = 0
        while not self._stopping.is_set() and not await attempt():
            failures += 1
            await self._pause(min(60.0, 2.0 ** failures))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- polling

    async def run_polling(self, iterations: int | None = None) -> None:
        """Poll until stopped (or for `iterations` getUpdates calls); errors back off."""
        await self._retry(self._delete_webhook)
        failures, done = 0, 0
        while not self._stopping.is_set() and (iterations is None or done < iterations):
            done += 1
            try:
                await self.poll_once()
                failures = 0
            except Exception as exc:  # network, Telegram or database: nothing was confirmed
                failures += 1
                wait = min(30.0, 0.5 * 2.0 ** failures)
                log.warning("telegram: polling failed (%s); again in %.0fs",
                            self.why(exc), wait)
                if iterations is None:
                    await self._pause(wait)

    async def _delete_webhook(self) -> bool:
        """getUpdates is refused while a webhook is set (keeping the pending updates)."""
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
            return True
        except TelegramError as exc:
            log.warning("telegram: deleteWebhook failed (%s)", self.why(exc))
            return False

    async def poll_once(self) -> int:
        """One getUpdates; store the answer (or set aside what cannot be used), then move
        the offset past all of it. Returns updates received."""
        raws = await tgupdates.fetch(self.bot, self.offset, self.poll_timeout, ALLOWED_UPDATES,
                                     self.service.settings.http_timeout)
        updates, rejected, top = tgupdates.read_all(raws, self.bot)
        if not raws:
            return 0
        follow_ups = await self.receive(updates, rejected)  # raises if not stored: offset stays
        if top is not None:
            self.offset = top + 1  # confirms them on the next call
        for follow_up in follow_ups:
            await follow_up()
        return len(raws)

    # -- webhook

    async def webhook(self, request: Request) -> Response:
        got = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(got.encode(), self.secret.encode()):
            return Response(status_code=403)
        body = await read_limited(request, MAX_BODY)
        if body is None:
            return Response(status_code=413)
        update = self.parse(body)
        if update is None:
            return Response(status_code=400)
        try:
            follow_ups = await self.receive([update])
        except Exception as exc:
            log.error("telegram: update %s could not be stored (%s)", update.update_id,
                      brief(exc))
            return Response(status_code=500)  # Telegram delivers it again later
        task = BackgroundTask(_run_all, follow_ups) if follow_ups else None
        return JSONResponse({"ok": True}, background=task)  # answered after the commit

    def parse(self, body: bytes) -> Update | None:
        """The update in a webhook body, or None when it is not one."""
        try:
            data = tgupdates.loads(body)
        except ValueError:
            return None
        try:
            return tgupdates.read(data, self.bot)
        except Unusable as exc:  # e.g. a 100,000-level nest: malformed, refused with 400
            log.warning("telegram: malformed update %s refused (%s)",
                        tgupdates.update_id(data), exc)
            return None

    # -- shared: store, then acknowledge

    async def receive(self, updates: Sequence[Update], rejected: Sequence[Rejected] = ()
                      ) -> list[Callable[[], Awaitable[None]]]:
        """Store the updates in one transaction, and what cannot be used as rejected (with
        `rejected`); return what to do after (answer buttons). Raises only when the
        database cannot be used."""
        items, refused = tgupdates.sort(updates, normalise, rejected)
        rows = [i for i in items if i.sender]
        stored = await asyncio.to_thread(
            store_inbound, self.service.db, CHANNEL,
            [Item(r.provider_message_id, r.sender, safe(r.payload)) for r in rows], refused,
            self.service.clock()) if rows or refused else []
        new = {id(item) for item, is_new in zip(rows, stored, strict=True) if is_new}
        follow_ups: list[Callable[[], Awaitable[None]]] = []
        for item in items:
            if item.callback is None:
                continue
            if not item.sender:  # not a press we serve: only stop the spinner
                follow_ups.append(_answer(self, item.callback, False))
            elif id(item) in new:  # a repeated delivery was answered the first time
                follow_ups.append(_answer(self, item.callback, True))
        return follow_ups


def _answer(channel: TelegramChannel, cq: CallbackQuery,
            close_keyboard: bool) -> Callable[[], Awaitable[None]]:
    """Stop the button's spinner; after a valid press, show the choice and drop the buttons."""

    async def run() -> None:
        try:
            await channel.bot.answer_callback_query(cq.id)
        except TelegramError as exc:
            log.warning("telegram: answerCallbackQuery failed (%s)",
                        channel.why(exc))
        msg = cq.message
        if not close_keyboard or not isinstance(msg, Message) or not msg.text:
            return
        label = next((b.text for row in (msg.reply_markup.inline_keyboard
                                         if msg.reply_markup else ())
                      for b in row if b.callback_data == cq.data), None)
        text = f"{msg.text}\n\n» {label}" if label else msg.text
        try:
            await channel.bot.edit_message_text(
                text if len(text) <= MAX_TEXT else msg.text, chat_id=msg.chat.id,
                message_id=msg.message_id, reply_markup=None,
                link_preview_options=LinkPreviewOptions(is_disabled=True))
        except TelegramError as exc:
            log.info("telegram: keyboard not closed (%s)", channel.why(exc))

    return run


async def _run_all(follow_ups: list[Callable[[], Awaitable[None]]]) -> None:
    for follow_up in follow_ups:
        await follow_up()


def build(service: Host) -> TelegramChannel:
    """The Telegram channel for `lk3 serve`; the sender joins the relay's senders."""
    # httpx logs every request URL at INFO, and Bot API URLs contain the token; PTB logs
    # every call's parameters (families' messages) at DEBUG.
    for name, floor in (("httpx", logging.WARNING), ("httpcore", logging.WARNING),
                        ("telegram", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(max(floor, logger.getEffectiveLevel()))
    channel = TelegramChannel(service)
    service.senders[CHANNEL] = channel.sender
    return channel
