"""Migrations on every backend: up to head, down to base, and up again."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage import migrate
from storage.models import Base
from tests.conftest import fresh_engine

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
