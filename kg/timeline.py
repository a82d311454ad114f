"""The relationship over the years as an SVG picture: visits by direction, agreements,
and other dated events, one mark each, each a link to its resource's page.

Milestones carry a label (the first item of every lane, every agreement, and what
happened before the first visit: recognition, the embassy level); every mark shows
its date and name on focus or hover, so the picture works with a keyboard and on a
touch screen; the axis ends at the last event; and :func:`timeline_items` gives the
same items as a list for a text alternative.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import NamedTuple

from kg import sparql
from kg.links import safe_href
from kg.store import Engine, SelectResult

LANES = ["Visits to Japan", "Visits to Israel", "Agreements", "Other events"]
COLOURS = {
    "Visits to Japan": "#b5179e",
    "Visits to Israel": "#1d4ed8",
    "Agreements": "#0f766e",
    "Other events": "#9a6700",
}


class Item(NamedTuple):
    iri: str
    date: str
    label: str
    lane: str
    milestone: bool = False

    @property
    def year(self) -> int:
        return int(self.date[:4])

    @property
    def href(self) -> str | None:
        """Where the item's page is served, on the same site (``None``: not a web address,
        so not a link)."""
        return safe_href(self.iri)

    @property
    def short(self) -> str:
        """The label without the year it repeats (the axis shows it)."""
        return re.sub(r"(, \d{4}(-\d\d)?| \(\d{4}\))$", "", self.label)


def timeline_items(engine: Engine) -> list[Item]:
    """Every dated item in date order, milestones marked."""
    res = engine.query(sparql.load("timeline-items"))
    assert isinstance(res, SelectResult)
    rows = [
        Item(t.value, d.value, lab.value, lane.value)  # type: ignore[union-attr]
        for t, d, lab, lane in res.rows
        if lane is not None and lane.value in LANES
    ]
    rows.sort(key=lambda i: (i.date, LANES.index(i.lane), i.iri))
    first_visit = min((i.year for i in rows if i.lane.startswith("Visits")), default=0)
    firsts = {}
    for item in rows:
        firsts.setdefault(item.lane, item.iri)
    return [
        i._replace(
            milestone=i.iri in firsts.values()
            or i.lane == "Agreements"
            or (i.lane == "Other events" and i.year < first_visit)
        )
        for i in rows
    ]


#: Labels are 12 px text slanted at 35°; two slanting the same way do not touch when
#: their baselines are this far apart, measured across the slant.
LABEL_GAP = 13.0
SIN, COS = math.sin(math.radians(35)), math.cos(math.radians(35))


def _milestone_label(
    item: Item, cx: float, cy: float, last: dict[tuple[str, bool], float]
) -> str:
    """A slanted label for a milestone's mark: above it, or below when the last label
    above is too close; with no room either way, moved right just enough, with a short
    line from the mark, so that labels never cross."""

    def across(x: float, y: float, below: bool) -> float:  # position across the slant
        return x * SIN - y * COS if below else x * SIN + y * COS

    room = {}
    for below in (False, True):
        ty = cy + 14 if below else cy - 8
        room[below] = across(cx, ty, below) - last.get((item.lane, below), -1e9)
    below = room[False] < LABEL_GAP <= room[True] or (
        room[False] < LABEL_GAP and room[True] > room[False]
    )
    ty, angle = (cy + 14, 35) if below else (cy - 8, -35)
    ax = cx + max(0.0, LABEL_GAP - room[below]) / SIN
    last[(item.lane, below)] = across(ax, ty, below)
    leader = (
        f'<line x1="{cx:.1f}" y1="{cy + (5 if below else -5):.1f}" x2="{ax:.1f}" '
        f'y2="{ty + (-4 if below else 2):.1f}" stroke="#888"/>'
        if ax > cx + 0.5
        else ""
    )
    return (
        f'{leader}<text class="milestone" font-size="10" fill="#333" '
        f'transform="translate({ax:.1f},{ty:.1f}) '
        f'rotate({angle})">{escape(item.short)}</text>'
    )


def timeline_svg(engine: Engine, *, start: int = 1950, stylesheet: str | None = None) -> str:
    """Deterministic SVG: one row per lane, one linked mark per dated item, stacked in a
    year; the axis runs from ``start`` to the last item's year.

    No ``<style>`` inside (a page's Content-Security-Policy may forbid inline styles): a
    mark's name shows on hover or focus through the rules of ``class="kg-timeline"`` in
    the site's stylesheet, linked with ``stylesheet`` when the picture stands alone.
    Without those rules the names stay hidden (each mark still has its ``<title>``)."""
    items = timeline_items(engine)
    end = max([start + 10, *(i.year + 1 for i in items)])
    width, left, row, top = 1000, 130, 78, 70
    # room on the right for the last labels, which slant up and to the right
    x = lambda year: left + (year - start) * (width - left - 160) / (end - start)  # noqa: E731
    height = top + row * len(LANES) + 40
    linked = f'<?xml-stylesheet type="text/css" href="{escape(stylesheet or "")}"?>'
    parts = [
        *([linked] if stylesheet else []),
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kg-timeline" viewBox="0 0 {width} '
        f'{height}" role="img" aria-labelledby="tl-title tl-desc" font-family="sans-serif" '
        'font-size="12">',
        '<title id="tl-title">Israel–Japan relations over the years: visits by direction, '
        "agreements and other dated events</title>",
    ]
    for year in range(start, end + 1, 10):
        parts.append(
            f'<line x1="{x(year):.1f}" y1="{top - 10}" x2="{x(year):.1f}" '
            f'y2="{height - 30}" stroke="#ddd"/>'
            f'<text x="{x(year):.1f}" y="{height - 12}" text-anchor="middle">{year}</text>'
        )
    parts.append(
        f'<text x="{x(end):.1f}" y="{height - 12}" text-anchor="middle" '
        f'font-weight="600">{end}</text>'
    )
    for i, lane in enumerate(LANES):
        parts.append(f'<text x="8" y="{top + i * row + row / 2 + 4:.1f}">{escape(lane)}</text>')
    stacks: dict[tuple[str, int], int] = {}
    counts = dict.fromkeys(LANES, 0)
    # x of the last label that slants up (False) or down (True) from each lane's marks
    last_label: dict[tuple[str, bool], float] = {}
    for item in items:
        level = stacks.get((item.lane, item.year), 0)
        stacks[(item.lane, item.year)] = level + 1
        counts[item.lane] += 1
        cx = x(
            item.year + (int(item.date[5:7]) - 0.5) / 12 if len(item.date) >= 7 else item.year + 0.5
        )
        cy = top + LANES.index(item.lane) * row + row / 2 - 12 + (level % 5) * 7
        name = escape(f"{item.date}: {item.label}")
        label = ""
        if item.milestone:
            label = _milestone_label(item, cx, cy, last_label)
        href = item.href
        parts.append(
            (f'<a href="{escape(href)}" target="_top" aria-label="{name}">' if href else "<g>")
            + f'<circle class="mark" cx="{cx:.1f}" cy="{cy:.1f}" r="5" '
            f'fill="{COLOURS[item.lane]}" fill-opacity="0.85"><title>{name}</title></circle>'
            f'{label}<text class="tip" display="none" font-weight="600" '
            f'x="{min(cx, width - 260):.1f}" y="{top - 45}">'
            f"{name}</text>{'</a>' if href else '</g>'}"
        )
    legend = ", ".join(f"{escape(k)}: {v}" for k, v in counts.items())
    parts.append(
        f'<desc id="tl-desc">{legend}; {items[0].year if items else start}–{end}</desc></svg>'
    )
    return "\n".join(parts) + "\n"
