"""The graph on the web: a SPARQL 1.1 endpoint, a query page, a page per resource.

``create_app()`` builds a Starlette application; ``serve()`` runs it with
uvicorn. Routes:

- ``/sparql`` — the SPARQL 1.1 Protocol (GET ``?query=``, POST form, POST
  ``application/sparql-query``); without a query, the service description.
  Read-only, no SERVICE, no FROM; every query runs in a worker process under a
  time limit and a result cap (:mod:`kg.workers`); request size is capped.
- ``/api/queries`` and ``/api/queries/NAME?param=…`` — the saved queries, and a
  saved query run with its parameters bound as RDF terms.
- ``/`` — the query page (no CDN: everything is served from here).
- ``/id/…``, ``/link/…`` — every resource IRI of the graph
  (``https://w3id.org/israel-japan-kg/…``) resolves here: HTML for browsers,
  Turtle, N-Triples or JSON-LD by ``Accept``; 404 when not in the graph.
- ``/ontology`` — the ontology's terms; ``/timeline.svg`` — the picture.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from kg.description import INCOMING, OUTGOING
from kg.engine import GraphResult, OxigraphEngine, SelectResult
from kg.errors import KGError
from kg.namespaces import BASE, IJ, shorten
from kg.project import Project
from kg.protocol import acceptable, media_ranges, refusal, service_description
from kg.queries import bind_params, list_queries
from kg.workers import CONTENT_TYPE, QueryPool

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
}


@dataclass(frozen=True)
class Settings:
    timeout: float = 10.0
    max_results: int = 10_000
    max_request_bytes: int = 64 * 1024
    workers: int = 2


def _text(status: int, message: str) -> Any:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(message.rstrip("\n") + "\n", status_code=status)


def create_app(project: Project | None = None, settings: Settings | None = None) -> Any:
    """The Starlette application serving the project's graph."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from kg.graph import cached_ntriples

    project = project or Project.find()
    settings = settings or Settings()
    nt_path = cached_ntriples(project)
    engine = OxigraphEngine.from_project(project)
    triples = int(engine.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").rows[0][0].value)  # type: ignore[union-attr]
    pool = QueryPool(
        nt_path,
        project.root,
        size=settings.workers,
        timeout=settings.timeout,
        max_results=settings.max_results,
    )
    saved = {q.name: q for q in list_queries(project) if not q.needs_network}
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters["short"] = shorten
    env.globals["local"] = local_path

    def page(template: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(template).render(**context))

    async def read_query(request: Request) -> tuple[str | None, Response | None]:
        """The query text of a protocol request, or the response refusing it."""
        params = request.query_params
        if "default-graph-uri" in params or "named-graph-uri" in params:
            return None, _text(
                400,
                "default-graph-uri and named-graph-uri are not supported: "
                "this endpoint serves one default graph",
            )
        if "update" in params:
            return None, _text(403, "this endpoint is read-only: SPARQL Update is not accepted")
        if request.method == "GET":
            if len(str(request.url.query)) > settings.max_request_bytes:
                return None, _text(
                    414,
                    f"the request is larger than this endpoint's limit "
                    f"of {settings.max_request_bytes} bytes",
                )
            return params.get("query"), None
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_request_bytes:
            return None, _text(
                413,
                f"the request is larger than this endpoint's limit of "
                f"{settings.max_request_bytes} bytes",
            )
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_request_bytes:
                return None, _text(
                    413,
                    f"the request is larger than this endpoint's limit of "
                    f"{settings.max_request_bytes} bytes",
                )
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/sparql-update":
            return None, _text(403, "this endpoint is read-only: SPARQL Update is not accepted")
        if ctype == "application/sparql-query":
            return body.decode("utf-8", "replace"), None
        if ctype == "application/x-www-form-urlencoded":
            from urllib.parse import parse_qs

            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            if "update" in form:
                return None, _text(403, "this endpoint is read-only: SPARQL Update is not accepted")
            if "default-graph-uri" in form or "named-graph-uri" in form:
                return None, _text(
                    400,
                    "default-graph-uri and named-graph-uri are not "
                    "supported: this endpoint serves one default graph",
                )
            return (form.get("query") or [None])[0], None
        return None, _text(
            415,
            "send the query as application/sparql-query or as a form "
            "(application/x-www-form-urlencoded) field 'query'",
        )

    def answer(result: Any) -> Response:
        headers = {"Vary": "Accept"}
        if result.status >= 400:
            return Response(
                result.body,
                status_code=result.status,
                media_type=result.content_type,
                headers=headers,
            )
        return Response(result.body, media_type=result.content_type, headers=headers)

    async def sparql(request: Request) -> Response:
        text, refused = await read_query(request)
        if refused is not None:
            return refused
        accept = acceptable(request.headers.get("accept"), request.query_params.get("format"))
        if text is None:
            if "text/html" in request.headers.get("accept", ""):
                return RedirectResponse("/", status_code=303)
            body = service_description(str(request.url.replace(query="")), triples)
            return Response(body, media_type="text/turtle; charset=utf-8")
        if accept is None:
            return _text(
                406,
                "none of the requested media types is offered; offered: "
                + ", ".join(CONTENT_TYPE.values()),
            )
        why = refusal(text)
        if why is not None:
            return _text(403, why)
        return answer(await pool.run(text, accept))

    async def api_queries(request: Request) -> JSONResponse:
        return JSONResponse(
            [
                {
                    "name": q.name,
                    "summary": q.summary,
                    "description": q.description,
                    "params": [
                        {"name": p.name, "type": p.type, "default": p.default} for p in q.params
                    ],
                    "text": q.text,
                }
                for q in saved.values()
            ]
        )

    async def api_query(request: Request) -> Response:
        name = request.path_params["name"]
        q = saved.get(name)
        if q is None:
            return _text(404, f"no saved query named {name!r}")
        values = {k: v for k, v in request.query_params.items() if k != "format"}
        try:
            bound = bind_params(q, values, engine)
        except KGError as e:
            return _text(400, e.message)
        accept = acceptable(request.headers.get("accept"), request.query_params.get("format"))
        if accept is None:
            return _text(406, "none of the requested media types is offered")
        specs = {k: _spec(v) for k, v in bound.items()}
        return answer(await pool.run(q.text, accept, specs))

    async def resource(request: Request) -> Response:
        iri = BASE + request.url.path.lstrip("/")
        node = ox.NamedNode(iri)
        out = engine.query(OUTGOING, {"this": node})
        inc = engine.query(INCOMING, {"this": node})
        assert isinstance(out, SelectResult) and isinstance(inc, SelectResult)
        if not out.rows and not inc.rows:
            return _text(404, f"{iri} is not in this graph")
        wanted = _rdf_type(request.headers.get("accept", ""))
        if wanted is not None:
            return _describe_rdf(engine, node, wanted)
        return page("resource.html", **_resource_context(engine, node, out.rows, inc.rows))

    async def ontology(request: Request) -> Response:
        wanted = _rdf_type(request.headers.get("accept", ""))
        if wanted is not None:
            text = (project.ontology_dir / "ij.ttl").read_text(encoding="utf-8")
            if wanted == "turtle":
                return Response(text, media_type=CONTENT_TYPE["turtle"])
            from rdflib import Graph

            from kg.results import graph_to_text

            g = Graph().parse(data=text, format="turtle")
            triples_ = [ox.Triple(*(_to_ox(t) for t in tr)) for tr in g]
            return Response(
                graph_to_text(GraphResult(triples_), wanted), media_type=CONTENT_TYPE[wanted]
            )
        res = engine.query(_TERMS)
        assert isinstance(res, SelectResult)
        terms = [
            {
                "iri": r[0].value,
                "name": r[0].value[len(IJ) :],
                "kind": r[1].value,  # type: ignore[union-attr]
                "label": r[2].value,
                "comment": r[3].value if r[3] else "",
            }  # type: ignore[union-attr]
            for r in res.rows
        ]
        return page("ontology.html", terms=terms)

    async def index(request: Request) -> Response:
        return page(
            "index.html",
            triples=triples,
            timeout=settings.timeout,
            max_results=settings.max_results,
        )

    async def timeline(request: Request) -> Response:
        from kg.timeline import timeline_svg

        return Response(
            timeline_svg(engine),
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=300"},
        )

    async def health(request: Request) -> Response:
        return _text(200, "ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await pool.stop()

    routes = [
        Route("/", index),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/api/queries", api_queries),
        Route("/api/queries/{name}", api_query),
        Route("/id/{path:path}", resource),
        Route("/link/{path:path}", resource),
        Route("/ontology", ontology),
        Route("/timeline.svg", timeline),
        Route("/health", health),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Content-Type"],
            max_age=3600,
        )
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pool = pool
    return app


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    project: Project | None = None,
    settings: Settings | None = None,
) -> None:
    """Run the server until interrupted."""
    import uvicorn

    app = create_app(project, settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


# -- helpers ------------------------------------------------------------------

_TERMS = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?t ?kind ?label ?comment WHERE {
  VALUES (?type ?kind) { (owl:Class "class") (owl:ObjectProperty "property")
                         (owl:DatatypeProperty "property") }
  ?t a ?type ; rdfs:label ?label .
  OPTIONAL { ?t rdfs:comment ?comment }
  FILTER(STRSTARTS(STR(?t), "https://w3id.org/israel-japan-kg/ontology#"))
} ORDER BY ?kind ?t
"""
_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_EXACT = "http://www.w3.org/2004/02/skos/core#exactMatch"
_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
_URL = "http://schema.org/url"


def local_path(iri: str) -> str:
    """Where an IRI of this graph is served here; other IRIs stay as they are."""
    if iri.startswith(BASE + "id/") or iri.startswith(BASE + "link/"):
        return "/" + iri[len(BASE) :]
    if iri.startswith(IJ):
        return "/ontology#" + quote(iri[len(IJ) :])
    return iri


def _spec(term: Any) -> tuple[str, str, str | None, str | None]:
    if isinstance(term, ox.NamedNode):
        return ("uri", term.value, None, None)
    return (
        "literal",
        term.value,
        term.datatype.value if not term.language else None,
        term.language,
    )


def _to_ox(term: Any) -> Any:
    from kg.engine import from_rdflib

    return from_rdflib(term)


def _rdf_type(accept: str) -> str | None:
    """The RDF format an Accept header prefers over HTML, if any."""
    best: tuple[float, str] | None = None
    for media, q in media_ranges(accept):
        kind = "html" if media in ("text/html", "application/xhtml+xml") else RDF_TYPES.get(media)
        if kind is not None and q > 0 and (best is None or q > best[0]):
            best = (q, kind)
    return None if best is None or best[1] == "html" else best[1]


def _describe_rdf(engine: OxigraphEngine, node: ox.NamedNode, fmt: str) -> Any:
    from starlette.responses import Response

    from kg.results import graph_to_text

    res = engine.query(
        "CONSTRUCT { ?this ?p ?o . ?s ?q ?this } WHERE { { ?this ?p ?o } UNION { ?s ?q ?this } }",
        {"this": node},
    )
    assert isinstance(res, GraphResult)
    return Response(
        graph_to_text(res, fmt), media_type=CONTENT_TYPE[fmt], headers={"Vary": "Accept"}
    )


def _resource_context(engine: OxigraphEngine, node: ox.NamedNode, out: list, inc: list) -> dict:
    labels = [
        (r[2].value, r[2].language)
        for r in out
        if r[1].value == _LABEL and isinstance(r[2], ox.Literal)
    ]
    english = next((v for v, lang in labels if lang == "en"), None)
    wikidata = [
        r[2].value for r in out if r[1].value == _EXACT and "wikidata.org/entity/" in r[2].value
    ]
    sections = []
    for r in out:
        if r[1].value == _DERIVED:
            url = engine.query(f"SELECT ?s ?u WHERE {{ ?s <{_URL}> ?u }}", {"s": r[2]})
            link = url.rows[0][1].value if isinstance(url, SelectResult) and url.rows else None  # type: ignore[union-attr]
            sections.append(
                {
                    "label": r[3].value if r[3] else r[2].value,
                    "url": link,
                    "local": local_path(r[2].value),
                }
            )
    facts = [
        {
            "property": r[1].value,
            "plabel": r[4].value if r[4] else shorten(r[1].value),
            "value": _value(r[2], r[3]),
        }
        for r in out
        if r[1].value not in (_LABEL, _DERIVED)
    ]
    refs = [
        {
            "subject": _value(r[1], r[3]),
            "property": r[2].value,
            "plabel": r[4].value if r[4] else shorten(r[2].value),
        }
        for r in inc
    ]
    return {
        "iri": node.value,
        "title": english or shorten(node.value),
        "labels": labels,
        "wikidata": wikidata,
        "sections": sections,
        "facts": facts,
        "refs": refs,
    }


def _value(term: Any, label: Any) -> dict:
    if isinstance(term, ox.NamedNode):
        return {
            "iri": term.value,
            "href": local_path(term.value),
            "text": label.value if label is not None else shorten(term.value),
        }
    if isinstance(term, ox.Literal):
        dtype = None if term.language else shorten(term.datatype.value)
        if dtype in ("xsd:string",):
            dtype = None
        return {"literal": term.value, "language": term.language, "datatype": dtype}
    return {"literal": str(term)}


__all__ = ["Settings", "create_app", "local_path", "serve"]
