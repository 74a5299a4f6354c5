"""A case number the family writes ("LK3-2026-00001", "no kasus 00001", "sa pu nomor kasus
..."): heard as a case number, not as a choice (walk S-7: "sa pu nomor kasus LK3-2026-00001"
read "Maksud Anda: Saya hanya mau nomor bantuan?", for the word "nomor"). Pure: the engine
knows the words only; whose case it is, the host looks up (bot.pipeline.effects)."""

from __future__ import annotations

import re
from typing import NamedTuple

from flows.text import fold

_NAMING = r"(?:(?:no|nmr|nomor|nomer|nomber|number)\.?\s*)?(?:kasus|perkara|case)?\s*[:#]?\s*"
WHOLE = re.compile(_NAMING + r"\bLK\s*3\s*[-/ ]?\s*(20\d\d)\s*[-/ ]\s*(\d{1,5})\b",
                   re.IGNORECASE)
SERIAL = re.compile(r"\b(?:no|nmr|nomor|nomer|nomber|number)\.?\s*(?:kasus|perkara|case)"
                    r"\s*[:#]?\s*(\d{1,5})\b", re.IGNORECASE)
# words that only say whose number it is, or greet: a message of these and the number is the
# number alone ("halo kaka, ini sa pu nomor kasus")
FILLER = frozenset((
    "sa", "saya", "sy", "aku", "ini", "itu", "pu", "punya", "kami", "kita", "torang", "halo",
    "hallo", "hai", "kaka", "kak", "kk", "ibu", "bu", "bapa", "bapak", "pak", "mama", "om",
    "tanta", "yang", "dengan", "deng", "ya", "iya", "ok", "oke", "selamat", "pagi", "siang",
    "sore", "malam", "tadi", "dulu", "lama", "kemarin"))


class Told(NamedTuple):
    """A case number in a message: whole (`LK3-2026-00001`) or its serial (`00001`), and
    the message without it and the words naming it ("" where nothing else was said)."""

    number: str
    rest: str


def read(text: str) -> Told | None:
    """The case number a message names, if any."""
    found = WHOLE.search(text)
    if found is not None:
        number = f"LK3-{found.group(1)}-{int(found.group(2)):05d}"
    elif (found := SERIAL.search(text)) is not None:
        number = f"{int(found.group(1)):05d}"
    else:
        return None
    rest = f"{text[:found.start()]} {text[found.end():]}".strip()
    return Told(number, "" if set(fold(rest).split()) <= FILLER else rest)
