"""What the database must hold after `lk3 bench`'s pipeline run: every family's case waiting
in the state the engine predicted, nothing unprocessed or failed, every reply in the outbox."""

from __future__ import annotations

from sqlalchemy import Engine, select, text

from bot.bench.families import CHANNEL
from storage.conversations import CONTACTS, CONVS


def checks(db: Engine, expected: dict[str, str]) -> dict[str, int]:
    """What the database holds after the run; `expected`: each family's final state."""
    queries = {
        "waiting cases": "SELECT count(*) FROM cases WHERE status = 'waiting'",
        "families with a case": "SELECT count(DISTINCT contact_id) FROM cases",
        "unprocessed": "SELECT count(*) FROM inbox WHERE processed_at IS NULL",
        "failed attempts": "SELECT count(*) FROM inbox WHERE attempts > 0",
        "outbox rows": "SELECT count(*) FROM outbox",
        "messages without a reply": (
            "SELECT count(*) FROM inbox WHERE NOT EXISTS (SELECT 1 FROM outbox "
            "WHERE dedupe_key = 'in:' || inbox.id || ':' || '0')"),
    }
    with db.connect() as conn:
        out = {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in queries.items()}
        states = conn.execute(select(CONTACTS.c.provider_user_id, CONVS.c.state).join_from(
            CONVS, CONTACTS, CONTACTS.c.id == CONVS.c.contact_id).where(
            CONTACTS.c.channel == CHANNEL)).all()  # the address opened by its column type
    out["families where the engine said"] = sum(1 for user, state in states
                                                if expected.get(user) == state)
    return out


def checks_pass(checks: dict[str, int], families: int) -> bool:
    """Every family's case waiting where the engine said, nothing unprocessed or failed,
    and every reply the engine gave in the outbox."""
    return (checks["waiting cases"] == families and checks["families with a case"] == families
            and checks["families where the engine said"] == families
            and checks["unprocessed"] == 0 and checks["failed attempts"] == 0
            and checks["messages without a reply"] == 0
            and checks["outbox rows"] == checks["outbox rows expected"])
