"""Staff by name where the records say `counselor:<id>` (the message log's author, the audit
trail's actor, an access record's actor)."""

from __future__ import annotations

from sqlalchemy import Connection

from bot.casework import staff
from bot.casework.staff import STAFF_LANGUAGE
from flows.actions import OTHER_AUTHOR
from storage import counselors


def speaker_key(direction: str, author: str | None) -> str:
    """The staff text naming who wrote a log row: the family, someone else on the family's
    phone (flows/phrases.yaml `writers`), a counselor, or the bot."""
    if direction == "in":
        return "speaker.other" if author == OTHER_AUTHOR else "speaker.family"
    return "speaker.staff" if str(author or "").startswith("counselor") else "speaker.bot"


def counselor_id(author: str | None) -> int | None:
    """`counselor:3` -> 3; anything else (the bot, `cli:maria`) -> None."""
    kind, _, rest = str(author or "").partition(":")
    return int(rest) if kind == "counselor" and rest.isdigit() else None


class Names:
    """Counselor names by id, removed counselors included (their history stays theirs)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[int, str | None] = {}

    def of(self, counselor_id: int) -> str | None:
        if counselor_id not in self.known:
            person = counselors.get(self.conn, counselor_id)
            self.known[counselor_id] = person.name if person else None
        return self.known[counselor_id]

    def speaker(self, direction: str, author: str | None) -> str:
        """Keluarga, Bot, or Petugas NAME: from the log row's author where it says so."""
        if direction == "in":
            return staff.text(speaker_key(direction, author))
        cid = counselor_id(author)
        if cid is None:
            return staff.text("speaker.bot")
        name = self.of(cid)
        return f"{staff.text('speaker.staff')} {name}" if name else staff.text("speaker.staff")

    def actor(self, actor: str, language: str = STAFF_LANGUAGE) -> str:
        """Who did it, in words: `Sari Wenda (petugas)`, `operator server (root)`, `bot`,
        `sistem (terjadwal)`; never the code `counselor:1` (walk V-17)."""
        cid = counselor_id(actor)
        if cid is not None:
            name = self.of(cid)
            return staff.text("actor.staff", language, name=name) if name else \
                staff.text("actor.staff_gone", language, id=cid)
        kind, _, rest = actor.partition(":")
        if kind == "cli":  # `cli:root`; `cli` where the command named no one
            return staff.text("actor.cli", language, user=rest) if rest else \
                staff.text("actor.cli_unnamed", language)
        key = f"actor.{actor}"
        return staff.text(key, language) if staff.has(key, language) else actor
