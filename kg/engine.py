"""Query engines behind one interface.

Every engine answers SPARQL text with parameters bound as RDF terms (never
pasted into the text) and returns a :class:`SelectResult`, :class:`AskResult`
or :class:`GraphResult` whose terms are pyoxigraph terms, so formatting and
comparison do not depend on the engine.

- ``oxigraph`` (default): pyoxigraph in memory, loaded from the cached N-Triples.
- ``rdflib``: rdflib's SPARQL engine over the rdflib graph (the reference used
  for building and validating).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pyoxigraph as ox

from kg.errors import KGError
from kg.project import Project

if TYPE_CHECKING:
    from rdflib import Graph

Term = ox.NamedNode | ox.BlankNode | ox.Literal
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass
class SelectResult:
    variables: list[str]
    rows: list[tuple[Term | None, ...]]


@dataclass
class AskResult:
    value: bool


@dataclass
class GraphResult:
    triples: list[ox.Triple] = field(default_factory=list)


Result = SelectResult | AskResult | GraphResult


class Engine(Protocol):
    name: str

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result: ...


def _syntax_error(e: Exception) -> KGError:
    return KGError(f"invalid SPARQL: {e}")


class OxigraphEngine:
    """pyoxigraph's in-memory store."""

    name = "oxigraph"

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    @classmethod
    def from_project(cls, project: Project | None = None) -> OxigraphEngine:
        from kg.graph import cached_ntriples

        store = ox.Store()
        store.load(path=str(cached_ntriples(project)), format=ox.RdfFormat.N_TRIPLES)
        return cls(store)

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result:
        subs = {ox.Variable(k): v for k, v in (bindings or {}).items()}
        try:
            res = self.store.query(text, substitutions=subs)
        except SyntaxError as e:
            raise _syntax_error(e) from None
        except OSError as e:
            raise KGError(f"query failed: {e}") from None
        if isinstance(res, ox.QueryBoolean):
            return AskResult(bool(res))
        if isinstance(res, ox.QuerySolutions):
            names = [v.value for v in res.variables]
            return SelectResult(names, [tuple(sol[i] for i in range(len(names))) for sol in res])
        return GraphResult(list(res))


class RdflibEngine:
    """rdflib's SPARQL engine over an in-memory rdflib graph."""

    name = "rdflib"

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @classmethod
    def from_project(cls, project: Project | None = None) -> RdflibEngine:
        from kg.graph import load

        return cls(load(project))

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result:
        from pyparsing.exceptions import ParseBaseException
        from rdflib import Variable

        init = {Variable(k): to_rdflib(v) for k, v in (bindings or {}).items()}
        try:
            res = self.graph.query(text, initBindings=init)
        except ParseBaseException as e:
            raise _syntax_error(e) from None
        except Exception as e:  # rdflib's evaluator raises bare exceptions
            raise KGError(f"query failed: {type(e).__name__}: {e}") from None
        if res.type == "ASK":
            return AskResult(bool(res.askAnswer))
        if res.type == "SELECT":
            names = [str(v) for v in res.vars]
            return SelectResult(names, [tuple(from_rdflib(t) for t in row) for row in res])  # type: ignore[union-attr]
        return GraphResult([ox.Triple(*(from_rdflib(t) for t in tr)) for tr in res])  # type: ignore[misc]


ENGINES = {"oxigraph": OxigraphEngine, "rdflib": RdflibEngine}


def open_engine(name: str = "oxigraph", project: Project | None = None) -> Engine:
    """An engine over the project's graph, by name (see :data:`ENGINES`)."""
    try:
        cls = ENGINES[name]
    except KeyError:
        raise KGError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}") from None
    return cls.from_project(project)


def from_rdflib(term: object) -> Term | None:
    from rdflib import BNode, Literal, URIRef

    if term is None:
        return None
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def to_rdflib(term: Term) -> Any:
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == XSD_STRING:  # rdflib tells plain and xsd:string literals apart
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))
