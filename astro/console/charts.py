"""Chart geometry for the dashboard: the numbers its SVG templates draw (charts/*.svg.html).

Drawn on the server: no JavaScript, no CDN, the page works offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from astro.core.formatting import currency_symbol, money


def _money_tick(value: float, decimals: int) -> str:
    return f"{currency_symbol()}{value:,.{decimals}f}"


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


def _nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least `value` (a tick step people read easily)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude * 1.0000001:
            return step * magnitude
    return 10 * magnitude


def _whole_steps():
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            yield step * magnitude
        magnitude *= 10


def line_chart(series: list[tuple[date, Decimal]], *, width=600, height=200, left=64, bottom=24, top=12, right=16):
    """Geometry for an area/line chart of a daily series (rendered by charts/line.svg.html)."""
    values = [float(v) for _, v in series]
    step = _nice_step(max(values, default=0) / 4)
    top_value = step * 4
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(series) - 1, 1)

    def x(i):
        return round(left + plot_w * i / n, 1)

    def y(v):
        return round(top + plot_h * (1 - v / top_value), 1)

    points = [(x(i), y(v)) for i, v in enumerate(values)]
    line = " ".join(f"{'M' if i == 0 else 'L'}{px},{py}" for i, (px, py) in enumerate(points))
    area = f"{line} L{x(len(values) - 1)},{top + plot_h} L{left},{top + plot_h} Z" if points else ""
    # Whole currency units unless the scale is small.
    decimals = 0 if step >= 1 and float(step).is_integer() else 2
    y_ticks = [Tick(y(step * k), _money_tick(step * k, decimals)) for k in range(5)]
    step = max(len(series) // 5, 1)
    x_ticks = [Tick(x(i), day.strftime("%b %d")) for i, (day, _) in enumerate(series) if i % step == 0]
    dots = [
        {"x": px, "y": py, "title": f"{day:%b %d}: {money(value)}"}
        for (px, py), (day, value) in zip(points, series)
    ]
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": top + plot_h, "line": line, "area": area, "y_ticks": y_ticks, "x_ticks": x_ticks,
        "dots": dots, "last": dots[-1] if dots else None,
        "summary": f"from {money(values[0] if values else 0)} to {money(values[-1] if values else 0)}",
    }


SYNC_COLOURS = (("success", "Applied", "var(--astro-ok)"), ("held", "Held", "var(--astro-warn)"),
                ("failed", "Failed", "var(--astro-bad)"))


def stacked_bars(series: list[dict], *, width=600, height=200, left=40, bottom=24, top=24, right=16):
    """Geometry for daily stacked bars of sync runs by result (rendered by charts/bars.svg.html)."""
    totals = [sum(day[key] for key, _, _ in SYNC_COLOURS) for day in series]
    # Run counts: whole-number ticks (four steps of a nice whole step).
    most = max(totals, default=0)
    step = next(s for s in _whole_steps() if s * 4 >= most)
    top_value = step * 4
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(series), 1)
    bar_w = round(slot * 0.66, 1)
    bars = []
    for i, day in enumerate(series):
        bx = round(left + slot * i + (slot - bar_w) / 2, 1)
        base = top + plot_h
        segments = []
        for key, label, colour in SYNC_COLOURS:
            count = day[key]
            if not count:
                continue
            h = plot_h * count / top_value
            base -= h
            segments.append({"y": round(base, 1), "h": round(h, 1), "colour": colour, "key": key})
        title = (
            f"{day['day']:%b %d}: {day['success']} applied, {day['held']} held, {day['failed']} failed; "
            f"{day['discrepancies']} discrepancies, +{day['added']} / −{day['removed']} items"
        )
        bars.append({"x": bx, "w": bar_w, "segments": segments, "title": title,
                     "label": day["day"].strftime("%d"), "label_x": round(bx + bar_w / 2, 1),
                     "discrepancies": day["discrepancies"]})
    y_ticks = [Tick(round(top + plot_h * (1 - k / 4), 1), str(step * k)) for k in range(5)]
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": top + plot_h, "plot_h": plot_h, "bars": bars, "y_ticks": y_ticks,
        "legend": [{"label": label, "colour": colour} for _, label, colour in SYNC_COLOURS],
    }
