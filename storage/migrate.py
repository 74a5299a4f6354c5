"""Migrations: upgrade and downgrade a database with Alembic, from code or `lk3 db`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, column, func, inspect, select, table

HERE = Path(__file__).resolve().parent
BASE = "base"

Schema = dict[str, set[str]]  # table -> its columns


class MigrationError(Exception):
    """A revision that does not exist or cannot be reached; the message is one sentence."""


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def _run(engine: Engine, fn: str, revision: str) -> None:
    cfg = _config(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("COMMIT")  # the BEGIN IMMEDIATE listener opened one
        cfg.attributes["connection"] = conn
        try:
            getattr(command, fn)(cfg, revision)
        except CommandError as exc:
            raise MigrationError(f"{fn} to '{revision}' is not possible: "
                                 f"{str(exc).splitlines()[0]} (revisions: "
                                 f"{', '.join(revisions())}, head, base).") from None
        conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def known(revision: str) -> None:
    """MigrationError unless `revision` names a revision (or head, base, +N, -N)."""
    if revision in ("head", "heads", BASE) or (revision[:1] in "+-" and revision[1:].isdigit()):
        return
    try:
        if _scripts().get_revision(revision) is not None:
            return
    except CommandError:
        pass
    raise MigrationError(f"There is no revision '{revision}' (revisions: "
                         f"{', '.join(revisions())}, head, base).")


def downgrade(engine: Engine, revision: str) -> None:
    """Down to `revision` (a revision id, `-N` steps, or `base`: every table dropped)."""
    _run(engine, "downgrade", revision)


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return _scripts().get_current_head()


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    return [s.revision for s in reversed(list(_scripts().walk_revisions()))]


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config_for_scripts())


def _config_for_scripts() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    return cfg


def target(engine: Engine, revision: str) -> str | None:
    """The revision id a downgrade to `revision` ends at (None: base), or MigrationError."""
    known = revisions()
    now = current(engine)
    if now is not None and now not in known:
        raise MigrationError(f"The database is at revision {now}, which this lk3 does not "
                             "know (was it made by a newer version?).")
    if revision == BASE:
        return None
    if revision.startswith("-") and revision[1:].isdigit():
        at = known.index(now) + 1 if now in known else 0
        steps = int(revision[1:])
        if steps > at:
            raise MigrationError(f"The database is {at} revision(s) above base; it cannot go "
                                 f"down {steps}.")
        return known[at - steps - 1] if at - steps else None
    try:
        found = _scripts().get_revision(revision)
    except CommandError:
        found = None
    if found is None:
        raise MigrationError(f"There is no revision '{revision}' (revisions: "
                             f"{', '.join(known)}, or base).")
    if now is None or known.index(found.revision) > known.index(now):
        raise MigrationError(f"Revision {found.revision} is not below the database's "
                             f"revision ({now or 'base'}); use `lk3 db upgrade` to go up.")
    return found.revision


def _schemas(revisions_wanted: list[str | None]) -> list[Schema]:
    """The tables and columns the migrations build at each revision, on a scratch SQLite
    file (oldest first in `revisions_wanted`)."""
    from storage.db import make_engine  # storage.db does not need migrations

    out: list[Schema] = []
    with tempfile.TemporaryDirectory(prefix="lk3-schema-") as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'schema.db'}")
        try:
            for rev in revisions_wanted:
                if rev is not None:
                    upgrade(engine, rev)
                names = inspect(engine).get_table_names()
                out.append({t: {c["name"] for c in inspect(engine).get_columns(t)}
                            for t in names if t != "alembic_version"})
        finally:
            engine.dispose()
    return out


def losses(engine: Engine, to: str | None) -> list[str]:
    """What a downgrade to `to` would destroy: each dropped table that holds rows, and
    each dropped column that holds values, with how many."""
    now = current(engine)
    if now is None or now == to:
        return []
    after, before = _schemas([to, now])
    live = set(inspect(engine).get_table_names())
    out = []
    with engine.connect() as conn:
        for name in sorted(before):
            if name not in live:
                continue
            if name not in after:
                rows = conn.execute(select(func.count()).select_from(table(name))).scalar_one()
                if rows:
                    out.append(f"table {name} ({rows} row{'s' * (rows != 1)})")
                continue
            for col in sorted(before[name] - after[name]):
                n = conn.execute(select(func.count(column(col))).select_from(
                    table(name))).scalar_one()
                if n:
                    out.append(f"column {name}.{col} ({n} value{'s' * (n != 1)})")
        conn.rollback()
    return out
