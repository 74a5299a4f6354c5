"""Telegram replies: one outbox row becomes sendMessage (with buttons) and send_photo etc.
for its media, or deleteMessages for a quick exit; python-telegram-bot's errors become
transient or permanent SendErrors; `make_bot` builds the Bot with a timeout on every call."""

from __future__ import annotations

import datetime as dtm
import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Bot, LinkPreviewOptions, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import media as media_links
from bot.channels.base import SendError
from bot.channels.split import choice_lines
from bot.channels.telegramform import CHANNEL
from bot.channels.tgrequest import AiohttpRequest
from bot.config import ConfigError, Settings
from bot.pipeline.ratelimit import RateLimit

log = logging.getLogger(__name__)

MAX_CALLBACK_DATA = 64  # bytes, a Bot API limit
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DELETE = 100  # message ids per deleteMessages call, a Bot API limit
PREVIEW_OFF = LinkPreviewOptions(is_disabled=True)
NOT_FORWARDED = " (media tidak bisa diteruskan)"


def keyboard(choices: Sequence[dict[str, Any]], asked: str = "") -> dict[str, Any] | None:
    """One button per choice, "number. label", carrying `value|question` as callback data:
    the Bot API's InlineKeyboardMarkup as its JSON. PTB's objects for it, built and turned
    back into JSON for each reply, were a sixth of the relay's time (py-spy); as JSON,
    `lk3 serve` spent 1.32 -> 1.20 ms of CPU a message in lk3 bench --http.

    The question lets the engine tell a press on an old keyboard from an answer to the
    current question, from the database alone (no memory in this process).
    """
    rows = []
    for c in choices:
        data = f"{c.get('value', '')}|{asked}" if asked else str(c.get("value", ""))
        if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            return None  # cannot be a button; the numbered lines go into the text instead
        rows.append([{"text": f"{c['number']}. {c['label']}", "callback_data": data}])
    return {"inline_keyboard": rows} if rows else None


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
        # An account allowed more for broadcasts (TELEGRAM_BROADCAST_MPS; paid broadcasts go
        # up to 1,000 a second) may send that much overall, or the broadcast job's pace (80%
        # of the setting) would be cut to 30 here, with replies to families queued behind it.
        overall = max(30.0, settings.telegram_broadcast_mps) if settings is not None else 30.0
        self.limit: RateLimit | None = RateLimit(overall, 1.0)

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        if "delete" in payload:  # quick exit (bot.pipeline.quickexit): clear the chat, send nothing
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

    async def _text(self, recipient: str, text: str, markup: dict[str, Any] | None) -> str:
        """sendMessage through the Bot's own `_post` (its token, timeouts and error mapping),
        as `send_message` does, without turning the answer into a `Message`: only its id is
        kept, and building the object was a sixth of `lk3 serve`'s time (py-spy, lk3 bench
        --http). The same private door as tgupdates' getUpdates; PTB is pinned below 23."""
        sent = await self.bot._post("sendMessage", {
            "chat_id": recipient, "text": text, "reply_markup": markup,
            "link_preview_options": PREVIEW_OFF})  # weak connections: no previews
        if not isinstance(sent, dict) or not isinstance(sent.get("message_id"), int):
            raise TelegramError("Invalid server response")
        return f"{recipient}:{sent['message_id']}"

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
    base = settings.telegram_api_base_url
    # files download from "<api>/file/bot<token>/<path>": the same host as the API
    files = base.removesuffix("/bot") + "/file/bot" if base.endswith("/bot") \
        else "https://api.telegram.org/file/bot"
    # aiohttp under PTB (bot.channels.tgrequest says why). One pool for getUpdates too: its
    # long poll holds one connection of 64 (it adds the poll to the read timeout itself),
    # and `bot.request.shutdown()` releases everything, initialized by PTB or not.
    request = AiohttpRequest(64, t)
    return Bot(settings.telegram_bot_token, base_url=base, base_file_url=files,
               request=request, get_updates_request=request)
