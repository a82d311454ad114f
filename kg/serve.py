"""The graph on the web: a SPARQL 1.1 endpoint, a query page, a page per resource.

``create_app()`` builds a Starlette application; ``serve()`` runs it with
uvicorn. Routes:

- ``/sparql`` — the SPARQL 1.1 Protocol (GET/HEAD ``?query=``, POST form, POST
  ``application/sparql-query``); without a query, the service description.
  Read-only, no SERVICE, no FROM; every query runs in a confined worker
  process (:mod:`kg.workers`, :mod:`kg.sandbox`) under time, row, byte and
  memory limits; request size and read time are capped.
- ``/api/queries`` and ``/api/queries/NAME?param=…`` — the saved queries, and a
  saved query run with its parameters bound as RDF terms.
- ``/`` — the query page (no CDN: everything is served from here).
- ``/id/…``, ``/link/…`` — every resource IRI of the graph
  (``https://w3id.org/israel-japan-kg/…``) resolves here: HTML for browsers,
  Turtle, N-Triples, RDF/XML or JSON-LD by ``Accept``; 404 when not in the graph.
- ``/ontology`` — the ontology's terms; ``/timeline.svg`` — the picture;
  ``/context.jsonld`` — the JSON-LD context that JSON-LD answers reference.

Handlers are module-level functions reading ``request.app.state`` (an
:class:`AppState`), so each can be read and tested on its own. Pages that do
not depend on the request are computed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pyoxigraph as ox

from kg.description import INCOMING, OUTGOING
from kg.engine import GraphResult, OxigraphEngine, SelectResult
from kg.errors import KGError
from kg.exports import GRAPH_IRI
from kg.namespaces import BASE, IJ, shorten
from kg.project import Project
from kg.protocol import (
    acceptable,
    media_ranges,
    neutralise_formulas,
    service_description,
)
from kg.queries import SavedQuery, bind_params, list_queries
from kg.sparqltext import check
from kg.workers import CONTENT_TYPE, Answer, Job, Limits, MiB, QueryPool

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
}


@dataclass(frozen=True)
class Settings:
    """Everything ``kg serve`` can be told; the defaults suit a public deployment."""

    timeout: float = 10.0
    max_results: int = 10_000
    max_result_bytes: int = 16 * MiB
    max_worker_memory: int = 1024 * MiB
    max_request_bytes: int = 64 * 1024
    workers: int = 2
    per_client: int = 1
    max_queue: int = 16
    queue_wait: float = 5.0
    read_timeout: float = 10.0
    max_connections: int = 256
    base_url: str | None = None
    trusted_proxies: str = "127.0.0.1"
    allow_outbound_risk: bool = False

    def limits(self) -> Limits:
        return Limits(
            timeout=self.timeout,
            max_results=self.max_results,
            max_bytes=self.max_result_bytes,
            max_memory=self.max_worker_memory,
            workers=self.workers,
            per_client=self.per_client,
            max_queue=self.max_queue,
            queue_wait=self.queue_wait,
            allow_outbound_risk=self.allow_outbound_risk,
        )


@dataclass
class AppState:
    project: Project
    settings: Settings
    pool: QueryPool
    engine: OxigraphEngine  # the main process's own store: fixed queries only, never a client's
    triples: int
    saved: dict[str, SavedQuery]
    base_url: str
    env: Any
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.base_url + "/sparql"

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed on first use and kept (pages that do not depend on the request)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def page(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)


def _state(request: Any) -> AppState:
    return request.app.state.kg


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(message.rstrip("\n") + "\n", status_code=status, headers=headers)


class Refused(Exception):
    """A request the protocol layer answers itself (status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


# -- the SPARQL protocol ------------------------------------------------------------


async def _body(request: Any, settings: Settings) -> bytes:
    limit = settings.max_request_bytes
    too_large = Refused(413, f"the request is larger than this endpoint's limit of {limit} bytes")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()

    async def read() -> None:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise too_large

    try:
        await asyncio.wait_for(read(), settings.read_timeout)
    except TimeoutError:
        raise Refused(408, f"the request body took over {settings.read_timeout:g} s") from None
    return bytes(body)


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Refused(400, f"{what} is not UTF-8 (byte {e.start})") from None


async def read_protocol(request: Any, settings: Settings) -> tuple[str | None, list[tuple]]:
    """The query text of a SPARQL Protocol request and all its fields (URL and form).

    Raises :class:`Refused` for what the protocol refuses: updates (403), a
    second ``query`` (400), an unsupported body (415), too large (413/414).
    """
    url_fields = _fields(request.url.query, "the URL's query string")
    if request.method in ("GET", "HEAD"):
        if len(request.url.query) > settings.max_request_bytes:
            raise Refused(
                414,
                f"the request is larger than this endpoint's limit of "
                f"{settings.max_request_bytes} bytes",
            )
        fields, direct = url_fields, None
    else:
        ctype, _, params = request.headers.get("content-type", "").partition(";")
        ctype = ctype.strip().lower()
        charset = next(
            (
                v.strip().strip('"').lower()
                for k, _, v in (p.strip().partition("=") for p in params.split(";"))
                if k.strip().lower() == "charset"
            ),
            "utf-8",
        )
        if charset not in ("utf-8", "utf8"):
            raise Refused(415, f"send the request in UTF-8, not {charset}")
        if ctype == "application/sparql-update":
            raise Refused(403, _READ_ONLY)
        if ctype not in ("application/sparql-query", "application/x-www-form-urlencoded"):
            raise Refused(
                415,
                "send the query as application/sparql-query or as a form "
                "(application/x-www-form-urlencoded) field 'query'",
            )
        body = await _body(request, settings)
        if ctype == "application/sparql-query":
            fields, direct = url_fields, _utf8(body, "the query")
        else:
            form = _fields(_utf8(body, "the form"), "the form")
            fields, direct = url_fields + form, None
    names = [k for k, _ in fields]
    if "update" in names or "using-graph-uri" in names or "using-named-graph-uri" in names:
        raise Refused(403, _READ_ONLY)
    queries = [v for k, v in fields if k == "query"] + ([direct] if direct is not None else [])
    if len(queries) > 1:
        raise Refused(400, "the request has more than one query; send exactly one")
    for k, v in fields:
        if k == "default-graph-uri" and v != GRAPH_IRI:
            raise Refused(
                400,
                f"default-graph-uri <{v}> is not served here: this endpoint serves one "
                f"graph, <{GRAPH_IRI}>, as its default graph (leave the parameter out, or "
                "name that graph)",
            )
        if k == "named-graph-uri":
            raise Refused(
                400, f"named-graph-uri <{v}> is not served here: this endpoint has no named graphs"
            )
    return (queries[0] if queries else None), fields


_READ_ONLY = "this endpoint is read-only: SPARQL Update is not accepted"


def _fields(encoded: str, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(encoded, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise Refused(400, f"{what} is not UTF-8 once decoded (byte {e.start})") from None


def _formats(fields: list[tuple]) -> list[str]:
    return [v for k, v in fields if k in ("format", "output")]


def _answer(result: Answer, *, head: bool = False, download: str | None = None) -> Any:
    from starlette.responses import Response

    headers = {"Vary": "Accept", **dict(result.headers)}
    body = result.body
    if download and result.status == 200:
        kind = result.content_type.split(";")[0]
        if kind in ("text/csv", "text/tab-separated-values"):
            body = neutralise_formulas(body, "," if kind == "text/csv" else "\t")
        ext = {"text/csv": "csv", "text/tab-separated-values": "tsv"}.get(kind, "txt")
        headers["Content-Disposition"] = f'attachment; filename="{download}.{ext}"'
    response = Response(
        body, status_code=result.status, media_type=result.content_type, headers=headers
    )
    if head:
        response.body = b""
    return response


async def _run(
    request: Any,
    state: AppState,
    text: str,
    accept: list[str],
    bindings: dict[str, Any] | None = None,
) -> Answer:
    refused = check(text)
    if refused is not None:
        status, why = refused
        return Answer(status, "text/plain; charset=utf-8", (why + "\n").encode())
    job = Job(text, accept, bindings or {}, state.endpoint, state.base_url + "/context.jsonld")
    client = request.client.host if request.client else ""
    return await state.pool.run(job, client)


async def sparql(request: Any) -> Any:
    """The SPARQL 1.1 Protocol endpoint."""
    from starlette.responses import RedirectResponse, Response

    state = _state(request)
    try:
        text, fields = await read_protocol(request, state.settings)
    except Refused as e:
        return _text(e.status, e.message)
    header = request.headers.get("accept")
    if text is None:
        if _prefers_html(header or ""):
            return RedirectResponse("/", status_code=303)
        fmt = _rdf_type(header or "") or "turtle"
        body = state.once(
            ("sd", fmt),
            lambda: service_description(state.endpoint, state.triples, fmt, graph=GRAPH_IRI),
        )
        return Response(body, media_type=CONTENT_TYPE[fmt], headers={"Vary": "Accept"})
    accept = acceptable(header, _formats(fields))
    if accept is None:
        return _text(
            406,
            "none of the requested media types is offered; offered: "
            + ", ".join(sorted(set(CONTENT_TYPE.values()))),
        )
    result = await _run(request, state, text, accept)
    download = "query" if any(k == "download" for k, _ in fields) else None
    return _answer(result, head=request.method == "HEAD", download=download)


# -- saved queries --------------------------------------------------------------------


async def api_queries(request: Any) -> Any:
    from starlette.responses import JSONResponse

    state = _state(request)
    return JSONResponse(
        state.once(
            "api-queries",
            lambda: [
                {
                    "name": q.name,
                    "summary": q.summary,
                    "description": q.description,
                    "params": [
                        {"name": p.name, "type": p.type, "default": p.default} for p in q.params
                    ],
                    "text": q.text,
                }
                for q in state.saved.values()
            ],
        )
    )


async def api_query(request: Any) -> Any:
    state = _state(request)
    name = request.path_params["name"]
    q = state.saved.get(name)
    if q is None:
        return _text(404, f"no saved query named {name!r}")
    control = ("format", "output", "download")
    values = {k: v for k, v in request.query_params.items() if k not in control}
    try:
        bound = bind_params(q, values, state.engine)
    except KGError as e:
        return _text(400, e.message)
    fields = list(request.query_params.multi_items())
    accept = acceptable(request.headers.get("accept"), _formats(fields))
    if accept is None:
        return _text(406, "none of the requested media types is offered")
    result = await _run(request, state, q.text, accept, dict(bound))
    download = name if "download" in request.query_params else None
    return _answer(result, head=request.method == "HEAD", download=download)


# -- linked data ---------------------------------------------------------------------


async def resource(request: Any) -> Any:
    state = _state(request)
    iri = BASE + request.url.path.lstrip("/")
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return _text(400, f"{iri!r} is not a valid IRI, so it names nothing in this graph")
    out = state.engine.query(OUTGOING, {"this": node})
    inc = state.engine.query(INCOMING, {"this": node})
    assert isinstance(out, SelectResult) and isinstance(inc, SelectResult)
    if not out.rows and not inc.rows:
        return _text(404, f"{iri} is not in this graph")
    wanted = _rdf_type(request.headers.get("accept", ""))
    if wanted is not None:
        return _describe_rdf(state, node, wanted)
    from starlette.responses import HTMLResponse

    context = _resource_context(state.engine, node, out.rows, inc.rows)
    return HTMLResponse(state.page("resource.html", **context))


async def ontology(request: Any) -> Any:
    from starlette.responses import HTMLResponse, Response

    state = _state(request)
    wanted = _rdf_type(request.headers.get("accept", ""))
    if wanted is not None:
        body = state.once(("ontology", wanted), lambda: _ontology_rdf(state, wanted))
        return Response(body, media_type=CONTENT_TYPE[wanted], headers={"Vary": "Accept"})
    return HTMLResponse(
        state.once("ontology.html", lambda: _ontology_page(state)), headers={"Vary": "Accept"}
    )


def _ontology_rdf(state: AppState, fmt: str) -> bytes:
    path = state.project.ontology_dir / "ij.ttl"
    if fmt == "turtle":
        return path.read_bytes()
    triples = [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
    return _graph_bytes(state, triples, fmt)


def _ontology_page(state: AppState) -> str:
    res = state.engine.query(_TERMS)
    assert isinstance(res, SelectResult)
    terms = [
        {
            "iri": r[0].value,  # type: ignore[union-attr]
            "name": r[0].value[len(IJ) :],  # type: ignore[union-attr]
            "kind": r[1].value,  # type: ignore[union-attr]
            "label": r[2].value,  # type: ignore[union-attr]
            "comment": r[3].value if r[3] else "",
        }
        for r in res.rows
    ]
    return state.page("ontology.html", terms=terms)


async def index(request: Any) -> Any:
    from starlette.responses import HTMLResponse

    state = _state(request)
    return HTMLResponse(
        state.once(
            "index.html",
            lambda: state.page(
                "index.html",
                triples=state.triples,
                timeout=state.settings.timeout,
                max_results=state.settings.max_results,
            ),
        )
    )


async def timeline(request: Any) -> Any:
    from starlette.responses import Response

    from kg.timeline import timeline_svg

    state = _state(request)
    svg = state.once("timeline.svg", lambda: timeline_svg(state.engine))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=300"})


async def context(request: Any) -> Any:
    from starlette.responses import Response

    state = _state(request)

    def make() -> str:
        from kg.exports import jsonld_context

        return (
            json.dumps({"@context": jsonld_context(state.project)}, indent=2, ensure_ascii=False)
            + "\n"
        )

    return Response(
        state.once("context.jsonld", make),
        media_type="application/ld+json",
        headers={"Cache-Control": "max-age=3600"},
    )


async def health(request: Any) -> Any:
    return _text(200, "ok")


# -- the application ------------------------------------------------------------------


def create_app(project: Project | None = None, settings: Settings | None = None) -> Any:
    """The Starlette application serving the project's graph."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from kg.graph import cached_ntriples

    project = project or Project.find()
    settings = settings or Settings()
    engine = OxigraphEngine.from_project(project)
    count = engine.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    assert isinstance(count, SelectResult)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters["short"] = shorten
    env.globals["local"] = local_path
    state = AppState(
        project=project,
        settings=settings,
        pool=QueryPool(cached_ntriples(project), project.root, settings.limits()),
        engine=engine,
        triples=int(count.rows[0][0].value),  # type: ignore[union-attr]
        saved={q.name: q for q in list_queries(project) if not q.needs_network},
        base_url=(settings.base_url or "http://127.0.0.1:8000").rstrip("/"),
        env=env,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await state.pool.start()
        try:
            yield
        finally:
            await state.pool.stop()

    read = ["GET", "HEAD"]
    routes = [
        Route("/", index, methods=read),
        Route("/sparql", sparql, methods=["GET", "HEAD", "POST"]),
        Route("/api/queries", api_queries, methods=read),
        Route("/api/queries/{name}", api_query, methods=read),
        Route("/id/{path:path}", resource, methods=read),
        Route("/link/{path:path}", resource, methods=read),
        Route("/ontology", ontology, methods=read),
        Route("/timeline.svg", timeline, methods=read),
        Route("/context.jsonld", context, methods=read),
        Route("/health", health, methods=read),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["Accept", "Content-Type"],
            max_age=3600,
        )
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.kg = state
    app.state.pool = state.pool
    return app


def preflight(settings: Settings) -> str:
    """Check, in a throw-away process, that query workers can be confined; the mechanism.

    Raises :class:`~kg.errors.KGError` (one line, saying why) when they cannot
    and ``settings.allow_outbound_risk`` is not set.
    """
    import multiprocessing

    from kg.sandbox import SandboxUnavailable

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_probe, args=(child,), daemon=True)
    proc.start()
    child.close()
    answer = parent.recv() if parent.poll(60) else ("failed", "the probe did not answer in 60 s")
    proc.join(5)
    if answer[0] == "ok":
        return answer[1]
    if settings.allow_outbound_risk:
        return f"none ({answer[1]})"
    raise KGError(
        f"cannot confine query workers ({answer[1]}), so a query could make this server "
        "connect anywhere; refusing to start (pass --allow-outbound-risk to serve anyway)"
    ) from SandboxUnavailable(answer[1])


def _probe(conn: Any) -> None:
    from kg.sandbox import SandboxUnavailable, confine

    try:
        conn.send(("ok", confine()))
    except SandboxUnavailable as e:
        conn.send(("failed", str(e)))


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    project: Project | None = None,
    settings: Settings | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the server until interrupted (after checking the workers can be confined)."""
    import resource as rlimit

    import uvicorn

    settings = settings or Settings()
    mechanism = preflight(settings)
    _quiet_resource_errors()
    if settings.base_url is None:
        shown = f"[{host}]" if ":" in host else host
        settings = _replace(settings, base_url=f"http://{shown}:{port}")
    soft, hard = rlimit.getrlimit(rlimit.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):  # room for --max-connections
        rlimit.setrlimit(rlimit.RLIMIT_NOFILE, (hard, hard))
    del soft
    app = create_app(project, settings)
    if on_ready is not None:
        on_ready(mechanism)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        limit_concurrency=settings.max_connections,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        http=_deadline_protocol(settings.read_timeout),  # type: ignore[arg-type]
    )
    uvicorn.Server(config).run()


def _quiet_resource_errors(every: float = 10.0) -> None:
    """Under file-descriptor pressure asyncio logs a traceback per refused ``accept()``;
    keep one short line per ``every`` seconds (asyncio retries accepting after 1 s)."""
    import logging
    import time

    last = [0.0]

    def one_line(record: logging.LogRecord) -> bool:
        if "out of system resource" not in str(record.msg):
            return True
        now = time.monotonic()
        if now - last[0] < every:
            return False
        last[0] = now
        record.msg, record.args, record.exc_info = (
            "out of file descriptors: new connections wait (raise ulimit -n or lower "
            "--max-connections)",
            (),
            None,
        )
        return True

    logging.getLogger("asyncio").addFilter(one_line)


def _replace(settings: Settings, **changes: Any) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)


def _deadline_protocol(seconds: float) -> type:
    """uvicorn's HTTP protocol, closing a connection that has not sent a request's headers
    within ``seconds`` of opening or of its previous response (slow or idle clients)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class DeadlineProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        _kg_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._kg_arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._kg_arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._kg_timer is not None:
                self._kg_timer.cancel()
            super().connection_lost(exc)

        def _kg_arm(self) -> None:
            if self._kg_timer is not None:
                self._kg_timer.cancel()
            self._kg_timer = self.loop.call_later(seconds, self._kg_expire, self.cycle)

        def _kg_expire(self, armed_with: Any) -> None:
            if self.cycle is armed_with and not self.transport.is_closing():
                self.transport.close()  # no new request began in time

    return DeadlineProtocol


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


def _prefers_html(accept: str) -> bool:
    return any(
        m in ("text/html", "application/xhtml+xml") and q > 0 for m, q in media_ranges(accept)
    )


def _rdf_type(accept: str) -> str | None:
    """The RDF format an Accept header prefers over HTML, if any."""
    best: tuple[float, str] | None = None
    for media, q in media_ranges(accept):
        kind = "html" if media in ("text/html", "application/xhtml+xml") else RDF_TYPES.get(media)
        if kind is not None and q > 0 and (best is None or q > best[0]):
            best = (q, kind)
    return None if best is None or best[1] == "html" else best[1]


def _graph_bytes(state: AppState, triples: list[ox.Triple], fmt: str) -> bytes:
    from kg.results import graph_to_text

    if fmt == "rdfxml":
        return ox.serialize(triples, format=ox.RdfFormat.RDF_XML) or b""
    text = graph_to_text(GraphResult(triples), fmt)
    if fmt == "jsonld":
        doc = json.loads(text)
        doc["@context"] = state.base_url + "/context.jsonld"
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return text.encode()


def _describe_rdf(state: AppState, node: ox.NamedNode, fmt: str) -> Any:
    from starlette.responses import Response

    res = state.engine.query(
        "CONSTRUCT { ?this ?p ?o . ?s ?q ?this } WHERE { { ?this ?p ?o } UNION { ?s ?q ?this } }",
        {"this": node},
    )
    assert isinstance(res, GraphResult)
    return Response(
        _graph_bytes(state, res.triples, fmt),
        media_type=CONTENT_TYPE[fmt],
        headers={"Vary": "Accept"},
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


__all__ = ["AppState", "Settings", "create_app", "local_path", "preflight", "serve"]
