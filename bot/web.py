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

from bot import media
from bot.channels.base import Channel
from bot.channels.setup import build_channels
from bot.config import Settings
from bot.console.app import mount as console_mount
from bot.pipeline.beats import stalled
from bot.pipeline.supervisor import Supervisor, children
from bot.pipeline.workers import Workers, settle
from bot.service import Service, build
from storage import inbox, outbox
from storage.db import reading

log = logging.getLogger(__name__)


def health(service: Service) -> tuple[int, dict[str, object]]:
    """200 when the database answers and every shard's messages are being taken; 503
    naming a shard whose messages wait with no processor alive for it (bot.pipeline.beats).
    It only reads, on a read-only connection: a writer stopped while it holds SQLite's write
    lock (or the writers' turn) never makes it wait."""
    try:
        with reading(service.db) as conn:
            body: dict[str, object] = {"status": "ok", "database": "ok",
                                       "inbox_backlog": inbox.backlog(conn),
                                       "outbox_backlog": outbox.backlog(conn)}
            now = service.clock()
            stuck = stalled(conn, service.settings.lk3_processors, now)
    except Exception as exc:
        return 503, {"status": "error", "database": f"unavailable: {type(exc).__name__}"}
    if stuck:
        names = ", ".join(f"shard {k}" if k else "every contact" for k in sorted(stuck))
        log.error("messages wait with no processor alive for %s (oldest since %s)", names,
                  min(stuck.values()).isoformat(timespec="seconds"))
        body |= {"status": "stalled", "stalled_shards": sorted(stuck),
                 "oldest_waiting_seconds": int((now - min(stuck.values())).total_seconds())}
        return 503, body
    return 200, body


def create_app(service: Service, run_workers: bool = True,
               channels: list[Channel] | None = None, supervise: bool = False) -> Starlette:
    """The app; with `supervise` (lk3 serve) the inbox processors and the broadcast job run
    in processes of their own (bot.pipeline.supervisor says why), else in this one."""
    async def healthz(request: Request) -> JSONResponse:
        code, body = await asyncio.to_thread(health, service)
        return JSONResponse(body, status_code=code)

    channels = channels or []
    for channel in channels:
        service.senders[channel.name] = channel.sender

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        workers = Workers(service, service.settings.lk3_poll_interval,
                          broadcasts=not supervise, processes=not supervise)
        kids = Supervisor(children(service.settings.lk3_processors if supervise else 0,
                                   broadcasts=supervise))
        if run_workers:
            workers.start()
            kids.start()
        for channel in channels:
            await channel.start()
        try:
            yield
        finally:
            for channel in channels:
                await channel.stop()
            await kids.stop()
            await workers.stop()
            for channel in channels:  # the relay is done with the senders' HTTP clients
                if (close := getattr(channel, "close", None)) is not None:
                    await close()
            log.info("workers stopped; unprocessed messages stay in the inbox and outbox")

    routes = [Route("/healthz", healthz), *(r for c in channels for r in c.routes)]
    routes.append(console_mount(service))  # the staff console under /console/ (bot.console)
    if channels:  # signed media links, so each provider can fetch what the other holds
        telegram_bot = next((getattr(c, "bot", None) for c in channels
                             if c.name == "telegram"), None)
        routes.append(media.route(service, telegram_bot))
    return Starlette(routes=routes, lifespan=lifespan)


def serve(settings: Settings) -> int:
    service = build(settings)
    app = create_app(service, channels=build_channels(service), supervise=True)
    config = uvicorn.Config(app, host=settings.lk3_host, port=settings.lk3_port,
                            log_level=settings.log_level.lower(), lifespan="on")
    settle()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after a clean stop
        uvicorn.Server(config).run()
    return 0
