"""Everything the graph says about one entity, as subject and as object."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from kg import sparql
from kg.errors import KGError
from kg.formats import display
from kg.project import Project
from kg.queries import resolve_resource
from kg.store import Engine, SelectResult, open_engine


@dataclass
class Description:
    iri: str
    outgoing: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal, str | None]]
    incoming: list[tuple[ox.NamedNode, ox.NamedNode, str | None]]

    def to_text(self) -> str:
        def lab(label: str | None) -> str:
            return f"  ({label})" if label else ""

        lines = [f"<{self.iri}>  {display(ox.NamedNode(self.iri))}", ""]
        lines += [f"  {display(p)}  {display(o)}{lab(label)}" for p, o, label in self.outgoing]
        if self.incoming:
            lines += ["", "  referred to by:"]
            lines += [
                f"  {display(s)}{lab(label)}  {display(p)}  this" for s, p, label in self.incoming
            ]
        return "\n".join(lines) + "\n"


def describe(
    label_or_iri: str, *, engine: Engine | None = None, project: Project | None = None
) -> Description:
    """Everything about the resource named by an IRI, prefixed name or label."""
    engine = engine or open_engine(project=project)
    this = resolve_resource(label_or_iri, engine, what="describe")
    out = engine.query(sparql.load("outgoing"), {"this": this})
    inc = engine.query(sparql.load("incoming"), {"this": this})
    assert isinstance(out, SelectResult) and isinstance(inc, SelectResult)
    if not out.rows and not inc.rows:
        raise KGError(f"describe: <{this.value}> is not in the graph")
    return Description(
        this.value,
        [(r[1], r[2], r[3].value if r[3] else None) for r in out.rows],  # type: ignore[misc]
        [(r[1], r[2], r[3].value if r[3] else None) for r in inc.rows],  # type: ignore[misc]
    )
