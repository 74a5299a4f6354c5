"""The data-rights settings in flows/retention.yaml: request deadlines and retention periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from flows.definition import FlowError, read_yaml
from flows.loader import FLOWS_DIR

PATH = FLOWS_DIR / "retention.yaml"
REQUEST_KEYS = ("due_hours", "remind_before_hours", "realert_hours")
RETENTION_KEYS = ("no_case_days", "refused_days", "inbox_days", "closed_case_days")


@dataclass(frozen=True)
class Policy:
    due: timedelta
    remind_before: timedelta
    realert: timedelta
    keep: dict[str, timedelta]  # retention rule -> how long


def _section(raw: object, path: Path, name: str, keys: tuple[str, ...]) -> dict[str, int]:
    part = raw.get(name) if isinstance(raw, dict) else None
    if not isinstance(part, dict):
        raise FlowError(f"{path}: `{name}:` is missing or not a mapping")
    out = {}
    for key in keys:
        value = part.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise FlowError(f"{path}: {name}.{key} must be a whole number above 0 "
                            f"(got {value!r})")
        out[key] = value
    unknown = sorted(set(part) - set(keys))
    if unknown:
        raise FlowError(f"{path}: {name}.{unknown[0]} is not a setting lk3 knows "
                        f"({', '.join(keys)})")
    return out


def load_policy(path: Path = PATH) -> Policy:
    """The file read and checked; FlowError naming the place of the first problem."""
    raw = read_yaml(path)
    req = _section(raw, path, "requests", REQUEST_KEYS)
    keep = _section(raw, path, "retention", RETENTION_KEYS)
    if req["remind_before_hours"] >= req["due_hours"]:
        raise FlowError(f"{path}: requests.remind_before_hours must be less than due_hours")
    return Policy(timedelta(hours=req["due_hours"]),
                  timedelta(hours=req["remind_before_hours"]),
                  timedelta(hours=req["realert_hours"]),
                  {k.removesuffix("_days"): timedelta(days=v) for k, v in keep.items()})


@cache
def policy() -> Policy:
    return load_policy()
