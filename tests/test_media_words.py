"""Staff read what a family sent besides words in Indonesian, not the provider's code."""

from __future__ import annotations

from bot.casework import intakeview
from tests.support import flows


def test_a_voice_note_story_reads_pesan_suara_in_the_intake() -> None:
    """A grandmother's story as a voice note showed as "→ [voice]" in `cases show` (walk S,
    29): the intake says "[pesan suara]", a photo "[foto]"."""
    account = flows().flow.states["account"]
    view = intakeview.questions()
    voice = view.answer(account, "", [{"kind": "voice", "ref": "v1", "mime": "audio/ogg"}])
    photo = view.answer(account, "ini", [{"kind": "photo", "ref": "p1", "mime": "image/jpeg"}])
    assert voice == "[pesan suara]", voice
    assert photo == "ini [foto]", photo
