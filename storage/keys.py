"""The data keys (storage.crypto): from LK3_DATA_KEYS, or a key file beside the SQLite database.

LK3_DATA_KEYS is `ID:BASE64KEY,ID:BASE64KEY`, newest first: the newest seals, every one
opens, so a new key goes in front and the old one stays until `lk3 keys rotate` has sealed
everything again. Without it, a SQLite database keeps its keys in `<database>.key` (for
`lk3.db`, `lk3.db.key`; same format, one key a line, `#` comments), made mode 600 the first
time the service starts. Backups of the database are unreadable without that file, so it
must be kept too, apart from them. PostgreSQL has no file beside it: it needs LK3_DATA_KEYS.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    ColumnClause,
    Connection,
    Engine,
    Table,
    column,
    inspect,
    select,
    table,
)

from storage import crypto
from storage.db import sqlite_file
from storage.models import Base
from storage.turns import PRIVATE

log = logging.getLogger(__name__)

KEY_ID = re.compile(r"^[A-Za-z0-9-]{1,16}$")
FORMAT = ("each key is ID:BASE64KEY (an id of 1-16 letters, digits or '-', a colon, 32 random "
          "bytes in base64), newest first, separated by commas; `lk3 keys new` prints one")


class KeysError(Exception):
    """The keys cannot be had; the message is one sentence a person can act on."""


def parse(text: str) -> list[tuple[str, bytes]]:
    """The keys of LK3_DATA_KEYS or a key file, newest first; ValueError saying what is
    wrong (never quoting a key)."""
    keys: list[tuple[str, bytes]] = []
    lines = (line.split("#", 1)[0] for line in text.splitlines())  # a key file's comments
    for entry in ",".join(lines).split(","):
        entry = entry.strip()
        if not entry:
            continue
        kid, colon, encoded = entry.partition(":")
        if not colon or not KEY_ID.match(kid.strip()):
            raise ValueError(FORMAT)
        try:
            secret = base64.b64decode(encoded.strip().replace("-", "+").replace("_", "/"),
                                      validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the key of {kid.strip()} is not base64; {FORMAT}") from None
        if len(secret) != 32:
            raise ValueError(f"the key of {kid.strip()} is {len(secret)} bytes, not 32; "
                             f"{FORMAT}")
        if any(k == kid.strip() for k, _ in keys):
            raise ValueError(f"key id {kid.strip()} is there twice")
        keys.append((kid.strip(), secret))
    if not keys:
        raise ValueError(FORMAT)
    return keys


def new_key() -> str:
    """A fresh key line, `ID:BASE64KEY`, for LK3_DATA_KEYS or a key file."""
    return f"k{secrets.token_hex(3)}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def key_file(database: Path) -> Path:
    return Path(f"{database}.key")


def _read(path: Path) -> crypto.Ring:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(PRIVATE)
        log.warning("%s was open to other users (mode %o); now mode 600", path, mode)
    try:
        return crypto.Ring(parse(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise KeysError(f"The key file {path} is wrong: {exc}.") from None


def _create(path: Path) -> crypto.Ring:
    line = new_key()
    text = (f"# The data keys of {path.name.removesuffix('.key')}, newest first "
            "(README, \"Encryption at rest\").\n# Without this file the database and its "
            "backups cannot be read: keep a copy apart from the backups.\n"
            f"{line}\n")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    log.warning("created the data key file %s (mode 600): backups of the database need it, "
                "kept apart from them; without it the data cannot be read", path)
    return crypto.Ring(parse(line))


def ring_for(setting: str, engine: Engine, create: bool = True) -> crypto.Ring:
    """The keys for this database: LK3_DATA_KEYS when set (`setting`), else its key file,
    made when missing (`create`) as long as the database holds nothing sealed yet."""
    if setting.strip():
        try:
            return crypto.Ring(parse(setting))
        except ValueError as exc:
            raise KeysError(f"Setting LK3_DATA_KEYS is wrong: {exc}.") from None
    if engine.dialect.name != "sqlite":
        raise KeysError("Setting LK3_DATA_KEYS is missing: on PostgreSQL the data keys come "
                        "from it (`lk3 keys new` prints one; keep it apart from the backups).")
    database = sqlite_file(engine.url.render_as_string(hide_password=False))
    if database is None:  # in memory: the data dies with the process, and so may the key
        return crypto.Ring([("memory", secrets.token_bytes(32))])
    path = key_file(database)
    if path.exists():
        return _read(path)
    with engine.connect() as conn:
        held = held_ids(conn)
        conn.rollback()
    if held or not create:
        raise KeysError(f"The key file {path} is missing, and the database holds data sealed "
                        f"with it; put the key file back (it is kept apart from the backups) "
                        f"or set LK3_DATA_KEYS.")
    return _create(path)


def sealed_columns() -> list[tuple[Table, list[Column[Any]]]]:
    """Every table with sealed columns, and those columns (storage.models)."""
    out = []
    for t in Base.metadata.sorted_tables:
        cols = [c for c in t.columns if crypto.sealed_type(c) is not None]
        if cols:
            out.append((t, cols))
    return out


def held_ids(conn: Connection) -> set[str]:
    """The key ids of a sample of stored values (each sealed column's first and last
    value): enough to notice a database sealed with keys we do not have."""
    present = set(inspect(conn).get_table_names())
    found: set[str] = set()
    for t, cols in sealed_columns():
        if t.name not in present:
            continue
        have = {c["name"] for c in inspect(conn).get_columns(t.name)}
        for c in cols:
            if c.name not in have:
                continue
            raw: ColumnClause[Any] = column(c.name)
            ident: ColumnClause[Any] = column("id")
            for order in (ident.asc(), ident.desc()):
                value = conn.execute(select(raw).select_from(table(t.name)).where(
                    raw.is_not(None)).order_by(order).limit(1)).scalar()
                kid = crypto.key_id(value) if isinstance(value, str) else None
                if kid is not None:
                    found.add(kid)
    return found


def check(engine: Engine, ring: crypto.Ring, source: str) -> None:
    """KeysError when the database holds values sealed with a key the ring lacks."""
    with engine.connect() as conn:
        missing = held_ids(conn) - set(ring.ids)
        conn.rollback()
    if missing:
        raise KeysError(f"The database holds data sealed with key {', '.join(sorted(missing))}, "
                        f"which {source} does not have; add that key (after the newest) or "
                        "restore the key file that belongs to this database.")


def install_line(line: str) -> None:
    """Install the keys of a key line for this process (a benchmark's worker process)."""
    crypto.install(crypto.Ring(parse(line)))


@contextmanager
def throwaway() -> Iterator[str]:
    """A new key installed for this process while the block runs (a benchmark's throwaway
    database), then the keys from before again; its line, for the worker processes that
    share that database."""
    line = new_key()
    before = crypto.install(crypto.Ring(parse(line)))
    try:
        yield line
    finally:
        crypto.install(before)
