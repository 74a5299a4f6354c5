"""What a broadcast does when WhatsApp reports, after accepting a message, that it was not
delivered (Twilio status callbacks; ../shared/reference/broadcasts-console-privacy.md W7,
W11, W12, A.5): 63049, Meta chose not to deliver this marketing message now, is tried again
later with growing delays, then given up on, the person still subscribed; 63013/63021, the
template or its variable was refused, and 63016, a broadcast message that reached WhatsApp
as free text (they always go as a template: a bug), stop the whole broadcast (every later
message would fail the same way) and tell whoever reads its status; 63032, the person is in
one of Meta's experiments that holds back marketing messages, is left out of this broadcast
without a retry and stays subscribed. Opt-outs (21610, 63014) and unreachable numbers
(63024) are the contact's status, set by the channel for any message."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import Connection

from bot.broadcast import plan
from bot.broadcast.wit import quiet_until
from storage import broadcasts, outbox

MARKETING_LIMIT = "63049"
TEMPLATE_REFUSED = ("63013", "63021", "63016")  # 63016: sent without its template, a bug
META_EXPERIMENT = "63032"
RETRY_AFTER = (timedelta(hours=6), timedelta(hours=24))  # "progressively larger delays"
TRIED = "marketing_limit:"  # the recipient's reason while it is being tried again


def delivery_failed(conn: Connection, outbox_id: int, code: str | None, now: datetime,
                    quiet: tuple[time, time] | None) -> str | None:
    """What became of a broadcast message that failed with `code`: "retry", "gave_up",
    "stopped", or None (not a broadcast message, or nothing particular to do)."""
    found = broadcasts.of_outbox(conn, outbox_id)
    if found is None:
        return None
    rid, bid, reason = found
    if code == MARKETING_LIMIT:
        tries = int(reason[len(TRIED):]) if reason and reason.startswith(TRIED) else 0
        if tries >= len(RETRY_AFTER):
            broadcasts.set_reason(conn, rid, "marketing_limit")
            return "gave_up"
        at = now + RETRY_AFTER[tries]
        outbox.reopen(conn, outbox_id, quiet_until(at, quiet) or at,
                      f"WhatsApp {code}: not delivered now, tried again later", code)
        broadcasts.set_reason(conn, rid, f"{TRIED}{tries + 1}")
        return "retry"
    if code == META_EXPERIMENT:
        broadcasts.set_reason(conn, rid, "meta_experiment")
        return "skipped"
    if code in TEMPLATE_REFUSED:
        left = broadcasts.cancel(conn, bid, now, status="stopped")
        if left is not None:
            plan.audit(conn, bid, "twilio", "broadcast_stopped", now, code=code,
                       not_sent=left)
        return "stopped"
    return None
