"""Bar charts as geometry for inline SVG (pure): the console draws them with no script and no CDN.

A chart only ever receives published figures (:class:`bot.stats.report.Shown`): a hidden figure
has no value, so it gets no bar, only its mark (「10未満」) at the baseline; bar lengths are
scaled to the largest *visible* value. ``desc`` is the text alternative read by screen readers
(the same figures are in the table beside the chart).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

from bot.stats.report import Shown

LABEL_WIDTH = 190
VALUE_WIDTH = 70
ROW_HEIGHT = 26
BAR_HEIGHT = 16
COLUMN_WIDTH = 46
PLOT_HEIGHT = 150


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the published figure or the mark
    hidden: bool
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float
    text_x: float
    text_y: float


@dataclass(frozen=True)
class Chart:
    kind: str  # "bars" (horizontal, categories) or "columns" (vertical, months)
    title: str
    desc: str
    width: int
    height: int
    bars: Tuple[Bar, ...]
    baseline: Tuple[float, float, float, float]  # x1, y1, x2, y2 of the axis line


def _desc(items: Sequence[Tuple[str, Shown]]) -> str:
    return "、".join(f"{label} {shown.text}" for label, shown in items)


def _largest(items: Sequence[Tuple[str, Shown]]) -> int:
    return max([s.value for _, s in items if s.value is not None] + [1])


def bars(title: str, items: Sequence[Tuple[str, Shown]], width: int = 620) -> Chart:
    """Horizontal bars, one per category, longest for the largest visible figure."""
    plot = width - LABEL_WIDTH - VALUE_WIDTH
    top = 6
    largest = _largest(items)
    out: List[Bar] = []
    for i, (label, shown) in enumerate(items):
        y = top + i * ROW_HEIGHT
        length = 0.0 if shown.value is None else round(plot * shown.value / largest, 1)
        out.append(Bar(label=label, text=shown.text, hidden=shown.value is None, x=LABEL_WIDTH, y=y,
                       width=length, height=BAR_HEIGHT, label_x=LABEL_WIDTH - 8, label_y=y + BAR_HEIGHT - 3,
                       text_x=LABEL_WIDTH + length + 6, text_y=y + BAR_HEIGHT - 3))
    height = top * 2 + ROW_HEIGHT * max(1, len(items))
    return Chart("bars", title, _desc(items), width, height, tuple(out),
                 (LABEL_WIDTH, top - 2, LABEL_WIDTH, height - top))


def columns(title: str, items: Sequence[Tuple[str, Shown]]) -> Chart:
    """Vertical columns (months left to right), tallest for the largest visible figure."""
    left, top, label_room = 8, 22, 24
    largest = _largest(items)
    out: List[Bar] = []
    base = top + PLOT_HEIGHT
    for i, (label, shown) in enumerate(items):
        x = left + i * COLUMN_WIDTH
        length = 0.0 if shown.value is None else round(PLOT_HEIGHT * shown.value / largest, 1)
        out.append(Bar(label=label, text=shown.text, hidden=shown.value is None, x=x + 8, y=base - length,
                       width=COLUMN_WIDTH - 16, height=length, label_x=x + COLUMN_WIDTH / 2, label_y=base + 16,
                       text_x=x + COLUMN_WIDTH / 2, text_y=base - length - 5))
    width = left * 2 + COLUMN_WIDTH * max(1, len(items))
    return Chart("columns", title, _desc(items), width, base + label_room, tuple(out), (left, base, width - left, base))
