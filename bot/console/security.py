"""What every console response carries, and which requests the console refuses.

A strict Content-Security-Policy (our own script and style only, nothing from another site,
no inline code), no framing, no referrer, no caching of pages. A request that changes
anything (not GET/HEAD/OPTIONS) must come from our own pages: the browser's Sec-Fetch-Site
must say same-origin, or, where a browser does not send it, Origin must be ours (the
PUBLIC_BASE_URL origin, or the Host the request came to). Anything else is refused with 403:
a form on another site posting to the console does nothing. The webhooks are outside
/console/ and keep their own signature checks.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_site(method: str, headers: Headers, scheme: str, public_origin: str | None) -> bool:
    """Whether a request may change something: a safe method, or it comes from our pages."""
    if method in SAFE_METHODS:
        return True
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = headers.get("origin")
    if not origin or origin == "null":
        return False
    ours = {f"{scheme}://{headers.get('host', '')}".lower()}
    if public_origin:
        ours.add(public_origin)
    return origin.lower() in ours


class ConsoleGuard:
    """ASGI middleware for /console/: the headers above, and cross-site requests refused."""

    def __init__(self, app: ASGIApp, public_base_url: str | None) -> None:
        self.app = app
        self.public_origin = origin_of(public_base_url) if public_base_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        headers = Headers(scope=scope)
        if not same_site(scope["method"], headers, scope.get("scheme", "http"),
                         self.public_origin):
            refused = PlainTextResponse(
                "Ditolak: permintaan dari situs lain. / Refused: a cross-site request.",
                status_code=403)
            await refused(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
