"""Creating and sending broadcasts: snapshot, safe audiences, exactly once, schedules in WIT,
WhatsApp's limits, reports (issue 18, build items 2-5 and 7)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update

from bot.broadcast import cli
from bot.broadcast.feed import Feeder
from bot.broadcast.rates import Rates
from bot.broadcast.wit import parse_wit
from bot.pipeline.relay import Relay
from bot.service import Service
from storage import outbox
from storage.models import BroadcastRecipient, CaseEvent, Contact, Conversation, OutboxMessage
from tests.support import CHANNEL, CollectingSender, FrozenClock, deliver
from tests.test_handoff import Person

TEXT = "Sosialisasi LK3 di Distrik Wania, Kamis 09.00 WIT di kantor distrik. Gratis."


def subscribe(service: Service, user: str, choice: str = "semua") -> Person:
    p = Person(service, user)
    p.say("LANGGANAN")
    p.say(choice)
    p.say("iya")
    return p


def run(service: Service, clock: FrozenClock, *argv: str, **kw: Any) -> tuple[int, str]:
    ns = argparse.Namespace(**{"json": False, **kw, "broadcast_command": argv[0]})
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.run(ns, service.settings, service.db, clock)
    return code, out.getvalue()


def create(service: Service, clock: FrozenClock, tmp_path: Path, **kw: Any) -> dict[str, Any]:
    path = tmp_path / "info.txt"
    path.write_text(kw.pop("text", TEXT), encoding="utf-8")
    args = {"topic": "sosialisasi", "text_file": path, "text_file_en": None,
            "whatsapp_template": None, "at": None, "distrik": [], "channel": None,
            **kw, "json": True}
    code, out = run(service, clock, "create", **args)
    got = json.loads(out)
    assert (code == 0) == (not got["blockers"])
    return dict(got)


def feeder(service: Service, clock: FrozenClock, **rates: Any) -> Feeder:
    return Feeder(service.db, cli.bundle().catalog, cli.resting_states(),
                  Rates(**rates), clock, None)


def send_all(service: Service, clock: FrozenClock, feed: Feeder, rounds: int = 50) -> None:
    """The job and the relay until nothing moves, the clock stepping a second a round."""
    for _ in range(rounds):
        feed.run_once()
        deliver(service)
        clock.advance(seconds=1)


def received(service: Service, marker: str = "Sosialisasi LK3") -> dict[str, int]:
    sender = service.senders[CHANNEL]
    assert isinstance(sender, CollectingSender)
    out: dict[str, int] = {}
    for user, payload in sender.sent:
        if marker in str(payload.get("text")):
            out[user] = out.get(user, 0) + 1
    return out


def test_subscribers_get_it_once_with_footer_and_nobody_else(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """Only subscribers of the topic receive it, once each, ending with who sends it and how
    to stop; the creation and the start are audited with who did them."""
    for user in ("a1", "a2", "a3"):
        subscribe(service, user)
    subscribe(service, "b1", "1")  # another topic only
    Person(service, "c1").intake()  # intake consent only: never an audience
    got = create(service, clock, tmp_path)
    assert got["recipients"] == [{"channel": CHANNEL, "language": "id", "count": 3}]
    assert run(service, clock, "send", id=got["id"])[0] == 0
    send_all(service, clock, feeder(service, clock))
    assert received(service) == {"a1": 1, "a2": 1, "a3": 1}
    sender = service.senders[CHANNEL]
    assert isinstance(sender, CollectingSender)
    last = [p for u, p in sender.sent if u == "a1"][-1]["text"]
    assert last.endswith("Ketik BERHENTI INFO.") and "LK3 Dinas Sosial Kabupaten Mimika" in last
    _code, out = run(service, clock, "status", id=got["id"], json=True)
    report = json.loads(out)
    assert (report["status"] == "done" and report["states"] == {"delivered": 3}) or \
        report["states"] == {"sent": 3}
    with service.db.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(CaseEvent.kind).where(
            CaseEvent.kind.like("broadcast_%")).order_by(CaseEvent.id))]
    assert kinds == ["broadcast_created", "broadcast_sent", "broadcast_finished"]


def test_berhenti_after_creation_is_not_sent(service: Service, clock: FrozenClock,
                                            tmp_path: Path) -> None:
    """BERHENTI or BERHENTI INFO after the broadcast was made, before their turn: not sent;
    someone who subscribes after creation is not added (snapshot)."""
    a, b = subscribe(service, "a1"), subscribe(service, "a2")
    subscribe(service, "a3")
    got = create(service, clock, tmp_path)
    a.say("BERHENTI")
    b.say("BERHENTI INFO")
    subscribe(service, "late")
    run(service, clock, "send", id=got["id"])
    send_all(service, clock, feeder(service, clock))
    assert received(service) == {"a3": 1}
    report = json.loads(run(service, clock, "status", id=got["id"], json=True)[1])
    assert report["reasons"] == {"skipped:not_subscribed": 2}


def test_berhenti_cancels_a_message_already_queued(service: Service, clock: FrozenClock,
                                                  tmp_path: Path) -> None:
    """A message queued in the outbox but not yet sent is cancelled by BERHENTI."""
    a = subscribe(service, "a1")
    got = create(service, clock, tmp_path)
    run(service, clock, "send", id=got["id"])
    feeder(service, clock).run_once()  # queued, not relayed
    a.say("BERHENTI")
    deliver(service)
    assert received(service) == {}


def _mark(db: Engine, user: str, **values: Any) -> None:
    with db.begin() as conn:
        cid = conn.execute(select(Contact.id).where(Contact.provider_user_id == user)).scalar()
        conn.execute(update(Conversation).where(Conversation.contact_id == cid).values(**values))


def test_safety_pause_urgent_case_and_intake_in_progress_are_not_sent(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """A safety pause, a P0 case (DARURAT) and an intake in progress: not sent, counted by
    reason; the intake one is deferred while it goes on."""
    for user in ("ok", "paused", "p0", "busy"):
        subscribe(service, user)
    _mark(service.db, "paused", flags=["paused"])
    Person(service, "p0").say("DARURAT")
    busy = Person(service, "busy")
    busy.say("1")  # chat: the intake under way (the danger question)
    got = create(service, clock, tmp_path)
    assert got["excluded"] == {"safety_pause": 1, "urgent_case": 1}
    assert got["deferred"] == 1
    run(service, clock, "send", id=got["id"])
    send_all(service, clock, feeder(service, clock), rounds=5)
    assert received(service) == {"ok": 1}
    report = json.loads(run(service, clock, "status", id=got["id"], json=True)[1])
    assert report["reasons"] == {"deferred:in_conversation": 1}


def test_a_phone_someone_else_reads_gets_no_broadcast(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """A subscriber who said her husband reads her phone (the flag phone_watched, whose
    constraint event may belong to no case) is never sent a broadcast."""
    for user in ("ok", "watched"):
        subscribe(service, user)
    _mark(service.db, "watched", flags=["phone_watched"])
    got = create(service, clock, tmp_path)
    assert got["excluded"] == {"contact_constraint": 1}


def test_same_whatsapp_number_written_twice_is_one_person(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """One person = one message: the same phone number under two spellings gets one."""
    service.senders["whatsapp"] = CollectingSender(channel="whatsapp")
    for user in ("whatsapp:+6281234", "whatsapp:081234"):
        Person(service, user, channel="whatsapp").say("LANGGANAN")
        Person(service, user, channel="whatsapp").say("semua")
        Person(service, user, channel="whatsapp").say("iya")
    got = create(service, clock, tmp_path, whatsapp_template="HX1")
    assert got["recipients"] == [{"channel": "whatsapp", "language": "id", "count": 1}]
    assert got["excluded"] == {"same_person": 1}


CALL_ME = ("halo", "2", "3", "1", "2", "6", "1", "1", "LEWATI", "2", "0812-3456-7890",
           "sore jam 4 sampai 6", "2", "LEWATI")  # tests/transcripts/i3_call_me.yaml


def test_a_family_on_telegram_and_whatsapp_gets_one_message(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """A family who asked on one channel to be called at 0812-3456-7890 and subscribed
    there, and subscribed from that phone's WhatsApp too, is one person: one message, on the
    channel they subscribed on first; the other counted as the same person."""
    service.senders["whatsapp"] = CollectingSender(channel="whatsapp")
    family = Person(service, "tg-777")
    for line in CALL_ME:
        family.say(line)
    subscribe(service, "tg-777")
    phone = Person(service, "whatsapp:+6281234567890", channel="whatsapp")
    for line in ("LANGGANAN", "semua", "iya"):
        phone.say(line)
    got = create(service, clock, tmp_path, whatsapp_template="HX1")
    assert got["recipients"] == [{"channel": CHANNEL, "language": "id", "count": 1}]
    assert got["excluded"] == {"same_person": 1}
    run(service, clock, "send", id=got["id"])
    send_all(service, clock, feeder(service, clock), rounds=5)
    assert received(service) == {"tg-777": 1}
    whatsapp = service.senders["whatsapp"]
    assert isinstance(whatsapp, CollectingSender)
    assert whatsapp.sent and not any(p.get("template") for _, p in whatsapp.sent)


def test_whatsapp_without_template_or_with_a_bad_variable_is_refused(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """WhatsApp recipients and no template, or a text WhatsApp refuses as a template
    variable (empty, line breaks): refused at preview, nothing stored or queued."""
    service.senders["whatsapp"] = CollectingSender(channel="whatsapp")
    p = Person(service, "whatsapp:+6281", channel="whatsapp")
    for t in ("LANGGANAN", "semua", "iya"):
        p.say(t)
    assert {"code": "no_template"} in create(service, clock, tmp_path)["blockers"]
    bad = create(service, clock, tmp_path, whatsapp_template="HX1", text="Baris 1\nBaris 2")
    assert {"code": "variable.line_breaks", "language": "id"} in bad["blockers"]
    assert bad["id"] is None
    empty = create(service, clock, tmp_path, whatsapp_template="HX1", text="   ")
    assert {"code": "variable.empty", "language": "id"} in empty["blockers"]
    (tmp_path / "blank.txt").write_text("   ", encoding="utf-8")
    code, shown = run(service, clock, "create", topic="sosialisasi",
                      text_file=tmp_path / "blank.txt", text_file_en=None,
                      whatsapp_template="HX1", at=None, distrik=[], channel=None)
    assert code == 1  # the officer reads why, in Indonesian
    assert "Siaran TIDAK dibuat" in shown and "variabel template kosong (id)" in shown
    with service.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(BroadcastRecipient)).scalar() == 0


def test_whatsapp_daily_limit_the_rest_next_day(service: Service, clock: FrozenClock,
                                               tmp_path: Path) -> None:
    """300 WhatsApp recipients, limit 250: 200 today (80%), status says when the rest goes,
    the rest after 24 hours; each as a template with its variable."""
    service.senders["whatsapp"] = CollectingSender(channel="whatsapp")
    with service.db.begin() as conn:  # 300 subscribers, made directly (not the point here)
        for n in range(300):
            cid = conn.execute(text(
                "INSERT INTO contacts (channel, provider_user_id, language, status, created_at)"
                " VALUES ('whatsapp', :u, 'id', 'active', :t) RETURNING id"),
                {"u": f"whatsapp:+62800{n:04d}", "t": clock.now}).scalar()
            conn.execute(text(
                "INSERT INTO subscriptions (contact_id, topic, status, text_version, language,"
                " source, opted_in_at) VALUES (:c, 'sosialisasi', 'active', 'v', 'id',"
                " 'keyword', :t)"), {"c": cid, "t": clock.now})
    got = create(service, clock, tmp_path, whatsapp_template="HX1")
    assert got["days"] == {"whatsapp": 2}
    run(service, clock, "send", id=got["id"])
    feed = feeder(service, clock, whatsapp_mps=1000)
    send_all(service, clock, feed, rounds=10)
    sender = service.senders["whatsapp"]
    assert isinstance(sender, CollectingSender)
    assert len(sender.sent) == 200
    assert sender.sent[0][1]["template"] == {"sid": "HX1", "variables": {"1": TEXT}}
    report = json.loads(run(service, clock, "status", id=got["id"], json=True)[1])
    assert report["states"]["pending"] == 100 and report["continues_at"].endswith("WIT")
    clock.advance(hours=24)
    send_all(service, clock, feed, rounds=10)
    assert len(sender.sent) == 300 and len({u for u, _ in sender.sent}) == 300


def test_telegram_rate_is_80_percent_of_the_setting(service: Service, clock: FrozenClock,
                                                   tmp_path: Path) -> None:
    """At 10 msg/s allowed, broadcasts are made due at 8 a second, never faster."""
    for n in range(40):
        subscribe(service, f"u{n}")
    got = create(service, clock, tmp_path)
    run(service, clock, "send", id=got["id"])
    start = clock.now
    feed = feeder(service, clock, other_mps=10)
    for _ in range(6):
        feed.run_once()
        clock.advance(seconds=1)
    with service.db.connect() as conn:
        due = sorted(r for (r,) in conn.execute(select(OutboxMessage.available_at).where(
            OutboxMessage.dedupe_key.like("bc:%"))))
    assert len(due) == 40
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(due)]
    assert min(gaps) >= 0.125 - 1e-6
    assert (due[-1].replace(tzinfo=start.tzinfo) - start) >= timedelta(seconds=39 / 8 - 0.01)


def test_scheduled_start_happens_once_with_two_processes(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """"09:00 WIT" starts at 00:00 UTC, not before; two feeders (two processes) at the due
    time: one start, every subscriber queued once."""
    for user in ("a1", "a2", "a3"):
        subscribe(service, user)
    clock.now = parse_wit("2026-12-01 08:00")
    got = create(service, clock, tmp_path, at="2026-12-01 09:00")
    one, two = feeder(service, clock), feeder(service, clock)
    clock.now = parse_wit("2026-12-01 08:59")
    assert one.run_once() == 0
    clock.now = parse_wit("2026-12-01 09:00")
    assert clock.now.hour == 0
    one.run_once()
    two.run_once()
    with service.db.connect() as conn:
        starts = conn.execute(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.kind == "broadcast_started")).scalar()
        queued = conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"bc:{got['id']}:%"))).scalar()
    assert starts == 1 and queued == 3


def test_quiet_hours_defer_sending(service: Service, clock: FrozenClock,
                                   tmp_path: Path) -> None:
    """A broadcast started at 21:00 WIT waits for 07:00 WIT."""
    subscribe(service, "a1")
    clock.now = parse_wit("2026-12-01 21:00")
    got = create(service, clock, tmp_path)
    run(service, clock, "send", id=got["id"])
    feed = feeder(service, clock)
    feed.quiet = (parse_wit("2026-12-01 20:00").astimezone(cli_wit()).timetz().replace(
        tzinfo=None), parse_wit("2026-12-01 07:00").astimezone(cli_wit()).timetz().replace(
        tzinfo=None))
    assert feed.run_once() == 0
    clock.now = parse_wit("2026-12-02 06:59")
    assert feed.run_once() == 0
    clock.now = parse_wit("2026-12-02 07:00")
    assert feed.run_once() == 1


def cli_wit() -> Any:
    from bot.broadcast.wit import WIT

    return WIT


def test_cancel_stops_what_is_not_sent(service: Service, clock: FrozenClock,
                                       tmp_path: Path) -> None:
    """Cancel while sending: queued-but-unsent and pending recipients are cancelled."""
    for n in range(20):
        subscribe(service, f"u{n}")
    got = create(service, clock, tmp_path)
    run(service, clock, "send", id=got["id"])
    feed = feeder(service, clock, other_mps=2.5)  # 2 a second
    feed.run_once()
    deliver(service)
    assert run(service, clock, "cancel", id=got["id"])[0] == 0
    send_all(service, clock, feed, rounds=5)
    assert sum(received(service).values()) <= 5
    report = json.loads(run(service, clock, "status", id=got["id"], json=True)[1])
    assert report["status"] == "cancelled" and report["states"]["cancelled"] >= 15


def test_a_crash_after_part_of_a_broadcast_sends_the_rest_once(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """A feeder that dies between ticks and a new one (a restart): the rest sent, nothing
    twice; a second feeder on the same rows queues nothing again (dedupe per row)."""
    for n in range(12):
        subscribe(service, f"u{n}")
    got = create(service, clock, tmp_path)
    run(service, clock, "send", id=got["id"])
    first = feeder(service, clock, other_mps=2.5)
    first.run_once()
    deliver(service)
    before = sum(received(service).values())
    assert 0 < before < 12
    del first  # the process is gone; the database is all the new ones know
    again, other = feeder(service, clock, other_mps=2.5), feeder(service, clock, other_mps=2.5)
    for _ in range(15):
        again.run_once()
        other.run_once()
        deliver(service)
        clock.advance(seconds=1)
    assert received(service) == {f"u{n}": 1 for n in range(12)}


def test_status_csv_has_a_row_per_recipient_and_no_address(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """`status --csv FILE`: one row per recipient with its state and reason, the contact's
    number in the database and never their address; mode 600; never overwritten."""
    subscribe(service, "62899001")
    stopped = subscribe(service, "62899002")
    got = create(service, clock, tmp_path)
    stopped.say("BERHENTI INFO")
    run(service, clock, "send", id=got["id"])
    send_all(service, clock, feeder(service, clock), rounds=3)
    out = tmp_path / "siaran.csv"
    assert run(service, clock, "status", id=got["id"], csv=out)[0] == 0
    import csv as csvlib
    rows = list(csvlib.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0][:5] == ["kontak", "saluran", "bahasa", "keadaan", "alasan"]
    assert sorted((r[3], r[4]) for r in rows[1:]) == [("queued", ""),
                                                      ("skipped", "not_subscribed")]
    assert "62899001" not in out.read_text(encoding="utf-8")
    assert out.stat().st_mode & 0o777 == 0o600
    code, _ = run(service, clock, "status", id=got["id"], csv=out)
    assert code == 1


def test_poster_qr_decodes_to_the_link(service: Service, clock: FrozenClock,
                                       tmp_path: Path) -> None:
    """`link --qr` writes PNG (and SVG) QR codes that decode to the subscribe links."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    settings = service.settings.model_copy(update={
        "telegram_bot_username": "lk3mimika_bot", "twilio_whatsapp_from": "whatsapp:+6281100"})
    ns = argparse.Namespace(broadcast_command="link", qr=tmp_path / "poster.png")
    assert cli.run(ns, settings, service.db, clock) == 0
    found = {r.text for p in ("poster.png", "poster-telegram.png")
             for r in zxingcpp.read_barcodes(Image.open(tmp_path / p))}
    assert found == {"https://wa.me/6281100?text=LANGGANAN",
                     "https://t.me/lk3mimika_bot?start=langganan"}
    ns = argparse.Namespace(broadcast_command="link", qr=tmp_path / "poster.svg")
    assert cli.run(ns, settings, service.db, clock) == 0
    assert (tmp_path / "poster.svg").read_text().startswith("<?xml")


def test_relay_sends_replies_before_broadcasts(service: Service, clock: FrozenClock,
                                               tmp_path: Path) -> None:
    """With broadcast rows due, a family's reply made later is taken first."""
    for n in range(3):
        subscribe(service, f"u{n}")
    got = create(service, clock, tmp_path)
    run(service, clock, "send", id=got["id"])
    feeder(service, clock, other_mps=100).run_once()
    clock.advance(seconds=5)
    from tests.support import send

    send(service, "x9", "halo")
    from bot.pipeline.processor import process_all

    process_all(service.processor)
    with service.db.begin() as conn:
        first = outbox.claim_due(conn, clock.now, [CHANNEL], limit=1)
    assert first[0].recipient == "x9"
    assert asyncio.run(Relay(service.db, service.senders, clock).run_once()) >= 0
