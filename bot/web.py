"""The web app (health now; webhooks come with the channels) and `lk3 serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import Settings
from bot.service import Service, build
from bot.workers import Workers
from storage import inbox, outbox

log = logging.getLogger(__name__)


def health(service: Service) -> tuple[int, dict[str, object]]:
    try:
        with service.db.connect() as conn:
            body: dict[str, object] = {"status": "ok", "database": "ok",
                                       "inbox_backlog": inbox.backlog(conn),
                                       "outbox_backlog": outbox.backlog(conn)}
        return 200, body
    except Exception as exc:
        return 503, {"status": "error", "database": f"unavailable: {type(exc).__name__}"}


def create_app(service: Service, run_workers: bool = True) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        code, body = await asyncio.to_thread(health, service)
        return JSONResponse(body, status_code=code)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        workers = Workers(service, service.settings.lk3_poll_interval)
        if run_workers:
            workers.start()
        try:
            yield
        finally:
            await workers.stop()
            log.info("workers stopped; unprocessed messages stay in the inbox and outbox")

    return Starlette(routes=[Route("/healthz", healthz)], lifespan=lifespan)


def serve(settings: Settings) -> int:
    service = build(settings)
    for channel in ("telegram", "whatsapp"):
        log.info("channel %s is off: its settings are not set", channel)
    app = create_app(service)
    config = uvicorn.Config(app, host=settings.lk3_host, port=settings.lk3_port,
                            log_level=settings.log_level.lower(), lifespan="on")
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after a clean stop
        uvicorn.Server(config).run()
    return 0
