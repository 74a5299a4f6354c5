"""A family's broadcast subscription as the inbox processor records it: effects of the
`subscribe` and `unsubscribe` events (bot.pipeline.effects), and the opt-out every stop makes."""

from __future__ import annotations

from typing import Any

from bot.pipeline.apply import Batch, Conv
from flows.broadcast import load_topics
from storage import inbox, subscriptions

Data = dict[str, Any]


def subscribe(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    """Yes to a topic (or every topic): a consent record each, with the texts' version."""
    topics = load_topics()
    added = subscriptions.subscribe(
        batch.need(), conv.contact.id, topics.expand(str(data["topic"])),
        version=topics.version, language=str(data["language"]), source=str(data["source"]),
        now=batch.now)
    return "subscribed", {**data, "version": topics.version, "added": added}


def unsubscribe(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    """BERHENTI INFO: every topic ends, nothing queued for the contact goes."""
    ended = subscriptions.end_all(batch.need(), conv.contact.id, str(data["reason"]),
                                  batch.now)
    return "unsubscribed", {**data, "topics": ended}


def stopped(batch: Batch, conv: Conv) -> None:
    """BERHENTI / STOP: every topic ends too."""
    subscriptions.end_all(batch.need(), conv.contact.id, "stop", batch.now)


EFFECTS = {"subscribe": subscribe, "unsubscribe": unsubscribe}
