"""``/reconcile``: the graph as a W3C reconciliation service (API version 0.2), for
OpenRefine and other clients. The matching is :mod:`kg.reconciliation`'s.

- ``GET /reconcile``: the service manifest; with ``queries=`` (GET, or a POSTed form
  field, as OpenRefine sends it) the candidates for each query of the batch;
- ``GET /reconcile/suggest/{entity,type,property}?prefix=``: type-ahead;
- ``GET /reconcile/preview?id=``: a small HTML card of one entity;
- data extension (:mod:`kg.extension`): ``extend=`` (GET, or a POSTed form field) adds
  the facts of reconciled resources as columns, and ``GET /reconcile/properties?type=``
  proposes the properties a type's resources hold.

Bad input is a 400 with a JSON ``{"error": …}``; a batch whose matching takes longer than
a query may (``--timeout``, in CPU time) a 503 saying to send fewer at a time; the index is
built once.
"""

from __future__ import annotations

from typing import Any

from kg.errors import KGError, clip
from kg.reconciliation import BatchTooLong, Index, manifest, parse_queries, term_named
from kg.web.endpoint import read_form
from kg.web.protocol import whole_number
from kg.web.state import AppState, OverBudget, Refused, state_of


def index_of(state: AppState) -> Index:
    """The names index of the served graph, built once."""
    return state.once("reconcile-index", lambda: _build(state))


async def index_ready(state: AppState) -> Index:
    """:func:`index_of` for a handler on the event loop: a request that comes while the
    index is being built (10 s at 1.7 M triples) waits for it holding no thread."""
    made = await state.made("reconcile-index", lambda: _build(state))
    return made  # type: ignore[no-any-return]


def _build(state: AppState) -> Index:
    return Index.from_engine(state.engine)


def _json(body: Any, status: int = 200) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse(body, status_code=status)


async def service(request: Any) -> Any:
    """The manifest, or the answers to a batch of reconciliation queries."""
    state = state_of(request)
    try:
        raw, extending = await _queries(request, state)
        if extending is not None:
            return await _extend(request, state, extending)
        if raw is None:
            return _json(manifest(state.base_url))
        # parsed in the client's thread, on its budget: a 64 KB batch is 6 ms of Python,
        # which on the event loop held every other client
        batch = await state.in_thread(request, parse_queries, raw,
                                      state.settings.max_request_bytes)
    except OverBudget:
        raise  # the site's one-line 429 with Retry-After (kg.web.app), as for every page
    except Refused as e:
        return _json({"error": e.message}, e.status)
    except KGError as e:
        return _json({"error": e.message}, 400)

    index = await index_ready(state)

    def answers() -> Any:  # written here too: 500 queries of 100 candidates are 9 MB of
        # JSON (0.14 s), which on the event loop held every client, on nobody's budget
        return _json(index.reconcile_batch(index.checked(batch), state.settings.timeout))

    try:  # a batch has the time limit of one query (its CPU time in a thread of the pool)
        return await state.in_thread(request, answers)
    except BatchTooLong as e:
        return _json({"error": e.message}, 503)
    except KGError as e:  # a type or property the graph has not
        return _json({"error": e.message}, 400)


async def _queries(request: Any, state: AppState) -> tuple[str | None, str | None]:
    """The ``queries`` and ``extend`` parameters, from the URL or a POSTed form (size and
    time capped)."""
    raw, extending = request.query_params.get("queries"), request.query_params.get("extend")
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise Refused(415, "POST the batch as a form field 'queries' (or 'extend')")
        form = dict(await read_form(request, state.settings))
        raw, extending = form.get("queries", raw), form.get("extend", extending)
    return raw, extending


async def _extend(request: Any, state: AppState, raw: str) -> Any:
    """The facts of reconciled resources as columns (:func:`kg.extension.extend`), each
    resource's statements read by the query workers, on the client's budget."""
    from kg.extension import extend, parse_request
    from kg.web.pooled import Busy

    index = await index_ready(state)
    labels = index.property_labels()

    def answer() -> Any:
        try:
            ids, props = parse_request(raw, labels, state.settings.max_request_bytes)
            return _json(extend(state.pages, ids, props, labels))
        except Busy as e:
            return _json({"error": e.message}, 503)
        except KGError as e:
            return _json({"error": e.message}, 400)

    return await state.in_thread(request, answer)


async def properties(request: Any) -> Any:
    """``/reconcile/properties?type=&limit=``: the properties to offer for a type."""
    state = state_of(request)
    index = await index_ready(state)
    return await state.in_thread(request, _properties, request, state, index)


def _properties(request: Any, state: AppState, index: Index) -> Any:
    from kg.extension import properties as held_by_class
    from kg.extension import propose
    from kg.web.pooled import Busy

    type_ = request.query_params.get("type", "")
    asked = request.query_params.get("limit", "50")
    limit = whole_number(asked, 1, 999)
    if limit is None:
        return _json({"error": f"'limit' must be a whole number from 1 to 999, not {asked[:20]!r}"},
                     400)
    known = {t.casefold(): t for t, (kind, _) in index.terms.items() if kind == "type"}
    local, hint = term_named(type_, known)
    if local is None:
        return _json({"error": f"no type {clip(type_)!r}{hint}; /reconcile/suggest/type?prefix= "
                               "lists them"}, 400)  # fmt: skip
    try:
        held = state.once("extend-properties", lambda: held_by_class(state.pages))
    except Busy as e:
        return _json({"error": e.message}, 503)
    proposed = propose(held, index.ancestors, index.property_labels(), local, limit)
    return _json({"type": local, "properties": proposed})


async def suggest(request: Any) -> Any:
    state = state_of(request)
    index = await index_ready(state)
    return await state.in_thread(request, _suggest, request, index)


def _suggest(request: Any, index: Index) -> Any:
    kind = request.path_params["kind"]
    if kind not in ("entity", "type", "property"):
        return _json({"error": f"no suggest service for {kind!r}"}, 404)
    prefix = request.query_params.get("prefix", "")
    try:
        cursor = max(0, int(request.query_params.get("cursor", "0") or 0))
    except ValueError:
        return _json({"error": "'cursor' must be an integer"}, 400)
    hits = index.suggest(kind, prefix, limit=cursor + 10)
    return _json({"result": hits[cursor:]})


async def preview(request: Any) -> Any:
    state = state_of(request)
    index = await index_ready(state)
    return await state.in_thread(request, _preview, request, state, index)


def _preview(request: Any, state: AppState, index: Index) -> Any:
    from starlette.responses import HTMLResponse

    entity = index.find(request.query_params.get("id", ""))
    if entity is None:
        return _json({"error": "no entity with that id"}, 404)
    html = state.page(
        "preview.html",
        entity=entity,
        description=index.describe(entity),
        view=f"{state.base_url}/id/{entity.id}",
    )
    return HTMLResponse(html)
