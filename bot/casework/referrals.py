"""The institutions LK3 refers families to (`flows/referrals.yaml`, used by `/rujuk`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from flows.definition import FlowError, read_yaml

CODE = re.compile(r"[a-z0-9_]+")  # one lower-case word: `/rujuk CODE reason` splits at spaces
FIELDS = ("name", "for")


def load_referrals(path: Path, warnings: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Code -> {name, for, ...}; FlowError naming the file and the entry when it is wrong.
    A field with no value is left out, and said in `warnings`: in `{for: a, b}` the comma
    starts a new field, and the text after it is lost."""
    raw = read_yaml(path, "referrals file")
    if not isinstance(raw, Mapping) or not raw:
        raise FlowError(f"{path}: must be a mapping of CODE: {{name: ..., for: ...}}")
    out: dict[str, dict[str, str]] = {}
    for code, entry in raw.items():
        where = f"{path}: {code}"
        if not isinstance(code, str) or not CODE.fullmatch(code):
            raise FlowError(f"{where}: a code is one word of lower-case letters, digits "
                            "and _ (counselors type it after /rujuk)")
        if not isinstance(entry, Mapping):
            raise FlowError(f"{where}: must be {{name: ..., for: ...}}")
        for name in FIELDS:
            value = entry.get(name)
            if not isinstance(value, str | int | float) or not str(value).strip():
                raise FlowError(f"{where}: needs `{name}:` (a text)")
        for key in (k for k, v in entry.items() if v is None):
            (warnings if warnings is not None else []).append(
                f"{where}: `{key}` has no value; a comma inside {{...}} starts a new field, "
                "so put a text with commas in quotes")
        out[code] = {str(k): str(v) for k, v in entry.items() if v is not None}
    return out
