"""Bar charts as SVG drawn on the server: numbers only here; the labels are escaped by the
template that draws them (templates/chart.html). No script, no style attribute (the CSP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 200


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as written beside the bar
    y: int
    width: int


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH


def bars(title: str, items: Sequence[tuple[str, float]],
         shown: list[str] | None = None) -> Chart:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    room = WIDTH - LABEL_WIDTH - 60
    top = max([v for _, v in items] + [0])
    out = []
    for n, (label, value) in enumerate(items):
        width = 0 if top <= 0 else max(1 if value > 0 else 0, round(room * value / top))
        text = shown[n] if shown else f"{value:g}"
        out.append(Bar(label, value, text, n * (BAR_HEIGHT + GAP), width))
    return Chart(title, out, max(1, len(items)) * (BAR_HEIGHT + GAP))
