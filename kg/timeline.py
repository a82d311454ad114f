"""The relationship over the years as an SVG picture: the eras the article tells apart as
bands, then visits by direction, agreements and other dated events, one mark each, each a
link to its resource's page.

Two layouts of the same items: ``horizontal`` (years run across; for screens wide enough
to read it) and ``vertical`` (years run down, labels in a column of their own; for
phones). The page holds both and its stylesheet shows one (``style.css``, the rule under
``40em``).

Labels never overlap, by construction: every label's box is estimated from its text
(:data:`CHAR_WIDTH` per character, wide enough for common sans-serif fonts) and a label
goes to the first row (horizontal) or the first free place down the column (vertical)
where its box touches no other; the browser tests check the drawn boxes. Milestones carry
a label (the first item of every lane, every agreement, and what happened before the
first visit: recognition, the embassy level); every mark shows its date and name on focus
or hover. The picture is a group of links (``role="group"``), not an image, so that a
screen reader announces the links; the page's ``timeline.js`` makes it one Tab stop with
arrow keys inside. :func:`timeline_items` gives the same items as a list for a text
alternative.
"""

from __future__ import annotations

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
ERA_COLOURS = ["#8250df", "#0969da", "#bf3989", "#1a7f37", "#9a6700"]
#: width of one character of a label, in units of its font size (sans-serif fonts average
#: 0.5-0.6; capitals and wide fonts such as DejaVu Sans come close to 0.62)
CHAR_WIDTH = 0.64
LABEL_SIZE = 10  # px, the milestone and era labels
GAP = 4.0  # between two labels' boxes
#: a white outline under a label's letters, so that a line passing behind does not cross them
HALO = ' stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"'


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
    def when(self) -> float:
        """The date as a fractional year (the middle of its month or year)."""
        if len(self.date) >= 7:
            return self.year + (int(self.date[5:7]) - 0.5) / 12
        return self.year + 0.5

    @property
    def href(self) -> str | None:
        """Where the item's page is served, on the same site (``None``: not a web address,
        so not a link)."""
        return safe_href(self.iri)

    @property
    def short(self) -> str:
        """The label without the year it repeats (the axis shows it)."""
        return re.sub(r"(, \d{4}(-\d\d)?| \(\d{4}\))$", "", self.label)


class Era(NamedTuple):
    iri: str
    label: str
    start: str | None  # the date the source gives, or None: open
    end: str | None
    wording: str | None = None

    @property
    def href(self) -> str | None:
        return safe_href(self.iri)

    @property
    def span(self) -> str:
        """The era's dates as the source gives them: ``1952-05-15 – 1963``, ``– 1990
        (until the 1990s)``, ``2014 –``."""
        text = f"{self.start or ''} – {self.end or ''}".strip()
        return f"{text} ({self.wording})" if self.wording else text

    def years(self, first: float, last: float) -> tuple[float, float]:
        """Where the band runs: an open bound runs to the axis's end."""
        start = _fraction(self.start) if self.start else first
        end = _fraction(self.end) if self.end else last
        return start, max(end, start + 0.5)


def _fraction(date: str) -> float:
    year = int(date[:4])
    return year + (int(date[5:7]) - 1) / 12 if len(date) >= 7 else float(year)


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


def timeline_eras(engine: Engine) -> list[Era]:
    """The eras of the relation, oldest first (an era with an open start first of all)."""
    eras = [
        Era(e.value, lab.value, s.value if s else None, n.value if n else None,
            w.value if w else None)
        for e, lab, s, n, w in engine.select(sparql.load("timeline-eras"))
    ]
    return sorted(eras, key=lambda e: (e.start or "", e.end or "9999", e.iri))


def text_width(text: str, size: float = LABEL_SIZE) -> float:
    """The estimated width of ``text`` at ``size``: wide enough for common fonts."""
    return len(text) * size * CHAR_WIDTH


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between words.

    >>> wrap("Science and technology cooperation agreement", 24)
    ['Science and technology', 'cooperation agreement']
    """
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


class Rows:
    """Rows of labels: each box goes into the first row where it touches no other box."""

    def __init__(self) -> None:
        self.rows: list[list[tuple[float, float]]] = []

    def place(self, x0: float, x1: float) -> int:
        for i, row in enumerate(self.rows):
            if all(x1 + GAP <= a or x0 >= b + GAP for a, b in row):
                row.append((x0, x1))
                return i
        self.rows.append([(x0, x1)])
        return len(self.rows) - 1


def timeline_svg(
    engine: Engine,
    *,
    start: int = 1950,
    stylesheet: str | None = None,
    layout: str = "horizontal",
) -> str:
    """Deterministic SVG of the timeline in the ``horizontal`` or ``vertical`` layout.

    No ``<style>`` inside (a page's Content-Security-Policy may forbid inline styles): a
    mark's name shows on hover or focus through the rules of ``class="kg-timeline"`` in
    the site's stylesheet, linked with ``stylesheet`` when the picture stands alone.
    Without those rules the names stay hidden (each mark still has its ``<title>``)."""
    items = timeline_items(engine)
    eras = timeline_eras(engine)
    end = max([start + 10, *(i.year + 1 for i in items)])
    draw = _vertical if layout == "vertical" else _horizontal
    body, width, height = draw(items, eras, start, end)
    ids = f"tl-{layout[0]}"
    counts = {lane: sum(1 for i in items if i.lane == lane) for lane in LANES}
    legend = ", ".join(f"{escape(k)}: {v}" for k, v in counts.items())
    eras_text = "; ".join(f"{escape(e.label)} ({escape(e.span)})" for e in eras)
    linked = f'<?xml-stylesheet type="text/css" href="{escape(stylesheet or "")}"?>'
    return "\n".join([
        *([linked] if stylesheet else []),
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kg-timeline" data-layout="{layout}" '
        f'viewBox="0 0 {width} {height:.0f}" role="group" '
        f'aria-labelledby="{ids}-title" aria-describedby="{ids}-desc" '
        'font-family="sans-serif" font-size="12">',
        f'<title id="{ids}-title">Israel–Japan relations over the years: eras, visits by '
        "direction, agreements and other dated events</title>",
        f'<desc id="{ids}-desc">{legend}; {items[0].year if items else start}–{end}. '
        f"Eras: {eras_text}. Arrow keys move between the marks.</desc>",
        *body,
        "</svg>",
    ]) + "\n"


def _mark(item: Item, cx: float, cy: float, tip_x: float, tip_y: float) -> str:
    name = escape(f"{item.date}: {item.label}")
    href = item.href
    return (
        (f'<a href="{escape(href)}" target="_top" aria-label="{name}">' if href else "<g>")
        + f'<circle class="mark" cx="{cx:.1f}" cy="{cy:.1f}" r="5" '
        f'fill="{COLOURS[item.lane]}" fill-opacity="0.85"><title>{name}</title></circle>'
        f'<text class="tip" display="none" font-weight="600" x="{tip_x:.1f}" '
        f'y="{tip_y:.1f}">{name}</text>{"</a>" if href else "</g>"}'
    )


def _era_link(era: Era, inner: str) -> str:
    name = escape(f"{era.label}: {era.span}")
    if era.href:
        return f'<a href="{escape(era.href)}" target="_top" aria-label="{name}">{inner}</a>'
    return f"<g>{inner}</g>"


def _horizontal(
    items: list[Item], eras: list[Era], start: int, end: int
) -> tuple[list[str], int, float]:
    """Years across: the eras' strip on top, then one band per lane, each with rows of
    labels above its marks."""
    width, left, right = 1000, 130, 20
    x = lambda year: left + (year - start) * (width - left - right) / (end - start)  # noqa: E731
    row_h, marks_h = LABEL_SIZE + 4, 48
    parts: list[str] = []
    # the eras' strip: each era's band and label in the first row where neither touches
    strip = Rows()
    placed = []
    for era in eras:
        a, b = era.years(start, end)
        x0, x1 = x(a), x(b)
        w = text_width(era.label)
        tx = min(x0 + 3, width - 2 - w)  # inside the picture
        placed.append((era, x0, x1, tx, strip.place(min(x0, tx), max(x1, tx + w))))
    top_eras = 28  # the tip's line above
    top = top_eras + row_h * max(1, len(strip.rows)) + 8
    # the lanes: labels of milestones in rows above the marks, as many rows as needed
    lane_rows: dict[str, Rows] = {lane: Rows() for lane in LANES}
    label_at: dict[str, tuple[int, float, str]] = {}
    for item in items:
        if not item.milestone:
            continue
        cx, w = x(item.when), text_width(item.short)
        x0 = cx - 3 if cx - 3 + w <= width - 2 else cx + 3 - w  # anchored at the mark
        anchor = "start" if x0 == cx - 3 else "end"
        row = lane_rows[item.lane].place(x0, x0 + w)
        label_at[item.iri] = (row, cx - 3 if anchor == "start" else cx + 3, anchor)
    lane_top, y_of = {}, top
    for lane in LANES:
        lane_top[lane] = y_of
        y_of += row_h * len(lane_rows[lane].rows) + marks_h
    height = y_of + 30
    strip_links: list[str] = []  # after the marks: the keyboard meets the events first
    for i, (era, x0, x1, tx, row) in enumerate(placed):
        colour = ERA_COLOURS[i % len(ERA_COLOURS)]
        ey = top_eras + row * row_h
        parts.append(
            f'<rect class="era-band" x="{x0:.1f}" y="{top - 4}" width="{x1 - x0:.1f}" '
            f'height="{height - 30 - top + 4:.1f}" fill="{colour}" fill-opacity="0.07"/>'
        )
        strip_links.append(_era_link(era, (
            f'<rect x="{x0:.1f}" y="{ey}" width="{x1 - x0:.1f}" height="{row_h - 2}" '
            f'fill="{colour}" fill-opacity="0.25"><title>{escape(era.label)}: '
            f"{escape(era.span)}</title></rect>"
            f'<text class="era" x="{tx:.1f}" y="{ey + LABEL_SIZE:.1f}" '
            f'font-size="{LABEL_SIZE}" fill="#1f2328">{escape(era.label)}</text>'
        )))
    for year in range(start, end + 1, 10):
        parts.append(
            f'<line x1="{x(year):.1f}" y1="{top - 4}" x2="{x(year):.1f}" '
            f'y2="{height - 30}" stroke="#ddd"/>'
            f'<text class="axis" x="{x(year):.1f}" y="{height - 12}" '
            f'text-anchor="middle">{year}</text>'
        )
    if end % 10:
        parts.append(
            f'<text class="axis" x="{x(end):.1f}" y="{height - 12}" '
            f'text-anchor="middle" font-weight="600">{end}</text>'
        )
    for lane in LANES:
        mid = lane_top[lane] + row_h * len(lane_rows[lane].rows) + marks_h / 2
        parts.append(f'<text class="lane" x="8" y="{mid:.1f}">{escape(lane)}</text>')
    stacks: dict[tuple[str, int], int] = {}
    leaders: list[str] = []  # under every label, so that a label hides the lines behind
    labels: list[str] = []
    marks: list[str] = []
    for item in items:
        level = stacks.get((item.lane, item.year), 0)
        stacks[(item.lane, item.year)] = level + 1
        rows_h = row_h * len(lane_rows[item.lane].rows)
        cy = lane_top[item.lane] + rows_h + 12 + (level % 5) * 6
        cx = x(item.when)
        if item.iri in label_at:
            row, lx, anchor = label_at[item.iri]
            ly = lane_top[item.lane] + rows_h - row * row_h - 2
            leaders.append(
                f'<line x1="{cx:.1f}" y1="{cy - 5:.1f}" x2="{cx:.1f}" y2="{ly + 1:.1f}" '
                'stroke="#999"/>'
            )
            labels.append(
                f'<text class="milestone" x="{lx:.1f}" y="{ly:.1f}" '
                f'text-anchor="{anchor}" font-size="{LABEL_SIZE}" fill="#333"{HALO}>'
                f"{escape(item.short)}</text>"
            )
        marks.append(_mark(item, cx, cy, min(cx, width - 300), 14))
    return [*parts, *leaders, *labels, *marks, *strip_links], width, height


def _vertical(
    items: list[Item], eras: list[Era], start: int, end: int
) -> tuple[list[str], int, float]:
    """Years down: a legend of the lanes on top, the eras' strips and the lanes as thin
    columns on the left, every label in a column on the right, each as near its mark's
    year as the labels above it allow."""
    width, top, per_year = 360, 58, 9.0
    y = lambda year: top + (year - start) * per_year  # noqa: E731
    parts: list[str] = []
    # the legend: the lanes' colours and names, two to a line
    for i, lane in enumerate(LANES):
        lx, ly = 8 + (i % 2) * 170, 16 + (i // 2) * 18
        parts.append(
            f'<circle cx="{lx + 5}" cy="{ly - 4}" r="5" fill="{COLOURS[lane]}"/>'
            f'<text class="lane" x="{lx + 14}" y="{ly}">{escape(lane)}</text>'
        )
    strip_x, col_w = 44, 9
    strip = Rows()
    era_cols = []
    for era in eras:
        a, b = era.years(start, end)
        era_cols.append((era, a, b, strip.place(a, b)))
    lanes_x = strip_x + col_w * max(1, len(strip.rows)) + 10
    lane_x = {lane: lanes_x + i * 16 for i, lane in enumerate(LANES)}
    label_x = lanes_x + 16 * len(LANES) + 10
    chars = int((width - label_x - 4) / (LABEL_SIZE * CHAR_WIDTH))
    # the label column: eras at their start, milestones at their date, pushed down
    wanted: list[tuple[float, int, str, list[str], str, float]] = []
    for era, a, _b, _row in era_cols:
        wanted.append((y(a), 0, era.iri, wrap(era.label, chars), "era", y(a)))
    for item in items:
        if item.milestone:
            wanted.append((y(item.when), 1, item.iri, wrap(item.short, chars), "milestone",
                           y(item.when)))
    wanted.sort(key=lambda w: (w[0], w[1], w[2]))
    line_h = LABEL_SIZE + 3
    free, labels = 0.0, []
    for at, _, iri, lines, kind, anchor_y in wanted:
        ly = max(at + LABEL_SIZE / 2 - 1, free + LABEL_SIZE)
        labels.append((iri, lines, kind, ly, anchor_y))
        free = ly + line_h * (len(lines) - 1) + GAP
    height = max(y(end) + 24, free + 16)
    for i, (era, a, b, row) in enumerate(era_cols):
        colour = ERA_COLOURS[i % len(ERA_COLOURS)]
        ex = strip_x + row * col_w
        parts.append(
            f'<rect class="era-band" x="{lanes_x - 6}" y="{y(a):.1f}" '
            f'width="{width - lanes_x + 6}" height="{y(b) - y(a):.1f}" fill="{colour}" '
            'fill-opacity="0.07"/>'
        )
        parts.append(
            f'<rect x="{ex}" y="{y(a):.1f}" width="{col_w - 2}" height="{y(b) - y(a):.1f}" '
            f'fill="{colour}" fill-opacity="0.45"><title>{escape(era.label)}: '
            f"{escape(era.span)}</title></rect>"
        )
    for year in range(start, end + 1, 10):
        parts.append(
            f'<line x1="{strip_x - 4}" y1="{y(year):.1f}" x2="{width}" y2="{y(year):.1f}" '
            'stroke="#ddd"/>'
            f'<text class="axis" x="{strip_x - 8}" y="{y(year) + 4:.1f}" '
            f'text-anchor="end">{year}</text>'
        )
    if end % 10:
        parts.append(
            f'<text class="axis" x="{strip_x - 8}" y="{y(end) + 4:.1f}" '
            f'text-anchor="end" font-weight="600">{end}</text>'
        )
    colours = {era.iri: ERA_COLOURS[i % len(ERA_COLOURS)] for i, (era, *_r) in
               enumerate(era_cols)}
    eras_by_iri = {era.iri: era for era in eras}
    items_by_iri = {item.iri: item for item in items}
    for iri, lines, kind, ly, anchor_y in labels:
        tspans = "".join(
            f'<tspan x="{label_x}" dy="{0 if n == 0 else line_h}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        style = ' font-style="italic"' if kind == "era" else ""
        text = (f'<text class="{kind}" x="{label_x}" y="{ly:.1f}" '
                f'font-size="{LABEL_SIZE}" fill="#333"{style}>{tspans}</text>')
        if kind == "era":
            parts.append(
                f'<line x1="{lanes_x - 6}" y1="{anchor_y:.1f}" x2="{label_x - 3}" '
                f'y2="{ly - 3:.1f}" stroke="{colours[iri]}" stroke-dasharray="2 2"/>'
            )
            parts.append(_era_link(eras_by_iri[iri], text))
        else:
            lane_at = lane_x[items_by_iri[iri].lane]
            parts.append(
                f'<line x1="{lane_at + 5}" y1="{anchor_y:.1f}" x2="{label_x - 3}" '
                f'y2="{ly - 3:.1f}" stroke="#999"/>{text}'
            )
    stacks: dict[tuple[str, int], int] = {}
    for item in items:
        level = stacks.get((item.lane, item.year), 0)
        stacks[(item.lane, item.year)] = level + 1
        cx = lane_x[item.lane] + (level % 3) * 2 - 2
        parts.append(_mark(item, cx, y(item.when), label_x, max(12.0, y(item.when) - 8)))
    return parts, width, height
