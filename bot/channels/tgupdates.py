"""Telegram updates as they come, whatever comes: read one by one, never the batch at once.

python-telegram-bot's `get_updates` parses the whole getUpdates answer and turns every
update into an object in one go: JSON nested deeper than the parser's stack (a
`RecursionError`), or one update the library cannot read, fails the whole call, the offset
never moves and every family writing afterwards waits forever (it also logs the whole
answer, families' words included, at CRITICAL). Here the answer is read with a depth limit
(`loads`: a subtree deeper than MAX_DEPTH becomes a marker instead of blowing the stack),
each update is read on its own (`read`), and what cannot be used is set aside with its
reason (bot.channels.inbound) while the offset moves past it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from telegram import Bot, Update

from bot.channels.inbound import Unusable
from storage.rejects import Rejected

log = logging.getLogger(__name__)
MAX_DEPTH = 64  # a real update nests under ten levels
TOO_DEEP = "\u2063lk3:nested-too-deep"  # what stands where a deeper subtree was
T = TypeVar("T")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def loads(data: bytes | str, errors: str = "strict") -> Any:
    """JSON that never raises RecursionError: too deep a subtree becomes TOO_DEEP.
    Malformed JSON (or, with errors="strict", bytes that are not UTF-8) raises ValueError."""
    text = data.decode("utf-8", errors) if isinstance(data, bytes) else data
    try:
        return json.loads(text)
    except RecursionError:
        pass
    try:
        return json.loads(_capped(text))
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def _capped(text: str) -> str:
    """The JSON text with every subtree below MAX_DEPTH replaced by the marker."""
    out: list[str] = []
    depth, kept_to = 0, 0
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token[0] == '"':
            continue
        if token in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1:
                out += [text[kept_to:m.start()], json.dumps(TOO_DEEP)]
        else:
            if depth == MAX_DEPTH + 1:
                kept_to = m.end()
            depth -= 1
    if depth <= MAX_DEPTH:
        out.append(text[kept_to:])
    return "".join(out)


def too_deep(value: Any) -> bool:
    """Whether a subtree of this decoded JSON was cut by `loads`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += item.values()
        elif isinstance(item, list):
            stack += item
        elif item == TOO_DEEP:
            return True
    return False


def update_id(raw: Any) -> int | None:
    uid = raw.get("update_id") if isinstance(raw, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) and uid >= 0 else None


def read(raw: Any, bot: Bot) -> Update:
    """One update as the library reads it; Unusable (with the reason) when it cannot be."""
    if update_id(raw) is None:
        raise Unusable("not an update (no update_id)")
    if too_deep(raw):
        raise Unusable(f"nested deeper than {MAX_DEPTH} levels")
    try:
        return Update.de_json(raw, bot)
    except Exception as exc:  # the library could not read it: never its words in the log
        raise Unusable(f"unreadable update ({type(exc).__name__})") from None


def read_all(raws: Sequence[Any], bot: Bot) -> tuple[list[Update], list[Rejected], int | None]:
    """The updates of one getUpdates answer that can be read, the others as rejections,
    and the highest update_id seen (the offset goes past it, read or not)."""
    updates, rejected, top = [], [], None
    for raw in raws:
        uid = update_id(raw)
        if uid is not None:
            top = uid if top is None else max(top, uid)
        try:
            updates.append(read(raw, bot))
        except Unusable as exc:
            rejected.append(Rejected(None if uid is None else str(uid), None, str(exc)))
    return updates, rejected, top


def sort(updates: Sequence[Update], normalise: Callable[[Update], T | None],
         rejected: Sequence[Rejected] = ()) -> tuple[list[T], list[Rejected]]:
    """What `normalise` makes of each update (None: ignored), and the rejections: those
    given, and the updates it could not use (Unusable, or a bug: never a traceback)."""
    items: list[T] = []
    refused = list(rejected)
    for update in updates:
        try:
            item = normalise(update)
        except Exception as exc:  # a bug here must not stall polling or the webhook
            why = str(exc) if isinstance(exc, Unusable) else \
                f"cannot be read ({type(exc).__name__})"
            sender = exc.sender if isinstance(exc, Unusable) else None
            refused.append(Rejected(str(update.update_id), sender, why))
            continue
        if item is not None:
            items.append(item)
    return items, refused


async def fetch(bot: Bot, offset: int | None, timeout: int, allowed: Sequence[str],
                read_timeout: float) -> list[Any]:
    """One getUpdates call, its answer as decoded JSON (a list of raw updates).

    Goes through the Bot's own request machinery (`_post`: the token, timeouts and error
    mapping stay python-telegram-bot's), but stops short of turning the updates into
    objects."""
    result = await bot._post("getUpdates", {
        "timeout": timeout, "offset": offset, "allowed_updates": list(allowed)},
        read_timeout=read_timeout + timeout)
    return result if isinstance(result, list) else []
