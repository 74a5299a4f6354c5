"""Migrations on every backend: up to head, down to base, and up again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select

from storage import migrate
from storage.clock import utc
from storage.models import Base, CaseAccess, CaseEvent, Contact, ProviderCopy
from tests.conftest import fresh_engine
from tests.support import FrozenClock
from tests.test_scheduler import open_case

TABLES = set(Base.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_to_head_creates_every_table(backend: str, tmp_path: Path) -> None:
    """An empty database upgraded to head has every table of the models, at the head revision."""
    engine = fresh_engine(backend, tmp_path, migrated=False)
    try:
        assert _tables(engine) - {"alembic_version"} == set()
        migrate.upgrade(engine)
        assert _tables(engine) == TABLES | {"alembic_version"}
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_migrations_match_the_models(backend: str, tmp_path: Path) -> None:
    """The schema the migrations build is the one the models describe (nothing to autogenerate)."""
    engine = fresh_engine(backend, tmp_path)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            conn.rollback()
        assert diff == []
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table_and_upgrade_works_again(backend: str,
                                                                       tmp_path: Path) -> None:
    """up → down → up: downgrade leaves only alembic_version, and a second upgrade rebuilds all."""
    engine = fresh_engine(backend, tmp_path, migrated=False)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        assert _tables(engine) <= {"alembic_version"}
        assert migrate.current(engine) is None
        migrate.upgrade(engine)
        assert _tables(engine) == TABLES | {"alembic_version"}
        assert migrate.current(engine) == migrate.head()
        with engine.connect() as conn:
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("inbox")}
        assert {"ix_inbox_pending", "ix_inbox_contact_pending"} <= indexes
    finally:
        engine.dispose()


def test_console_views_before_0014_become_access_records_and_back(backend: str,
                                                                  tmp_path: Path) -> None:
    """0014: the console's views, kept as audit events before it, move to the access records
    `lk3 cases audit` lists (times and actors as they were; other events stay), and back."""
    engine = fresh_engine(backend, tmp_path)
    clock = FrozenClock()
    try:
        case_id = open_case(engine, clock, "P2")
        migrate.downgrade(engine, "0013")
        first, second = clock(), clock() + timedelta(minutes=5)
        with engine.begin() as conn:
            conn.execute(insert(CaseEvent), [
                {"case_id": case_id, "contact_id": None, "actor": "counselor:7",
                 "kind": kind, "data": {}, "created_at": at}
                for kind, at in (("console_view", first), ("claim", first),
                                 ("console_live_view", second))])
        migrate.upgrade(engine)
        with engine.connect() as conn:
            moved = conn.execute(select(CaseAccess.case_id, CaseAccess.actor, CaseAccess.via,
                                        CaseAccess.reason, CaseAccess.created_at)
                                 .order_by(CaseAccess.id)).all()
            kinds = conn.execute(select(CaseEvent.kind).where(
                CaseEvent.case_id == case_id)).scalars().all()
        assert [tuple(r)[:4] for r in moved] == [(case_id, "counselor:7", "console", None),
                                                 (case_id, "counselor:7", "console_live", None)]
        assert [utc(r.created_at) for r in moved] == [first, second]
        assert "console_view" not in kinds and "console_live_view" not in kinds
        assert "claim" in kinds
        migrate.downgrade(engine, "0013")
        with engine.connect() as conn:
            kinds = conn.execute(select(CaseEvent.kind).where(
                CaseEvent.case_id == case_id)).scalars().all()
            left = conn.execute(select(CaseAccess.__table__)).all()
        assert sorted(kinds).count("console_view") == 1 and "console_live_view" in kinds
        assert left == []
    finally:
        engine.dispose()


def test_copies_pending_at_the_provider_before_0017_move_to_their_table_and_back(
        backend: str, tmp_path: Path) -> None:
    """0017: the Twilio ids an erasure request kept to delete become `provider_copies`
    rows of its contact, due at once (each once), and go back to the erasure on downgrade."""
    engine = fresh_engine(backend, tmp_path)
    clock = FrozenClock()
    requests = sa.table("privacy_requests", *(sa.column(c) for c in (
        "id", "contact_id", "kind", "status", "language", "created_at", "due_at", "closed_at",
        "alerts")), sa.column("case_ids", sa.JSON()), sa.column("provider_pending", sa.JSON()))
    try:
        open_case(engine, clock, "P2")
        migrate.downgrade(engine, "0016")
        with engine.begin() as conn:
            contact_id = conn.execute(select(Contact.id)).scalar_one()
            conn.execute(insert(requests), [
                {"id": n, "contact_id": contact_id, "kind": kind, "status": "done",
                 "case_ids": [], "language": "id", "created_at": clock(), "due_at": clock(),
                 "closed_at": clock(), "alerts": 0, "provider_pending": pending}
                for n, kind, pending in ((1, "data", []), (2, "erase", ["SM1", "MM2/ME2"]),
                                         (3, "erase", ["SM1"]))])
        migrate.upgrade(engine)
        with engine.connect() as conn:
            copies = conn.execute(select(ProviderCopy.contact_id, ProviderCopy.channel,
                                         ProviderCopy.item, ProviderCopy.attempts)
                                  .order_by(ProviderCopy.id)).all()
            due = conn.execute(select(ProviderCopy.next_at)).scalars().all()
        assert [tuple(r) for r in copies] == [(contact_id, "whatsapp", "SM1", 0),
                                              (contact_id, "whatsapp", "MM2/ME2", 0)]
        assert {utc(t) for t in due} == {clock()}
        migrate.downgrade(engine, "0016")
        with engine.connect() as conn:
            back = dict(conn.execute(select(requests.c.id, requests.c.provider_pending)).all())
        assert back == {1: [], 2: [], 3: ["SM1", "MM2/ME2"]}
    finally:
        engine.dispose()
