"""Small line charts of months, drawn as inline SVG on the server (no script, no CDN): they
show without JavaScript, scale to a phone's width and print as they look.

A month without a value leaves a gap in its line (no point is drawn at 0: "no data" is not
0 %); the table beside each chart gives the exact figures.
"""

from dataclasses import dataclass, field

from .scores import GRADES

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 10, 26
#: Colours of the rate lines, told apart in print too (with their dash patterns).
PALETTE = (
    ("#1565c0", ""),
    ("#2e7d32", "6 3"),
    ("#c62828", "2 3"),
    ("#6a1b9a", "8 3 2 3"),
    ("#ef6c00", "1 2"),
)


@dataclass
class Series:
    label: str
    values: list
    colour: str = "#17324d"
    dash: str = ""
    #: Filled in by ``chart``: polylines (one per run of values) and dots.
    lines: list = field(default_factory=list)
    dots: list = field(default_factory=list)


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return round(LEFT + (span * (i + 0.5) / n), 1)


def _y(value: float, top: float = 100.0) -> float:
    span = HEIGHT - TOP - BOTTOM
    value = max(0.0, min(top, float(value)))
    return round(TOP + span * (1 - value / top), 1)


def _draw(series: Series, n: int, months: list[str]) -> None:
    run: list[str] = []
    for i, value in enumerate(series.values):
        if value is None:
            if run:
                series.lines.append(" ".join(run))
            run = []
            continue
        x, y = _x(i, n), _y(value)
        run.append(f"{x},{y}")
        series.dots.append({"x": x, "y": y, "value": value, "month": months[i]})
    if run:
        series.lines.append(" ".join(run))


def chart(months: list[str], series: list[Series], *, title: str, bands: bool = False) -> dict:
    """The geometry of one chart (0–100) for ``evaluation/chart.svg.html``; ``bands`` shades
    the grade bands A–E behind it (a score chart)."""
    n = max(1, len(months))
    for item in series:
        _draw(item, n, months)
    grid = [{"y": _y(v), "label": v} for v in (0, 25, 50, 75, 100)]
    ticks = [{"x": _x(i, n), "label": m[2:] if n > 6 else m} for i, m in enumerate(months)]
    shade = []
    if bands:
        ceiling = 100.0
        for letter, floor, colour, _name in GRADES:
            floor = max(0.0, floor)
            shade.append(
                {
                    "letter": letter,
                    "colour": colour,
                    "y": _y(ceiling),
                    "height": round(_y(floor) - _y(ceiling), 1),
                    "label_y": round((_y(floor) + _y(ceiling)) / 2 + 4, 1),
                }
            )
            ceiling = floor
    return {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "plot_width": WIDTH - RIGHT - LEFT,
        "bottom": HEIGHT - BOTTOM,
        "grid": grid,
        "ticks": ticks,
        "tick_y": HEIGHT - BOTTOM + 16,
        "series": series,
        "bands": shade,
        "legend": len(series) > 1,
    }


def score_chart(trend, title: str) -> dict:
    """The score month by month, dots in the grade's colour, on the grade bands."""
    months = [p.label for p in trend.months]
    line = Series(label=title, values=[p.score for p in trend.months])
    result = chart(months, [line], title=title, bands=True)
    for dot, point in zip(line.dots, [p for p in trend.months if p.score is not None], strict=True):
        dot["colour"] = point.grade_colour
        dot["grade"] = point.grade
    return result


def rates_chart(trend, names: list[str], labels: dict, title: str) -> dict:
    """The key rates month by month, one line each."""
    months = [p.label for p in trend.months]
    series = []
    for i, name in enumerate(names):
        colour, dash = PALETTE[i % len(PALETTE)]
        values = [p.rate(name) for p in trend.months]
        series.append(Series(str(labels.get(name, name)), values, colour, dash))
    return chart(months, series, title=title)
