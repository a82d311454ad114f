"""The pages: the query page, a page per resource (HTML or RDF by ``Accept``), the
ontology, the timeline picture, the JSON-LD context, and a health check.

Every resource IRI of the graph (``https://w3id.org/israel-japan-kg/…``)
resolves here under ``/id/…`` and ``/link/…``; 404 when not in the graph.
Pages that do not depend on the request are computed once.

Handlers read the graph in Starlette's thread pool: a page built from the whole graph
(the home page's timeline, the search and names indexes, each taking seconds at a million
triples) never holds the event loop, so ``/sparql`` and ``/health`` go on answering
meanwhile (``python bench/firstuse.py``). Such a build runs in one thread, and the
requests that come while it runs wait for it on the loop (:meth:`AppState.made`), holding
no thread: the pool's 40 stay free for the resource pages.
"""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox
from markupsafe import Markup

from kg import sparql
from kg.description import FACT_GROUPS, OTHER_FACTS, fact_group
from kg.formats import graph_bytes, jsonld_context
from kg.links import safe_href, site_path
from kg.namespaces import (
    BASE,
    IJ,
    LINK,
    PREFIXES,
    PROV_DERIVED_FROM,
    RDFS_LABEL,
    SKOS_EXACT_MATCH,
    WIKIDATA_ENTITY,
    shorten,
)
from kg.registry import RESULT_FORMATS
from kg.store import Engine, GraphResult, SelectResult
from kg.timeline import timeline_items, timeline_svg
from kg.web.protocol import document_format, prefers_html, whole_number
from kg.web.state import AppState, state_of, text_response

#: the entity documents a plain link reaches (``/id/person/shinzo-abe.ttl``): every graph
#: format of the registry, by its file extension, with the name the page shows
DOCUMENTS = {
    f.extension: f.name for f in RESULT_FORMATS.values() if f.kind == "graph"
}
DOCUMENT_LABELS = {"turtle": "Turtle", "nt": "N-Triples", "jsonld": "JSON-LD", "rdfxml": "RDF/XML"}


def _facts(engine: Engine, iri: str) -> tuple[ox.NamedNode, Any, Any] | None:
    """The resource's node and its facts both ways; None when the graph has none."""
    node = ox.NamedNode(iri)
    out = engine.query(sparql.load("outgoing"), {"this": node})
    inc = engine.query(sparql.load("incoming"), {"this": node})
    assert isinstance(out, SelectResult) and isinstance(inc, SelectResult)
    return (node, out, inc) if out.rows or inc.rows else None


async def resource(request: Any) -> Any:
    """A resource of the graph: its page, or its document in an RDF format by ``Accept``,
    ``?format=`` or an extension, made in a thread; a browser's 404 offers the names
    closest to the address, from the names index, waited for (when being built) holding no
    thread."""
    from kg.web.reconcile import index_ready

    state = state_of(request)
    answer = await state.in_thread(request, _page_of, request, state)
    if isinstance(answer, str):
        await index_ready(state)
        answer = await state.in_thread(request, _not_found, request, state, answer)
    return answer


def _page_of(request: Any, state: AppState) -> Any:
    """:func:`_resource` from the workers' store; 503 with ``Retry-After`` when the workers
    that answer the page's queries are all busy; from this process's own store when an
    answer passed the workers' byte cap."""
    from kg.web.pooled import Busy, TooLarge

    try:
        return _resource(request, state, state.pages)
    except Busy as e:
        return text_response(503, e.message, {"Retry-After": e.retry_after})
    except TooLarge:  # past the workers' byte cap: this process's own store, for this one
        return _resource(request, state, state.engine)


def _resource(request: Any, state: AppState, engine: Engine) -> Any:
    """The answer, or the IRI (a string) when the graph has nothing under it and a
    browser asked (its 404 page needs the names index)."""
    iri = BASE + request.url.path.lstrip("/")
    try:
        found = _facts(engine, iri)
    except ValueError:
        return text_response(400, f"{iri!r} is not a valid IRI, so it names nothing in this graph")
    by_extension = None
    stem, dot, ext = iri.rpartition(".")
    if found is None and dot and ext in DOCUMENTS:  # /id/person/shinzo-abe.ttl: a document
        found = _facts(engine, stem)
        by_extension = DOCUMENTS[ext]
    if found is None:
        return iri if prefers_html(request.headers.get("accept", "")) else (
            _not_found(request, state, iri))
    node, out, inc = found
    try:
        wanted = by_extension or document_format(
            request.query_params.get("format"), request.headers.get("accept", "")
        )
    except ValueError as e:
        return text_response(400, str(e))
    if wanted is not None:
        return _describe_rdf(state, engine, node, wanted)
    from starlette.responses import HTMLResponse

    context = _resource_context(engine, node, out.rows, inc.rows)
    context["documents"] = [
        (ext, RESULT_FORMATS[name].media_type, DOCUMENT_LABELS.get(name, name))
        for ext, name in DOCUMENTS.items()
    ]
    context["slug"] = node.value.rstrip("/").rsplit("/", 1)[-1]
    _add_sources(state, engine, node, context)
    return HTMLResponse(state.page("resource.html", **context))


def _add_sources(state: AppState, engine: Engine, node: ox.NamedNode, context: dict) -> None:
    """Beside each fact, the units of the article stating it (their words on hover when the
    server has a copy of the article), or the flag saying where it comes from instead."""
    from kg.sources import citations_of, flags_of
    from kg.units import pinned_units

    units = state.once("pinned-units", lambda: {u.iri: u for u in pinned_units(state.engine)})
    cited = citations_of(engine, node, units)
    flags = flags_of(engine, node)
    copy = _article_copy(state)
    quoted: dict[str, dict] = {}  # each unit once, in the order the page first cites it
    for _, group in context["groups"]:
        for f in group["facts"]:
            units = cited.get((f["property"], f["value"].get("nt", "")), [])
            f["units"] = [{"id": u.id, "section": u.section_label,
                           "url": u.url, "quote": copy.quote(u) if copy else None}
                          for u in units]
            f["basis"] = None if units else flags.get(f["property"])
            for u in f["units"]:
                if u["quote"]:
                    quoted.setdefault(u["id"], u)
    context["quotes"] = copy is not None
    # the words in full below the facts, for phones, keyboards and print, where a title
    # shown on hover is not (s36-newcomer)
    context["quoted"] = list(quoted.values())


def _article_copy(state: AppState) -> Any:
    """The server's copy of the article, read once; ``None`` without one, or unreadable."""
    from kg.errors import KGError
    from kg.units import ArticleCopy

    def make() -> Any:
        if not state.settings.article:
            return None
        try:
            return ArticleCopy(state.settings.article)
        except KGError:
            return None

    return state.once("article-copy", make)


def _not_found(request: Any, state: AppState, iri: str) -> Any:
    """404: for a browser, a page offering the resources whose names come closest to the
    address asked for, and the query page; for other clients, one line."""
    from starlette.responses import HTMLResponse

    if not prefers_html(request.headers.get("accept", "")):
        return text_response(404, f"{iri} is not in this graph")
    words = iri.rstrip("/").rsplit("/", 1)[-1].replace("-", " ")
    near = search(state, words)
    html = state.page("notfound.html", iri=iri, words=words, near=near)
    return HTMLResponse(html, status_code=404)


def search(state: AppState, text: str, limit: int = 10) -> list[dict]:
    """The resources whose names match ``text`` best (the reconciliation service's scores)."""
    from kg.web.reconcile import index_of

    return index_of(state).reconcile({"query": text, "limit": limit}) if text.strip() else []


#: ``/search``: the resources shown, unless ``n`` asks for more, and the most it may ask
SEARCH_SHOWN, SEARCH_MOST = 20, 1000


def find(state: AppState, text: str, limit: int = 20) -> tuple[list[dict], int]:
    """``/search``: the resources holding every word of ``text`` in a name, a date or a
    note (:mod:`kg.search`), each with where it was found; then, for a slip of typing,
    the names that come closest (the reconciliation service's scores). With the number
    of resources holding every word, of which the ``limit`` best are given."""
    from kg.web.reconcile import index_of

    if not text.strip():
        return [], 0
    names = index_of(state)
    hits = state.once("search-index", lambda: _search_index(state)).search(text, None)
    found = []
    for h in hits[:limit]:
        entity = names.find(h.id)
        found.append({"id": h.id, "name": h.name, "why": h.why,
                      "description": names.describe(entity) if entity else ""})
    seen = {f["id"] for f in found}
    found += [c for c in search(state, text, limit) if c["id"] not in seen]
    return found[:limit], len(hits)


async def search_page(request: Any) -> Any:
    """``/search?q=``: resources by name (in every language), year or date, and the words
    of their notes. The indexes are waited for holding no thread; the search runs in one."""
    from starlette.responses import HTMLResponse

    from kg.web.reconcile import index_ready

    state = state_of(request)
    text = request.query_params.get("q", "")[:200]
    asked = request.query_params.get("n", str(SEARCH_SHOWN))
    n = whole_number(asked, 1, SEARCH_MOST)
    if n is None:
        return text_response(400, f"n must be a whole number from 1 to {SEARCH_MOST}, "
                                  f"the number of resources to show; got {asked[:20]!r}")
    if text.strip():
        await index_ready(state)
        await state.made("search-index", lambda: _search_index(state))

    def page() -> str:
        near, total = find(state, text, n)
        return state.page("notfound.html", iri=None, words=text, near=near, total=total,
                          shown=min(total, n))

    return HTMLResponse(await state.in_thread(request, page))


def _search_index(state: AppState) -> Any:
    from kg.search import SearchIndex

    return SearchIndex.from_engine(state.engine)


async def ontology(request: Any) -> Any:
    from starlette.responses import HTMLResponse, Response

    state = state_of(request)
    try:
        wanted = document_format(
            request.query_params.get("format"), request.headers.get("accept", "")
        )
    except ValueError as e:
        return text_response(400, str(e))
    if wanted is not None:
        body = await state.made(("ontology", wanted), lambda: _ontology_rdf(state, wanted))
        media = RESULT_FORMATS[wanted].content_type
        return Response(body, media_type=media, headers={"Vary": "Accept"})
    return HTMLResponse(
        await state.made("ontology.html", lambda: _ontology_page(state)),
        headers={"Vary": "Accept"},
    )


def _ontology_rdf(state: AppState, fmt: str) -> bytes:
    path = state.project.ontology_dir / "ij.ttl"
    if fmt == "turtle":
        return path.read_bytes()
    triples = [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
    return graph_bytes(triples, fmt, context=state.base_url + "/context.jsonld")


def _ontology_page(state: AppState) -> str:
    res = state.engine.query(sparql.load("ontology-terms"))
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

    state = state_of(request)
    return HTMLResponse(
        await state.made(
            "index.html",
            lambda: state.page(
                "index.html",
                triples=state.triples,
                timeout=state.settings.timeout,
                max_results=state.settings.max_results,
                prefixes=PREFIXES,
                timeline=timeline_items(state.engine),
                # ours; every text escaped. Both layouts: the stylesheet shows one
                timeline_svg=Markup(timeline_svg(state.engine)),
                timeline_vertical=Markup(timeline_svg(state.engine, layout="vertical")),
                dataset_jsonld=dataset_jsonld(state),
            ),
        )
    )


def dataset_jsonld(state: AppState) -> Any:
    """The schema.org ``Dataset`` of the home page, as a JSON-LD data block's text
    (``<`` escaped, so no ``</script>`` can end the block)."""
    from markupsafe import Markup

    from kg.dataset import schema_org

    doc = schema_org(state.engine, base_url=state.base_url)
    return Markup(json.dumps(doc, indent=1, ensure_ascii=False).replace("<", "\\u003c"))


async def timeline(request: Any) -> Any:
    from starlette.responses import Response

    state = state_of(request)
    svg = await state.made(
        "timeline.svg", lambda: timeline_svg(state.engine, stylesheet="/static/style.css")
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=300"})


async def context(request: Any) -> Any:
    from starlette.responses import Response

    state = state_of(request)

    def make() -> str:
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
    """``ok`` while the server can answer queries; 503 with ``Retry-After`` while no query
    worker runs (all died and are being replaced, or the zygote that forks them is gone
    and a new one is loading the store), so a load balancer or an uptime check sees it.
    With ``Accept: application/json``, the pool's state: workers, idle, waiting, the
    sandbox in force, and the queries stopped and workers replaced since the start."""
    from starlette.responses import JSONResponse

    pool = state_of(request).pool
    status = pool.status() if pool.running else None
    ok = status is None or status["workers"] > 0
    retry = {"Retry-After": "5", "Cache-Control": "no-store"}
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"status": "ok" if ok else "unavailable", **(status or {})},
                            status_code=200 if ok else 503,
                            headers={"Cache-Control": "no-store"} if ok else retry)
    if ok:
        return text_response(200, "ok")
    return text_response(503, "no query worker is running; they are being replaced", retry)


# -- helpers ------------------------------------------------------------------


VOID_IN_DATASET = "http://rdfs.org/ns/void#inDataset"
FOAF_PRIMARY_TOPIC = "http://xmlns.com/foaf/0.1/primaryTopic"


def _describe_rdf(state: AppState, engine: Engine, node: ox.NamedNode, fmt: str) -> Any:
    from starlette.responses import Response

    from kg.licence import DATASET

    res = engine.query(sparql.load("neighbourhood"), {"this": node})
    assert isinstance(res, GraphResult)
    # the document names its dataset (VoID) and what it is about
    doc = ox.NamedNode(state.base_url + site_path(node.value))
    about = [
        ox.Triple(doc, ox.NamedNode(VOID_IN_DATASET), ox.NamedNode(DATASET)),
        ox.Triple(doc, ox.NamedNode(FOAF_PRIMARY_TOPIC), node),
    ]
    return Response(
        graph_bytes([*res.triples, *about], fmt, context=state.base_url + "/context.jsonld"),
        media_type=RESULT_FORMATS[fmt].content_type,
        headers={"Vary": "Accept"},
    )


def _resource_context(engine: Engine, node: ox.NamedNode, out: list, inc: list) -> dict:
    labels = [
        (r[2].value, r[2].language)
        for r in out
        if r[1].value == RDFS_LABEL and isinstance(r[2], ox.Literal)
    ]
    english = next((v for v, lang in labels if lang == "en"), None)
    wikidata = [
        r[2].value
        for r in out
        if r[1].value == SKOS_EXACT_MATCH and r[2].value.startswith(WIKIDATA_ENTITY)
    ]
    sections = []
    for r in out:
        if r[1].value == PROV_DERIVED_FROM:
            url = engine.query(sparql.load("source-url"), {"s": r[2]})
            link = url.rows[0][1].value if isinstance(url, SelectResult) and url.rows else None  # type: ignore[union-attr]
            sections.append(
                {
                    "label": r[3].value if r[3] else r[2].value,
                    "url": safe_href(link),
                    "local": safe_href(r[2].value),
                }
            )
    groups: dict[str, dict[str, list]] = {
        title: {"facts": [], "refs": []} for title, _, _ in FACT_GROUPS
    }
    groups[OTHER_FACTS] = {"facts": [], "refs": []}
    for r in out:
        if r[1].value in (RDFS_LABEL, PROV_DERIVED_FROM):
            continue  # shown above the groups
        kind = fact_group(r[1].value, r[5].value if r[5] else None)
        groups[kind]["facts"].append(
            {"property": r[1].value, "plabel": _plabel(r[1], r[4]), "value": _value(r[2], r[3])}
        )
    for r in inc:
        kind = fact_group(r[2].value, r[5].value if r[5] else None)
        groups[kind]["refs"].append(
            {"subject": _value(r[1], r[3]), "property": r[2].value, "plabel": _plabel(r[2], r[4])}
        )
    return {
        "iri": node.value,
        "title": english or shorten(node.value),
        "labels": labels,
        "wikidata": wikidata,
        "sections": sections,
        "groups": [(title, g) for title, g in groups.items() if g["facts"] or g["refs"]],
    }


def _plabel(prop: Any, label: Any) -> str:
    return label.value if label else shorten(prop.value)


def _value(term: Any, label: Any) -> dict:
    if isinstance(term, ox.NamedNode):
        if label is not None:
            text = label.value
        elif term.value.startswith(LINK):  # a link record: say what it is, not its IRI
            text = "the Wikidata link record"
        else:
            text = shorten(term.value)
        return {"iri": term.value, "href": safe_href(term.value), "text": text,
                "nt": str(term)}
    if isinstance(term, ox.Literal):
        dtype = None if term.language else shorten(term.datatype.value)
        if dtype in ("xsd:string",):
            dtype = None
        return {"literal": term.value, "language": term.language, "datatype": dtype,
                "nt": str(term)}
    return {"literal": str(term)}


__all__ = [
    "context",
    "health",
    "index",
    "ontology",
    "resource",
    "search_page",
    "timeline",
]
