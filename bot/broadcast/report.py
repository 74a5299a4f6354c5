"""A broadcast's progress and results: counts by state and channel, skips by reason,
delivery and read rates (status callbacks only move forward), opt-outs it caused, when a
WhatsApp remainder continues; as lines, JSON, or CSV rows without phone numbers."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from bot.broadcast.rates import Rates
from bot.broadcast.wit import show
from bot.broadcast.words import word
from storage import broadcasts, subscriptions

# outbox states as an officer reads them
STATE = {"pending": "queued", "sending": "queued", "needs_template": "failed",
         "undelivered": "failed", "cancelled": "cancelled"}
ORDER = ("pending", "deferred", "queued", "sent", "delivered", "read", "failed", "skipped",
         "cancelled")


def status(conn: Connection, row: broadcasts.Row, now: datetime,
           rates: Rates) -> dict[str, Any]:
    raw = broadcasts.counts(conn, row.id)
    by_state: Counter[str] = Counter()
    by_channel: dict[str, Counter[str]] = {}
    skipped: Counter[str] = Counter()
    for (channel, state, reason), n in raw.items():
        if state.startswith("queued:"):  # its outbox row's state, as an officer reads it
            state = STATE.get(state[7:], state[7:])
        by_state[state] += n
        by_channel.setdefault(channel, Counter())[state] += n
        if reason:  # skipped or deferred, or failed after WhatsApp's retries (bot.broadcast.faults)
            skipped[f"{state}:{reason.partition(':')[0]}"] += n
    reached = sum(by_state[s] for s in ("sent", "delivered", "read"))
    # only WhatsApp reports reads (Telegram says nothing once a message is accepted)
    whatsapp = by_channel.get("whatsapp", Counter())
    reached_wa = sum(whatsapp[s] for s in ("sent", "delivered", "read"))
    out: dict[str, Any] = {
        "id": row.id, "topic": row.topic, "status": row.status,
        "scheduled_at": show(row.scheduled_at), "started_at": show(row.started_at),
        "finished_at": show(row.finished_at), "recipients": row.recipients,
        "states": {s: by_state[s] for s in ORDER if by_state[s]},
        "channels": {c: dict(v) for c, v in sorted(by_channel.items())},
        "reasons": dict(sorted(skipped.items())),
        "delivered_rate": _rate(by_state["delivered"] + by_state["read"], reached),
        "read_rate": _rate(whatsapp["read"], reached_wa),
        "opt_outs": _opt_outs(conn, row, now),
    }
    wait = _whatsapp_wait(conn, row, by_channel, now, rates)
    if wait is not None:
        out["continues_at"] = show(wait)
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _opt_outs(conn: Connection, row: broadcasts.Row, now: datetime) -> int:
    """Topic subscriptions ended from the start until a day after the end."""
    if row.started_at is None:
        return 0
    return subscriptions.ended_between(conn, row.topic, row.started_at,
                                       (row.finished_at or now) + timedelta(days=1))


def _whatsapp_wait(conn: Connection, row: broadcasts.Row,
                   by_channel: dict[str, Counter[str]], now: datetime,
                   rates: Rates) -> datetime | None:
    """When WhatsApp recipients left over by the daily limit continue, if any are."""
    if row.status != "sending" or not by_channel.get("whatsapp", Counter())["pending"]:
        return None
    reached, first = broadcasts.reached_since(conn, "whatsapp", now - timedelta(hours=24))
    if reached < rates.whatsapp_daily() or first is None:
        return None
    return first + timedelta(hours=24)


CSV_HEADER = ("kontak", "saluran", "bahasa", "keadaan", "alasan", "antre_wit",
              "status_kirim", "status_terima", "status_terima_wit")


def csv_rows(conn: Connection, bid: int) -> list[tuple[str, ...]]:
    """One row per recipient for the office's spreadsheet: the contact's number in this
    database, never their phone number or chat id; states as codes, times in WIT."""
    out: list[tuple[str, ...]] = [CSV_HEADER]
    for cid, channel, language, state, reason, queued, sent, delivery, at in \
            broadcasts.recipient_rows(conn, bid):
        out.append((str(cid), channel, language, state, reason or "", _wit(queued),
                    sent or "", delivery or "", _wit(at)))
    return out


def _wit(value: datetime | None) -> str:
    return "" if value is None else show(value).removesuffix(" WIT")


def lines(report: dict[str, Any]) -> list[str]:
    """The report as an officer reads it: in Indonesian, times in WIT."""
    done = sum(n for s, n in report["states"].items()
               if s not in ("pending", "deferred", "queued"))
    total = max(1, report["recipients"])
    bar = "#" * round(20 * done / total)
    out = [f"Siaran {report['id']} · {report['topic']} · {word('status', report['status'])}",
           f"  dijadwalkan {report['scheduled_at']} · mulai {report['started_at']} · "
           f"selesai {report['finished_at']}",
           f"  [{bar:<20}] {done}/{report['recipients']}",
           "  " + _counts(report["states"])]
    for channel, states in report["channels"].items():
        out.append(f"  {word('channel', channel)}: {_counts(states)}")
    for key, n in report["reasons"].items():
        state, _, reason = key.partition(":")
        out.append(f"  {word('state', state)}, {word('reason', reason)}: {n}")
    for name in ("delivered_rate", "read_rate"):
        if report[name] is not None:
            label = "sampai" if name == "delivered_rate" else "dibaca (WhatsApp)"
            out.append(f"  {label}: {round(100 * report[name])}% dari yang terkirim")
    if report.get("continues_at"):
        out.append(f"  WhatsApp: batas harian tercapai; lanjut {report['continues_at']}")
    out.append(f"  berhenti langganan sejak dikirim: {report['opt_outs']}")
    return out


def _counts(states: dict[str, int]) -> str:
    return ", ".join(f"{word('state', s)} {n}" for s, n in states.items())
