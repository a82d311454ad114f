"""The article's facts about linked items as QuickStatements V1, for a Wikidata editor
to review and run (``kg link --statements``).

One line a statement, tab-separated: item, property, value, then qualifiers
(``P580``/``P582`` start and end on a position held) and one reference:
imported from Wikimedia project (S143) English Wikipedia (Q328), and Wikimedia
import URL (S4656) with the article's URL and the anchor of the section the
fact came from. Only confirmed links are used, on both ends, and only
properties the ontology maps with ``skos:exactMatch`` to a Wikidata property.
Dates keep the article's precision (``+1985-00-00T00:00:00Z/9`` is a year).

Values the graph inferred or took from general knowledge rather than from the
article are left out: the data marks them (``ij:inferred``,
``ij:fromGeneralKnowledge``) and the library query skips them.

>>> quickstatements_time("1985-12", "http://www.w3.org/2001/XMLSchema#gYearMonth")
'+1985-12-00T00:00:00Z/10'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg import sparql
from kg.namespaces import WIKIDATA_ENTITY, XSD
from kg.project import Project
from kg.store import Engine, open_engine

WDT = "http://www.wikidata.org/prop/direct/"
ENGLISH_WIKIPEDIA = "Q328"
_PRECISION = {XSD + "gYear": 9, XSD + "gYearMonth": 10, XSD + "date": 11}


def quickstatements_time(value: str, datatype: str) -> str | None:
    """A date at its own precision in QuickStatements' syntax; None if it is not a date."""
    precision = _PRECISION.get(datatype)
    if precision is None:
        return None
    parts = [*value.split("-"), "00", "00"][:3]
    return f"+{parts[0]}-{parts[1]}-{parts[2]}T00:00:00Z/{precision}"


@dataclass(frozen=True)
class Statement:
    item: str
    prop: str
    value: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def line(self) -> str:
        cells = [self.item, self.prop, self.value]
        for p, v in self.qualifiers:
            cells += [p, v]
        cells += ["S143", ENGLISH_WIKIPEDIA, "S4656", f'"{self.source}"']
        return "\t".join(cells)


@dataclass
class Statements:
    new: list[Statement]
    present: list[Statement] = field(default_factory=list)  # already on Wikidata
    unchecked: str | None = None  # why Wikidata could not be asked, if it could not

    def to_text(self) -> str:
        return "".join(s.line() + "\n" for s in self.new)


def statements(*, engine: Engine | None = None, project: Project | None = None) -> Statements:
    """Every statement the graph can give Wikidata, each with its reference."""
    engine = engine or open_engine(project=project)
    sources: dict[str, list[str]] = {}
    for s, url in engine.select(sparql.load("sources-of")):
        sources.setdefault(s.value, []).append(url.value)

    def source(*resources: str) -> str:
        """The first section (in the article's order) that all ``resources`` came from,
        else the first the first of them came from."""
        first = sources.get(resources[0], [])
        shared = [u for u in first if all(u in sources.get(r, []) for r in resources[1:])]
        return (shared or first or [""])[0]

    out: set[Statement] = set()
    for s, item, _p, prop, o, value in engine.select(sparql.load("wikidata-statements")):
        if value is not None:
            written = value.value[len(WIKIDATA_ENTITY) :]
            src = source(s.value, o.value)
        else:
            written = quickstatements_time(o.value, o.datatype.value)
            src = source(s.value)
            if written is None:
                continue  # only dates among literals, for now
        out.add(Statement(item.value[len(WIKIDATA_ENTITY) :], prop.value[len(WDT) :], written,
                          source=src))  # fmt: skip
    tenures = engine.select(sparql.load("wikidata-tenures"))
    for t, _holder, item, _office, value, start, end in tenures:
        qualifiers = tuple(
            (p, quickstatements_time(d.value, d.datatype.value))
            for p, d in (("P580", start), ("P582", end))
            if d is not None and quickstatements_time(d.value, d.datatype.value)
        )
        holder, office = item.value[len(WIKIDATA_ENTITY) :], value.value[len(WIKIDATA_ENTITY) :]
        out.add(Statement(holder, "P39", office, qualifiers, source(t.value)))
    ordered = sorted(
        out, key=lambda st: (int(st.item[1:]), int(st.prop[1:]), st.value, st.qualifiers)
    )
    # a bare statement is dropped where the same statement comes with qualifiers
    qualified = {(st.item, st.prop, st.value) for st in ordered if st.qualifiers}
    return Statements(
        [st for st in ordered if st.qualifiers or (st.item, st.prop, st.value) not in qualified]
    )


def leave_out_present(result: Statements, client: object) -> Statements:
    """``result`` without the statements Wikidata already has (their item, property and
    value), as ``client`` (a :class:`~kg.wikidata.client.WikidataClient`) reports them."""
    from kg.errors import KGError
    from kg.wikidata.client import claim_items

    try:
        entities = client.entities({st.item for st in result.new})  # type: ignore[attr-defined]
    except KGError as e:
        return Statements(result.new, [], e.message)
    new, present = [], []
    for st in result.new:
        entity = entities.get(st.item, {})
        (present if st.value in claim_items(entity, st.prop) else new).append(st)
    return Statements(new, present)
