"""The scheduler's privacy job: requests re-announced before and after their due time,
erasures finished once their last notice is sent, erasures a released hold left deferred
opened again, the retention rules once a day, and the provider's copies of what was erased
deleted (where the service has the provider's credentials: `lk3 serve`).

Each reminder is its own short transaction with the request row locked (PostgreSQL: FOR
UPDATE; SQLite: every write transaction holds the lock) and the decision taken again on it;
the outbox key (`privacy:<request>:<n>:<counselor>`) makes a racing scheduler's copy fail
and roll back. A run at the same `now` twice does nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.privacy import access, erase, notify, provider, retention
from bot.privacy.policy import Policy, policy
from storage import privacy as store
from storage.db import reading

log = logging.getLogger(__name__)
ACTOR = "scheduler"


def due(req: store.Request, now: datetime, rules: Policy) -> str | None:
    """Which reminder an open request needs at `now`: near | overdue | None."""
    if req.status != "open" or now < req.due_at - rules.remind_before:
        return None
    last = req.last_alert_at
    if now < req.due_at:
        return "near" if last is None else None
    if last is None or last < req.due_at or now - last >= rules.realert:
        return "overdue"
    return None


def remind(db: Engine, now: datetime) -> int:
    rules = policy()
    with reading(db) as conn:
        ids = store.due_for_alert(conn, now + rules.remind_before)
    return sum(_remind_one(db, request_id, now, rules) for request_id in ids)


def _remind_one(db: Engine, request_id: int, now: datetime, rules: Policy) -> int:
    try:
        with db.begin() as conn:
            req = store.get(conn, request_id, lock=True)
            which = None if req is None else due(req, now, rules)
            if req is None or which is None:
                return 0
            key = f"privacy:{req.id}:{req.alerts + 1}"
            told = notify.alert(conn, req, "privacy.near" if which == "near"
                                else "privacy.overdue", now, key)
            store.alerted(conn, req.id, now)
            notify.audit(conn, req, ACTOR, "privacy_reminder",
                         {"which": which, "told": told}, now)
    except IntegrityError:
        log.warning("privacy request %s: another scheduler reminded first", request_id)
        return 0
    if not told:
        log.warning("privacy request %s: the %s reminder reached nobody (no supervisor)",
                    request_id, which)
    return 1


def run(db: Engine, now: datetime, deleter: provider.Deleter | None = None) -> int:
    """Everything the privacy job has to do at `now`; how many things it did."""
    done = remind(db, now) + erase.finish_all(db, now) + erase.reopen_released(db, now) + \
        retention.daily(db, now) + access.drain(db)
    if deleter is not None:
        deleted, left = provider.sweep(db, deleter, now)
        if left:
            log.warning("provider copies: %d deleted, %d to try again later", deleted, left)
        done += deleted
    return done
