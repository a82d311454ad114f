"""Query engines behind one interface, and the graph they load.

Every engine answers SPARQL text with parameters bound as RDF terms (never
pasted into the text) and returns a :class:`~kg.store.results.SelectResult`,
:class:`~kg.store.results.AskResult` or :class:`~kg.store.results.GraphResult`
whose terms are pyoxigraph terms, so formatting and comparison do not depend on
the engine.

- ``oxigraph`` (default): pyoxigraph in memory, loaded from the cached N-Triples;
- ``oxigraph-disk``: pyoxigraph on disk under ``build/oxigraph/``;
- ``rdflib``: rdflib's SPARQL engine (the reference used to build and validate);
- ``endpoint=URL``: any SPARQL 1.1 Protocol endpoint.

>>> engine = open_engine()
>>> engine.query("ASK { ?s ?p ?o }")
AskResult(value=True)
"""

from __future__ import annotations

from pathlib import Path

from kg.errors import KGError
from kg.project import Project
from kg.registry import ENGINE_NAMES
from kg.store.results import (
    AskResult,
    Engine,
    GraphResult,
    Result,
    SelectResult,
    Term,
    from_native,
)


def graph_file(project: Project | None = None) -> Path:
    """The project's whole graph as a sorted N-Triples file, rebuilt when the inputs
    changed: what a process that loads the graph itself reads (``kg serve``'s workers)."""
    from kg.store.loading import cached_ntriples

    return cached_ntriples(project)


def open_engine(
    name: str = "oxigraph",
    project: Project | None = None,
    *,
    endpoint: str | None = None,
    graph: str | None = None,
) -> Engine:
    """An engine over the project's graph by name (one of :data:`ENGINE_NAMES`), or a remote
    endpoint when ``endpoint`` is given (``graph``: its default-graph-uri)."""
    if endpoint is not None:
        from kg.store.remote import RemoteEngine

        return RemoteEngine(endpoint, default_graph=graph)
    if name not in ENGINE_NAMES:
        raise KGError(f"unknown engine {name!r}; choose from {', '.join(ENGINE_NAMES)}")
    if name == "rdflib":
        from kg.store.rdflib_engine import RdflibEngine

        return RdflibEngine.from_project(project)
    from kg.store.oxigraph import OxigraphDiskEngine, OxigraphEngine

    return (OxigraphDiskEngine if name == "oxigraph-disk" else OxigraphEngine).from_project(
        project
    )


__all__ = [
    "ENGINE_NAMES",
    "AskResult",
    "Engine",
    "GraphResult",
    "Result",
    "SelectResult",
    "Term",
    "from_native",
    "graph_file",
    "open_engine",
]
