"""Charts drawn on the server as inline SVG: no script, no charting library, any zoom, and
printable. Each has a title, labelled axes and a legend; the page puts a table of the exact
numbers beside it. Text goes through markupsafe's escape (store names are free text).
"""

from __future__ import annotations

import html
from typing import Any

# Colour per funnel step / series, the same on every chart so a reader learns them once.
COLOURS = {
    "scans": "#10aeff",
    "new_followers": "#07c160",
    "bookings": "#fa9d3b",
    "redemptions": "#8c61d8",
    "unsubscribes": "#fa5151",
}
FONT = 'font-family="inherit"'


def escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def _drawing(parts: list[str]) -> Any:
    from markupsafe import Markup  # lazily: see the module's docstring

    return Markup("".join(parts))  # noqa: S704 - every text in a drawing is escaped


def _nice_max(value: float) -> int:
    """A round axis maximum >= value: 1, 2, 5 x 10^n."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step * 4 >= value:
                return m * step * 4
        step *= 10


def funnel(title: str, steps: list[tuple[str, str, int]]) -> Any:
    """Horizontal bars, widest first: (key, label, value) per step, each with its count and
    its share of the step before."""
    width, left, right, bar_h, gap, top = 560, 96, 110, 30, 12, 34
    height = top + len(steps) * (bar_h + gap) + 4
    most = max((v for _, _, v in steps), default=0) or 1
    room = width - left - right
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="18" font-size="15" font-weight="700" {FONT}>{escape(title)}</text>',
    ]
    previous = None
    for i, (key, label, value) in enumerate(steps):
        y = top + i * (bar_h + gap)
        w = max(2.0, room * value / most) if value else 2.0
        x = left + (room - w) / 2
        share = ""
        if previous is not None:
            share = f"{(100 * value / previous):.0f}%" if previous else "–"
        parts += [
            f'<text x="{left - 8}" y="{y + bar_h / 2 + 5}" font-size="13" text-anchor="end" {FONT}>'
            f"{escape(label)}</text>",
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="4" fill="{COLOURS.get(key, "#999")}"/>',
            f'<text x="{width - right + 8}" y="{y + bar_h / 2 + 5}" font-size="13" font-weight="700" {FONT}>'
            f"{value}</text>",
        ]
        if share:
            parts.append(
                f'<text x="{width - right + 50}" y="{y + bar_h / 2 + 5}" font-size="12" fill="#666" {FONT}>'
                f"转化 {share}</text>"
            )
        previous = value
    parts.append("</svg>")
    return _drawing(parts)


def lines(title: str, days: list[str], series: list[tuple[str, str, list[int]]]) -> Any:
    """Daily lines: x = business days (MM-DD), y = count; (key, label, values) per series."""
    width, height = 640, 280
    left, right, top, bottom = 44, 16, 54, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    most = _nice_max(max((v for _, _, values in series for v in values), default=0))
    n = max(1, len(days) - 1)

    def x_of(i: int) -> float:
        return left + plot_w * i / n if len(days) > 1 else left + plot_w / 2

    def y_of(v: float) -> float:
        return top + plot_h - plot_h * v / most

    parts: list[str] = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="18" font-size="15" font-weight="700" {FONT}>{escape(title)}</text>',
    ]
    # legend
    x = left
    for key, label, _ in series:
        parts.append(
            f'<rect x="{x}" y="30" width="12" height="12" rx="2" fill="{COLOURS.get(key, "#999")}"/>'
        )
        parts.append(f'<text x="{x + 16}" y="40" font-size="12" {FONT}>{escape(label)}</text>')
        x += 28 + 13 * len(label)
    # y axis: gridlines at quarters, labelled
    for q in range(5):
        value = most * q / 4
        y = y_of(value)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#666" {FONT}>'
            f"{value:g}</text>"
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>'
    )
    # x axis: at most ~8 date labels
    every = max(1, (len(days) + 7) // 8)
    for i, day in enumerate(days):
        if i % every == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
                f'fill="#666" {FONT}>{escape(day[5:])}</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 4}" font-size="11" text-anchor="middle" fill="#666" {FONT}>'
        "日期</text>"
        f'<text x="12" y="{top + plot_h / 2}" font-size="11" text-anchor="middle" fill="#666" '
        f'transform="rotate(-90 12 {top + plot_h / 2})" {FONT}>人数 / 次数</text>'
    )
    # Each line thinner than the one before it, so that lines with the same numbers (a day
    # when every scan became a follower, a booking, a redemption) show as stacked stripes.
    for order, (key, label, values) in enumerate(series):
        colour = COLOURS.get(key, "#999")
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        stroke = max(1.5, 8 - 1.6 * order)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="{stroke:.1f}" stroke-linejoin="round" '
            f'points="{points}">'
            f"<title>{escape(label)}</title></polyline>"
        )
    parts.append("</svg>")
    return _drawing(parts)


def bars(title: str, rows: list[tuple[str, dict[str, int]]], keys: list[tuple[str, str]]) -> Any:
    """Grouped horizontal bars: one group per row (a staff member), one bar per key."""
    width, left, right, bar_h, top = 600, 210, 50, 12, 48
    group_h = bar_h * len(keys) + 10
    height = top + max(1, len(rows)) * group_h + 4
    most = max((values.get(k, 0) for _, values in rows for k, _ in keys), default=0) or 1
    room = width - left - right
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="18" font-size="15" font-weight="700" {FONT}>{escape(title)}</text>',
    ]
    x = left
    for key, label in keys:
        parts.append(
            f'<rect x="{x}" y="28" width="12" height="12" rx="2" fill="{COLOURS.get(key, "#999")}"/>'
        )
        parts.append(f'<text x="{x + 16}" y="38" font-size="12" {FONT}>{escape(label)}</text>')
        x += 28 + 13 * len(label)
    if not rows:
        parts.append(
            f'<text x="{left}" y="{top + 12}" font-size="12" fill="#666" {FONT}>这段时间还没有数据</text>'
        )
    for g, (name, values) in enumerate(rows):
        y0 = top + g * group_h
        parts.append(
            f'<text x="{left - 8}" y="{y0 + group_h / 2}" font-size="12" text-anchor="end" {FONT}>'
            f"{escape(name if len(name) <= 20 else name[:19] + '…')}</text>"
        )
        for b, (key, _) in enumerate(keys):
            value = values.get(key, 0)
            w = max(1.0, room * value / most)
            y = y0 + b * bar_h
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{COLOURS.get(key, "#999")}"/>'
                f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}" font-size="11" {FONT}>{value}</text>'
            )
    parts.append("</svg>")
    return _drawing(parts)


def holdout_comparison(
    title: str, report: dict[str, Any], labels: tuple[str, str] = ("收到的顾客", "对照组（未发）")
) -> Any:
    """A broadcast's (or reminders') report: conversion of recipients and of the holdout as
    bars on one 0–100 % scale, then the uplift as a point with its 95 % interval on a scale
    centred on zero (a whisker crossing zero: no measurable effect)."""
    width, left, right, bar_h, top = 640, 150, 120, 26, 34
    room = width - left - right
    rows = [("recipients", labels[0], "#07c160"), ("holdout", labels[1], "#b2b2b2")]
    uplift = report.get("uplift")
    height = top + len(rows) * (bar_h + 14) + (96 if uplift else 40)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="18" font-size="15" font-weight="700" {FONT}>{escape(title)}</text>',
    ]
    scale = max((report[k].get("conversion") or 0 for k, _, _ in rows), default=0)
    most = max(0.05, min(1.0, scale * 1.25))  # a little headroom; small rates stay visible
    for i, (key, label, colour) in enumerate(rows):
        group = report[key]
        rate = group.get("conversion")
        y = top + i * (bar_h + 14)
        w = max(2.0, room * (rate or 0) / most)
        text = "–" if rate is None else f"{100 * rate:.1f}%"
        parts += [
            f'<text x="{left - 8}" y="{y + bar_h / 2 + 5}" font-size="13" text-anchor="end" {FONT}>'
            f"{escape(label)}</text>",
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="4" fill="{colour}"/>',
            f'<text x="{left + w + 6:.1f}" y="{y + bar_h / 2 + 5}" font-size="13" font-weight="700" {FONT}>'
            f"{escape(text)}</text>",
            f'<text x="{width - right + 24}" y="{y + bar_h / 2 + 5}" font-size="12" fill="#666" {FONT}>'
            f"{group['buyers']} / {group['members']} 人</text>",
        ]
    y0 = top + len(rows) * (bar_h + 14) + 10
    parts.append(
        f'<text x="{left - 8}" y="{y0 + 14}" font-size="13" text-anchor="end" {FONT}>转化率提升</text>'
    )
    if not uplift:
        parts.append(
            f'<text x="{left}" y="{y0 + 14}" font-size="12" fill="#666" {FONT}>没有对照组，无法比较</text>'
        )
    else:
        low, high, diff = uplift["low"], uplift["high"], uplift["difference"]
        span = max(abs(low), abs(high), 0.01) * 1.1
        centre = left + room / 2

        def x_of(value: float) -> float:
            return centre + (room / 2) * value / span

        axis_y = y0 + 40
        colour = "#07c160" if low > 0 else "#fa5151" if high < 0 else "#fa9d3b"
        parts += [
            f'<line x1="{left}" y1="{axis_y}" x2="{left + room}" y2="{axis_y}" stroke="#e5e5e5"/>',
            f'<line x1="{centre}" y1="{axis_y - 18}" x2="{centre}" y2="{axis_y + 18}" stroke="#999" '
            'stroke-dasharray="3 3"/>',
            f'<text x="{centre}" y="{axis_y + 32}" font-size="11" text-anchor="middle" fill="#666" {FONT}>0</text>',
            f'<line x1="{x_of(low):.1f}" y1="{axis_y}" x2="{x_of(high):.1f}" y2="{axis_y}" stroke="{colour}" '
            'stroke-width="4" stroke-linecap="round"/>',
            f'<circle cx="{x_of(diff):.1f}" cy="{axis_y}" r="7" fill="{colour}"/>',
            f'<text x="{x_of(low):.1f}" y="{axis_y - 12}" font-size="11" text-anchor="middle" fill="#666" {FONT}>'
            f"{100 * low:+.1f}</text>",
            f'<text x="{x_of(high):.1f}" y="{axis_y - 12}" font-size="11" text-anchor="middle" fill="#666" {FONT}>'
            f"{100 * high:+.1f}</text>",
            f'<text x="{width - right + 24}" y="{axis_y + 5}" font-size="13" font-weight="700" {FONT}>'
            f"{100 * diff:+.1f} 个百分点</text>",
            f'<text x="{left}" y="{axis_y + 32}" font-size="11" fill="#666" {FONT}>95% 置信区间</text>',
        ]
    parts.append("</svg>")
    return _drawing(parts)
