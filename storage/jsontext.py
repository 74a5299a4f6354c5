"""JSON as the database stores it: one encoder and decoder for every path (orjson).

The processor encodes and decodes several JSON values per message (answers, flags, reply
payloads); orjson does it several times faster than the standard library. Text is UTF-8 as
is (no \\u escapes), keys may be any scalar (made strings), as `json.dumps` would.
"""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class JSONText(str):
    """JSON text encoded ahead (outside a write lock): stored as it is, or sealed as it is."""
