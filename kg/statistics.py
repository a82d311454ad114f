"""Counts: triples, entities per class, facts by source, resources per article section."""

from __future__ import annotations

from dataclasses import dataclass

from kg import sparql
from kg.project import Project
from kg.store import Engine, SelectResult, open_engine


@dataclass
class Stats:
    triples: int
    classes: list[tuple[str, str, int]]
    sections: list[tuple[str, str, int]]
    bases: list[tuple[str, int]]  # facts stated by a unit, inferred, from general knowledge

    def to_text(self) -> str:
        lines = [f"triples: {self.triples}", "", "entities per class (subclasses included):"]
        lines += [f"  {n:5d}  {label}" for _, label, n in self.classes]
        lines += ["", "facts by where they come from (a unit of the article, or a flag):"]
        lines += [f"  {n:5d}  {basis}" for basis, n in self.bases]
        lines += ["", "resources drawn from each article section:"]
        lines += [f"  {n:5d}  {label}" for _, label, n in self.sections]
        return "\n".join(lines) + "\n"


def _rows(engine: Engine, text: str) -> list[tuple[str, str, int]]:
    return [(r[0].value, r[1].value, int(r[2].value)) for r in engine.select(text)]  # type: ignore[union-attr]


def stats(*, engine: Engine | None = None, project: Project | None = None) -> Stats:
    """Counts of the project's graph."""
    engine = engine or open_engine(project=project)
    total = engine.query(sparql.load("count-triples"))
    assert isinstance(total, SelectResult)
    return Stats(
        int(total.rows[0][0].value),
        _rows(engine, sparql.load("entities-per-class")),  # type: ignore[union-attr]
        _rows(engine, sparql.load("facts-per-section")),
        [(r[0].value, int(r[1].value)) for r in engine.select(sparql.load("fact-bases"))],  # type: ignore[union-attr]
    )
