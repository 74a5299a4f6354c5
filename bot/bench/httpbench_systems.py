"""The two systems `lk3 bench --http` measures, each run as a process of its own.

`serve_lk3`: the service as `lk3 serve` runs it (its settings from the environment), with
Telegram's send limits off for the measurement, as the reference has none.

`reference`: a plain python-telegram-bot webhook bot, as PTB's own Starlette example
(`examples/customwebhookbot/starlettebot.py`) builds one: no Updater, a Starlette route
checks the secret header and puts each update on the Application's queue, answering 200 at
once; updates are handled one after another (PTB's default). A persistent
ConversationHandler stores each answer in `user_data` and replies with the next question
and three buttons through the Bot API; PicklePersistence on a file, default flush interval.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

QUESTION = ("Pertanyaan {n}: terima kasih, Mama sudah cerita. Sekarang, siapa yang paling "
            "dekat dengan Mama di rumah? Pilih salah satu di bawah ini, atau ketik nomornya.")
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton(f"{i}. Pilihan {i}",
                                                       callback_data=f"{i}|q")]
                                 for i in (1, 2, 3)])


def _step(n: int, last: int) -> Any:
    """The callback of question `n`: keep the answer, ask the next question."""

    async def step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        message = update.effective_message
        assert message is not None and context.user_data is not None
        context.user_data.setdefault("answers", []).append(message.text)
        await message.reply_text(QUESTION.format(n=n + 1), reply_markup=KEYBOARD)
        return ConversationHandler.END if n == last else n + 1

    return step


def conversation(states: int) -> ConversationHandler[Any]:
    """A greeting, then `states` questions; persistent, as a bot that survives a restart."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[MessageHandler(text, _step(0, states))],
        states={n: [MessageHandler(text, _step(n, states))] for n in range(1, states + 1)},
        fallbacks=[], name="intake", persistent=True)


def app(port: int, api: str, pickle: str, token: str, secret: str, states: int) -> Starlette:
    bot: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(token).base_url(api)
        .persistence(PicklePersistence(pickle)).updater(None).build())
    bot.add_handler(conversation(states))

    async def webhook(request: Request) -> Response:
        got = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(got.encode(), secret.encode()):
            return Response(status_code=403)
        await bot.update_queue.put(Update.de_json(await request.json(), bot.bot))
        return Response()

    async def healthz(request: Request) -> Response:
        return Response()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with bot:
            await bot.bot.set_webhook(f"http://127.0.0.1:{port}/webhooks/telegram",
                                      secret_token=secret)
            await bot.start()
            yield
            await bot.stop()

    return Starlette(routes=[Route("/webhooks/telegram", webhook, methods=["POST"]),
                             Route("/healthz", healthz)], lifespan=lifespan)


def serve_lk3() -> None:
    """`lk3 serve`'s app on LK3_HOST:LK3_PORT: real processors (LK3_PROCESSORS, the other
    shards supervised), relay and scheduler; Telegram's send limits lifted."""
    from bot.channels.setup import build_channels
    from bot.config import load_settings
    from bot.pipeline.workers import settle
    from bot.service import build
    from bot.web import create_app

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = load_settings()
    service = build(settings)
    channels = build_channels(service)
    for channel in channels:
        if hasattr(channel.sender, "limit"):
            channel.sender.limit = None
    server = create_app(service, channels=channels, supervise=True)
    config = uvicorn.Config(server, host=settings.lk3_host, port=settings.lk3_port,
                            log_level="warning", lifespan="on")
    settle()
    uvicorn.Server(config).run()


def reference(argv: Sequence[str]) -> None:
    """argv: port, Bot API base URL, pickle file, token, secret, number of questions."""
    port, api, pickle, token, secret, states = argv
    server = app(int(port), api, pickle, token, secret, int(states))
    uvicorn.Server(uvicorn.Config(server, host="127.0.0.1", port=int(port),
                                  log_level="warning", lifespan="on")).run()
