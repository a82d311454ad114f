"""The SPARQL 1.1 Protocol endpoint (``/sparql``) and the saved-query API (``/api/queries``).

Read-only, no SERVICE, no FROM; every query runs in a confined worker process
(:mod:`kg.web.workers`, :mod:`kg.web.sandbox`) under time, row, byte and memory
limits; request size and read time are capped.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kg.description import vocabulary
from kg.errors import KGError, clip
from kg.namespaces import GRAPH_IRI
from kg.queries import bind_params
from kg.querylint import (
    Vocabulary,
    bound_variables,
    explicit_projection,
    header_value,
    lint,
    selects_star,
)
from kg.registry import RESULT_FORMATS, by_media_type
from kg.sparqltext import check as check_text
from kg.sparqltext import page, uses_variable
from kg.web.answers import changes_between_askings
from kg.web.pertext import MISSING, per_text
from kg.web.protocol import (
    acceptable,
    neutralise_formulas,
    prefers_html,
    rdf_format,
    service_description,
)
from kg.web.settings import Settings
from kg.web.state import AppState, OverBudget, Refused, state_of, text_response
from kg.web.workers import Answer, Job, client_key


async def read_body(request: Any, settings: Settings) -> bytes:
    """The request body, refused (413) past the size limit, (408) past the read time, and
    (400, which no one reads) when the client went away before it ended."""
    from starlette.requests import ClientDisconnect

    limit = settings.max_request_bytes
    too_large = Refused(413, f"the request is larger than this endpoint's limit of {limit} bytes")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    try:
        # a deadline, not asyncio.wait_for: that made a task of every read (3% of a lookup)
        async with asyncio.timeout(settings.read_timeout):
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    raise too_large
    except TimeoutError:
        raise Refused(408, f"the request body took over {settings.read_timeout:g} s") from None
    except ClientDisconnect:  # not an error of the server's: no traceback in its log
        raise Refused(400, "the client closed the connection before the body ended") from None
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
    # the scope's own bytes: request.url builds the whole address (4% of a lookup)
    query = _utf8(request.scope.get("query_string", b""), "the URL's query string")
    url_fields = _fields(query, "the URL's query string")
    if request.method in ("GET", "HEAD"):
        if len(query) > settings.max_request_bytes:
            raise Refused(
                414,
                f"the request is larger than this endpoint's limit of "
                f"{settings.max_request_bytes} bytes",
            )
        fields, direct = url_fields, None
    else:
        fields, direct = await _posted(request, settings, url_fields)
    names = [k for k, _ in fields]
    if "update" in names or "using-graph-uri" in names or "using-named-graph-uri" in names:
        raise Refused(403, _READ_ONLY)
    queries = [v for k, v in fields if k == "query"] + ([direct] if direct is not None else [])
    if len(queries) > 1:
        raise Refused(400, "the request has more than one query; send exactly one")
    _check_dataset(fields)
    return (queries[0] if queries else None), fields


async def _posted(
    request: Any, settings: Settings, url_fields: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], str | None]:
    """A POST's fields, and its query when sent directly as ``application/sparql-query``."""
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
    if ctype == "application/sparql-query":
        return url_fields, _utf8(await read_body(request, settings), "the query")
    return url_fields + await read_form(request, settings), None


async def read_form(request: Any, settings: Settings) -> list[tuple[str, str]]:
    """A POSTed form's fields: size and time capped, UTF-8 or 400."""
    return _fields(_utf8(await read_body(request, settings), "the form"), "the form")


def _check_dataset(fields: list[tuple[str, str]]) -> None:
    """Refuse a dataset other than the one graph served here (400)."""
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


_READ_ONLY = "this endpoint is read-only: SPARQL Update is not accepted"


#: the text check, once per distinct query text (:mod:`kg.web.pertext`)
check = per_text()(check_text)


def _fields(encoded: str, what: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(encoded, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise Refused(400, f"{what} is not UTF-8 once decoded (byte {e.start})") from None


_PROLOGUE = re.compile(r"\s*(?:(?:PREFIX\s+[\w.\-]*:\s*|BASE\s*)<[^>]*>\s*|#[^\n]*\n)*", re.I)
_DESCRIBE_ONE = re.compile(r"DESCRIBE\s+(?:<([^<>\s]*)>|[\w.\-]*:([\w.\-]+))\s*$", re.I)


def _file_name(text: str) -> str:
    """A free query's download name: ``describe-shinzo-abe`` for the description of one
    resource, else ``query`` (the extension is the format's).

    >>> _file_name("DESCRIBE person:shinzo-abe"), _file_name("SELECT * {}")
    ('describe-shinzo-abe', 'query')
    """
    m = _DESCRIBE_ONE.match(text, _PROLOGUE.match(text).end())  # type: ignore[union-attr]
    name = (m.group(1) or "").rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1] or m.group(2) \
        if m else ""
    name = re.sub(r"[^\w.\-]+", "-", name or "").strip(".-")[:80]
    return f"describe-{name}" if name else "query"


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
        spec = by_media_type(kind)  # the registry's extension: visits.csv, query.json …
        ext = spec.extension if spec is not None else "txt"
        headers["Content-Disposition"] = f'attachment; filename="{download}.{ext}"'
    response = Response(
        body, status_code=result.status, media_type=result.content_type, headers=headers
    )
    if head:
        response.body = b""
    return response


def _warnings(state: AppState, text: str, params: dict[str, str] | None) -> list[str]:
    """The query lint's warnings (:mod:`kg.querylint`), cached by text."""
    try:
        vocabulary = state.once("lint-vocabulary", lambda: Vocabulary.of(state.engine))
        return lint(text, vocabulary, params)
    except Exception:
        return []


#: the lint's warnings sent with an answer, at most (an 18 KB text naming 800 unknown terms
#: had a 42 KB KG-Warning header, past what nginx takes from a backend by default: a 502)
MAX_WARNINGS = 20


async def _run(
    request: Any,
    state: AppState,
    text: str,
    accept: list[str],
    bindings: dict[str, Any] | None = None,
    dropped: dict[str, str] | None = None,
    *,
    lint: bool = False,
) -> Answer:
    """The answer to ``text``, with the lint's warnings in its ``KG-Warning`` header.

    Reading a new text costs 15-40 ms, more than a lookup's query, so the lint runs only
    where it is worth it: when asked (``lint``: the query page's own queries, an edited
    saved query; read in a thread while the query runs) and for every empty answer (read
    after it, which an empty answer can afford); a text read before costs nothing (cached).
    ``dropped`` are the parameters the text no longer binds."""
    asked = dropped is not None or lint
    linting = asyncio.create_task(_read_aside(request, state, [], _warnings, state, text,
                                              dropped)) if asked else None
    original = text
    if selects_star(text):  # SELECT *: its columns in the pattern's order
        known = _projection.known(text)  # type: ignore[attr-defined]
        text = known if known is not MISSING else await _read_aside(
            request, state, text, _projection, text)
    answer = await _ask(request, state, text, accept, bindings)
    if linting is not None:
        warnings = await linting
    elif answer.status == 200 and answer.rows == 0:
        warnings = await _read_aside(request, state, [], _warnings, state, original, None)
    else:
        warnings = []
    if len(warnings) > MAX_WARNINGS:  # one header, kept small: a proxy refuses a large one
        warnings = [*warnings[:MAX_WARNINGS], f"and {len(warnings) - MAX_WARNINGS} more"]
    if warnings and answer.status == 200:
        answer = answer._replace(headers=(*answer.headers, ("KG-Warning", header_value(warnings))))
    return answer


#: SELECT *'s columns, per text: a text read before is answered on the event loop, with
#: no thread (a lookup of the same text asked again)
_projection = per_text()(explicit_projection)


async def _read_aside(
    request: Any, state: AppState, fallback: Any, fn: Callable[..., Any], *args: Any
) -> Any:
    """``fn(*args)``, a reading of the query's text by rdflib's parser (:mod:`kg.querylint`:
    the lint, ``SELECT *``'s columns, the variables an edited saved query binds), in a
    thread of the pool on the client's budget; ``fallback`` once that budget is spent (the
    query itself is then refused by the pool). That parser takes seconds on short texts
    (1.5 ms a character of ``FILTER(1+1+…)``: 29 s at 18 KB), and one such request on the
    event loop held every client of the server for as long."""
    try:
        return await state.in_thread(request, fn, *args)
    except OverBudget:
        return fallback


async def _ask(
    request: Any,
    state: AppState,
    text: str,
    accept: list[str],
    bindings: dict[str, Any] | None = None,
) -> Answer:
    job = Job(text, accept, bindings or {}, state.endpoint, state.base_url + "/context.jsonld")
    kept = state.answers.get(job)  # asked before: the graph has not changed since
    if kept is not None:
        return kept
    refused, changing = await _scanned(request, state, text, _rules, text)
    if refused is not None:
        status, why = refused
        return Answer(status, "text/plain; charset=utf-8", (why + "\n").encode())
    client = client_key(request.client.host) if request.client else ""
    answer = await state.pool.run(job, client)
    state.answers.put(job, answer, changing=changing)
    if changing:  # NOW(), RAND() …: no cache may keep the answer
        answer = answer._replace(headers=(*answer.headers, ("Cache-Control", "no-store")))
    return answer


def _rules(text: str) -> tuple[tuple[int, str] | None, bool]:
    """What one reading of the text decides: the text check's refusal (or None), and
    whether its answer changes between askings (``NOW()``, ``RAND()`` …)."""
    refused = check(text)
    return refused, refused is None and changes_between_askings(text)


#: texts longer than this (characters) are scanned (the text check, paging, the variables
#: of an edited saved query) in a thread of the pool on the client's budget; a shorter one
#: costs the event loop at most ~3 ms (a scan is ~3 µs a character)
SCAN_ON_LOOP = 1024


async def _scanned(request: Any, state: AppState, text: str, fn: Callable[..., Any],
                   *args: Any) -> Any:
    """``fn(*args)``, a scan of ``text``: on the event loop when the text is short, else in
    a thread on the client's budget (:class:`OverBudget` past it). Scanning a 64 KB text
    (the check, a page's LIMIT, NOW()) took 175 ms of the event loop, charged to no one:
    eight connections of one address sending such texts, each refused 429, kept /health
    waiting 3.3 s (median; 5 s at worst)."""
    if len(text) <= SCAN_ON_LOOP:
        return fn(*args)
    return await state.in_thread(request, fn, *args)


async def sparql(request: Any) -> Any:
    """The SPARQL 1.1 Protocol endpoint."""
    from starlette.responses import RedirectResponse, Response

    state = state_of(request)
    try:
        text, fields = await read_protocol(request, state.settings)
    except Refused as e:
        return text_response(e.status, e.message)
    header = request.headers.get("accept")
    if text is None:
        if prefers_html(header or ""):
            return RedirectResponse("/", status_code=303)
        fmt = rdf_format(header or "") or "turtle"
        body = state.once(
            ("sd", fmt),
            lambda: service_description(
                state.endpoint,
                state.triples,
                fmt,
                graph=GRAPH_IRI,
                described_by=state.base_url + "/.well-known/void",
            ),
        )
        media = RESULT_FORMATS[fmt].content_type
        return Response(body, media_type=media, headers={"Vary": "Accept"})
    accept = acceptable(header, _formats(fields))
    if accept is None:
        return text_response(
            406,
            "none of the requested media types is offered; offered: "
            + ", ".join(f.media_type for f in RESULT_FORMATS.values() if f.kind != "text"),
        )
    page_header, asked = None, text
    try:
        if request.method != "POST" and request.query_params.get("paged") == "1":
            # the query page asks so: a long answer comes in pages, as a saved query's, not
            # a 413
            paging = await _scanned(request, state, text, _page, request, text,
                                    state.settings.max_results)
            if not isinstance(paging, tuple):
                return paging
            text, page_header = paging
        lint = request.method != "POST" and request.query_params.get("lint") == "1"
        result = await _run(request, state, text, accept, lint=lint)
        if page_header is not None and _past_the_text(result, asked):
            result = await _run(request, state, asked, accept, lint=lint)
    except OverBudget as e:  # /sparql is answered without the router and its handler
        return text_response(429, e.message, {"Retry-After": str(e.retry)})
    result = _paged(request, state, result, page_header)
    download = _file_name(asked) if any(k == "download" for k, _ in fields) else None
    return _answer(result, head=request.method == "HEAD", download=download)


async def sparql_asgi(scope: Any, receive: Any, send: Any) -> None:
    """:func:`sparql` as an ASGI application, called without Starlette's router
    (:class:`kg.web.finishing.Finish` dispatches ``/sparql`` here)."""
    from starlette.requests import Request

    response = await sparql(Request(scope, receive))
    await response(scope, receive, send)


# -- saved queries --------------------------------------------------------------------


async def api_queries(request: Any) -> Any:
    from starlette.responses import JSONResponse

    state = state_of(request)
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


async def api_terms(request: Any) -> Any:
    """The prefixed names the query page completes (computed once, in a thread)."""
    from starlette.responses import JSONResponse

    state = state_of(request)
    terms = await state.made("api-terms", lambda: vocabulary(state.engine))
    return JSONResponse(terms, headers={"Cache-Control": "max-age=300"})


def _page(request: Any, text: str, rows: int) -> Any:
    """``(text, page)``: the text answering the page ``limit=`` and ``offset=`` ask for, or,
    by default, pages of ``rows`` (the row limit) where the query can be paged; ``paged=0``
    asks for the whole answer (or a 413 past the limit). ``page`` is the ``(limit, offset)``
    of a default page, or None. A 400 response if the numbers are not whole numbers, or an
    explicit limit asks to page a query that cannot be."""
    asked = {k: request.query_params.get(k) for k in ("limit", "offset")}
    try:
        limit, offset = (int(v) if v not in (None, "") else None for v in asked.values())
    except ValueError:
        limit = offset = -1
    if (limit is not None and limit < 0) or (offset is not None and offset < 0):
        return text_response(400, "limit and offset are whole numbers, 0 or more")
    if limit is None and request.query_params.get("paged") != "0":
        try:
            return page(text, rows, offset), (rows, offset or 0)
        except KGError:
            return text, None  # its own LIMIT, or an ASK: answered whole, as written
    try:
        return page(text, limit, offset), None
    except KGError as e:
        return text_response(400, e.message)


def _not_served(state: AppState, name: str) -> str:
    """Why ``/api/queries/NAME`` has no query: one that asks Wikidata, which this endpoint
    never does, or a slip of typing (the closest names offered, as ``kg query`` does)."""
    import difflib

    if name in {p.stem for p in state.project.queries_dir.glob("*.rq")}:
        return (f"saved query {name!r} asks Wikidata, which this endpoint never does: "
                f"run 'kg query {name} --allow-network'")  # fmt: skip
    close = difflib.get_close_matches(name[:100], sorted(state.saved), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; /api/queries lists them"
    return f"no saved query named {clip(name)!r}{hint}"


async def api_query(request: Any) -> Any:
    """A saved query run with its parameters bound as RDF terms. ``query=`` replaces its
    text (the page sends the edited text), keeping the declared parameters bound, so an
    edit never silently drops what the form says."""
    state = state_of(request)
    name = request.path_params["name"]
    q = state.saved.get(name)
    if q is None:
        return text_response(404, _not_served(state, name))
    control = ("format", "output", "download", "query", "limit", "offset", "paged")
    # counted in one pass: list.count per name was quadratic, and 16,000 names in a 64 KB
    # address held the event loop, every client with it, for 7 s
    given = Counter(k for k, _ in request.query_params.multi_items())
    twice = sorted(k for k, n in given.items() if n > 1)
    if twice:
        return text_response(
            400, f"the parameter {twice[0]!r} is given {given[twice[0]]} times; give it once"
        )
    values = {k: v for k, v in request.query_params.items() if k not in control}
    edited = "query" in request.query_params
    text = request.query_params["query"] if edited else q.text
    if len(text) > state.settings.max_request_bytes:
        return text_response(414, "the query is larger than this endpoint's limit")
    # an edited text binds a parameter only where its pattern still binds the variable
    # (a variable only selected would show the form's value in its column); the others
    # are dropped, and the answer's KG-Warning says so
    dropped: dict[str, str] = {}
    if edited:
        patterned = await _read_aside(request, state, None, bound_variables, text)
        for p in q.params:
            used = p.name in patterned if patterned is not None else await _scanned(
                request, state, text, uses_variable, text, p.name)
            if not used:
                dropped[p.name] = values.pop(p.name, p.default or "")
        q = q._replace(params=tuple(p for p in q.params if p.name not in dropped))
    try:
        # in a thread, on the client's budget: a name the graph lacks is matched against
        # every label for the offer of close ones, 0.7-1.7 s of CPU at 230 pairs, which
        # on the event loop held every other client (stop 33)
        bound = await state.in_thread(request, functools.partial(
            bind_params, q, values, state.engine, add="{}=VALUE to the address"))
    except KGError as e:
        return text_response(400, e.message)
    asked = text
    paging = await _scanned(request, state, text, _page, request, text,
                            state.settings.max_results)
    if not isinstance(paging, tuple):
        return paging
    text, page_header = paging
    fields = list(request.query_params.multi_items())
    accept = acceptable(request.headers.get("accept"), _formats(fields))
    if accept is None:
        return text_response(406, "none of the requested media types is offered")
    result = await _run(request, state, text, accept, dict(bound), dropped if edited else None)
    if page_header is not None and _past_the_text(result, asked):
        result = await _run(request, state, asked, accept, dict(bound),
                            dropped if edited else None)
    result = _paged(request, state, result, page_header)
    download = name if "download" in request.query_params else None
    return _answer(result, head=request.method == "HEAD", download=download)


_AT_LINE = re.compile(rb"invalid SPARQL at line (\d+),")


def _past_the_text(result: Answer, asked: str) -> bool:
    """Does ``result``, the answer to ``asked`` with a page's ``LIMIT`` added on a line of its
    own, place a syntax error on that line, past the text asked? The query page sends every
    text so, and ``FILTER(?o = )`` was shown as an error of ``LIMIT 10000``, which its
    writer never wrote: the text asked is then sent as it is, for its own error."""
    m = _AT_LINE.match(result.body) if result.status == 400 else None
    return m is not None and int(m.group(1)) > asked.rstrip("\n").count("\n") + 1


def _paged(request: Any, state: AppState, result: Answer, page_header: Any) -> Answer:
    """``result`` with ``X-KG-Page`` (and a ``Link`` to the next page when full) when it
    answers a default page."""
    if not page_header or result.status != 200:
        return result
    size, offset = page_header
    headers = [("X-KG-Page", f"limit={size}; offset={offset}")]
    if result.rows == size:  # a full page: there may be more (RFC 8288 "next")
        after = request.url.include_query_params(offset=offset + size)
        # path-absolute, under --base-url's path: right behind a proxy that serves the
        # site at a sub-path, and never naming a host the client did not ask
        prefix = urlsplit(state.base_url).path.rstrip("/")
        headers.append(("Link", f'<{prefix}{after.path}?{after.query}>; rel="next"'))
    return result._replace(headers=(*result.headers, *headers))
