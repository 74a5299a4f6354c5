"""Group commit for inbound messages: what arrives while one store is being written is
stored together in the next transaction.

Every webhook request (and every poll) still answers the provider only after its own rows
are committed, through the same `bot.channels.inbound.store` with its fallbacks (a message
that cannot be stored is rejected on its own, the others stored). Only the number of
transactions changes: under load, one per batch of waiting requests instead of one each,
so requests stop queueing for the SQLite writers' turn one by one. Idle, a request is a
batch of one and waits for nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine

from bot.channels.inbound import Item
from bot.channels.inbound import store as store_inbound
from storage.rejects import Rejected

Asked = tuple[list[Item], list[Rejected], "asyncio.Future[list[bool]]"]


class GroupCommit:
    def __init__(self, db: Engine, channel: str, clock: Callable[[], datetime]) -> None:
        self.db, self.channel, self.clock = db, channel, clock
        self._asked: list[Asked] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, items: Sequence[Item], rejected: Sequence[Rejected] = ()
                    ) -> list[bool]:
        """As `inbound.store`: True for each item stored now, False for one stored before
        or rejected; raises when the database cannot be used."""
        done: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        self._asked.append((list(items), list(rejected), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(done)  # a request gone away leaves the batch alone

    async def _write(self) -> None:
        while self._asked:
            batch, self._asked = self._asked, []
            items = [i for asked in batch for i in asked[0]]
            rejected = [r for asked in batch for r in asked[1]]
            try:
                stored = await asyncio.to_thread(store_inbound, self.db, self.channel, items,
                                                 rejected, self.clock())
            except Exception as exc:  # the database cannot be used: every request hears it
                for _, _, done in batch:
                    done.set_exception(exc)
                continue
            start = 0
            for asked_items, _, done in batch:
                done.set_result(stored[start:start + len(asked_items)])
                start += len(asked_items)
