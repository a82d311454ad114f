"""Exporting the whole graph: Turtle, JSON-LD, N-Triples, TriG, RDF/XML.

Output is deterministic (same input, same bytes): the graph has no blank
nodes, Turtle is rdflib's sorted ``longturtle``, N-Triples lines are sorted,
and JSON-LD is compacted with the project's context (embedded, so the file
stands alone and no context is fetched).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kg.errors import EXIT_FAILED, KGError
from kg.fileio import atomic_write
from kg.formats import graph_bytes, jsonld_context
from kg.licence import with_licence_header
from kg.namespaces import GRAPH_IRI
from kg.progress import step
from kg.project import Project
from kg.registry import EXPORT_FORMATS
from kg.store.loading import load, sorted_ntriples
from kg.validation import validate as run_validation

FORMATS = EXPORT_FORMATS


def serialize(graph: Any, fmt: str, project: Project | None = None) -> bytes:
    """``graph`` (rdflib) in ``fmt``, deterministically."""
    if fmt == "turtle":
        return graph.serialize(format="longturtle", encoding="utf-8")
    if fmt == "nt":
        return sorted_ntriples(graph)
    if fmt == "jsonld":
        text = graph.serialize(
            format="json-ld", context=jsonld_context(project), auto_compact=True, ensure_ascii=False
        )
        return _sorted_json(json.loads(text))
    if fmt == "trig":
        return _trig(graph)
    if fmt == "xml":
        return _rdfxml(graph)
    raise KGError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")


def _canonical_json(value: Any) -> Any:
    """Sort the node list and every multi-valued array (the data uses no @list)."""
    if isinstance(value, dict):
        return {k: _canonical_json(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_canonical_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def _sorted_json(doc: dict[str, Any]) -> bytes:
    # rdflib's JSON-LD writer orders nodes and values by set iteration
    text = json.dumps(_canonical_json(doc), indent=2, ensure_ascii=False)
    return (text + "\n").encode()


def _rdfxml(graph: Any) -> bytes:
    # rdflib's RDF/XML writers order subjects by set iteration; pyoxigraph
    # writes triples in the order given, and graph_bytes sorts them.
    import pyoxigraph as ox

    nt = graph.serialize(format="nt", encoding="utf-8")
    return graph_bytes([q.triple for q in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)], "rdfxml")


def _trig(graph: Any) -> bytes:
    """The graph as one named graph (:data:`GRAPH_IRI`) in TriG, from the sorted Turtle."""
    ttl = graph.serialize(format="longturtle")
    head = [ln for ln in ttl.splitlines() if ln.startswith("PREFIX")]
    body = [ln for ln in ttl.splitlines() if ln and not ln.startswith("PREFIX")]
    out = [*head, "", f"<{GRAPH_IRI}> {{", *("    " + ln for ln in body), "}", ""]
    return "\n".join(out).encode()


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
    if fmt not in FORMATS:
        raise KGError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    project = project or Project.find()
    if validate:
        report = run_validation(project=project)
        if not report.conforms:
            raise KGError(
                f"the graph does not conform ({len(report.violations)} result(s)); "
                "run 'kg validate' to see them, or export with --no-validate",
                EXIT_FAILED,
            )
    with step(f"writing the graph as {fmt}"):
        data = with_licence_header(serialize(load(project), fmt, project), fmt)
    if output is not None:
        atomic_write(Path(output), data)
    return data
