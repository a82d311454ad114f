"""Are the facts in notes also triples? The notes audit.

A note (``skos:note``, ``rdfs:comment``) keeps the article's point in words; the
fact it states must also be a triple, or it cannot be queried, exported or
checked. The audit finds every note that names another resource of the graph by
its English label or alternative label, where no path of one or two triples
links the note's resource to the one named (types and the ontology's own terms do
not count as links, nor does sharing a source section). Each finding is either fixed in
``data/`` (the triple added) or listed, with the reason, in
``data/notes-exceptions.toml``; an exception that no longer matches a finding is
reported as stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kg import sparql
from kg.errors import KGError
from kg.fileio import read_entries
from kg.namespaces import ID, expand, shorten
from kg.project import Project
from kg.store import Engine, open_engine


@dataclass(frozen=True)
class Finding:
    """A note of ``subject`` names ``label``, the label of ``named``, with no triple between."""

    subject: str
    named: str
    label: str
    note: str


@dataclass
class NotesReport:
    findings: list[Finding]
    explained: dict[Finding, str] = field(default_factory=dict)
    stale: list[tuple[str, str]] = field(default_factory=list)

    @property
    def open(self) -> list[Finding]:
        return [f for f in self.findings if f not in self.explained]

    @property
    def ok(self) -> bool:
        return not self.open and not self.stale

    def to_text(self, *, verbose: bool = False) -> str:
        lines = [
            f"{len(self.findings)} note(s) name a resource with no triple linking the two: "
            f"{len(self.explained)} explained in data/notes-exceptions.toml, {len(self.open)} open"
        ]
        for f in self.open:
            lines.append(f"- {shorten(f.subject)} names {f.label!r} ({shorten(f.named)})")
            lines.append(f"    note: {f.note}")
        if verbose:
            for f, reason in self.explained.items():
                lines.append(f"= {shorten(f.subject)} names {f.label!r}: {reason}")
        for subject, named in self.stale:
            lines.append(f"stale exception: {subject} → {named} (no such finding any more)")
        return "\n".join(lines) + "\n"


def audit_notes(*, engine: Engine | None = None, project: Project | None = None) -> NotesReport:
    """Every note naming a resource that no path of one or two triples links to it."""
    project = project or Project.find()
    engine = engine or open_engine(project=project)
    neighbours: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}  # a section links only to what is derived from it
    for s, o, derived in engine.select(sparql.load("iri-links")):
        if s is None or o is None:
            continue
        if derived is not None and derived.value == "true":
            sources.setdefault(s.value, set()).add(o.value)
        else:
            neighbours.setdefault(s.value, set()).add(o.value)
            neighbours.setdefault(o.value, set()).add(s.value)
    names = [
        (r.value, label.value, re.compile(rf"(?<!\w){re.escape(label.value)}(?!\w)"))
        for r, label in engine.select(sparql.load("english-names"))
        if r is not None and label is not None and len(label.value) >= 3
    ]
    findings = set()
    for subject, note in engine.select(sparql.load("notes")):
        assert subject is not None and note is not None
        near = neighbours.get(subject.value, set())
        reach = near.union(sources.get(subject.value, set()),
                           *(neighbours.get(n, set()) for n in near if n.startswith(ID)))
        for named, label, pattern in names:
            if named != subject.value and named not in reach and pattern.search(note.value):
                findings.add(Finding(subject.value, named, label, note.value))
    ordered = sorted(findings, key=lambda f: (f.subject, f.named, f.label))
    return _explain(ordered, project.data_dir / "notes-exceptions.toml")


def _explain(findings: list[Finding], path: Path) -> NotesReport:
    exceptions = _load(path)
    report = NotesReport(findings)
    used = set()
    for f in findings:
        reason = exceptions.get((f.subject, f.named))
        if reason is not None:
            report.explained[f] = reason
            used.add((f.subject, f.named))
    report.stale = [(shorten(s), shorten(n)) for s, n in sorted(set(exceptions) - used)]
    return report


def _load(path: Path) -> dict[tuple[str, str], str]:
    """``(subject IRI, named IRI) -> reason``; each entry needs all three."""
    out = {}
    for i, e in enumerate(read_entries(path, "exception", ("note_of", "names", "reason")), 1):
        full = (expand(e["note_of"]), expand(e["names"]))
        if None in full:
            raise KGError(f"{path}: exception {i}: use prefixed names such as person:david-levy")
        out[full] = e["reason"]  # type: ignore[index]
    return out
