"""Broadcasts through the providers' HTTP APIs: the real twilio client against a fake Twilio
on loopback with signed status callbacks, and python-telegram-bot against a fake Bot API
(issue 18, build items 2, 4 and 6; WhatsApp's error codes from
../shared/reference/broadcasts-console-privacy.md W7, W11, W12)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.broadcast import cli
from bot.broadcast.feed import Feeder
from bot.broadcast.rates import Rates
from bot.service import Service
from storage.models import CaseEvent, Contact, OutboxMessage, Subscription
from tests.fakes.twilio_api import FakeTwilio
from tests.support import FrozenClock
from tests.test_broadcast_send import create, run
from tests.test_whatsapp import (  # the fixtures are shared
    WhatsApp,
    _client,
    fake,
    make_wa_service,
    phone,
    settings_for,
    twilio_api,
)

TEXT = "Sosialisasi LK3 di Distrik Wania, Kamis 09.00 WIT di kantor distrik. Gratis."


@pytest.fixture
async def wa(db: Engine, clock: FrozenClock, fake: FakeTwilio) -> AsyncIterator[WhatsApp]:
    service = make_wa_service(db, clock, settings_for(db, fake.url, WHATSAPP_DAILY_LIMIT=250))
    async with _client(service) as http:
        yield WhatsApp(service, fake, http)


def feeder(service: Service, clock: FrozenClock) -> Feeder:
    return Feeder(service.db, cli.bundle().catalog, cli.resting_states(),
                  Rates(whatsapp_mps=1000), clock, None)


async def subscribers(wa: WhatsApp, n: int) -> list[str]:
    people = [phone() for _ in range(n)]
    for who in people:
        for line in ("LANGGANAN", "semua", "iya"):
            await wa.say(who, line)
    return people


async def broadcast(wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> int:
    """A broadcast created and started a day later (every window closed), fed and relayed."""
    clock.advance(hours=25)
    got = create(wa.service, clock, tmp_path, whatsapp_template="HX" + "1" * 32, text=TEXT)
    assert got["id"] is not None, got["blockers"]
    run(wa.service, clock, "send", id=got["id"])
    await feed(wa, clock)
    return int(got["id"])


async def feed(wa: WhatsApp, clock: FrozenClock) -> None:
    job = feeder(wa.service, clock)
    for _ in range(5):
        job.run_once()
        await wa.pump()
        clock.advance(seconds=1)


def templates_to(fake: FakeTwilio, who: str) -> list[dict[str, str]]:
    return [r.form for r in fake.creates() if r.form.get("To") == who
            and r.form.get("ContentSid") and r.status == 201]


def sid_of(db: Engine, who: str) -> str:
    with db.connect() as conn:
        return str(conn.execute(select(OutboxMessage.provider_message_id).where(
            OutboxMessage.recipient == who, OutboxMessage.dedupe_key.like("bc:%"))).scalar_one())


def status(wa: WhatsApp, clock: FrozenClock, bid: int) -> dict[str, Any]:
    return dict(json.loads(run(wa.service, clock, "status", id=bid, json=True)[1]))


async def test_outside_the_window_a_template_with_its_variable_and_no_body(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> None:
    """A day after the family last wrote, the broadcast goes as the approved template
    (ContentSid, the text as variable 1), never as a Body WhatsApp would refuse (63016)."""
    (who,) = await subscribers(wa, 1)
    await broadcast(wa, clock, tmp_path)
    (form,) = templates_to(wa.fake, who)
    assert form["ContentSid"] == "HX" + "1" * 32 and "Body" not in form
    assert json.loads(form["ContentVariables"]) == {"1": TEXT}


async def test_63049_is_tried_again_later_then_given_up_still_subscribed(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> None:
    """Meta declined a marketing message (63049): not again at once, but after 6 hours, then
    24 more; after that given up, the person still subscribed and reachable; the report
    says why. A late callback about an earlier try changes nothing."""
    (who,) = await subscribers(wa, 1)
    bid = await broadcast(wa, clock, tmp_path)
    for wait in (6, 24):
        first = sid_of(wa.db, who)
        await wa.status(first, "failed", "63049")
        await wa.status(first, "failed", "63049")  # Twilio repeats callbacks
        clock.advance(hours=wait, seconds=-5)
        await wa.pump()
        assert len(templates_to(wa.fake, who)) == 1 + (wait == 24)  # not yet
        clock.advance(seconds=10)
        await wa.pump()
        assert len(templates_to(wa.fake, who)) == 2 + (wait == 24)
        await wa.status(first, "delivered")  # about the try before: ignored
    await wa.status(sid_of(wa.db, who), "failed", "63049")
    clock.advance(days=3)
    await wa.pump()
    assert len(templates_to(wa.fake, who)) == 3
    report = status(wa, clock, bid)
    assert report["states"] == {"failed": 1}
    assert report["reasons"] == {"failed:marketing_limit": 1}
    with wa.db.connect() as conn:
        assert conn.execute(select(Contact.status).where(
            Contact.provider_user_id == who)).scalar_one() == "active"
        assert set(conn.execute(select(Subscription.status))) == {("active",)}
    lines = run(wa.service, clock, "status", id=bid)[1]
    assert "dibatasi WhatsApp untuk pesan info (63049)" in lines


async def test_63032_a_meta_experiment_is_left_out_without_a_retry_still_subscribed(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> None:
    """63032: the number is in a Meta experiment that holds back marketing messages. Not
    tried again, the broadcast goes on for the others, the person stays subscribed and
    reachable, and the report says why in Indonesian."""
    first, second = await subscribers(wa, 2)
    bid = await broadcast(wa, clock, tmp_path)
    await wa.status(sid_of(wa.db, first), "failed", "63032")
    await wa.status(sid_of(wa.db, second), "delivered")
    clock.advance(days=3)
    await wa.pump()
    assert len(templates_to(wa.fake, first)) == len(templates_to(wa.fake, second)) == 1
    report = status(wa, clock, bid)
    assert report["status"] == "done"
    assert report["reasons"] == {"failed:meta_experiment": 1}
    with wa.db.connect() as conn:
        assert set(conn.execute(select(Contact.status))) == {("active",)}
        assert set(conn.execute(select(Subscription.status))) == {("active",)}
    assert "uji coba Meta yang menahan pesan info (63032)" in run(
        wa.service, clock, "status", id=bid)[1]


@pytest.mark.parametrize("code", ["63013", "63016"])
async def test_a_refused_template_stops_the_broadcast(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path, code: str) -> None:
    """63013 (policy: the template or its variable refused), or 63016 (the message reached
    WhatsApp without its template: a bug), on the first message: every later one would fail
    alike, so the broadcast stops, what is not sent is cancelled, the audit trail says who
    stopped it and the status says so in Indonesian."""
    people = await subscribers(wa, 3)
    clock.advance(hours=25)
    got = create(wa.service, clock, tmp_path, whatsapp_template="HX" + "2" * 32, text=TEXT)
    run(wa.service, clock, "send", id=got["id"])
    job = Feeder(wa.service.db, cli.bundle().catalog, cli.resting_states(),
                 Rates(whatsapp_mps=1.25), clock, None)  # one message a second
    job.run_once()
    await wa.pump()
    (sent,) = [p for p in people if templates_to(wa.fake, p)]
    await wa.status(sid_of(wa.db, sent), "undelivered", code)
    for _ in range(5):
        job.run_once()
        await wa.pump()
        clock.advance(seconds=1)
    assert sum(len(templates_to(wa.fake, p)) for p in people) == 1
    report = status(wa, clock, got["id"])
    assert report["status"] == "stopped"
    with wa.db.connect() as conn:
        (stopped,) = conn.execute(select(CaseEvent.actor, CaseEvent.data).where(
            CaseEvent.kind == "broadcast_stopped")).all()
    assert stopped.actor == "twilio" and stopped.data["code"] == code
    assert "dihentikan (ditolak WhatsApp)" in run(wa.service, clock, "status", id=got["id"])[1]


async def test_blocked_and_not_on_whatsapp_are_left_out_of_the_next_broadcast(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> None:
    """63014 (the person blocked the business) and 63024 (no WhatsApp on the number) mark the
    contact; the next broadcast's preview counts them out by reason and sends them nothing."""
    blocked, gone, fine = await subscribers(wa, 3)
    await broadcast(wa, clock, tmp_path)
    await wa.status(sid_of(wa.db, blocked), "undelivered", "63014")
    await wa.status(sid_of(wa.db, gone), "failed", "63024")
    clock.advance(days=2)
    got = create(wa.service, clock, tmp_path, whatsapp_template="HX" + "1" * 32, text=TEXT)
    assert got["excluded"] == {"opted_out": 1, "unreachable": 1}
    assert got["recipients"] == [{"channel": "whatsapp", "language": "id", "count": 1}]
    run(wa.service, clock, "send", id=got["id"])
    await feed(wa, clock)
    assert [len(templates_to(wa.fake, p)) for p in (blocked, gone, fine)] == [1, 1, 2]


async def test_the_whatsapp_channel_reads_quiet_hours_from_the_settings(
        db: Engine, clock: FrozenClock, fake: FakeTwilio, tmp_path: Path) -> None:
    """A 63049 retry that would fall in the quiet hours (20:00-07:00 WIT) waits for their end:
    tried at 14:00 WIT, the retry is due 07:00 WIT the next morning, not 20:00."""
    service = make_wa_service(db, clock, settings_for(
        db, fake.url, BROADCAST_QUIET_HOURS="20:00-07:00"))
    async with _client(service) as http:
        wa = WhatsApp(service, fake, http)
        (who,) = await subscribers(wa, 1)
        clock.advance(hours=28, minutes=30)  # 14:00 WIT the next day
        got = create(service, clock, tmp_path, whatsapp_template="HX" + "1" * 32, text=TEXT)
        run(service, clock, "send", id=got["id"])
        await feed(wa, clock)
        await wa.status(sid_of(db, who), "failed", "63049")
        with db.connect() as conn:
            due = conn.execute(select(OutboxMessage.available_at).where(
                OutboxMessage.recipient == who,
                OutboxMessage.dedupe_key.like("bc:%"))).scalar_one()
        wit = due.replace(tzinfo=None) + timedelta(hours=9)
        assert (wit.hour, wit.minute) == (7, 0)


async def test_out_of_order_status_callbacks_only_move_forward(
        wa: WhatsApp, clock: FrozenClock, tmp_path: Path) -> None:
    """Twilio's callbacks arrive read, then delivered, then sent: the report keeps read, and
    the read rate counts it."""
    (who,) = await subscribers(wa, 1)
    bid = await broadcast(wa, clock, tmp_path)
    sid = sid_of(wa.db, who)
    for state in ("read", "delivered", "sent"):
        await wa.status(sid, state)
    report = status(wa, clock, bid)
    assert report["states"] == {"read": 1}
    assert (report["delivered_rate"], report["read_rate"]) == (1.0, 1.0)
