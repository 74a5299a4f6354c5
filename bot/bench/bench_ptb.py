"""Reference measurement: python-telegram-bot's ConversationHandler, fully in memory.

Runs an intake-like flow (greeting + N multiple-choice answers per family) through a
``telegram.ext.Application`` whose bot never touches the network. Handlers only compute
the reply text and return the next state; nothing is sent, so each update is comparable
to one engine step that produces replies without delivering them.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData

BOT_USER: dict[str, Any] = {
    "id": 123,
    "is_bot": True,
    "first_name": "Bench",
    "username": "bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
CHOICES: frozenset[str] = frozenset({"1", "2", "3"})
PROMPTS: dict[str, str] = {"1": "Option one", "2": "Option two", "3": "Option three"}


class OfflineRequest(BaseRequest):
    """Request class that answers every Bot API call locally, without any network I/O."""

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        result: Any = BOT_USER if url.endswith("/getMe") else True
        return 200, json.dumps({"ok": True, "result": result}).encode()


def _reply_text(state: int, text: str) -> str:
    """Compute (but never send) the reply an intake step would produce."""
    return f"Q{state + 1}: you chose {PROMPTS[text]}. Next question: 1, 2 or 3?"


async def _greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = f"Hello {update.effective_user.first_name if update.effective_user else ''}! Q1?"
    return 0


def _make_step(state: int, last: int) -> Any:
    """Build the handler callback for question ``state`` (0-based)."""

    async def step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        text = update.message.text if update.message and update.message.text else ""
        if text not in CHOICES:
            _ = f"Please answer 1, 2 or 3 (question {state + 1})."
            return state
        _ = _reply_text(state, text)
        return ConversationHandler.END if state == last else state + 1

    return step


async def _cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = "Cancelled."
    return ConversationHandler.END


def _build_conversation(answers: int) -> ConversationHandler[Any]:
    """Greeting entry point, ``answers`` choice states, and a /cancel fallback."""
    answer_filter = filters.TEXT & ~filters.COMMAND
    states = {
        i: [MessageHandler(answer_filter, _make_step(i, answers - 1))] for i in range(answers)
    }
    return ConversationHandler(
        entry_points=[MessageHandler(filters.TEXT, _greet)],
        states=states,  # type: ignore[arg-type]
        fallbacks=[CommandHandler("cancel", _cancel)],
    )


def _build_app(answers: int) -> Application[Any, Any, Any, Any, Any, Any]:
    req = OfflineRequest()
    app = (
        ApplicationBuilder().token("123:ABC").request(req).get_updates_request(req).updater(None)
    ).build()
    app.add_handler(_build_conversation(answers))
    return app


def _message_dict(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": f"User{chat_id}"}
    chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    message = {
        "message_id": update_id,
        "date": 1_700_000_000 + update_id,
        "chat": chat,
        "from": user,
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def _build_raw(families: int, answers: int) -> list[dict[str, Any]]:
    """Round-robin: message k of every family, then message k+1, ..."""
    raw: list[dict[str, Any]] = []
    update_id = 1
    for k in range(answers + 1):
        for i in range(families):
            text = "hello" if k == 0 else str(1 + (i + k) % 3)
            raw.append(_message_dict(update_id, 1000 + i, text))
            update_id += 1
    return raw


async def _run(families: int, answers: int, parse: bool) -> float:
    app = _build_app(answers)
    await app.initialize()
    try:
        raw = _build_raw(families, answers)
        if parse:  # the Bot API's JSON turned into Update objects inside the timed loop
            start = time.perf_counter()
            for data in raw:
                await app.process_update(Update.de_json(data, app.bot))
        else:
            updates = [Update.de_json(data, app.bot) for data in raw]
            start = time.perf_counter()
            for update in updates:
                await app.process_update(update)
        elapsed = time.perf_counter() - start
    finally:
        await app.shutdown()
    return len(raw) / elapsed


def ptb_reference(families: int = 2000, answers_per_family: int = 9,
                  parse: bool = False) -> float:
    """Return python-telegram-bot ConversationHandler throughput in updates per second.

    By default only ``Application.process_update`` is timed (updates are parsed beforehand);
    with ``parse=True`` the timing also includes ``Update.de_json`` for every update.
    """
    return asyncio.run(_run(families, answers_per_family, parse))


if __name__ == "__main__":
    print(f"{ptb_reference():.0f} updates/s")
