"""`lk3 serve` relays replies and its `lk3 broadcast run` child relays broadcast messages,
from the one outbox: each sends only its kind, and while a broadcast sends on a channel the
replies' rate there leaves the broadcast its share (Telegram's limit is the bot's, not a
process's). Two relays with leases of their own, as the two processes have; python-telegram-bot
against the fake Bot API on loopback; a frozen clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels import telegram
from bot.pipeline.processor import process_all
from bot.pipeline.ratelimit import RateLimit
from bot.pipeline.relay import SHARES_EVERY
from bot.service import Service
from tests.fakes.telegram_api import FakeTelegram
from tests.support import FrozenClock
from tests.test_broadcast_telegram import CHATS, broadcasts_to, six_due
from tests.test_telegram import fake, polling, text, tg  # the fixtures are shared

FAMILIES = (7_299_100_001, 7_299_100_002)


async def _writes(chat: int, tg: Service, fake: FakeTelegram,
                  polling: telegram.TelegramChannel) -> None:
    fake.queue_update(text(chat, "halo"))
    await polling.run_polling(iterations=1)
    process_all(tg.processor)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_each_relay_sends_its_kind_and_replies_leave_the_broadcast_its_rate(
        tg: Service, clock: FrozenClock, fake: FakeTelegram,
        polling: telegram.TelegramChannel, tmp_path: Path) -> None:
    await six_due(tg, fake, polling, clock, tmp_path)
    replies, broadcast = tg.relay(only="replies"), tg.relay(only="broadcasts")
    limit = tg.senders["telegram"].limit
    assert isinstance(limit, RateLimit) and limit.rate == limit.full == 30.0

    await _writes(FAMILIES[0], tg, fake, polling)
    assert await replies.run_once() == 1  # the family's reply, and no broadcast message
    assert fake.texts_to(FAMILIES[0]) and not any(broadcasts_to(fake, c) for c in CHATS)
    share = tg.settings.telegram_broadcast_mps * 0.8  # what the broadcast may take
    assert limit.rate == 30.0 - share  # a broadcast sends on Telegram: 10 a second left

    await _writes(FAMILIES[1], tg, fake, polling)
    assert await broadcast.run_once() == len(CHATS)  # the six, not the family's reply
    assert [len(broadcasts_to(fake, c)) for c in CHATS] == [1] * len(CHATS)
    assert not fake.texts_to(FAMILIES[1])
    assert await broadcast.run_once() == 0
    assert await replies.run_once() == 1 and fake.texts_to(FAMILIES[1])
    assert limit.rate == 30.0 - share  # looked again only after SHARES_EVERY

    clock.advance(seconds=SHARES_EVERY.total_seconds())
    assert await replies.run_once() == 0
    assert limit.rate == 30.0  # the broadcast's rows are all sent: the whole rate again
