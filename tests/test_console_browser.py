"""The console in a real headless Chromium (Debian's, driven by Playwright), against the app
`lk3 serve` runs (uvicorn in a thread, workers on, Telegram polling the fake Bot API) on a
temporary SQLite file: sign in, the queue in priority order, take a case, reply (the fake
Telegram receives it for the family, the outbox has the row), the family's answer appears on
the open page without a reload, a note stays internal, close with an outcome, another
counselor gets 403, sign out; and no request ever leaves the site.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from bot.channels.setup import build_channels
from bot.config import Settings
from bot.service import Service, build
from bot.web import create_app
from storage import queue
from storage.models import CaseAccess, OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.test_console_support import PASSWORD, PATHS, add_staff
from tests.test_telegram import text
from tests.test_web import free_port

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SARI_CHAT, BUDI_CHAT = 7_100_000_001, 7_100_000_002
FAMILY_P3, FAMILY_P1 = 7_200_000_003, 7_200_000_001

pytestmark = pytest.mark.skipif(
    not os.environ.get("CI") and shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (.ci/run installs it; under CI this fails)")
sync_api = pytest.importorskip("playwright.sync_api")


def wait_for(what: str, done: Callable[[], bool], seconds: float = 30) -> None:
    """A bounded wait for the server's workers to do something (not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds}s for {what}")
        time.sleep(0.05)


@dataclass
class Site:
    url: str
    service: Service
    telegram: FakeTelegram

    def family_says(self, chat: int, words: str) -> None:
        before = len(self.telegram.texts_to(chat))
        self.telegram.queue_update(text(chat, words))
        wait_for(f"the bot's answer to {words!r}",
                 lambda: len(self.telegram.texts_to(chat)) > before)

    def intake(self, chat: int, priority: str) -> str:
        for words in PATHS[priority]:
            self.family_says(chat, words)

        def closing() -> list[str]:
            return [t for t in self.telegram.texts_to(chat) if "Nomor kasus Anda" in t]

        wait_for("the case number", lambda: bool(closing()), 10)
        return closing()[-1].split("Nomor kasus Anda: ")[1].split(".")[0]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with FakeTelegram.running() as fake:
        settings = Settings.model_validate({
            "DATABASE_URL": f"sqlite:///{tmp_path / 'lk3.db'}", "LK3_PROCESSORS": 1,
            "LK3_POLL_INTERVAL": 0.05, "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url, "HTTP_TIMEOUT": 5})
        service = build(settings)
        now = service.clock()
        add_staff(service.db, "Sari Wenda", now, telegram=str(SARI_CHAT), channel="telegram",
                  username="sari")
        add_staff(service.db, "Budi Kogoya", now, telegram=str(BUDI_CHAT), channel="telegram")
        add_staff(service.db, "Yohana Magal", now, role="supervisor")
        port = free_port()
        app = create_app(service, channels=build_channels(service))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for("the server", lambda: server.started)
        try:
            yield Site(f"http://127.0.0.1:{port}", service, fake)
        finally:
            server.should_exit = True
            thread.join(30)
            service.db.dispose()


def test_a_counselors_day_in_the_browser(site: Site) -> None:
    """Sign in, queue in order, take, reply to Telegram, live family message, note, close,
    403 for another's case, a supervisor opening it after choosing why, sign out; nothing
    requested from another site."""
    low = site.intake(FAMILY_P3, "P3")
    high = site.intake(FAMILY_P1, "P1")
    elsewhere: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        page.on("request", lambda r: None if r.url.startswith(site.url)
                else elsewhere.append(r.url))
        page.goto(f"{site.url}/console/login")
        page.fill("input[name=username]", "SARI")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/queue")
        rows = page.locator("#waiting tbody tr").all_inner_texts()
        assert [r.split()[0] for r in rows] == [high, low]
        assert "P1 risiko tinggi" in rows[0]

        page.click("text=Ambil berikutnya")
        page.wait_for_url(f"**/console/cases/{high}")
        assert "Jawaban keluarga" in page.content()
        page.fill("#reply textarea[name=text]", "Selamat siang Mama, saya Sari dari LK3.")
        page.click("#reply button[type=submit]")
        page.wait_for_selector("text=Pesan terkirim ke keluarga")
        wait_for("the reply at the fake Telegram", lambda: "Selamat siang Mama, saya Sari dari "
                 "LK3." in site.telegram.texts_to(FAMILY_P1))

        def reply_rows() -> list[str]:
            with site.service.db.connect() as conn:
                return [status for status, payload in conn.execute(  # sealed: opened here
                    select(OutboxMessage.status, OutboxMessage.payload).where(
                        OutboxMessage.recipient == str(FAMILY_P1)))
                    if payload.get("text") == "Selamat siang Mama, saya Sari dari LK3."]
        # Telegram has the message before the relay's commit marks it sent: wait for that commit.
        wait_for("the reply marked sent", lambda: reply_rows() != ["sending"])
        assert reply_rows() == ["sent"]
        assert any("Selamat siang Mama" in t for t in site.telegram.texts_to(SARI_CHAT))

        site.telegram.queue_update(text(FAMILY_P1, "Terima kasih kak, saya takut <b>sekali</b>"))
        page.wait_for_selector("#transcript >> text=saya takut <b>sekali</b>", timeout=20_000)

        page.fill("#note textarea[name=text]", "Catatan rahasia: suami pulang jam 7.")
        page.click("#note button[type=submit]")
        page.wait_for_selector("text=Catatan disimpan")
        page.select_option("#close select[name=outcome]", "dirujuk")
        page.click("#close button[type=submit]")
        page.wait_for_selector("text=ditutup dengan hasil")
        assert not any("Catatan rahasia" in t for t in site.telegram.texts_to(FAMILY_P1))

        page.goto(f"{site.url}/console/queue")
        page.click(f"#waiting tr:has-text('{low}') button")
        page.wait_for_url(f"**/console/cases/{low}")
        other = browser.new_context().new_page()
        other.goto(f"{site.url}/console/login")
        other.fill("input[name=username]", "budi kogoya")
        other.fill("input[name=password]", PASSWORD)
        other.click("button[type=submit]")
        other.wait_for_url("**/console/queue")
        answer = other.goto(f"{site.url}/console/cases/{low}")
        assert answer is not None and answer.status == 403

        boss = browser.new_context().new_page()  # a supervisor: Sari's case, with a reason
        boss.goto(f"{site.url}/console/login")
        boss.fill("input[name=username]", "yohana magal")
        boss.fill("input[name=password]", PASSWORD)
        boss.click("button[type=submit]")
        boss.wait_for_url("**/console/queue")
        boss.goto(f"{site.url}/console/cases/{low}")
        assert "dipegang Sari" in boss.inner_text("main")
        assert "Jawaban keluarga" not in boss.content()
        boss.click("#why button[type=submit]")  # no reason chosen: the browser asks for one
        assert "Jawaban keluarga" not in boss.content()
        boss.check("text=pemeriksaan mutu")
        boss.click("#why button[type=submit]")
        boss.wait_for_selector("text=Jawaban keluarga")
        with site.service.db.connect() as conn:
            why = conn.execute(select(CaseAccess.reason).where(
                CaseAccess.via == "console", CaseAccess.reason.is_not(None))).scalars().all()
        assert why == ["quality"]

        page.click("text=Keluar")
        page.wait_for_url("**/console/login")
        again = page.goto(f"{site.url}/console/cases/{low}")
        assert again is not None and again.url.endswith("/console/login")
        browser.close()
    with site.service.db.connect() as conn:
        closed = queue.by_number(conn, high)
    assert closed is not None and closed.status == "closed"
    assert elsewhere == []


def test_a_supervisors_report_with_charts_and_csv(site: Site, tmp_path: Path) -> None:
    """A supervisor's report page shows SVG charts and the figures; the CSV downloads with
    one row per case and no family's id; nothing is requested from another site."""
    number = site.intake(FAMILY_P3, "P3")
    elsewhere: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_context(accept_downloads=True).new_page()
        page.on("request", lambda r: None if r.url.startswith(site.url)
                else elsewhere.append(r.url))
        page.goto(f"{site.url}/console/login")
        page.fill("input[name=username]", "yohana magal")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/queue")
        page.click("text=Laporan")
        page.wait_for_url("**/console/reports")
        assert page.locator("svg.chart").count() >= 6
        assert page.locator("svg.chart rect").count() >= 1
        assert "1 kasus masuk antrean" in page.inner_text("main")
        with page.expect_download() as download:
            page.click("#csv")
        saved = tmp_path / "cases.csv"
        download.value.save_as(saved)
        browser.close()
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("Kasus,Dibuat (WIT),Prioritas") and len(lines) == 2
    assert lines[1].startswith(number) and str(FAMILY_P3) not in lines[1]
    assert elsewhere == []
