"""The weekly table as a chart (Pillow only): readable in black and white.

Two panels over the same weeks. Top: automation rate (left axis, %) and reviewer FTE (right
axis). Bottom: the escaped-error rate measured by QA sampling, with its 95 % interval as
whiskers, the true rate the simulator knows, and the target. Every series has its own dash
pattern and marker, and a legend says which is which.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from accountability.simulation.report import WeekRow

WIDTH, HEIGHT = 1000, 760
MARGIN_LEFT, MARGIN_RIGHT = 80, 80
INK, GRID, PAPER = (20, 20, 20), (215, 215, 215), (255, 255, 255)
Point = tuple[float, float]


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    dash: tuple[int, ...]  # on, off lengths in pixels; () for a solid line
    marker: str  # circle, square, triangle, diamond, none
    colour: tuple[int, int, int]
    right_axis: bool = False


def draw(rows: list[WeekRow], *, target: float | None = None, title: str = "") -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    pen = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=13)
    pen.text((MARGIN_LEFT, 14), "Simulated operations, week by week", font=font, fill=INK)
    if title:
        pen.text((MARGIN_LEFT, 34), title, font=small, fill=INK)
    weeks = [f"W{row.week} {row.start:%d %b}" for row in rows]
    automation = [_pct(row.automation_rate) for row in rows]
    fte = [row.fte for row in rows]
    top = Panel(pen, (70, 380), weeks, small)
    fte_scale = (0, _ceiling(max(fte, default=0)))
    top.axes("Automation rate (%)", (0, 100), right=("Reviewer FTE", fte_scale))
    top.plot(Series("Automation rate", automation, (), "circle", (31, 90, 160)))
    top.plot(Series("FTE (right axis)", fte, (10, 6), "square", (170, 80, 20), right_axis=True))
    top.legend()

    measured = [_pct(row.measured.rate) for row in rows]
    true = [_pct(row.true_escaped_rate) for row in rows]
    whiskers = [
        (_pct(row.measured.interval[0]), _pct(row.measured.interval[1]))
        if row.measured.samples
        else None
        for row in rows
    ]
    # Scaled to the rates, not to the intervals: a week with few samples has an interval wide
    # enough to flatten every line; its whisker is cut at the top instead (with a caret).
    rates = [v for v in measured + true if v is not None] + [1.0]
    if target is not None:
        rates.append(target * 100)
    bottom = Panel(pen, (450, 700), weeks, small)
    bottom.axes("Escaped-error rate (%)", (0, _ceiling(max(rates) * 1.5)))
    bottom.whiskers(whiskers)
    bottom.plot(Series("Escaped, QA-measured (95% interval)", measured, (), "triangle", INK))
    bottom.plot(Series("Escaped, true", true, (4, 5), "diamond", (120, 120, 120)))
    if target is not None:
        level = [target * 100] * len(rows)
        bottom.plot(Series(f"Target {target:.0%}", level, (2, 8), "none", INK))
    bottom.legend()
    pen.text((MARGIN_LEFT, HEIGHT - 30), "Week (starting)", font=small, fill=INK)
    return image


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def _ceiling(value: float) -> float:
    """A round axis maximum at or above value."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


class Panel:
    """One plotting area between y0 and y1 (pixels), weeks along x."""

    def __init__(
        self, pen: ImageDraw.ImageDraw, span: tuple[int, int], weeks: list[str], font: ImageFont
    ) -> None:
        self.pen, self.font, self.weeks = pen, font, weeks
        self.top, self.bottom = span
        self.left, self.right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
        self.scales: dict[bool, tuple[float, float]] = {}
        self.entries: list[Series] = []

    def x(self, index: int) -> float:
        if len(self.weeks) == 1:
            return (self.left + self.right) / 2
        return self.left + 30 + index * (self.right - self.left - 60) / (len(self.weeks) - 1)

    def y(self, value: float, right: bool = False) -> float:
        low, high = self.scales[right]
        return self.bottom - (value - low) / (high - low) * (self.bottom - self.top)

    def axes(
        self,
        label: str,
        scale: tuple[float, float],
        right: tuple[str, tuple[float, float]] | None = None,
    ) -> None:
        pen, font = self.pen, self.font
        self.scales[False] = scale
        for tick in range(6):
            value = scale[0] + (scale[1] - scale[0]) * tick / 5
            y = self.y(value)
            pen.line([(self.left, y), (self.right, y)], fill=GRID)
            pen.text((self.left - 8, y), _number(value), font=font, fill=INK, anchor="rm")
        pen.rectangle([self.left, self.top, self.right, self.bottom], outline=INK)
        pen.text((self.left, self.top - 20), label, font=font, fill=INK)
        if right:
            name, right_scale = right
            self.scales[True] = right_scale
            for tick in range(6):
                value = right_scale[0] + (right_scale[1] - right_scale[0]) * tick / 5
                pen.text((self.right + 8, self.y(value, True)), _number(value), font=font,
                         fill=INK, anchor="lm")  # fmt: skip
            pen.text((self.right, self.top - 20), name, font=font, fill=INK, anchor="ra")
        for index, week in enumerate(self.weeks):
            x = self.x(index)
            pen.line([(x, self.bottom), (x, self.bottom + 5)], fill=INK)
            pen.text((x, self.bottom + 8), week, font=font, fill=INK, anchor="ma")

    def plot(self, series: Series) -> None:
        self.entries.append(series)
        points = [
            (self.x(i), self.y(v, series.right_axis)) if v is not None else None
            for i, v in enumerate(series.values)
        ]
        run: list[Point] = []
        for point in [*points, None]:
            if point is None:
                _polyline(self.pen, run, series.dash, series.colour)
                run = []
            else:
                run.append(point)
        for point in points:
            if point is not None:
                _marker(self.pen, point, series.marker, series.colour)

    def whiskers(self, spans: list[tuple[float, float] | None]) -> None:
        """Vertical interval bars; one going past the top is cut there and ends in a caret."""
        for index, span in enumerate(spans):
            if span is None:
                continue
            x = self.x(index)
            low, high = self.y(span[0]), max(self.y(span[1]), self.top)
            self.pen.line([(x, low), (x, high)], fill=INK, width=1)
            self.pen.line([(x - 5, low), (x + 5, low)], fill=INK, width=1)
            if high == self.top:
                self.pen.line([(x - 5, high + 6), (x, high), (x + 5, high + 6)], fill=INK, width=1)
            else:
                self.pen.line([(x - 5, high), (x + 5, high)], fill=INK, width=1)

    def legend(self) -> None:
        row_height, width = 20, 300
        x0, y0 = self.right - width - 10, self.top + 10
        box = [x0, y0, x0 + width, y0 + 10 + row_height * len(self.entries)]
        self.pen.rectangle(box, fill=PAPER, outline=INK)
        for index, series in enumerate(self.entries):
            y = y0 + 15 + index * row_height
            _polyline(self.pen, [(x0 + 10, y), (x0 + 60, y)], series.dash, series.colour)
            _marker(self.pen, (x0 + 35, y), series.marker, series.colour)
            self.pen.text((x0 + 70, y), series.label, font=self.font, fill=INK, anchor="lm")


def _number(value: float) -> str:
    return f"{value:g}" if value >= 10 or value == int(value) else f"{value:.2g}"


def _polyline(
    pen: ImageDraw.ImageDraw, points: list[Point], dash: tuple[int, ...], colour: tuple
) -> None:
    if len(points) < 2:
        return
    if not dash:
        pen.line(points, fill=colour, width=3, joint="curve")
        return
    # Walk the line, drawing the "on" stretches of the pattern.
    pattern, at, drawing, left = list(dash), 0, True, dash[0]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        length = math.hypot(x1 - x0, y1 - y0)
        done = 0.0
        while done < length:
            stride = min(left, length - done)
            if drawing:
                start, end = done / length, (done + stride) / length
                pen.line(
                    [(x0 + (x1 - x0) * start, y0 + (y1 - y0) * start),
                     (x0 + (x1 - x0) * end, y0 + (y1 - y0) * end)],
                    fill=colour, width=3,
                )  # fmt: skip
            done += stride
            left -= stride
            if left <= 0:
                at = (at + 1) % len(pattern)
                drawing, left = not drawing, pattern[at]


MARKERS: dict[str, Callable[[float, float, float], list[Point]]] = {
    "square": lambda x, y, r: [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)],
    "triangle": lambda x, y, r: [(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)],
    "diamond": lambda x, y, r: [(x, y - r - 2), (x + r + 2, y), (x, y + r + 2), (x - r - 2, y)],
}


def _marker(pen: ImageDraw.ImageDraw, at: Point, shape: str, colour: tuple) -> None:
    x, y, r = at[0], at[1], 5
    if shape == "circle":
        pen.ellipse([x - r, y - r, x + r, y + r], fill=colour, outline=INK)
    elif shape == "diamond":
        pen.polygon(MARKERS[shape](x, y, r), fill=PAPER, outline=colour, width=2)
    elif shape in MARKERS:
        pen.polygon(MARKERS[shape](x, y, r), fill=colour, outline=INK)
