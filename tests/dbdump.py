"""Every column of every table, as comparable values: the net under the processor's modes.

`dump(db)` reads every row of every table the models declare and returns them with what
legitimately differs between two runs of the same conversations normalised away:

- ids: a row's own id is dropped; a reference to another row (a foreign key, or an id held
  in a text or JSON value such as a dedupe key) becomes that row's label, made from what
  identifies it in the world: a contact by its channel and user, a case by its contact and
  how many cases that contact had before, a counselor by name, an inbox row by its provider
  message id;
- random keys (the dedupe keys of staff messages and notices are random hex);
- case numbers: which family's case is numbered first depends on which processor got there
  first, so a number becomes its case's label, wherever it appears (texts, JSON);
- order: a family's rows keep their order (one contact is processed in order); rows of no
  family, and the order between families, are compared as sets.

Times are kept as they are: the runs share one frozen clock, so a time that differs is a
real difference. Nothing else is left out.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, select

from storage.models import Base

CASE_NUMBER = re.compile(r"LK3-\d{4}-\d{5}")
RANDOM_KEY = re.compile(r"^([a-z-]+):[0-9a-f]{32}$")
Dump = dict[str, list[tuple[Any, ...]]]


def _labels(rows: dict[str, list[dict[str, Any]]]) -> dict[str, dict[Any, str]]:
    """For each table referenced by id: id -> a label independent of insertion order."""
    contact = {r["id"]: f"contact {r['channel']}:{r['provider_user_id']}"
               for r in rows["contacts"]}
    counselor = {r["id"]: f"counselor {r['name']}" for r in rows["counselors"]}
    inbox = {r["id"]: f"inbox {r['channel']}:{r['provider_message_id']}" for r in rows["inbox"]}
    seen: Counter[str] = Counter()
    case: dict[Any, str] = {}
    for r in sorted(rows["cases"], key=lambda r: r["id"]):
        owner = contact.get(r["contact_id"], "no contact")
        seen[owner] += 1
        case[r["id"]] = f"case {seen[owner]} of {owner}"
    return {"contacts": contact, "counselors": counselor, "inbox": inbox, "cases": case}


def _rewrite_text(text: str, numbers: dict[str, str], ids: dict[str, dict[Any, str]]) -> str:
    text = CASE_NUMBER.sub(lambda m: numbers.get(m.group(0), m.group(0)), text)
    # dedupe keys and the like name rows by id: `in:<inbox id>:<n>`, `...:case:<id>...`
    text = re.sub(r"\bin:(\d+):", lambda m: f"in:{ids['inbox'].get(int(m.group(1)), '?')}:",
                  text)
    text = RANDOM_KEY.sub(r"\1:(random)", text)  # staff:..., notice:...: unique, random
    return re.sub(r"\bcase:(\d+)\b",
                  lambda m: f"case:{ids['cases'].get(int(m.group(1)), '?')}", text)


def _rewrite(value: Any, numbers: dict[str, str], ids: dict[str, dict[Any, str]]) -> Any:
    if isinstance(value, str):
        return _rewrite_text(value, numbers, ids)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            target = {"inbox_id": "inbox", "case_id": "cases", "counselor_id": "counselors",
                      "contact_id": "contacts"}.get(k)
            out[k] = ids[target].get(v, v) if target and isinstance(v, int) else \
                _rewrite(v, numbers, ids)
        return out
    if isinstance(value, list):
        return [_rewrite(v, numbers, ids) for v in value]
    return value


def _frozen(value: Any) -> Any:
    """A value that can be hashed and sorted with its neighbours; a time in UTC (SQLite
    gives times without a zone, PostgreSQL with one)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return value


# Columns that name another table's row without a foreign key (storage/models.py says why):
# normalised as the keys are (a staff member's inbox row names the case they acted on)
SOFT_KEYS = {("inbox", "case_id"): "cases"}


def dump(db: Engine, skip: Callable[[Table], bool] = lambda t: False) -> Dump:
    """Every table's rows, normalised as the module says; tables by name."""
    tables = [t for t in Base.metadata.sorted_tables if not skip(t)]
    with db.connect() as conn:
        rows = {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(
            *t.primary_key.columns))] for t in tables}
    ids = _labels(rows)
    numbers = {r["number"]: ids["cases"][r["id"]] for r in rows["cases"]}
    out: Dump = {}
    for table in tables:
        fks = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
        own = "id" if "id" in table.c and table.name not in ("relay_owners",) else None
        groups: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for r in rows[table.name]:
            values = []
            for name, value in r.items():
                if name == own and table.name not in ids:
                    continue  # a row's own id: only its position means something
                target = fks.get(name) or SOFT_KEYS.get((table.name, name)) or \
                    (table.name if name == own else None)
                if target is not None and value is not None:
                    value = ids[target].get(value, f"{target} {value}?")
                values.append(_frozen(_rewrite(value, numbers, ids)))
            owner = ids["contacts"].get(r.get("contact_id")) or ""
            groups[owner].append(tuple(values))
        listed: list[tuple[Any, ...]] = []
        for owner in sorted(groups):
            mine = groups[owner]
            # one family's rows in the order they were made; rows of no family as a set
            listed += [(owner, n, *v) for n, v in enumerate(mine)] if owner else \
                [(owner, 0, *v) for v in sorted(mine, key=repr)]
        out[table.name] = listed
    return out


def differences(a: Dump, b: Dump, limit: int = 2) -> list[str]:
    """What differs between two dumps, table by table, a few rows each (for a failing
    assertion's message)."""
    out = []
    for name in sorted(set(a) | set(b)):
        left, right = a.get(name, []), b.get(name, [])
        if left == right:
            continue
        only_left = [r for r in left if r not in right][:limit]
        only_right = [r for r in right if r not in left][:limit]
        out.append(f"{name}: {len(left)} rows vs {len(right)}; only in the first: "
                   f"{only_left}; only in the second: {only_right}")
    return out
