"""Counts: triples, entities per class, facts per article section."""

from __future__ import annotations

from dataclasses import dataclass

from kg.engine import Engine, SelectResult, open_engine
from kg.project import Project

_CLASSES = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
SELECT ?class ?label (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?class a owl:Class ; rdfs:label ?label .
  FILTER(STRSTARTS(STR(?class), "https://w3id.org/israel-japan-kg/ontology#"))
  OPTIONAL { ?s a ?type . ?type rdfs:subClassOf* ?class }
} GROUP BY ?class ?label ORDER BY DESC(?n) ?label
"""

_SECTIONS = """
PREFIX ij: <https://w3id.org/israel-japan-kg/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?section ?label (COUNT(DISTINCT ?s) AS ?n) WHERE {
  ?section a ij:ArticleSection ; rdfs:label ?label ; ij:position ?pos .
  OPTIONAL { ?s prov:wasDerivedFrom ?section }
} GROUP BY ?section ?label ?pos ORDER BY ?pos
"""

_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@dataclass
class Stats:
    triples: int
    classes: list[tuple[str, str, int]]
    sections: list[tuple[str, str, int]]

    def to_text(self) -> str:
        lines = [f"triples: {self.triples}", "", "entities per class (subclasses included):"]
        lines += [f"  {n:5d}  {label}" for _, label, n in self.classes]
        lines += ["", "facts per article section:"]
        lines += [f"  {n:5d}  {label}" for _, label, n in self.sections]
        return "\n".join(lines) + "\n"


def _rows(engine: Engine, text: str) -> list[tuple[str, str, int]]:
    res = engine.query(text)
    assert isinstance(res, SelectResult)
    return [(r[0].value, r[1].value, int(r[2].value)) for r in res.rows]  # type: ignore[union-attr]


def stats(*, engine: Engine | None = None, project: Project | None = None) -> Stats:
    """Counts of the project's graph."""
    engine = engine or open_engine(project=project)
    total = engine.query(_TRIPLES)
    assert isinstance(total, SelectResult)
    return Stats(
        int(total.rows[0][0].value),
        _rows(engine, _CLASSES),  # type: ignore[union-attr]
        _rows(engine, _SECTIONS),
    )
