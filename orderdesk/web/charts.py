"""Charts drawn as SVG on the server: no JavaScript, readable without it, printable.

Each chart has axes with labelled ticks, a legend, and a tooltip (`<title>`) on every point
or bar segment, so exact values are one hover away and screen readers get a summary.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import gettext as _

from orderdesk.lib import formats

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
OTHER_COLOUR = "#999999"

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 12, 36

Number = Decimal | int


class _Texts(dict[Number, str]):
    """Each distinct value's text, formatted and escaped on first use: a chart of a year by
    day repeats a few hundred values over a few thousand dots."""

    def __init__(self, fmt: Callable[[Number], str]) -> None:
        super().__init__()
        self.fmt = fmt

    def __missing__(self, value: Number) -> str:
        text = self[value] = _escaped(self.fmt(value))
        return text


def _escaped(text: str) -> str:
    """`conditional_escape` for the plain strings of a chart's values, minus Django's lazy
    wrapper around each call (a few microseconds, thousands of times per chart)."""
    return text if isinstance(text, SafeData) else html.escape(text)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Number]
    colour: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    svg: SafeString
    legend: list[tuple[str, str]]  # (label, colour)
    summary: str


def coloured(series: Sequence[Series]) -> list[Series]:
    return [
        s if s.colour else Series(s.label, s.values, PALETTE[i % len(PALETTE)])
        for i, s in enumerate(series)
    ]


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `maximum`: 0, 250, 500, 750, 1000."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(maximum / step) + 1)]


def bucket_label(day: dt.date, granularity: str) -> str:
    """ "Mar 2026", "Week of 2 Mar 2026", "2 Mar 2026", in the active language."""
    if granularity == "month":
        return formats.skeleton("yMMM", day)
    if granularity == "week":
        return _("Week of %(day)s") % {"day": formats.date(day)}
    return formats.date(day)


def _axis_label(day: dt.date, granularity: str) -> str:
    if granularity == "month":
        return formats.skeleton("yMMM", day)
    return formats.skeleton("MMMd", day)


def _frame(
    ticks: list[float], x_labels: list[tuple[float, str]], fmt: Callable[[Number], str]
) -> list[str]:
    parts = []
    top = ticks[-1] or 1
    for tick in ticks:
        y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - tick / top)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            format_html(
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT - 6,
                f"{y + 4:.1f}",
                fmt(Decimal(str(tick))),
            )
        )
    baseline = HEIGHT - BOTTOM
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{baseline}" y2="{baseline}"/>'
    )
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{baseline}"/>')
    for x, label in x_labels:
        parts.append(
            format_html(
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{x:.1f}",
                baseline + 18,
                label,
            )
        )
    return parts


def _x_labels(
    buckets: Sequence[dt.date], granularity: str, x_of: Callable[[int], float]
) -> list[tuple[float, str]]:
    step = max(1, math.ceil(len(buckets) / 8))
    return [
        (x_of(i), _axis_label(day, granularity)) for i, day in enumerate(buckets) if i % step == 0
    ]


def _svg(parts: list[str], title: str, summary: str) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        "<title>{}</title><desc>{}</desc>{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        title,
        summary,
        mark_safe("".join(parts)),  # noqa: S308 - every part is built with format_html/escape
    )


def line_chart(
    *,
    title: str,
    buckets: Sequence[dt.date],
    granularity: str,
    series: Sequence[Series],
    fmt: Callable[[Number], str],
) -> Chart:
    """One line per series over the buckets; a dot with a tooltip on every value."""
    series = coloured(series)
    maximum = max((float(v) for s in series for v in s.values), default=0.0)
    ticks = nice_ticks(maximum)
    top = ticks[-1] or 1
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(i: int) -> float:
        if len(buckets) == 1:
            return LEFT + plot_w / 2
        return LEFT + plot_w * i / (len(buckets) - 1)

    def y_of(value: Number) -> float:
        return TOP + plot_h * (1 - float(value) / top)

    parts = _frame(ticks, _x_labels(buckets, granularity, x_of), fmt)
    # A year by day is a few thousand dots: each bucket's label and x, and each distinct
    # value's text, are formatted and escaped once per chart, not once per dot.
    xs = [f"{x_of(i):.1f}" for i in range(len(buckets))]
    labels = [conditional_escape(bucket_label(day, granularity)) for day in buckets]
    texts = _Texts(fmt)
    for s in series:
        ys = [f"{y_of(v):.1f}" for v in s.values]
        points = " ".join(f"{x},{y}" for x, y in zip(xs, ys, strict=True))
        parts.append(
            format_html(
                '<polyline class="line" fill="none" stroke="{}" stroke-width="2" points="{}"/>',
                s.colour,
                points,
            )
        )
        colour, label = conditional_escape(s.colour), conditional_escape(s.label)
        for i, value in enumerate(s.values):
            text = texts[value]
            parts.append(
                f'<circle cx="{xs[i]}" cy="{ys[i]}" r="3" fill="{colour}">'
                f"<title>{label} · {labels[i]}: {text}</title></circle>"
            )
    summary = "; ".join(
        _("%(series)s: %(total)s in total")
        % {"series": s.label, "total": fmt(sum(s.values, Decimal(0)))}
        for s in series
    )
    return Chart(title, _svg(parts, title, summary), [(s.label, s.colour) for s in series], summary)


def stacked_bar_chart(
    *,
    title: str,
    buckets: Sequence[dt.date],
    granularity: str,
    series: Sequence[Series],
    fmt: Callable[[Number], str],
) -> Chart:
    """One bar per bucket, stacked by series; each segment has a tooltip with its count."""
    series = coloured(series)
    totals = [sum((s.values[i] for s in series), Decimal(0)) for i in range(len(buckets))]
    ticks = nice_ticks(float(max(totals, default=0)))
    top = ticks[-1] or 1
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(buckets), 1)
    bar_w = max(2.0, slot * 0.7)

    def x_of(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    parts = _frame(ticks, _x_labels(buckets, granularity, x_of), fmt)
    # As in line_chart: what repeats is formatted and escaped once per chart.
    colours = [conditional_escape(s.colour) for s in series]
    names = [conditional_escape(s.label) for s in series]
    texts = _Texts(fmt)
    # A segment's share of its bar, by the whole percent it rounds to: a year by day has
    # thousands of segments but only a hundred-odd different texts.
    shares: dict[Decimal, str] = {}
    width = f"{bar_w:.1f}"
    for i, day in enumerate(buckets):
        y = float(HEIGHT - BOTTOM)
        x = f"{x_of(i) - bar_w / 2:.1f}"
        label = conditional_escape(bucket_label(day, granularity))
        for s, colour, name in zip(series, colours, names, strict=True):
            value = s.values[i]
            if not value:
                continue
            h = plot_h * float(value) / top
            y -= h
            share = ""
            if totals[i]:
                fraction = Decimal(value) / totals[i]
                key = formats.rounded_percentage(fraction, places=0)
                share = shares.get(key, "") if key is not None else ""
                if not share:
                    share = _escaped(f" ({formats.percent(fraction, places=0)})")
                    if key is not None:
                        shares[key] = share
            text = texts[value]
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{width}" height="{h:.1f}" fill="{colour}">'
                f"<title>{name} · {label}: {text}{share}</title></rect>"
            )
    summary = "; ".join(f"{s.label}: {fmt(sum(s.values, Decimal(0)))}" for s in series)
    return Chart(title, _svg(parts, title, summary), [(s.label, s.colour) for s in series], summary)
