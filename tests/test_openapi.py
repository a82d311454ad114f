"""The HTTP API as documented: ``/openapi.json`` covers every route, JSON from a request is
read within limits, and a property-based fuzzer (Schemathesis) finds no 5xx and no answer
the document does not describe.

The fuzzer runs in process against the ASGI application (its queries still go to real
confined workers), derandomized and with a fixed number of requests per operation, so a
run is the same every time and bounded: about 20 s for the 19 operations on two cores."""

from __future__ import annotations

import re

import pytest
import schemathesis
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from kg.boundedjson import MAX_DEPTH, loads
from kg.errors import KGError
from kg.web.apidoc import description
from kg.web.app import create_app, routes
from kg.web.settings import Settings

METHODS = {"get", "post", "put", "patch", "delete", "options", "trace"}


def documented() -> dict[str, set[str]]:
    return {
        path: {m for m in item if m in METHODS}
        for path, item in description()["paths"].items()
    }


def served(table: list | None = None) -> dict[str, set[str]]:
    """Every route of the application as an OpenAPI path, with its methods (HEAD is
    answered wherever GET is, as the document says once)."""
    out: dict[str, set[str]] = {}
    for r in routes() if table is None else table:
        if isinstance(r, Route):
            path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", r.path)
            out[path] = {m.lower() for m in r.methods or ()} - {"head"}
        elif isinstance(r, Mount):  # static files: one path parameter for the file
            out[r.path + "/{file}"] = {"get"}
    return out


def test_every_route_is_documented_and_nothing_else() -> None:
    assert served() == documented()


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = description()
    assert doc["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(doc).validate()  # against the OpenAPI 3.1 meta-schema
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items()
           if m in METHODS]
    assert len(ids) == len(set(ids))


def test_a_route_added_without_a_description_is_caught() -> None:
    new = Route("/api/new/{path:path}", lambda r: None, methods=["GET", "HEAD"])
    assert served([*routes(), new]) == {**documented(), "/api/new/{path}": {"get"}}


def test_the_served_document_names_this_server_and_its_queries(project) -> None:
    app = create_app(project, Settings(workers=1, base_url="https://kg.example.org"))
    with TestClient(app) as client:
        r = client.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [
        {"url": "https://kg.example.org"}
    ]
    names = doc["components"]["parameters"]["name"]["schema"]["enum"]
    assert "visits-to" in names and "wikidata-people" not in names


# -- JSON within limits ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 1000 + "]" * 1000, f"nested 1000 levels deep; at most {MAX_DEPTH}"),
    ('{"a": ' * 33 + "1" + "}" * 33, "nested 33 levels deep"),
    ('"' + "x" * 70_000 + '"', "70002 bytes long; at most 65536"),
    ("[" + "9" * 5000 + "]", "more than 20 digits"),
    ("[1e999]", "1e999 is out of range"),
    ("[NaN]", "NaN is not a JSON number"),
    ('{"q": 1, "q": 2}', "the key 'q' appears twice"),
    ('["\\ud800"]', "lone UTF-16 surrogate"),
    ("{'q': 1}", "not JSON: Expecting property name"),
])
def test_hostile_json_is_one_line_naming_the_limit(text, message) -> None:
    with pytest.raises(KGError, match=re.escape(message)) as e:
        loads(text)
    assert "\n" not in str(e.value)


def test_depth_is_counted_without_recursion_and_strings_do_not_count() -> None:
    assert loads('{"a": [{"b": "[[[[{{{{"}]}') == {"a": [{"b": "[[[[{{{{"}]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    # json.loads would raise RecursionError long before 60,000 levels: the whole depth is
    # counted (a linear scan; how fast is bench's business, not a unit test's)
    with pytest.raises(KGError, match="nested 60000 levels deep; at most 32"):
        loads("[" * 60_000)


@pytest.fixture(scope="module")
def client(project):
    app = create_app(project, Settings(workers=1))
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(("queries", "message"), [
    ('{"q0": ' * 1000 + "{}" + "}" * 1000, "'queries' is nested 1001 levels deep"),
    ("[" * 1000 + "]" * 1000, "'queries' is nested 1000 levels deep"),
    ('{"q0": {"query": "Tel Aviv", "limit": ' + "9" * 400 + "}}", "more than 20 digits"),
    ('{"q0": {"query": "a"}, "q0": {"query": "b"}}', "the key 'q0' appears twice"),
    ('{"q0": {"query": "\\udfff"}}', "lone UTF-16 surrogate"),
])
def test_reconcile_refuses_hostile_json_with_a_400(client, method, queries, message) -> None:
    if method == "GET":
        r = client.get("/reconcile", params={"queries": queries})
    else:
        r = client.post("/reconcile", data={"queries": queries})
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]


# -- the fuzzer ----------------------------------------------------------------------------
# Schemathesis's own pytest plugin (from_fixture) cannot run under pytest 9 (it writes a
# node attribute pytest no longer has), so each operation is a Hypothesis test built here
# from the operation's strategies, with the checks named below.

#: requests per operation (valid and invalid by the document, and the PATHS below, each with
#: an Accept from ACCEPT or none); derandomized, so every run sends the same ones
EXAMPLES = 24
OPERATIONS = [(path, method.upper()) for path, methods in documented().items()
              for method in sorted(methods)]


@pytest.fixture(scope="module")
def api(project):
    from schemathesis.python import asgi

    @schemathesis.serializer("application/sparql-query")
    def sparql_query(ctx, value):
        return {"data": value.encode("utf-8") if isinstance(value, str) else value}

    app = create_app(project, Settings(workers=1, timeout=2, per_client=4))
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        asgi.shutdown_lifespans()


#: what the fuzzer sends as Accept: every type the server offers or negotiates, ranges,
#: qualities, and noise (Accept is no OpenAPI parameter, so Schemathesis leaves it alone)
ACCEPT = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
          "text/tab-separated-values", "text/turtle", "application/n-triples",
          "application/ld+json", "application/rdf+xml", "text/html", "application/json",
          "*/*", "text/*", "image/png", "text/html, text/turtle;q=0.9",
          "text/csv;q=0, */*;q=0.1", "application/n-triples;q=nan"]
#: real resources for the paths the fuzzer would otherwise only ever find missing
PATHS = {"/id/{path}": ["state/japan", "person/shinzo-abe", "ontology"],
         "/link/{path}": ["mission-embassy-of-israel-in-tokyo"]}


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_api_answers_as_documented(api, path, method) -> None:
    """No 5xx, and every status, media type, JSON body and header as documented."""
    from datetime import timedelta

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance, response_headers_conformance]
    operation = api[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        *(operation.as_strategy(path_parameters={"path": p}) for p in PATHS.get(path, [])),
    )
    printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
        str.strip
    )
    accepts = st.one_of(st.none(), st.sampled_from(ACCEPT), printable)

    @settings(max_examples=EXAMPLES, derandomize=True, database=None,
              deadline=timedelta(seconds=10), phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases, accepts)
    def check(case, accept) -> None:
        case.call_and_validate(checks=checks, headers={"Accept": accept} if accept else None)

    check()


def test_the_refusals_of_the_budget_and_the_time_limits_are_documented(project) -> None:
    """What a page answers a client over its budget (429: pages' work in the server's
    threads counts against it), a reconciliation batch past the time limit (a JSON 503) and
    dumps that could not be made (503) are in the document for every operation that can
    answer them: the fuzzer never reaches them (its budget is never spent), so a client
    reading the document could not know them."""
    import json

    from kg.dataset import DUMPS

    app = create_app(project, Settings(workers=1, timeout=0.001, client_budget=0.01))
    state = app.state.kg
    doc = description()["paths"]
    client = TestClient(app, client=("203.0.113.7", 4000))
    answered: list[tuple[str, str, int]] = []

    def ask(path: str, method: str, url: str, **kw) -> None:
        r = client.request(method, url, **kw)
        answered.append((path, method.lower(), r.status_code))

    # dumps that cannot be made: the graph file the server loaded is gone
    state.pool.nt_path = project.build_dir / "cache" / "graph-gone.nt"
    ask("/download/{name}", "GET", "/download/" + next(iter(DUMPS.values()))[0])
    ask("/.well-known/void", "GET", "/.well-known/void")
    batch = {f"q{i}": {"query": f"Japan {i}"} for i in range(200)}
    ask("/reconcile", "POST", "/reconcile", data={"queries": json.dumps(batch)})
    ask("/reconcile", "GET", "/reconcile", params={"queries": json.dumps(batch)})
    state.pool.fair.charge("203.0.113.7", 60.0)  # the budget spent
    for path, url in [("/id/{path}", "/id/state/japan"), ("/link/{path}", "/link/x"),
                      ("/unit/{path}", "/unit/x"), ("/citation/{path}", "/citation/x"),
                      ("/search", "/search?q=japan"), ("/.well-known/void", "/.well-known/void"),
                      ("/reconcile", "/reconcile?queries=" + json.dumps({"q": {"query": "x"}})),
                      ("/reconcile/suggest/{kind}", "/reconcile/suggest/entity?prefix=ja"),
                      ("/reconcile/preview", "/reconcile/preview?id=state/japan"),
                      ("/reconcile/properties", "/reconcile/properties?type=Person")]:
        ask(path, "GET", url)
    ask("/reconcile", "POST", "/reconcile", data={"queries": json.dumps({"q": {"query": "x"}})})
    assert {s for _, _, s in answered} == {429, 503}, answered
    missing = [(p, m, s) for p, m, s in answered if str(s) not in doc[p][m]["responses"]]
    assert not missing, missing
