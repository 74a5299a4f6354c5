"""`lk3 bench`'s reference (a): raw stdlib sqlite3, one small INSERT transaction per commit,
WAL, synchronous=NORMAL; what the pipeline's messages per second are measured against."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

REFERENCE_TRANSACTIONS = 24_000


def sqlite_reference(transactions: int = REFERENCE_TRANSACTIONS, slices: int = 1) -> list[float]:
    """Raw sqlite3: one small INSERT per transaction, WAL, synchronous=NORMAL; tx/s per slice."""
    rates = []
    with tempfile.TemporaryDirectory(prefix="lk3-ref-") as tmp:
        con = sqlite3.connect(Path(tmp) / "ref.db", isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE inbox (id INTEGER PRIMARY KEY, sender TEXT NOT NULL, "
                        "payload TEXT NOT NULL, received_at TEXT NOT NULL)")
            per_slice = max(1, transactions // slices)
            for _ in range(slices):
                start = time.perf_counter()
                for i in range(per_slice):
                    con.execute("BEGIN")
                    con.execute("INSERT INTO inbox (sender, payload, received_at) "
                                "VALUES (?, ?, ?)",
                                (f"family-{i}", '{"text": "1"}', "2026-11-30 00:30:00"))
                    con.execute("COMMIT")
                rates.append(per_slice / (time.perf_counter() - start))
        finally:
            con.close()
    return rates
