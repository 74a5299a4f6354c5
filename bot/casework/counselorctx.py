"""The counselor chat's context: one counselor's message being handled (bot.casework.counselor), and
what the chat views (bot.casework.counselorviews) answer through."""

from __future__ import annotations

from typing import Any

from bot.casework import caseops, staff
from bot.pipeline import held


class Ctx(caseops.Act):
    """A counselor's message being handled: what they do (bot.casework.caseops), answered in
    chat."""

    def say(self, key: str, case_id: int | None = None,
            choices: list[dict[str, Any]] | None = None, **params: Any) -> None:
        staff.say(self.conn, self.me.id, key, self.now, case_id=case_id, choices=choices,
                  **params)

    def tell(self, done: caseops.Done) -> None:
        self.say(done.key, case_id=done.case_id, **done.params)
        if done.held is not None and done.key != "message_held":  # what the family waits for
            self.say("family_held", case_id=done.case_id, number=done.params.get("number", ""),
                     why=held.reason(done.held), minutes=held.minutes())
