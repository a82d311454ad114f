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
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import pyoxigraph as ox

from kg.errors import KGError
from kg.project import Project

if TYPE_CHECKING:
    from rdflib import Graph

Term = ox.NamedNode | ox.BlankNode | ox.Literal
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


# NamedTuples, not dataclasses: importing dataclasses costs 7 ms of a cold query.
class SelectResult(NamedTuple):
    variables: list[str]
    rows: list[tuple[Term | None, ...]]


class AskResult(NamedTuple):
    value: bool


class GraphResult(NamedTuple):
    triples: list[ox.Triple]


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


class OxigraphDiskEngine(OxigraphEngine):
    """pyoxigraph on disk under ``build/oxigraph/``: built once per content key, then opened
    read-only in milliseconds, whatever the graph's size."""

    name = "oxigraph-disk"

    @classmethod
    def from_project(cls, project: Project | None = None) -> OxigraphDiskEngine:
        project = project or Project.find()
        return cls(ox.Store.read_only(str(disk_store(project))))


def disk_store(project: Project) -> Path:
    """The on-disk store for the project's current inputs, built if missing.

    Built in a temporary folder and renamed into place, so a reader never
    opens a half-built store, and concurrent builders cannot collide.
    """
    import shutil
    import tempfile

    key = project.content_key()
    target = project.build_dir / "oxigraph" / key
    if (target / "kg-complete").is_file():
        return target
    from kg.graph import cached_ntriples

    nt = cached_ntriples(project)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".build-"))
    try:
        store = ox.Store(str(tmp / "store"))
        store.bulk_load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
        store.flush()
        del store
        (tmp / "store" / "kg-complete").write_text(key)
        try:
            (tmp / "store").rename(target)
        except OSError:
            if not (target / "kg-complete").is_file():  # not a finished concurrent build
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in target.parent.iterdir():
        if old.name != key and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return target


class RemoteEngine:
    """Any SPARQL 1.1 Protocol endpoint.

    Parameters are sent as a trailing ``VALUES`` block of RDF terms written by
    the N-Triples serialiser (SPARQL's own way to bind values over the
    protocol), never as text spliced into the query. Credentials come from the
    environment: ``KG_ENDPOINT_TOKEN`` (bearer) or ``KG_ENDPOINT_USER`` and
    ``KG_ENDPOINT_PASSWORD`` (basic).
    """

    name = "remote"

    def __init__(
        self, endpoint: str, *, default_graph: str | None = None, timeout: float = 60.0
    ) -> None:
        self.endpoint, self.default_graph, self.timeout = endpoint, default_graph, timeout

    def _auth(self) -> dict[str, Any]:
        import os

        token = os.environ.get("KG_ENDPOINT_TOKEN")
        if token:
            return {"headers": {"Authorization": f"Bearer {token}"}}
        user, password = os.environ.get("KG_ENDPOINT_USER"), os.environ.get("KG_ENDPOINT_PASSWORD")
        return {"auth": (user, password or "")} if user else {}

    def query(self, text: str, bindings: Mapping[str, Term] | None = None) -> Result:
        import httpx

        if bindings:
            text = inline_values(text, bindings)
        data = {"query": text}
        if self.default_graph:
            data["default-graph-uri"] = self.default_graph
        accept = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
        auth = self._auth()
        try:
            response = httpx.post(
                self.endpoint,
                data=data,
                timeout=self.timeout,
                headers={"Accept": accept, **auth.get("headers", {})},
                auth=auth.get("auth"),
            )
        except httpx.TimeoutException:
            raise KGError(f"{self.endpoint} did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise KGError(f"cannot reach {self.endpoint}: {e}") from None
        if response.status_code == 400:
            raise KGError(f"invalid SPARQL: {response.text.strip()[:500]} (said {self.endpoint})")
        if response.status_code >= 400:
            raise KGError(
                f"{self.endpoint} answered HTTP {response.status_code}: "
                f"{response.text.strip()[:300]}"
            )
        ctype = response.headers.get("content-type", "").split(";")[0].strip()
        try:
            if ctype in ("application/sparql-results+json", "application/json"):
                return _from_json(response.json())
            if ctype in ("application/n-triples", "text/turtle", "text/plain"):
                fmt = ox.RdfFormat.TURTLE if ctype == "text/turtle" else ox.RdfFormat.N_TRIPLES
                return GraphResult([q.triple for q in ox.parse(response.content, format=fmt)])
        except (ValueError, SyntaxError, KeyError, TypeError) as e:
            raise KGError(
                f"{self.endpoint} answered something that is not valid {ctype}: {e}"
            ) from None
        raise KGError(f"{self.endpoint} answered in an unexpected format ({ctype or 'none'})")


def inline_values(text: str, bindings: Mapping[str, Term]) -> str:
    """Bind variables for a remote endpoint: a VALUES block of RDF terms, written by the
    N-Triples serialiser, at the start of the outermost WHERE group (so the group's
    FILTERs see the values, as with substitution)."""
    import re

    from kg.sparqltext import mask

    masked = mask(text)
    m = re.search(r"\bWHERE\s*\{", masked, re.I) or re.search(r"\{", masked)
    if m is None:
        raise KGError("cannot bind parameters: the query has no WHERE group")
    names = " ".join(f"?{k}" for k in bindings)
    values = " ".join(str(v) for v in bindings.values())
    return f"{text[: m.end()]} VALUES ({names}) {{ ({values}) }} {text[m.end() :]}"


def _from_json(doc: dict[str, Any]) -> Result:
    if "boolean" in doc:
        return AskResult(bool(doc["boolean"]))
    names = doc["head"]["vars"]
    rows = []
    for b in doc["results"]["bindings"]:
        rows.append(tuple(_term_from_json(b[v]) if v in b else None for v in names))
    return SelectResult(names, rows)


def _term_from_json(t: dict[str, str]) -> Term:
    kind = t["type"]
    if kind == "uri":
        return ox.NamedNode(t["value"])
    if kind == "bnode":
        return ox.BlankNode(t["value"])
    if "xml:lang" in t:
        return ox.Literal(t["value"], language=t["xml:lang"])
    if "datatype" in t:
        return ox.Literal(t["value"], datatype=ox.NamedNode(t["datatype"]))
    return ox.Literal(t["value"])


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


ENGINES = {"oxigraph": OxigraphEngine, "oxigraph-disk": OxigraphDiskEngine, "rdflib": RdflibEngine}


def open_engine(
    name: str = "oxigraph",
    project: Project | None = None,
    *,
    endpoint: str | None = None,
    graph: str | None = None,
) -> Engine:
    """An engine over the project's graph by name (see :data:`ENGINES`), or a remote
    endpoint when ``endpoint`` is given (``graph``: its default-graph-uri)."""
    if endpoint is not None:
        return RemoteEngine(endpoint, default_graph=graph)
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
