"""Telegram through python-telegram-bot: inbound updates into the inbox, replies out of it.

Inbound is durable before it is acknowledged. Polling stores each getUpdates answer in one
transaction before the next call confirms it (the offset moves only after the commit);
webhook mode stores the update and only then answers 200. A second delivery of the same
update_id is acknowledged and ignored by the inbox's unique key. Processing happens later,
in the inbox processor.

What an update becomes is in bot.channels.telegramform (private chats only); how a reply is
sent, in bot.channels.telegramsend.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, CallbackQuery, LinkPreviewOptions, Message, Update
from telegram.error import InvalidToken, TelegramError

from bot.channels import tgupdates
from bot.channels.base import Sender
from bot.channels.host import Host
from bot.channels.inbound import Item, Unusable, brief, read_limited, safe
from bot.channels.telegramform import CHANNEL, normalise
from bot.channels.telegramsend import MAX_TEXT, TelegramSender, make_bot
from bot.channels.together import GroupCommit
from bot.config import ConfigError
from storage.rejects import Rejected

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024  # Telegram updates are a few KiB; anything this big is not one
POLL_TIMEOUT = 25  # seconds a getUpdates long poll may wait for news
ALLOWED_UPDATES = ("message", "callback_query")  # what we ask Telegram to send at all
_SECRET_OK = re.compile(r"[A-Za-z0-9_-]{1,256}")


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
        self.stored = GroupCommit(service.db, CHANNEL, service.clock)
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
            await self.bot.request.shutdown()  # Bot.shutdown() only if PTB initialized it

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
        stored = await self.stored.store(
            [Item(r.provider_message_id, r.sender, safe(r.payload)) for r in rows],
            refused) if rows or refused else []
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
