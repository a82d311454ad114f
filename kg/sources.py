"""Where each fact about a resource comes from: ``kg sources``, ``kg describe`` and the
entity pages.

:func:`sources` runs the saved query ``sources`` (so the command and the query give
the same rows on every engine) and adds, for each unit, its section, its number and
— when a copy of the article is at hand and its unit has the pinned fingerprint —
its words. Without a copy, a fact shows the section's link and the unit's number,
and the report says how to get the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg.errors import KGError
from kg.formats import display
from kg.namespaces import shorten
from kg.project import Project
from kg.queries import query, resolve_resource, wikidata_instead
from kg.store import Engine, SelectResult, open_engine
from kg.units import HOW_TO_GET_TEXT, ArticleCopy, Pinned, pinned_units

#: what a fact with no unit rests on, as ``kg sources`` says it
BASES = {
    "inferred": "the editors' reading (ij:inferred), not a sentence of the article",
    "general knowledge": "general knowledge (ij:fromGeneralKnowledge), not from the article",
    "uncited": "none cited",
}


@dataclass
class Fact:
    """One fact of the resource, with the unit stating it (``None``: flagged, no unit)."""

    property: ox.NamedNode
    value: ox.NamedNode | ox.Literal
    unit: Pinned | None
    quote: str | None = None
    basis: str = "stated"  # or "inferred", "general knowledge"


@dataclass
class Sources:
    iri: str
    facts: list[Fact]
    article: Path | None = None
    #: units whose words the copy does not have (the copy differs from the pinned text there)
    mismatched: list[str] = field(default_factory=list)
    #: the resource's notes, shown where a fact has no unit: they say what a flag rests on
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        lines = [f"<{self.iri}>  {display(ox.NamedNode(self.iri))}", ""]
        last = None
        for f in self.facts:
            where = (f"{f.unit.id} ({f.unit.section_label}, {f.unit.url})" if f.unit
                     else f"no unit: {BASES.get(f.basis, f.basis)}")
            if (f.property, f.value) != last:  # a fact several units state: one heading
                lines.append(f"  {display(f.property)}  {display(f.value)}")
                last = (f.property, f.value)
            lines.append(f"      {where}")
            if f.quote:
                lines.append(f"      “{f.quote}”")
        if any(f.unit is None for f in self.facts):
            lines += [f"  note: {note}" for note in self.notes]
        lines.append("")
        if self.article is None:
            lines.append(HOW_TO_GET_TEXT)
        elif self.mismatched:
            lines.append(f"{self.article}: differs from the pinned text in "
                         f"{', '.join(self.mismatched)}; those units are not quoted "
                         "(kg article check FILE lists the changes)")
        return "\n".join(lines) + "\n"


def sources(
    entity: str,
    *,
    engine: Engine | None = None,
    project: Project | None = None,
    article: Path | None = None,
) -> Sources:
    """Every fact about ``entity`` (a label, prefixed name or IRI) with its units; with
    ``article``, a copy of the article, the units' words where the copy has them."""
    engine = engine or open_engine(project=project)
    this = resolve_resource(entity, engine, what="sources", in_graph=True)
    instead = wikidata_instead(this.value, engine)
    if instead:  # wd:Q132345 is in the graph, as an object only: it has no facts to cite
        raise KGError(f"sources: the graph cites no facts about {shorten(this.value)}; {instead}")
    res = query("sources", {"entity": this.value}, engine=engine, project=project)
    assert isinstance(res, SelectResult)
    units = {u.iri: u for u in pinned_units(engine)}
    copy = ArticleCopy(article) if article is not None else None
    flags = _flags(engine, this)
    out = Sources(this.value, [], article)
    from kg import sparql

    out.notes = [n.value for _, n in engine.select(sparql.load("note-of"), {"this": this})
                 if n is not None]  # fmt: skip
    for _entity, prop, value, unit, _section in res.rows:
        assert isinstance(prop, ox.NamedNode) and value is not None
        pinned = units.get(unit.value) if unit is not None else None
        fact = Fact(prop, value, pinned)  # type: ignore[arg-type]
        if pinned is None:
            fact.basis = flags.get(prop.value, "uncited")
        elif copy is not None:
            fact.quote = copy.quote(pinned)
            if fact.quote is None and pinned.id not in out.mismatched:
                out.mismatched.append(pinned.id)
        out.facts.append(fact)
    return out


def _flags(engine: Engine, this: ox.NamedNode) -> dict[str, str]:
    from kg import sparql

    out = {}
    for _this, p, kind in engine.select(sparql.load("flags-of"), {"this": this}):
        assert p is not None and kind is not None
        out[p.value] = kind.value
    return out


def citations_of(
    engine: Engine, node: ox.NamedNode, units: dict[str, Pinned] | None = None
) -> dict[tuple[str, str], list[Pinned]]:
    """(property IRI, value in N-Triples) -> the units stating that fact of ``node``;
    ``units``: every pinned unit by IRI, when the caller keeps them (a server: they are the
    same for every page, and reading them is most of a page's queries' time)."""
    from kg import sparql

    if units is None:
        units = {u.iri: u for u in pinned_units(engine)}
    out: dict[tuple[str, str], list[Pinned]] = {}
    for _this, p, o, unit in engine.select(sparql.load("citations-of"), {"this": node}):
        assert p is not None and o is not None and unit is not None
        if unit.value in units:
            out.setdefault((p.value, str(o)), []).append(units[unit.value])
    return out


def flags_of(engine: Engine, node: ox.NamedNode) -> dict[str, str]:
    """property IRI -> "inferred" or "general knowledge", as the resource flags it."""
    return _flags(engine, node)
