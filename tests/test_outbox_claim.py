"""The relay's claim reads a recipient's open rows by index, never its whole history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, insert

from storage import outbox
from storage.models import OutboxMessage


def test_the_head_of_line_question_is_answered_by_the_open_rows_index(
        sqlite_db: Engine) -> None:
    """A counselor with many earlier alerts: the claim's 'is an earlier row still open'
    subquery searches the partial index of open rows (SQLite's plan says so)."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    row = {"channel": "telegram", "recipient": "c1", "contact_id": None, "case_id": None,
           "payload": {"text": "x"}, "status": "sent", "attempts": 1, "available_at": now,
           "created_at": now}
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "outbox_1" in statement:
            seen.append((statement, parameters))

    with sqlite_db.begin() as conn:
        conn.execute(insert(OutboxMessage), [{**row, "dedupe_key": f"k{i}"} for i in range(200)])
        conn.execute(insert(OutboxMessage), {**row, "dedupe_key": "p", "status": "pending"})
    event.listen(sqlite_db, "before_cursor_execute", keep)
    with sqlite_db.begin() as conn:
        assert [r.recipient for r in outbox.claim_due(conn, now, ["telegram"])] == ["c1"]
    event.remove(sqlite_db, "before_cursor_execute", keep)
    (statement, parameters), = seen
    with sqlite_db.connect() as conn:
        plan = " ".join(str(r[3]) for r in conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "SEARCH outbox_1 USING INDEX ix_outbox_open_recipient" in plan, plan
