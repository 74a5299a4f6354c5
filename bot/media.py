"""Signed, expiring links to a family's or a counselor's media, served by our own app.

A photo or voice note lives with the provider it came from: a Telegram file id, or a Twilio
media URL that needs our Twilio credentials. To pass it to the other provider we give that
provider a link to ourselves, `PUBLIC_BASE_URL/media/<token>`; the token names the item
(channel, reference, type, expiry) and is signed with a key derived from the provider
secrets, so nobody can make us fetch anything we did not link. A bad or expired token is
refused before anything is fetched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot
from telegram.error import TelegramError

from bot.config import Settings
from bot.service import Service

log = logging.getLogger(__name__)

PATH = "/media"
LIFETIME = timedelta(days=7)
MAX_BYTES = 25 * 1024 * 1024  # Telegram serves bots up to 20 MB, Twilio media up to 16 MB
_MIME_OK = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")
_NO_STORE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _key(settings: Settings) -> bytes | None:
    """The signing key; None when there is no provider secret to derive it from."""
    tg, tw = settings.telegram_bot_token or "", settings.twilio_auth_token or ""
    if not (tg or tw):
        return None
    return hashlib.sha256(f"lk3-media:{tg}{tw}".encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def mime_of(item: dict[str, Any]) -> str:
    mime = str(item.get("mime") or "")
    return mime if _MIME_OK.fullmatch(mime) else "application/octet-stream"


def origin(item: dict[str, Any]) -> str:
    """The channel holding an item (items queued before it was recorded: by the ref)."""
    channel = str(item.get("channel") or "")
    if channel:
        return channel
    return "whatsapp" if str(item.get("ref") or "").startswith("http") else "telegram"


def coordinates(ref: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a location item's "lat,lon", or None when malformed."""
    lat, _, lon = ref.partition(",")
    try:
        a, b = float(lat), float(lon)
    except ValueError:
        return None
    if not (math.isfinite(a) and math.isfinite(b)) or abs(a) > 90 or abs(b) > 180:
        return None
    return a, b


def link(settings: Settings, item: dict[str, Any], now: datetime | None = None) -> str | None:
    """Our URL for a media item, valid for 7 days; None without PUBLIC_BASE_URL."""
    key = _key(settings)
    if not settings.public_base_url or key is None:
        return None
    when = now or datetime.now(UTC)
    claims = {"c": origin(item), "r": str(item.get("ref") or ""),
              "m": str(item.get("mime") or ""), "e": int((when + LIFETIME).timestamp())}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{settings.public_base_url}{PATH}/{body}.{_sign(key, body)}"


def read_token(settings: Settings, token: str, now: datetime) -> dict[str, Any] | None:
    """The item a token names, or None when it is forged, malformed or expired."""
    key = _key(settings)
    body, dot, signature = token.partition(".")
    if key is None or not dot or not body or len(token) > 4096:
        return None
    if not hmac.compare_digest(signature.encode("ascii", "replace"),
                               _sign(key, body).encode("ascii")):
        return None
    try:
        claims = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("e"), int):
        return None
    if claims["e"] <= now.timestamp():
        return None
    return {"channel": str(claims.get("c") or ""), "ref": str(claims.get("r") or ""),
            "mime": str(claims.get("m") or "")}


class FetchFailed(Exception):
    """The provider holding the media did not give it to us."""


def _twilio_url_ok(settings: Settings, url: str) -> bool:
    """Our Twilio credentials go only to Twilio (or to the configured Twilio API base)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    base = urlsplit(settings.twilio_api_base_url)
    if parts.scheme == base.scheme and host == (base.hostname or "").lower() \
            and parts.port == base.port:
        return True
    return parts.scheme == "https" and (host == "twilio.com" or host.endswith(".twilio.com"))


async def _from_twilio(settings: Settings, url: str) -> bytes:
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise FetchFailed("WhatsApp (Twilio) is not configured")
    if not _twilio_url_ok(settings, url):
        raise FetchFailed("not a Twilio media URL")
    try:
        # httpx drops the Authorization header when a redirect leaves the origin (Twilio
        # answers with a redirect to its storage).
        async with httpx.AsyncClient(timeout=settings.http_timeout,
                                     follow_redirects=True) as client:
            response = await client.get(url, auth=(settings.twilio_account_sid,
                                                   settings.twilio_auth_token))
    except httpx.HTTPError as exc:
        raise FetchFailed(f"twilio unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise FetchFailed(f"twilio answered {response.status_code}")
    if len(response.content) > MAX_BYTES:
        raise FetchFailed("media too large")
    return response.content


async def _from_telegram(bot: Bot | None, file_id: str) -> bytes:
    if bot is None:
        raise FetchFailed("Telegram is not configured")
    try:
        file = await bot.get_file(file_id)
        data = await file.download_as_bytearray()
    except TelegramError as exc:
        raise FetchFailed(f"telegram: {type(exc).__name__}") from None
    return bytes(data)


def route(service: Service, telegram_bot: Bot | None) -> Route:
    """GET /media/{token}: the bytes of the item the token names, with its type."""

    async def serve(request: Request) -> Response:
        token = str(request.path_params.get("token") or "")
        item = read_token(service.settings, token, service.clock())
        if item is None:
            return Response(status_code=403, headers=_NO_STORE)
        try:
            if item["channel"] == "telegram":
                data = await _from_telegram(telegram_bot, item["ref"])
            elif item["channel"] == "whatsapp":
                data = await _from_twilio(service.settings, item["ref"])
            else:
                return Response(status_code=404, headers=_NO_STORE)
        except FetchFailed as exc:
            log.warning("media of channel %s could not be fetched (%s)", item["channel"], exc)
            return Response(status_code=502, headers=_NO_STORE)
        return Response(data, media_type=mime_of(item), headers=_NO_STORE)

    return Route(PATH + "/{token}", serve, methods=["GET"])
