"""Twilio's inbound webhook form: read no further than a size limit, and turned into the
inbox payload of one WhatsApp message (text, pressed button, media references, location)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from bot.channels.inbound import small_int

MAX_BODY = 64 * 1024  # a Twilio webhook is a few kilobytes; anything far larger is not Twilio
MAX_FIELDS = 300
MAX_MEDIA = 10  # Twilio's limit per message (WhatsApp itself sends one)


class Rejected(Exception):
    """A webhook request answered with an error status; nothing was stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


Form = ImmutableMultiDict[str, str]


async def read_form(request: Request, limit: int = MAX_BODY) -> Form:
    """The posted form, read no further than `limit` bytes: 413 when larger, 400 when broken."""
    declared = request.headers.get("content-length")
    if declared is not None:
        size = small_int(declared, 12)
        if size is None and not (declared.isascii() and declared.isdigit()):
            raise Rejected(400, "bad Content-Length")
        if size is None or size > limit:
            raise Rejected(413, "body too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind != "application/x-www-form-urlencoded":
        raise Rejected(400, f"unexpected content type {kind[:60]!r}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Rejected(413, "body too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          errors="strict", max_num_fields=MAX_FIELDS)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise Rejected(400, f"malformed form: {type(exc).__name__}") from None
    return ImmutableMultiDict(pairs)


def public_url(base: str, request: Request) -> str:
    """The URL Twilio signed: the configured public address, never the internal one."""
    query = request.url.query
    return base + request.url.path + (f"?{query}" if query else "")


def media_kind(mime: str) -> str:
    major = mime.split("/")[0].lower()
    if major == "image":
        return "photo"
    if major == "audio":  # WhatsApp voice notes arrive as audio/ogg (opus)
        return "voice" if mime.lower().startswith("audio/ogg") else "audio"
    if major == "video":
        return "video"
    return "document"


def _coordinate(value: str, bound: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Rejected(400, "malformed location") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise Rejected(400, "malformed location")
    return number


def normalise(form: Form) -> dict[str, Any] | None:
    """The inbox payload (text, payload, media) of one inbound message; None when it has none.

    Media stay at Twilio: the counselor gets the media URL and its type, never the bytes.
    """
    text = form.get("Body", "") or form.get("ButtonText", "") or form.get("ListTitle", "")
    pressed = form.get("ButtonPayload", "") or form.get("ListId", "")
    media: list[dict[str, str]] = []
    count = small_int(form.get("NumMedia", "0") or "0", 3)
    if count is None:
        raise Rejected(400, "malformed NumMedia")
    for n in range(min(count, MAX_MEDIA)):
        url = form.get(f"MediaUrl{n}", "")
        if url:
            mime = form.get(f"MediaContentType{n}", "")
            media.append({"kind": media_kind(mime), "ref": url, "mime": mime})
    lat, lon = form.get("Latitude", ""), form.get("Longitude", "")
    if lat or lon:
        place = {"kind": "location", "mime": "",
                 "ref": f"{_coordinate(lat, 90):.6f},{_coordinate(lon, 180):.6f}"}
        label = ", ".join(v for v in (form.get("Label", ""), form.get("Address", "")) if v)
        if label:
            place["label"] = label[:300]
        media.append(place)
    if not (text.strip() or pressed or media):
        return None
    payload: dict[str, Any] = {"text": text, "payload": pressed, "media": media}
    if form.get("MessageType"):
        payload["type"] = form.get("MessageType", "")[:30]
    return payload
