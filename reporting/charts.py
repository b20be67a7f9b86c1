"""Small server-rendered SVG charts: geometry only; the template draws it. No JavaScript, no CDN.

Each chart has a y axis with round ticks and the unit, the months along the x axis, and a text alternative
(a one-sentence summary, and the values as a table beside the picture) for people who cannot see it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# The viewBox: near a phone's width, so its words stay readable when the chart is scaled to fit.
WIDTH, HEIGHT = 400, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 22, 36


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float  # left edge (bars) or centre (points)
    y: float
    width: float
    height: float
    month: str  # e.g. "Oct 2026", for the table and the bar's tooltip
    short: str  # the axis label: "Oct"
    year: str  # shown under January (and the first month, when it is not December)
    value: Any
    text: str  # the value in words: "12 leads", "66.7 %", "no pickups"
    kind: str = ""  # in a paired chart, which of the two series: "recorded" or "simulated"

    @property
    def centre(self) -> float:
        return self.x + self.width / 2

    @property
    def label_x(self) -> float:
        """Where the month's name goes: under the bar, or under the middle of a pair."""
        return self.x + self.width if self.kind == "recorded" else self.centre


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    unit: str
    bars: list[Bar]
    ticks: list[Tick]
    line: str = ""  # polyline points, for percentages
    summary: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: float = HEIGHT - BOTTOM
    points: list[Bar] = field(default_factory=list)
    paired: bool = False  # two bars a month; its figures are in a table of the page, not of the chart
    per: str = "per month"  # what one bar counts, after the unit in the caption


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least `top`."""
    top = max(float(top), 1.0)
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    if step < 1:
        step = 1.0  # counts are whole numbers
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 6) for i in range(steps + 1)]


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _months(series: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    labels = []
    for index, row in enumerate(series):
        first = date.fromisoformat(row["month"] + "-01")
        # Under January, and under the first month unless January's year is right beside it.
        year = str(first.year) if first.month == 1 or (index == 0 and first.month != 12) else ""
        labels.append((first.strftime("%b %Y"), first.strftime("%b"), year))
    return labels


def _y(value: float, top: float) -> float:
    return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / top


def _summary(title: str, bars: list[Bar]) -> str:
    known = [b for b in bars if b.value is not None]
    if not known:
        return f"{title}: no figures from {bars[0].month} to {bars[-1].month}." if bars else ""
    low = min(known, key=lambda b: b.value)
    high = max(known, key=lambda b: b.value)
    return (
        f"{title}, {bars[0].month} to {bars[-1].month}: highest {high.text} ({high.month}), "
        f"lowest {low.text} ({low.month}), latest {bars[-1].text}."
    )


def bar_chart(title: str, series: list[dict[str, Any]], key: str, unit: str = "leads") -> Chart:
    values = [row[key] or 0 for row in series]
    ticks = nice_ticks(max([*values, 1]))
    top = ticks[-1]
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    bars = []
    for index, (value, (month, short, year)) in enumerate(zip(values, _months(series), strict=True)):
        y = _y(value, top)
        bars.append(
            Bar(LEFT + index * slot + slot * 0.15, y, slot * 0.7, HEIGHT - BOTTOM - y, month, short, year,
                value, f"{value} {unit}")
        )  # fmt: skip
    return Chart(
        slug=key,
        title=title,
        unit=unit,
        bars=bars,
        ticks=[Tick(_y(t, top), _number(t)) for t in ticks],
        summary=_summary(title, bars),
    )


def line_chart(title: str, series: list[dict[str, Any]], key: str, empty: str = "no data") -> Chart:
    """A percentage per month, 0 to 100 %; a month without a figure leaves a gap in the words, not a 0."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(series), 1)
    points, bars = [], []
    for index, (row, (month, short, year)) in enumerate(zip(series, _months(series), strict=True)):
        value = row[key]
        x = LEFT + index * slot + slot / 2
        y = _y(value, 100.0) if value is not None else HEIGHT - BOTTOM
        text = empty if value is None else f"{value:.1f}%"
        bars.append(Bar(x, y, 0, 0, month, short, year, value, text))
        if value is not None:
            points.append(f"{x:.1f},{y:.1f}")
    ticks = [Tick(_y(t, 100.0), _number(t)) for t in (0, 25, 50, 75, 100)]
    return Chart(
        slug=key,
        title=title,
        unit="%",
        bars=bars,
        ticks=ticks,
        line=" ".join(points),
        summary=_summary(title, bars),
        points=[b for b in bars if b.value is not None],
    )


def paired_chart(
    title: str, months: list[dict[str, Any]], key: str, unit: str = "leads", per: str = "per month"
) -> Chart:
    """Recorded beside simulated, a pair of bars a month: `months` as a simulation's results give them
    ({"month", "recorded": {...}, "simulated": {...}}). A month without the figure draws no bar."""
    pairs = [(row["recorded"].get(key), row["simulated"].get(key)) for row in months]
    ticks = nice_ticks(max([v for pair in pairs for v in pair if v is not None] + [1]))
    top = ticks[-1]
    slot = (WIDTH - LEFT - RIGHT) / max(len(pairs), 1)
    bars: dict[str, list[Bar]] = {"recorded": [], "simulated": []}
    for index, (pair, (month, short, year)) in enumerate(zip(pairs, _months(months), strict=True)):
        for offset, (kind, value) in enumerate(zip(bars, pair, strict=True)):
            y = _y(value or 0, top)
            noun = unit[:-1] if value == 1 and unit.endswith("s") else unit
            text = f"{_number(value)} {noun}" if value is not None else "no figure"
            x = LEFT + index * slot + slot * (0.1 + 0.4 * offset)
            bars[kind].append(
                Bar(x, y, slot * 0.4, HEIGHT - BOTTOM - y, month, short if offset == 0 else "",
                    year if offset == 0 else "", value, text, kind)
            )  # fmt: skip
    recorded, simulated = bars["recorded"], bars["simulated"]
    return Chart(
        slug=f"simulated-{key}",
        title=title,
        unit=unit,
        bars=[bar for pair in zip(recorded, simulated, strict=True) for bar in pair],
        ticks=[Tick(_y(t, top), _number(t)) for t in ticks],
        summary=f"{_summary(title + ', recorded', recorded)} {_summary('Simulated', simulated)}",
        paired=True,
        per=per,
    )
