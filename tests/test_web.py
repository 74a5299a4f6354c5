"""The web app's health check, and `lk3 serve` starting, answering and stopping cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bot.pipeline.processor import process_all
from bot.service import Service
from bot.web import create_app
from storage import inbox, outbox
from storage.clock import utcnow
from storage.db import make_engine
from tests.support import FrozenClock, make_service, send

LK3 = Path(sys.executable).with_name("lk3")
SETTINGS = ("DATABASE_URL", "LK3_HOST", "LK3_PORT", "LOG_LEVEL", "LK3_POLL_INTERVAL")


async def health(service: Service) -> httpx.Response:
    app = create_app(service, run_workers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lk3") as client:
        return await client.get("/healthz")


async def test_healthz_reports_backlogs(service: Service) -> None:
    """/healthz says ok and counts unprocessed inbox and unsent outbox messages."""
    send(service, "fam1", "halo")
    send(service, "fam2", "halo")
    r = await health(service)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "inbox_backlog": 2,
                        "outbox_backlog": 0}
    process_all(service.processor)  # each family's greeting is now waiting to be sent
    assert (await health(service)).json()["inbox_backlog"] == 0
    assert (await health(service)).json()["outbox_backlog"] == 2
    while await service.relay().run_once():  # the collecting sender takes them
        pass
    assert (await health(service)).json()["outbox_backlog"] == 0


async def test_healthz_reports_an_unusable_database(tmp_path: Path) -> None:
    """/healthz answers 503 with status error when the database cannot be opened."""
    db = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'lk3.db'}")
    r = await health(make_service(db, FrozenClock()))
    assert r.status_code == 503
    assert r.json()["status"] == "error"
    assert r.json()["database"].startswith("unavailable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(proc: subprocess.Popen[str], port: int, seconds: float = 30) -> dict[str, Any]:
    """Poll /healthz until the server answers (a bounded wait for the process to be ready)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return dict(r.json())
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"lk3 serve did not answer on port {port} in {seconds}s")


def test_serve_answers_and_stops_on_ctrl_c_losing_nothing(tmp_path: Path) -> None:
    """`lk3 serve` answers /healthz, exits 0 on SIGINT, and keeps a stored message."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k.upper() not in SETTINGS},
           "LK3_PORT": str(port)}
    proc = subprocess.Popen([str(LK3), "serve"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = wait_healthy(proc, port)
        assert (body["status"], body["database"]) == ("ok", "ok")
        db = make_engine(f"sqlite:///{tmp_path / 'lk3.db'}")
        with db.begin() as conn:
            inbox.store(conn, channel="test", provider_message_id="before-stop", sender="fam",
                        payload={"text": "halo"}, now=utcnow())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    with db.connect() as conn:  # still waiting in the inbox, or answered and its reply queued
        assert inbox.backlog(conn) + outbox.open_for(conn, "test", "fam") == 1
    db.dispose()
