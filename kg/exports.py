"""Exporting the whole graph in every RDF format of the registry: Turtle, N-Triples,
JSON-LD, RDF/XML, and TriG and N-Quads (the graph as the named graph
:data:`~kg.namespaces.GRAPH_IRI`).

Every format is written by :func:`kg.formats.graph_bytes`, the package's one RDF writer,
from the triples of the cached graph; output is deterministic (same input, same bytes):
the graph has no blank nodes, triples are sorted, and JSON-LD is compacted with the
project's context (embedded, so the file stands alone and no context is fetched), its
nodes and values sorted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.errors import EXIT_FAILED, KGError
from kg.fileio import atomic_write
from kg.formats import graph_bytes, jsonld_context
from kg.licence import with_licence_header
from kg.progress import step
from kg.project import Project
from kg.registry import EXPORT_FORMATS, OLD_NAMES
from kg.store.loading import cached_ntriples
from kg.validation import validate as run_validation

FORMATS = EXPORT_FORMATS


def format_name(fmt: str) -> str:
    """The one name of an export format, from it or from a name it had before
    (``xml`` → ``rdfxml``); :class:`KGError` for anything else.

    >>> format_name("xml"), format_name("trig")
    ('rdfxml', 'trig')
    """
    fmt = OLD_NAMES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise KGError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    return fmt


def require_conforming(project: Project, escape: str = "") -> None:
    """Refuse (exit 1) to publish a graph that does not conform to the shapes; ``escape``
    names the option that publishes it anyway."""
    report = run_validation(project=project)
    if not report.conforms:
        raise KGError(
            f"the graph does not conform ({len(report.violations)} result(s)); "
            f"run 'kg validate' to see them{', ' + escape if escape else ''}",
            EXIT_FAILED,
        )


def triples(project: Project | None = None, path: Path | None = None) -> list[Any]:
    """Every triple of the graph, as pyoxigraph terms (read from the cache, or from
    ``path``, a graph file such as a server loaded)."""
    import pyoxigraph as ox

    path = path or cached_ntriples(project)
    return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)]


def serialize(
    graph: list[Any], fmt: str, project: Project | None = None, *, presorted: bool = False
) -> bytes:
    """``graph`` (pyoxigraph triples) in ``fmt``, deterministically (``presorted``: the
    triples are sorted already, see :func:`kg.formats.graph_bytes`)."""
    fmt = format_name(fmt)
    context = jsonld_context(project) if fmt == "jsonld" else None
    return graph_bytes(graph, fmt, context=context, presorted=presorted)


def export(
    fmt: str = "turtle",
    output: str | Path | None = None,
    *,
    validate: bool = True,
    project: Project | None = None,
) -> bytes:
    """The whole graph in ``fmt``; written atomically to ``output`` when given.

    Refuses (exit 1) a graph that does not conform to the shapes unless
    ``validate`` is false. Formats with comments start with the licence and the
    credit to the article (:func:`kg.licence.licence_header`).

    >>> data = export("nt", validate=False)
    >>> japan = b'<https://w3id.org/israel-japan-kg/id/state/japan> '
    >>> japan + b'<http://www.w3.org/2000/01/rdf-schema#label> "Japan"@en .' in data
    True
    >>> export("nt", validate=False) == data  # deterministic
    True
    """
    fmt = format_name(fmt)
    project = project or Project.find()
    if validate:
        require_conforming(project, "or export with --no-validate")
    with step(f"writing the graph as {fmt}"):
        data = with_licence_header(serialize(triples(project), fmt, project), fmt)
    if output is not None:
        atomic_write(Path(output), data)
    return data
