"""`lk3 chat`: a family's conversation in the terminal, through the real pipeline."""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from typing import TextIO

from bot.channels.console import CHANNEL, ConsoleSender
from bot.pipeline.processor import Processor, process_all
from bot.service import Service
from storage import conversations, inbox, outbox

PROMPT = "Anda: "


def submit(service: Service, user: str, text: str, message_id: str) -> int | None:
    """Store one typed line in the inbox, as a channel adapter would."""
    with service.db.begin() as conn:
        return inbox.store(conn, channel=CHANNEL, provider_message_id=message_id, sender=user,
                           payload={"text": text}, now=service.clock())


async def deliver(service: Service, user: str) -> None:
    """Process the inbox and print every reply for this user before returning (whatever
    shard of LK3_PROCESSORS the user is in: the terminal's processor takes every contact)."""
    relay = service.relay(recipient=user)
    everyone = Processor(service.db, service.flows, service.clock)
    while True:
        await asyncio.to_thread(process_all, everyone)
        if await relay.run_once() == 0:
            with service.db.connect() as conn:
                left = outbox.open_for(conn, CHANNEL, user)
            if left == 0:
                return
            await asyncio.sleep(0.05)  # a retry is scheduled a moment later


async def run_chat(service: Service, user: str, lang: str, stdin: TextIO,
                   stdout: TextIO) -> int:
    interactive = stdin.isatty()
    service.senders[CHANNEL] = ConsoleSender(stdout)
    session = uuid.uuid4().hex  # message ids name the session, never the user (stored plain)
    with service.db.begin() as conn:  # a first contact starts in the language asked for
        contact = conversations.touch_contact(conn, CHANNEL, user, service.clock())
        if conversations.load(conn, contact.id) is None:
            conversations.set_language(conn, contact.id, lang)
    counter = itertools.count()
    if interactive:
        stdout.write("LK3 chat. Ketik pesan Anda; Ctrl-D untuk keluar.\n")
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        submit(service, user, line.rstrip("\n"), f"{session}:{next(counter)}")
        await deliver(service, user)
    await deliver(service, user)
    return 0


def chat(service: Service, user: str, lang: str) -> int:
    return asyncio.run(run_chat(service, user, lang, sys.stdin, sys.stdout))
