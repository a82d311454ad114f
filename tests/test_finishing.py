"""Every answer is finished in one pass (kg.web.finishing): the security headers, the
licence, CORS and the cache validators, whatever answered it; and /sparql, answered
without Starlette's router, answers exactly as it does through the router."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from kg.web.app import Settings, create_app
from kg.web.finishing import Finish
from kg.web.headers import policy
from kg.web.licence import LINK

Q = "SELECT ?p ?o { <https://w3id.org/israel-japan/id/person/shinzo-abe> ?p ?o } ORDER BY ?p ?o"
ORIGIN = {"Origin": "https://example.org"}
#: (method, path, headers, params, body) answered through the lane and through the router
SPARQL = [
    ("GET", {}, {"query": Q}, None),
    ("GET", {"Accept": "text/csv"}, {"query": Q}, None),
    ("GET", {"Accept": "image/png"}, {"query": Q}, None),
    ("GET", ORIGIN, {"query": Q, "download": "1"}, None),
    ("HEAD", {}, {"query": Q}, None),
    ("GET", {}, {}, None),
    ("GET", {"Accept": "text/html"}, {}, None),
    ("GET", {}, {"query": "SELEC nonsense"}, None),
    ("GET", {}, {"query": "SELECT ?s { ?s ?p ?o }", "paged": "1"}, None),
    ("GET", {}, {"query": "SELECT (NOW() AS ?n) {}"}, None),
    ("GET", {}, {"query": "SELECT ?x { SERVICE <http://127.0.0.1:9/> { ?x ?y ?z } }"}, None),
    ("GET", {}, {"query": Q, "default-graph-uri": "http://nope/"}, None),
    ("POST", {"Content-Type": "application/x-www-form-urlencoded"}, {}, f"query={Q}"),
    ("POST", {"Content-Type": "application/sparql-query"}, {}, Q),
    ("POST", {"Content-Type": "application/sparql-update"}, {}, "CLEAR ALL"),
    ("POST", {"Content-Type": "text/plain"}, {}, "x"),
]


@pytest.fixture(scope="module")
def clients(project):
    app = create_app(project, Settings(workers=1))
    # the same application and pool, /sparql through Starlette's router
    routed = Finish(app.app, app.tag)
    with TestClient(app) as lane:
        yield lane, TestClient(routed)


def _shown(r) -> tuple:
    headers = sorted((k, v) for k, v in r.headers.multi_items() if k != "date")
    body = re.sub(rb'"value":"[0-9T:.\-]+Z"', b"NOW", r.content)  # NOW() is asked twice
    return r.status_code, headers, body


@pytest.mark.parametrize("method, headers, params, body", SPARQL)
def test_sparql_answers_alike_through_the_lane_and_the_router(method, headers, params, body,
                                                              clients) -> None:
    lane, routed = clients
    a, b = (c.request(method, "/sparql", headers=headers, params=params, content=body)
            for c in (lane, routed))
    assert _shown(a)[0] == _shown(b)[0], (method, params)
    assert _shown(a)[1:] == _shown(b)[1:] or "NOW" in str(params)


@pytest.mark.parametrize("path", ["/", "/sparql", "/nosuch", "/health", "/static/app.js",
                                  "/api/queries/visits", "/reconcile/preview"])
@pytest.mark.parametrize("origin", [False, True])
def test_every_answer_is_finished(path, origin, clients) -> None:
    lane, _ = clients
    r = lane.get(path, headers=ORIGIN if origin else {})
    frameable = path == "/reconcile/preview"
    assert r.headers["content-security-policy"] == policy(frameable=frameable)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert LINK.decode() in r.headers.get_list("link")
    assert "Origin" in r.headers["vary"]
    assert ("access-control-allow-origin" in r.headers) is origin
    if origin:
        assert r.headers["access-control-expose-headers"] == "KG-Warning, X-KG-Page, Link"
    # /health is never cached; static files keep Starlette's own validators
    ours = r.status_code == 200 and not path.startswith(("/health", "/static/"))
    assert ("etag" in r.headers) is (ours or path.startswith("/static/"))
    assert ("cache-control" in r.headers) is ours or r.headers.get("cache-control") == "no-store"
    if ours:
        assert "Accept" in r.headers["vary"]
        again = lane.get(path, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == r.headers["etag"]
        assert again.headers["content-security-policy"] and LINK.decode() in again.headers["link"]


def test_a_preflight_has_its_own_cors_headers_and_no_validators(clients) -> None:
    lane, _ = clients
    r = lane.options("/sparql", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200 and "POST" in r.headers["access-control-allow-methods"]
    assert "etag" not in r.headers and r.headers["content-security-policy"]
    r = lane.options("/sparql", headers={**ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert r.status_code == 400
    assert lane.request("PUT", "/sparql").status_code == 405  # the router's, with Allow
    assert lane.request("DELETE", "/sparql").headers["allow"]


def test_a_handler_that_fails_is_a_finished_500(project) -> None:
    app = create_app(project, Settings(workers=1))

    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    client = TestClient(Finish(app.app, app.tag, sparql=broken), raise_server_exceptions=False)
    r = client.get("/sparql", params={"query": Q})
    assert r.status_code == 500 and r.text == "Internal Server Error"
    assert r.headers["content-security-policy"] == policy()


def test_a_client_that_goes_away_mid_body_is_no_exception(project) -> None:
    """A POST whose client closes the connection before its body ends: Starlette's
    ClientDisconnect once escaped the handler, and the server logged a traceback for each."""
    import asyncio

    app = create_app(project, Settings(workers=1))
    messages = [{"type": "http.request", "body": b"SELECT", "more_body": True},
                {"type": "http.disconnect"}]  # fmt: skip
    sent: list[dict] = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/sparql", "raw_path": b"/sparql",
             "query_string": b"", "root_path": "", "scheme": "http", "client": ("127.0.0.1", 1),
             "headers": [(b"content-type", b"application/sparql-query"),
                         (b"content-length", b"100")]}  # fmt: skip
    asyncio.run(app(scope, receive, send))  # raised ClientDisconnect
    assert sent[0]["status"] == 400
