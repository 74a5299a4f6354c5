"""Quick exit (KELUAR / EXIT): on Telegram the chat is cleared before the neutral line; on
channels that cannot delete (WhatsApp) nothing is queued but the reply. End to end with the
real python-telegram-bot against the fake Bot API, the real processor and relay."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import Engine, select

from bot.channels import telegram
from bot.channels.base import SendError
from bot.service import Service
from bot.web import create_app
from storage.models import CaseEvent, OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.support import FrozenClock, make_service
from tests.test_handoff import Person
from tests.test_telegram import FAMILY, PUBLIC, SECRET, relay_of, settle, text, tg_settings


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram.running() as f:
        yield f
        assert f.unknown == [], f"the bot called methods the fake does not know: {f.unknown}"


@pytest.fixture
def tg(db: Engine, clock: FrozenClock, fake: FakeTelegram) -> Service:
    service = make_service(db, clock)
    service.settings = tg_settings(db, fake, PUBLIC_BASE_URL=PUBLIC,
                                   TELEGRAM_WEBHOOK_SECRET=SECRET)
    return service


@pytest.fixture
async def client(tg: Service) -> AsyncIterator[httpx.AsyncClient]:
    """The web app with the Telegram webhook (the channel's sender joins the relay's)."""
    channel = telegram.build(tg)
    await channel.start()
    app = create_app(tg, run_workers=False, channels=[channel])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://lk3") as c:
        yield c
    await channel.close()


def neutral_line(service: Service, key: str = "quick_exit.telegram") -> str:
    return service.flows.bundle.catalog.text(key, "id")


async def test_keluar_on_telegram_deletes_the_chat_then_sends_the_neutral_line(
        tg: Service, clock: FrozenClock, fake: FakeTelegram, client: httpx.AsyncClient) -> None:
    """KELUAR deletes the person's and the bot's messages under 48 hours old (KELUAR too) in
    one deleteMessages call, before the neutral line; older ones are left alone."""
    relay = relay_of(tg)

    async def write(words: str) -> int:
        """The family writes; the bot answers. Returns the message's Telegram id."""
        update = text(FAMILY, words)
        r = await client.post("/webhooks/telegram", json=update,
                              headers={telegram.SECRET_HEADER: SECRET})
        assert r.status_code == 200
        await settle(tg, relay, clock)
        return int(update["message"]["message_id"])

    old = [await write("halo")]  # more than 48 hours before the exit: left alone
    old += [m.message_id for m in fake.messages_to(FAMILY)]
    clock.advance(hours=49)
    person = [await write(words) for words in ("1", "3", "LEWATI")]
    bot = [m.message_id for m in fake.messages_to(FAMILY)][len(old) - 1:]
    assert len(bot) >= 3, "the bot answered each of the three messages"
    calls = len(fake.calls)
    keluar = await write("KELUAR")

    assert fake.deleted == [(str(FAMILY), sorted([*person, keluar, *bot]))]
    assert not set(old) & set(fake.deleted_in(FAMILY))
    assert [c.method for c in fake.calls[calls:]] == ["deleteMessages", "sendMessage"]
    assert fake.texts_to(FAMILY)[-1] == neutral_line(tg)  # the chat cleared, then one line
    with tg.db.connect() as conn:
        (row,) = conn.execute(select(OutboxMessage.status, OutboxMessage.payload).where(
            OutboxMessage.dedupe_key.like("exit:%"))).all()
        (event,) = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "quick_exit")).scalars().all()
    assert row.status == "sent" and list(row.payload) == ["clear_chat"]
    assert event["chat_cleared"] is True


def test_keluar_where_messages_cannot_be_deleted_queues_only_the_reply(
        service: Service) -> None:
    """On a channel that cannot delete messages (WhatsApp, here the test channel) KELUAR
    queues no clearing: only the neutral line, and the event says the chat was not cleared."""
    family = Person(service, "62811")
    family.say("halo")
    assert family.say("KELUAR") == [neutral_line(service, "quick_exit.other")]
    with service.db.connect() as conn:
        payloads = conn.execute(select(OutboxMessage.payload)).scalars().all()
        (data,) = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "quick_exit")).scalars().all()
    assert all("clear_chat" not in p and "delete" not in p for p in payloads)
    assert data["chat_cleared"] is False


async def test_the_sender_deletes_in_calls_of_100_and_ignores_refusals(
        fake: FakeTelegram, db: Engine, clock: FrozenClock) -> None:
    """A delete payload goes out as deleteMessages of at most 100 ids; a 400 (too old,
    already gone) is not an error; a 5xx is transient, so the relay retries it."""
    service = make_service(db, clock)
    service.settings = tg_settings(db, fake)
    sender = telegram.TelegramSender(telegram.make_bot(service.settings))
    async with sender.bot:
        assert await sender.send(str(FAMILY), {"delete": list(range(1, 251))}) is None
        assert [len(ids) for _, ids in fake.deleted] == [100, 100, 50]
        assert fake.deleted_in(FAMILY) == list(range(1, 251))
        fake.fail_next("deleteMessages", status=400,
                       description="Bad Request: message can't be deleted")
        assert await sender.send(str(FAMILY), {"delete": [7]}) is None
        fake.fail_next("deleteMessages", status=502)
        with pytest.raises(SendError) as failed:
            await sender.send(str(FAMILY), {"delete": [8]})
        assert failed.value.transient
        assert fake.sent == []  # deleting sends nothing
