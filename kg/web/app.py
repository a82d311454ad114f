"""The graph on the web: ``create_app()`` builds the Starlette application, ``serve()``
runs it with uvicorn after checking that query workers can be confined.

Routes (handlers in :mod:`kg.web.endpoint` and :mod:`kg.web.pages`):

- ``/sparql`` — the SPARQL 1.1 Protocol (GET/HEAD ``?query=``, POST form, POST
  ``application/sparql-query``); without a query, the service description;
- ``/api/queries`` and ``/api/queries/NAME?param=…`` — the saved queries;
- ``/`` — the query page (no CDN: everything is served from here);
- ``/id/…``, ``/link/…`` — every resource of the graph, HTML or RDF by ``Accept``;
- ``/reconcile`` — the W3C Reconciliation Service API 0.2 (:mod:`kg.web.reconcile`);
- ``/ontology``, ``/timeline.svg``, ``/context.jsonld``, ``/health``;
- ``/.well-known/void`` and ``/download/NAME`` — the dataset's description and dumps
  (:mod:`kg.web.dataset`);
- ``/openapi.json`` — all of the above in OpenAPI 3.1 (:mod:`kg.web.apidoc`).

Every answer carries the security headers, ``Link: <licence>; rel="license"``, CORS
and cache validators (:mod:`kg.web.finishing`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from kg import sparql
from kg.dataset import stop_making
from kg.errors import KGError
from kg.links import safe_href
from kg.namespaces import shorten
from kg.project import Project
from kg.queries import list_queries
from kg.store import SelectResult, graph_file, open_engine
from kg.web import apidoc, dataset, endpoint, pages, reconcile
from kg.web.answers import AnswerCache
from kg.web.caching import build_tag
from kg.web.connections import guarded_protocol
from kg.web.finishing import Finish
from kg.web.sandbox import SandboxUnavailable, probe
from kg.web.settings import Settings
from kg.web.state import AppState, OverBudget, text_response
from kg.web.workers import QueryPool

HERE = Path(__file__).parent
READ = ["GET", "HEAD"]


async def over_budget(request: Any, e: Exception) -> Any:
    """A page's request from a client that spent its budget: one line, 429, Retry-After."""
    assert isinstance(e, OverBudget)
    return text_response(429, e.message, {"Retry-After": str(e.retry)})


def routes() -> list[Any]:
    """Every route of the application, with its handler."""
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    return [
        Route("/", pages.index, methods=READ),
        Route("/sparql", endpoint.sparql, methods=["GET", "HEAD", "POST"]),
        Route("/api/queries", endpoint.api_queries, methods=READ),
        Route("/api/queries/{name}", endpoint.api_query, methods=READ),
        Route("/api/terms", endpoint.api_terms, methods=READ),
        Route("/id/{path:path}", pages.resource, methods=READ),
        Route("/link/{path:path}", pages.resource, methods=READ),
        # the article's units and the citations of facts: records about the text, outside id/
        Route("/unit/{path:path}", pages.resource, methods=READ),
        Route("/citation/{path:path}", pages.resource, methods=READ),
        Route("/ontology", pages.ontology, methods=READ),
        Route("/timeline.svg", pages.timeline, methods=READ),
        Route("/context.jsonld", pages.context, methods=READ),
        Route("/health", pages.health, methods=READ),
        Route("/.well-known/void", dataset.void, methods=READ),
        Route("/download/{name}", dataset.download, methods=READ),
        Route("/search", pages.search_page, methods=READ),
        Route("/reconcile", reconcile.service, methods=["GET", "HEAD", "POST"]),
        Route("/reconcile/suggest/{kind}", reconcile.suggest, methods=READ),
        Route("/reconcile/preview", reconcile.preview, methods=READ),
        Route("/reconcile/properties", reconcile.properties, methods=READ),
        Route("/openapi.json", apidoc.openapi, methods=READ),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def licence_terms() -> dict[str, str]:
    """What the page footer says of the licence and the source (:mod:`kg.licence`)."""
    from kg.licence import ARTICLE_LICENCE, LICENCE
    from kg.namespaces import ARTICLE

    return {"data": LICENCE, "article": ARTICLE, "article_licence": ARTICLE_LICENCE}


def app_state(project: Project, settings: Settings) -> AppState:
    """The state every handler reads: the store, the worker pool, the saved queries, pages."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    engine = open_engine("oxigraph", project)
    count = engine.query(sparql.load("count-triples"))
    assert isinstance(count, SelectResult)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
    env.filters["short"] = shorten
    env.filters["href"] = safe_href  # a link only to this site or an http(s) URL
    env.globals["licence"] = licence_terms()
    return AppState(
        project=project,
        settings=settings,
        pool=QueryPool(graph_file(project), project.root, settings, getattr(engine, "store", None)),
        engine=engine,
        triples=int(count.rows[0][0].value),  # type: ignore[union-attr]
        saved={q.name: q for q in list_queries(project) if not q.needs_network},
        base_url=(settings.base_url or "http://127.0.0.1:8000").rstrip("/"),
        env=env,
        answers=AnswerCache(settings.cache_bytes),
    )


def create_app(project: Project | None = None, settings: Settings | None = None) -> Any:
    """The Starlette application serving the project's graph."""
    from starlette.applications import Starlette

    state = app_state(project or Project.find(), settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        from kg.web.pooled import pooled

        await state.pool.start()
        state.pages_engine = pooled(state.pool)  # pages' queries: the workers from now on
        try:
            yield
        finally:
            state.pages_engine = None
            stop_making(state.project)  # a dump being made kept the stopped process alive
            await state.pool.stop()

    from kg.registry import __version__

    tag = build_tag(state.project.content_key(), __version__, HERE)
    app = Starlette(routes=routes(), lifespan=lifespan,
                    exception_handlers={OverBudget: over_budget})
    # no redirect from /search/ to /search: Starlette writes it from the request's Host,
    # so a request naming another host got a Location there (s36-attack)
    app.router.redirect_slashes = False
    app.state.kg = state
    app.state.tag = tag  # /download's If-Range compares with the site's ETag
    # every answer finished in one pass (security headers, licence, CORS, validators), and
    # /sparql answered without the router (kg.web.finishing)
    return Finish(app, tag, sparql=endpoint.sparql_asgi)


def preflight(settings: Settings) -> str:
    """Check, in a throw-away process, that query workers can be confined; the mechanism.

    Raises :class:`~kg.errors.KGError` (one line, saying why) when they cannot
    and ``settings.allow_outbound_risk`` is not set.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    # the probe is in kg.web.sandbox: the new interpreter imports that alone, not this
    # module's Starlette and templates (2.2 s to the answer before, under load)
    proc = ctx.Process(target=probe, args=(child,), daemon=True)
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
    sock = _bind(host, port)  # first: before anything says "serving at"
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
        http=guarded_protocol(settings),  # type: ignore[arg-type]
    )
    uvicorn.Server(config).run(sockets=[sock])


def _bind(host: str, port: int) -> Any:
    """The listening address, bound now, so that a busy port is one line naming ``--port``
    (with a free one) rather than a "serving at" followed by uvicorn's error."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                free = probe.getsockname()[1]
            raise KGError(
                f"port {port} on {host} is in use (another kg serve?); choose another with "
                f"--port, e.g. --port {free}"
            ) from None
        raise KGError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    return sock


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


__all__ = ["Settings", "create_app", "preflight", "routes", "serve"]
