"""The relationship over the years as an SVG picture: visits by direction,
agreements, and other dated events, one mark each."""

from __future__ import annotations

from html import escape

from kg import sparql
from kg.store import Engine, SelectResult

LANES = ["Visits to Japan", "Visits to Israel", "Agreements", "Other events"]
COLOURS = {
    "Visits to Japan": "#b5179e",
    "Visits to Israel": "#1d4ed8",
    "Agreements": "#0f766e",
    "Other events": "#9a6700",
}


def timeline_svg(engine: Engine, *, start: int = 1950, end: int = 2030) -> str:
    """Deterministic SVG: one row per lane, one circle per dated item, stacked in a year."""
    res = engine.query(sparql.load("timeline-items"))
    assert isinstance(res, SelectResult)
    width, left, row, top = 1000, 130, 70, 30
    span = end - start
    x = lambda year: left + (year - start) * (width - left - 20) / span  # noqa: E731
    height = top + row * len(LANES) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="tl-title" font-family="sans-serif" font-size="12">',
        '<title id="tl-title">Israel–Japan relations over the years: visits by direction, '
        "agreements and other dated events</title>",
    ]
    for year in range(start, end + 1, 10):
        parts.append(
            f'<line x1="{x(year):.1f}" y1="{top - 10}" x2="{x(year):.1f}" '
            f'y2="{height - 30}" stroke="#ddd"/>'
            f'<text x="{x(year):.1f}" y="{height - 12}" text-anchor="middle">{year}</text>'
        )
    stacks: dict[tuple[str, int], int] = {}
    counts = dict.fromkeys(LANES, 0)
    for i, lane in enumerate(LANES):
        y = top + i * row + row / 2
        parts.append(f'<text x="8" y="{y + 4:.1f}">{escape(lane)}</text>')
    for _thing, date, label, lane in res.rows:
        lane_name = lane.value  # type: ignore[union-attr]
        if lane_name not in counts:
            continue
        year = int(date.value[:4])  # type: ignore[union-attr]
        level = stacks.get((lane_name, year), 0)
        stacks[(lane_name, year)] = level + 1
        counts[lane_name] += 1
        y = top + LANES.index(lane_name) * row + row / 2 - 12 + (level % 5) * 7
        parts.append(
            f'<circle class="mark" cx="{x(year):.1f}" cy="{y:.1f}" r="5" '
            f'fill="{COLOURS[lane_name]}" fill-opacity="0.8">'
            f"<title>{escape(date.value)}: {escape(label.value)}</title></circle>"
        )  # type: ignore[union-attr]
    legend = ", ".join(f"{escape(k)}: {v}" for k, v in counts.items())
    parts.append(f"<desc>{legend}</desc></svg>")
    return "\n".join(parts) + "\n"
