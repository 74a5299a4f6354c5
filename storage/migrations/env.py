"""Alembic environment: run with the connection `storage.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.db import make_engine
from storage.models import Base

config = context.config
connection = config.attributes.get("connection")


def run(conn: Connection) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:  # the alembic command line, with sqlalchemy.url set in its config
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///lk3.db")
    with engine.connect() as conn:
        run(conn)
