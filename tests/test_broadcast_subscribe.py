"""Subscribing to information broadcasts: a consent of its own per topic, never by default,
ended by BERHENTI and BERHENTI INFO (issue 18, build item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from bot.service import Service
from storage.models import Contact, Subscription
from tests.support import FrozenClock
from tests.test_handoff import Person, add_staff

TOPICS = "Pilih info yang Anda mau"
CONFIRM = "dari LK3 Dinas Sosial Kabupaten Mimika"


def records(db: Engine, user: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(select(Subscription).join(
            Contact, Contact.id == Subscription.contact_id).where(
            Contact.provider_user_id == user).order_by(Subscription.id))
        return [dict(r._mapping) for r in rows]


def active(db: Engine, user: str) -> list[str]:
    return [r["topic"] for r in records(db, user) if r["status"] == "active"]


def test_langganan_from_a_poster_then_iya_records_one_consent_per_topic(
        service: Service, clock: FrozenClock) -> None:
    """A first message LANGGANAN lists the topics; "semua" then "iya" makes one record per
    topic with the texts' version, language, time and source; the confirmation names LK3
    Dinas Sosial Mimika and how to stop."""
    family = Person(service, "62812")
    first = family.say("LANGGANAN")
    assert TOPICS in first[0] and "Semua info di atas" in first[0]
    confirm = family.say("semua")
    assert CONFIRM in confirm[0] and "BERHENTI INFO" in confirm[0]
    done = family.say("iya")
    assert "LK3 Dinas Sosial Mimika" in done[0] and "BERHENTI INFO" in done[0]
    got = records(service.db, "62812")
    assert [r["topic"] for r in got] == ["layanan", "sosialisasi", "pengasuhan"]
    assert {(r["status"], r["text_version"], r["language"], r["source"]) for r in got} == {
        ("active", "broadcast-2027-01-v1", "id", "keyword")}
    assert {r["opted_in_at"].replace(tzinfo=None) for r in got} == {
        clock.now.replace(tzinfo=None)}


def test_papuan_answers_pick_a_topic_and_confirm(service: Service) -> None:
    """A topic by number, then "iyo" (Papuan Malay yes): subscribed to that topic only."""
    family = Person(service, "62813")
    family.say("langganan")
    assert "Kegiatan sosialisasi LK3 di distrik" in family.say("2")[0]
    family.say("iyo")
    assert active(service.db, "62813") == ["sosialisasi"]


def test_tidak_at_the_confirmation_subscribes_nobody(service: Service) -> None:
    """Choosing a topic and then "tra" (no) leaves no record at all."""
    family = Person(service, "62814")
    family.say("LANGGANAN")
    family.say("1")
    assert "tidak akan terima info" in family.say("tra")[0]
    assert records(service.db, "62814") == []


def test_intake_consent_is_not_a_subscription(service: Service) -> None:
    """A family that went through the whole intake and agreed is subscribed to nothing."""
    family = Person(service, "62815")
    family.intake()
    assert records(service.db, "62815") == []


def test_telegram_start_link_is_recorded_as_a_link(service: Service) -> None:
    """The poster's Telegram link arrives as `/start langganan`: source link."""
    family = Person(service, "62816")
    assert TOPICS in family.say("/start langganan")[0]
    family.say("1")
    family.say("ya")
    assert [(r["topic"], r["source"]) for r in records(service.db, "62816")] == [
        ("layanan", "link")]


def test_from_menu_mid_intake_then_back_to_the_question(service: Service) -> None:
    """MENU, the subscribe choice, a topic and yes: source menu; then the family is back
    at the intake question they were at."""
    family = Person(service, "62817")
    family.say("halo")
    menu = family.say("MENU")
    assert "Terima info kegiatan LK3" in menu[0]
    assert TOPICS in family.say("7")[0]
    family.say("3")
    said = family.say("iya")
    assert "sudah dicatat" in said[0]
    assert [(r["topic"], r["source"]) for r in records(service.db, "62817")] == [
        ("pengasuhan", "menu")]
    assert said[-1].startswith("Bagaimana Anda mau dibantu?")  # the greeting question again


def test_english_subscribe_in_english(service: Service) -> None:
    """SUBSCRIBE after switching to English: English texts, language en on the record."""
    family = Person(service, "62818")
    family.say("halo")
    family.say("BAHASA")
    assert "Choose what you want" in family.say("SUBSCRIBE")[0]
    assert "Do you agree" in family.say("1")[0]
    family.say("yes")
    assert [(r["topic"], r["language"]) for r in records(service.db, "62818")] == [
        ("layanan", "en")]


def test_berhenti_info_and_berhenti_end_every_topic(service: Service) -> None:
    """BERHENTI INFO ends every topic (the chat goes on); BERHENTI ends them too."""
    a, b = Person(service, "62819"), Person(service, "62820")
    for p in (a, b):
        p.say("LANGGANAN")
        p.say("semua")
        p.say("iya")
    assert "berhenti terima info" in a.say("BERHENTI INFO")[0]
    b.say("BERHENTI")
    for user, reason in (("62819", "keyword"), ("62820", "stop")):
        got = records(service.db, user)
        assert {(r["status"], r["opt_out_reason"]) for r in got} == {("ended", reason)}
        assert all(r["opted_out_at"] is not None for r in got)
    a.say("LANGGANAN")
    a.say("1")
    a.say("iya")
    assert active(service.db, "62819") == ["layanan"]  # subscribing again works


def test_langganan_during_a_handoff_goes_to_the_counselor(service: Service) -> None:
    """Once a counselor holds the case, LANGGANAN is the family's words to the counselor."""
    _sari_id, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62821")
    number = family.intake()
    sari.say(payload={"payload": f"take:{number}"})
    family.unread()
    assert family.say("LANGGANAN") == []
    assert f"[{number}] LANGGANAN" in [p["text"] for p in sari.unread()]
    assert records(service.db, "62821") == []


def test_the_stop_button_and_whatsapps_stop_promotions_end_every_topic(
        service: Service) -> None:
    """The button under a broadcast on Telegram ("cmd:unsubscribe") works at any question,
    as BERHENTI INFO; WhatsApp's own "Stop promotions" button sends its words as a message,
    in English or Indonesian. A button that is no command stays an ordinary answer."""
    a, b, c = Person(service, "62830"), Person(service, "62831"), Person(service, "62832")
    for p in (a, b, c):
        p.say("LANGGANAN")
        p.say("semua")
        p.say("iya")
    a.say("halo")  # in the middle of the intake's first question
    assert "berhenti terima info" in a.say(payload={"text": "", "payload": "cmd:unsubscribe"})[0]
    b.say("Stop promotions")
    c.say("Hentikan promosi")
    for user in ("62830", "62831", "62832"):
        assert active(service.db, user) == []
    d = Person(service, "62833")
    d.say("LANGGANAN")
    d.say("semua")
    d.say(payload={"text": "", "payload": "cmd:nonsense"})
    d.say("iya")
    assert active(service.db, "62833") == ["layanan", "sosialisasi", "pengasuhan"]


def test_retention_keeps_a_subscriber_and_counts_from_berhenti_info(
        service: Service, clock: FrozenClock) -> None:
    """A family who only subscribed (no case) is not erased by the 30-day rule for
    conversations without a case while subscribed; once they stop, the period runs from that
    message and then they are erased like anyone else."""
    from bot.privacy import retention

    keep, stop = Person(service, "62840"), Person(service, "62841")
    for p in (keep, stop):
        for line in ("LANGGANAN", "semua", "iya"):
            p.say(line)
    stop.say("BERHENTI INFO")
    clock.advance(days=31)
    retention.purge(service.db, clock(), "cli:t", vacuum=False)
    with service.db.connect() as conn:  # an erased contact's address is gone: by order
        status = list(conn.execute(select(Contact.status).order_by(Contact.id)).scalars())
    assert status == ["active", "erased"]
    assert active(service.db, "62840") == ["layanan", "sosialisasi", "pengasuhan"]


def test_hapus_ends_every_topic_and_the_record_says_why(
        service: Service, clock: FrozenClock) -> None:
    """A subscriber who asks HAPUS and is erased is subscribed to nothing any more (the
    consent records stay, ended `erased`), so no broadcast and no count includes them."""
    from bot.privacy import erase, provider
    from bot.privacy.cli import family_texts
    from tests.test_privacy_erase import _request

    family = Person(service, "62850")
    for line in ("LANGGANAN", "semua", "iya", "HAPUS"):
        family.say(line)
    req = _request(service.db, "erase")
    done = erase.erase(service.db, req.id, "cli:t", clock(), family_texts(), provider.nothing)
    assert done.code == 0, done.lines
    with service.db.connect() as conn:
        rows = list(conn.execute(select(Subscription.status, Subscription.opt_out_reason)))
    assert set(rows) == {("ended", "erased")} and len(rows) == 3


def test_data_copy_lists_each_subscription_with_its_version(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """DATA: the family's copy names what they subscribed to, when, under which text
    version, and when they stopped: a broadcast consent is a consent record too."""
    from bot.privacy import export
    from bot.privacy.cli import family_texts
    from tests.test_privacy_erase import _request

    family = Person(service, "62860")
    for line in ("LANGGANAN", "1", "iya", "BERHENTI INFO", "LANGGANAN", "2", "iya", "DATA"):
        family.say(line)
    req = _request(service.db, "data")
    folder = tmp_path / "exports"
    assert export.export(service.db, req.id, folder, family_texts(), clock(), False,
                         "cli:t").code == 0
    (kept,) = folder.iterdir()
    copy = json.loads(kept.read_text(encoding="utf-8"))
    assert [(s["topic"], s["ended"] is not None) for s in copy["subscriptions"]] == [
        ("layanan", True), ("sosialisasi", False)]
    shown = export.text(copy, family_texts())
    assert 'terima info LK3 "Jam layanan dan hari libur LK3" (LANGGANAN, versi ' in shown
    assert "Berhenti " in shown and "Kegiatan sosialisasi LK3 di distrik" in shown


def test_broadcasts_asked_for_and_ended_in_a_sentence(service: Service) -> None:
    """Walk S (S-14): "sa mau dapat info kegiatan parenting dari dinsos" lists the topics
    (it was thanked as a story, then an intake); "kaka jangan kirim info lagi" ends every
    topic as BERHENTI INFO does, and the family is not told their consent was withdrawn
    (it was BERHENTI)."""
    family = Person(service, "62851")
    assert TOPICS in family.say("sa mau dapat info kegiatan parenting dari dinsos")[0]
    family.say("semua")
    family.say("iya")
    assert len(active(service.db, "62851")) == 3
    said = " ".join(family.say("kaka jangan kirim info lagi"))
    assert "berhenti terima info" in said and "ditarik" not in said
    assert {(r["status"], r["opt_out_reason"]) for r in records(service.db, "62851")} == {
        ("ended", "keyword")}
