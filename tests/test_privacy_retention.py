"""Retention that acts: the periods of flows/retention.yaml, applied by `lk3 privacy purge`
and daily by the scheduler; the dry run's counts are the real run's, a second run removes
nothing, and open or held cases are never touched."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from bot.casework.scheduler import Scheduler
from bot.privacy import erase, retention
from bot.service import Service
from storage.models import Contact, InboxMessage, RetentionRun
from tests.support import FrozenClock
from tests.test_handoff import Person
from tests.test_privacy_erase import everything, found_in_rows
from tests.test_scheduler import hire


def test_dry_run_counts_what_the_real_run_removes_and_a_second_run_removes_nothing(
        service: Service, clock: FrozenClock) -> None:
    """Refused consent (after 7 days), no case (30 days), closed cases (5 years): erased
    as on HAPUS; old inbox payloads purged; an open case, a held closed case and a recent
    conversation untouched."""
    db = service.db
    hire(db, clock, "sup", role="supervisor", duty=False)
    refused = Person(service, "refused")
    for words in ("halo", "1", "3", "3"):  # chat, no danger, refuse consent
        refused.say(words)
    nocase = Person(service, "nocase")
    nocase.say("halo")
    nocase.say("Saya hanya bertanya tentang jam buka kantor")
    closed, held, open_ = Person(service, "closed"), Person(service, "held"), \
        Person(service, "open")
    numbers = {p.user: p.intake() for p in (closed, held, open_)}
    sup = Person(service, "sup")
    for user in ("closed", "held"):
        sup.say(f"/ambil {numbers[user]}")
        sup.say("/selesai selesai")
    erase.hold(db, numbers["held"], "rujukan perlindungan anak", "cli:t", clock())
    clock.advance(days=1830)
    recent = Person(service, "recent")
    recent.say("halo")

    dry = retention.dry_run(db, clock())
    assert dry == {"refused": 1, "no_case": 1, "closed_case": 1, "inbox": dry["inbox"]}
    assert dry["inbox"] > 20
    done = retention.purge(db, clock(), "cli:t")
    assert done == dry
    assert found_in_rows(db, "jam buka kantor") == []
    with db.connect() as conn:
        kept = set(conn.execute(select(Contact.provider_user_id)).scalars())
    assert {"held", "open", "recent"} <= kept
    assert not {"refused", "nocase", "closed"} & kept
    before = [r for r in everything(db) if r[0] != "retention_runs"]
    assert retention.dry_run(db, clock()) == {k: 0 for k in dry}
    assert retention.purge(db, clock(), "cli:t") == {k: 0 for k in dry}
    assert [r for r in everything(db) if r[0] != "retention_runs"] == before


def test_the_scheduler_applies_retention_once_a_day(service: Service,
                                                   clock: FrozenClock) -> None:
    """The scheduler's first tick of a WIT day runs the rules when something is old
    enough (old inbox payloads go, newer ones stay); nothing to do writes nothing."""
    Person(service, "fam").intake()  # an open case: only the raw payloads age out
    scheduler = Scheduler(service.db, clock)

    def runs(db: Engine) -> int:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(RetentionRun))
                       .scalar_one())

    def raw(db: Engine) -> list[object]:
        with db.connect() as conn:
            return list(conn.execute(select(InboxMessage.payload)).scalars())

    scheduler.run_once()  # nothing old yet: no run, no write
    assert runs(service.db) == 0 and {"text": "halo"} in raw(service.db)
    clock.advance(days=31)
    Person(service, "fam").say("1")  # written today: stays
    scheduler.run_once()
    assert runs(service.db) == 1
    assert [str(p) for p in raw(service.db)].count("{'purged': True}") == len(raw(
        service.db)) - 1
    clock.advance(hours=1)
    scheduler.run_once()  # the same day's later ticks do nothing
    assert runs(service.db) == 1
    clock.advance(days=31)
    scheduler.run_once()
    assert runs(service.db) == 2 and {str(p) for p in raw(service.db)} == {"{'purged': True}"}
