"""Telegram updates as inbox rows: one Update becomes one row (or nothing).

Only private chats are served: the intake asks about violence and must never run inside a
group. Media are kept as Telegram file ids (the counselor fetches them); a location becomes
"lat,lon". Update kinds we do not handle are acknowledged and ignored (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Message, Update

from bot.channels.inbound import Unusable

CHANNEL = "telegram"


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
    # for a quick exit (KELUAR), which deletes the person's messages too (bot.pipeline.quickexit).
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
