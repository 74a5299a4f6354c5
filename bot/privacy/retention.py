"""Retention that acts: the periods of flows/retention.yaml applied, daily by the scheduler
and on demand (`lk3 privacy purge [--dry-run]`).

Rules, each counted on its own: contacts who refused consent (`refused`), conversations that
never became a case (`no_case`), closed cases past their period (`closed_case`: the contact
anonymised as on HAPUS, the case skeleton kept), and raw inbox payloads once processed
(`inbox`). Open cases and cases under a legal hold are never anonymised; neither is anyone
with a data-rights request still open. The inbox rule is everyone's: a raw payload is the
provider's copy of a message whose words the message log keeps (held cases' logs included).
The dry run reads with the same queries the real run uses, at the same `now`, so its counts
are the real run's; removed rows no longer match.
"""

from __future__ import annotations

from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine

from bot.casework.labels import wit
from bot.privacy.policy import policy
from storage import erasure
from storage import retention as rules
from storage.db import reading

RULES = ("refused", "no_case", "closed_case", "inbox")


def plan(conn: Connection, now: datetime) -> dict[str, list[int] | int]:
    """What a run at `now` removes: contact ids per rule, and how many inbox payloads."""
    keep = policy().keep
    refused = rules.refused(conn, now - keep["refused"])
    no_case = rules.no_case(conn, now - keep["no_case"], refused)
    closed = rules.closed_cases(conn, now - keep["closed_case"])
    return {"refused": refused, "no_case": no_case, "closed_case": closed,
            "inbox": rules.old_inbox(conn, now - keep["inbox"])}


def counts(found: dict[str, list[int] | int]) -> dict[str, int]:
    return {k: v if isinstance(v, int) else len(v) for k, v in found.items()}


def dry_run(db: Engine, now: datetime) -> dict[str, int]:
    with reading(db) as conn:
        return counts(plan(conn, now))


def purge(db: Engine, now: datetime, actor: str, vacuum: bool = True) -> dict[str, int]:
    """Apply every rule at `now`, in one transaction; what each removed. `vacuum`: rewrite
    the SQLite file afterwards (the operator's run; the scheduler's only checkpoints)."""
    with db.begin() as conn:
        found = plan(conn, now)
        inbox = rules.purge_inbox(conn, now - policy().keep["inbox"])  # first: as counted
        for rule in ("refused", "no_case", "closed_case"):
            ids = found[rule]
            assert isinstance(ids, list)
            for contact_id in ids:
                erasure.erase(conn, contact_id, rules.case_ids(conn, contact_id), now)
                erasure.finish(conn, contact_id, now, now)
        done = counts(found)
        done["inbox"] = inbox
        rules.record_run(conn, now, actor, done)
    if any(done.values()):
        erasure.compact(db, vacuum)
    return done


# The WIT day each database was last looked at by this process's scheduler: a throttle only
# (every process looks once a day; what it removes is decided again under the write lock).
_looked: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()


def daily(db: Engine, now: datetime) -> int:
    """The scheduler's daily run: at its first tick of a WIT day, the rules read without the
    write lock; a run (a write) only when there is something to remove."""
    day = _day(now)
    if _looked.get(db) == day:
        return 0
    with reading(db) as conn:
        last = rules.last_run(conn)
        due = any(counts(plan(conn, now)).values())
    _looked[db] = day
    if not due or (last is not None and _day(last) == day):
        return 0
    purge(db, now, "scheduler", vacuum=False)
    return 1


def _day(value: datetime) -> str:
    return wit(value, "%Y-%m-%d")
