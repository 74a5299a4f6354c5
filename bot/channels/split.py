"""Split long texts at a provider's limit on paragraph, then sentence, then word boundaries."""

from __future__ import annotations

import re

LIMITS = {"telegram": 4096, "whatsapp": 1600}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def split_text(text: str, limit: int) -> list[str]:
    """Parts no longer than `limit`, in order, joined back they read as the original."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        joiner = "" if not current else ("\n\n" if piece[1] == "para" else
                                         "\n" if piece[1] == "line" else " ")
        if len(current) + len(joiner) + len(piece[0]) <= limit:
            current += joiner + piece[0]
        else:
            if current:
                parts.append(current)
            current = piece[0]
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[tuple[str, str]]:
    """Units no longer than `limit`, each with how it joined the previous one."""
    out: list[tuple[str, str]] = []
    for p, para in enumerate(text.split("\n\n")):
        for i, line in enumerate(para.split("\n")):
            how = "para" if p and not i else "line" if i else "para"
            for j, sentence in enumerate(_SENTENCE.split(line)):
                for k, chunk in enumerate(_hard(sentence, limit)):
                    out.append((chunk, how if not (j or k) else "space"))
    return out


def _hard(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    words, chunks, current = sentence.split(" "), [], ""
    for word in words:
        while len(word) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            chunks.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        chunks.append(current)
    return chunks


def choice_lines(choices: list[dict[str, object]]) -> str:
    """Choices as numbered lines, the way WhatsApp (and the terminal) show them."""
    return "\n".join(f"{c['number']}. {c['label']}" for c in choices)


def split_reply(channel: str, text: str,
                choices: list[dict[str, object]]) -> list[tuple[str, list[dict[str, object]]]]:
    """One reply as messages that fit the channel; the choices go with the last part.

    On WhatsApp the numbered choice lines are part of the body, so they count too.
    """
    limit = LIMITS.get(channel)
    if limit is None:
        return [(text, choices)]
    reserve = len(choice_lines(choices)) + 1 if channel == "whatsapp" and choices else 0
    parts = split_text(text, limit)
    if len(parts[-1]) + reserve > limit:
        parts = parts[:-1] + split_text(parts[-1], max(1, limit - reserve))
    return [(p, choices if i == len(parts) - 1 else []) for i, p in enumerate(parts)]
