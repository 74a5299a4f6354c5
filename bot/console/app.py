"""The console's routes under /console/, behind its guard (bot.console.security)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.console import auth, casepage, pages, reportpage, staffpage
from bot.console.core import PREFIX, Console
from bot.console.passwords import Passwords
from bot.console.security import ConsoleGuard
from bot.service import Service

STATIC = Path(__file__).with_name("static")
Handler = Callable[[Console, Request], Awaitable[Response]]


def mount(service: Service, passwords: Passwords | None = None) -> Mount:
    """/console/... for `create_app`; `passwords`: a cheaper argon2 profile in tests."""
    console = Console(service, passwords)

    def bound(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await handler(console, request)
        return endpoint

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/queue", status_code=303)

    routes = [
        Route("/", home),
        Route("/login", bound(auth.login_page), methods=["GET"]),
        Route("/login", bound(auth.login), methods=["POST"]),
        Route("/logout", bound(auth.logout), methods=["POST"]),
        Route("/language", bound(auth.language), methods=["POST"]),
        Route("/queue", bound(pages.queue_page), methods=["GET"]),
        Route("/queue/rows", bound(pages.queue_rows), methods=["GET"]),
        Route("/take", bound(pages.take), methods=["POST"]),
        Route("/duty", bound(pages.duty), methods=["POST"]),
        Route("/cases/{number}", bound(casepage.case_page), methods=["GET"]),
        Route("/cases/{number}/live", bound(casepage.live), methods=["GET"]),
        Route("/cases/{number}/why", bound(casepage.why), methods=["POST"]),
        Route("/cases/{number}/{action}", bound(casepage.action), methods=["POST"]),
        Route("/reports", bound(reportpage.report_page), methods=["GET"]),
        Route("/reports/cases.csv", bound(reportpage.cases_csv), methods=["GET"]),
        Route("/reports/{table}.csv", bound(reportpage.table_csv), methods=["GET"]),
        Route("/staff", bound(staffpage.staff_page), methods=["GET"]),
        Route("/staff", bound(staffpage.add), methods=["POST"]),
        Route("/staff/{person}/{what}", bound(staffpage.change), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="console-static"),
    ]
    guard = Middleware(ConsoleGuard, public_base_url=service.settings.public_base_url)
    return Mount(PREFIX, routes=routes, middleware=[guard])
