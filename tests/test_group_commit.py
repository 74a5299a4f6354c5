"""Group commit of inbound messages (bot.channels.together): requests that arrive while a
store is being written are committed together, each still hears only its own outcome."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine, event, select

from bot.channels.inbound import Item
from bot.channels.together import GroupCommit
from storage.models import InboxMessage, Reject
from storage.rejects import Rejected
from tests.support import FrozenClock
from tests.test_faults_poison import database_refuses


def _commits(db: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(db, "commit", lambda conn: seen.append(1))
    return seen


def _item(n: int, **kw: Any) -> Item:
    return Item(f"sid-{n}", f"user-{n % 7}", {"text": f"pesan {n}", "payload": "",
                                               "media": [], **kw})


async def test_concurrent_requests_share_one_transaction_and_hear_their_own_answer(
        db: Engine, clock: FrozenClock) -> None:
    """Twenty webhook requests at once: all stored, in one transaction; a repeated message
    is False for its request only."""
    group = GroupCommit(db, "test", clock)
    await group.store([_item(0)])  # stored before: its repeat below is not new
    commits = _commits(db)
    answers = await asyncio.gather(*(group.store([_item(n)]) for n in range(20)))
    assert answers == [[False], *([[True]] * 19)]
    assert len(commits) == 1
    with db.connect() as conn:
        assert len(conn.execute(select(InboxMessage.id)).all()) == 20


async def test_one_bad_message_is_rejected_alone_and_the_others_are_stored(
        db: Engine, clock: FrozenClock) -> None:
    """A message the database refuses for what it holds is recorded as rejected for its
    own request; the batch's other messages are stored."""
    group = GroupCommit(db, "test", clock)
    bad = Item("sid-bad", "user-9", {"text": "unstorable words", "payload": "", "media": []})
    with database_refuses(db, "unstorable words"):
        answers = await asyncio.gather(
            group.store([_item(1)]), group.store([bad]),
            group.store([_item(2)], [Rejected("sid-r", "u", "why")]))
    assert answers == [[True], [False], [True]]
    with db.connect() as conn:
        stored = conn.execute(select(InboxMessage.provider_message_id)).scalars().all()
        refused = conn.execute(select(Reject.provider_message_id)).scalars().all()
    assert sorted(stored) == ["sid-1", "sid-2"]
    assert sorted(refused) == ["sid-bad", "sid-r"]


async def test_a_database_that_cannot_be_used_fails_every_waiting_request(
        tmp_path: Any, clock: FrozenClock) -> None:
    """No database: every request of the batch raises (the webhook answers 503 and the
    provider retries), and the next request is tried afresh."""
    from sqlalchemy import create_engine

    gone = create_engine(f"sqlite:///{tmp_path / 'missing' / 'lk3.db'}")
    group = GroupCommit(gone, "test", clock)
    results = await asyncio.gather(group.store([_item(1)]), group.store([_item(2)]),
                                   return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    again = await asyncio.gather(group.store([_item(3)]), return_exceptions=True)
    assert isinstance(again[0], Exception)
