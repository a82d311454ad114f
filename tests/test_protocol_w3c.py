"""The W3C SPARQL 1.1 Protocol tests that apply to a read-only, one-graph endpoint,
and the common clients (rdflib's SPARQLStore, SPARQLWrapper) on every query form.

Each protocol test is written from its entry in w3c/rdf-tests
``sparql/sparql11/protocol/manifest.ttl`` (named by its manifest id): the
suite's data files live on a remote host that cannot be fetched at test time,
so where a test names a dataset (``default-graph-uri=…data0.rdf``) the request
names this endpoint's own graph instead. The update tests expect an endpoint
that accepts updates; here each must be refused (403) and the graph left as it
was. Dataset tests that need the suite's named graphs do not apply.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from rdflib import Graph, URIRef

OWN_GRAPH = "https://w3id.org/israel-japan-kg/graph"
COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
SELECT_TYPES = ("application/sparql-results+xml", "application/sparql-results+json",
                "text/tab-separated-values", "text/csv")
BOOLEAN_TYPES = ("application/sparql-results+xml", "application/sparql-results+json")
RDF_TYPES = ("application/rdf+xml", "text/turtle", "application/n-triples",
             "application/ld+json")


@pytest.fixture
def endpoint(kg_server: str) -> str:
    return kg_server + "/sparql"


def media(r: httpx.Response) -> str:
    return r.headers["content-type"].split(";")[0].strip()


def boolean(r: httpx.Response) -> bool:
    if media(r) == "application/sparql-results+json":
        return r.json()["boolean"]
    return "<boolean>true</boolean>" in r.text


def triples(endpoint: str) -> int:
    return int(httpx.get(endpoint, params={"query": COUNT}).json()
               ["results"]["bindings"][0]["n"]["value"])


# -- queries that must succeed ------------------------------------------------------


def test_query_post_form(endpoint: str) -> None:
    r = httpx.post(endpoint, params={"default-graph-uri": OWN_GRAPH}, content="query=ASK%20%7B%7D",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 200 <= r.status_code < 400 and media(r) in BOOLEAN_TYPES and boolean(r) is True


def test_query_get(endpoint: str) -> None:
    r = httpx.get(endpoint, params={"query": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 3"})
    assert r.status_code == 200 and media(r) in SELECT_TYPES


def test_query_post_direct(endpoint: str) -> None:
    r = httpx.post(endpoint, content="SELECT ?o WHERE { ?s ?p ?o } LIMIT 1",
                   headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and media(r) in SELECT_TYPES


def test_query_content_type_select(endpoint: str) -> None:
    r = httpx.post(endpoint, params={"default-graph-uri": OWN_GRAPH},
                   content="SELECT (1 AS ?value) {}",
                   headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and media(r) in SELECT_TYPES


def test_query_content_type_ask(endpoint: str) -> None:
    r = httpx.post(endpoint, params={"default-graph-uri": OWN_GRAPH}, content="ASK {}",
                   headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and media(r) in BOOLEAN_TYPES


def test_query_content_type_describe(endpoint: str) -> None:
    r = httpx.post(endpoint, params={"default-graph-uri": OWN_GRAPH},
                   content="DESCRIBE <http://example.org/>",
                   headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and media(r) in RDF_TYPES


def test_query_content_type_construct(endpoint: str) -> None:
    """Relative IRIs resolve against the endpoint's URL as base."""
    r = httpx.post(endpoint, params={"default-graph-uri": OWN_GRAPH},
                   content="CONSTRUCT { <s> <p> 1 } WHERE {}",
                   headers={"Content-Type": "application/sparql-query", "Accept": "text/turtle"})
    assert r.status_code == 200 and media(r) in RDF_TYPES
    g = Graph().parse(data=r.text, format="turtle")
    base = endpoint.rsplit("/", 1)[0] + "/"
    assert (URIRef(base + "s"), URIRef(base + "p"), None) in g


# -- queries that must be refused ---------------------------------------------------


def test_bad_query_method(endpoint: str) -> None:
    r = httpx.request("PUT", endpoint, params={"query": "ASK {}"})
    assert 400 <= r.status_code < 500


def test_bad_multiple_queries(endpoint: str) -> None:
    r = httpx.get(endpoint + "?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D")
    assert r.status_code == 400 and "more than one query" in r.text


def test_bad_query_wrong_media_type(endpoint: str) -> None:
    r = httpx.post(endpoint, content="ASK {}", headers={"Content-Type": "text/plain"})
    assert 400 <= r.status_code < 500


def test_bad_query_missing_form_type(endpoint: str) -> None:
    r = httpx.post(endpoint, content="query=ASK%20%7B%7D", headers={"Content-Type": ""})
    assert 400 <= r.status_code < 500


def test_bad_query_missing_direct_type(endpoint: str) -> None:
    r = httpx.post(endpoint, content="ASK {}", headers={"Content-Type": ""})
    assert 400 <= r.status_code < 500


def test_bad_query_non_utf8(endpoint: str) -> None:
    body = "ASK { <http://example/\u00e5dd> ?p ?o }".encode("latin-1")
    r = httpx.post(endpoint, content=body,
                   headers={"Content-Type": "application/sparql-query; charset=ISO-8859-1"})
    assert 400 <= r.status_code < 500
    r = httpx.post(endpoint, content=body, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400 and "UTF-8" in r.text


def test_bad_query_syntax(endpoint: str) -> None:
    r = httpx.get(endpoint, params={"query": "ASK {"})
    assert r.status_code == 400


# -- updates: a read-only endpoint refuses each and the graph stays as it was --------


UPDATE = "PREFIX dc: <http://purl.org/dc/terms/> CLEAR ALL ; INSERT DATA { <a:s> a dc:X }"


@pytest.mark.parametrize(("case", "request_"), [
    ("update_dataset_default_graph",
     {"method": "POST", "params": {"using-graph-uri": OWN_GRAPH}, "content": UPDATE,
      "headers": {"Content-Type": "application/sparql-update"}}),
    ("update_dataset_named_graphs",
     {"method": "POST", "params": {"using-named-graph-uri": OWN_GRAPH}, "content": UPDATE,
      "headers": {"Content-Type": "application/sparql-update"}}),
    ("update_post_form",
     {"method": "POST", "data": {"update": UPDATE}}),
    ("update_post_direct",
     {"method": "POST", "content": UPDATE,
      "headers": {"Content-Type": "application/sparql-update"}}),
    ("update_base_uri",
     {"method": "POST", "content": "BASE <http://example/> INSERT DATA { <s> <p> <o> }",
      "headers": {"Content-Type": "application/sparql-update"}}),
    ("bad_update_get", {"method": "GET", "params": {"update": UPDATE}}),
    ("bad_multiple_updates",
     {"method": "POST", "data": {"update": [UPDATE, "CLEAR NAMED"]}}),
    ("bad_update_wrong_media_type",
     {"method": "POST", "content": UPDATE, "headers": {"Content-Type": "text/plain"}}),
    ("bad_update_missing_form_type",
     {"method": "POST", "content": "update=CLEAR%20NAMED", "headers": {"Content-Type": ""}}),
    ("bad_update_non_utf8",
     {"method": "POST", "content": "INSERT DATA { <a:\u00e5> <a:p> 1 }".encode("latin-1"),
      "headers": {"Content-Type": "application/sparql-update; charset=ISO-8859-1"}}),
    ("bad_update_syntax",
     {"method": "POST", "content": "CLEAR XYZ",
      "headers": {"Content-Type": "application/sparql-update"}}),
    ("bad_update_dataset_conflict",
     {"method": "POST", "params": {"using-graph-uri": OWN_GRAPH},
      "content": "DELETE { ?s ?p ?o } USING <http://example/> WHERE { ?s ?p ?o }",
      "headers": {"Content-Type": "application/sparql-update"}}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_updates_are_refused_and_change_nothing(case: str, request_: dict, endpoint: str) -> None:
    before = triples(endpoint)
    method = request_.pop("method")
    r = httpx.request(method, endpoint, **request_)
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text)
    assert triples(endpoint) == before


# -- what common clients send ---------------------------------------------------------

IRAN = "<https://w3id.org/israel-japan-kg/id/state/iran>"
#: one query of each form, about a resource with a handful of facts
FORMS = {
    "SELECT": f"SELECT ?p ?o WHERE {{ {IRAN} ?p ?o }}",
    "ASK": f"ASK {{ {IRAN} ?p ?o }}",
    "CONSTRUCT": f"CONSTRUCT {{ {IRAN} ?p ?o }} WHERE {{ {IRAN} ?p ?o }}",
    "DESCRIBE": f"DESCRIBE {IRAN}",
}


def test_head_is_get_without_a_body(endpoint: str) -> None:
    get = httpx.get(endpoint, params={"query": "ASK {}"})
    head = httpx.head(endpoint, params={"query": "ASK {}"})
    assert head.status_code == 200 and head.content == b""
    assert media(head) == media(get)


def test_unknown_or_repeated_format_falls_back_to_accept(endpoint: str) -> None:
    q = "ASK {}"
    r = httpx.get(endpoint, params={"query": q, "format": "bogus"},
                  headers={"Accept": "application/sparql-results+xml"})
    assert r.status_code == 200 and media(r) == "application/sparql-results+xml"
    r = httpx.get(endpoint + "?query=ASK%7B%7D&format=json&output=xml",
                  headers={"Accept": "application/sparql-results+xml"})
    assert r.status_code == 200 and media(r) == "application/sparql-results+xml"
    r = httpx.post(endpoint, data={"query": q, "format": "json"}, headers={"Accept": "text/csv"})
    assert media(r) == "application/sparql-results+json"  # format in a POST body is read


def test_service_description_by_accept(endpoint: str) -> None:
    for accept, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt"),
                        ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld")):
        r = httpx.get(endpoint, headers={"Accept": accept})
        assert r.status_code == 200 and media(r) == accept
        g = Graph().parse(data=r.text, format=fmt)
        sd = "http://www.w3.org/ns/sparql-service-description#"
        assert (URIRef(endpoint), URIRef(sd + "endpoint"), URIRef(endpoint)) in g
        assert not any(str(o) == sd + "EmptyGraphs" for o in g.objects())
        assert not any(str(o).startswith(sd + "SPARQL11Update") for o in g.objects())


def test_jsonld_answers_reference_the_served_context(endpoint: str) -> None:
    q = "DESCRIBE <https://w3id.org/israel-japan-kg/id/state/iran>"
    r = httpx.get(endpoint, params={"query": q}, headers={"Accept": "application/ld+json"})
    doc = r.json()
    base = endpoint.rsplit("/", 1)[0]
    assert doc["@context"] == base + "/context.jsonld"
    context = httpx.get(base + "/context.jsonld")
    assert context.status_code == 200 and "@context" in context.json()
    # with the context inlined, the answer expands to the same graph as its Turtle
    from pyld import jsonld

    inlined = {**doc, "@context": context.json()["@context"]}
    nquads = jsonld.to_rdf(inlined, {"format": "application/n-quads"})
    turtle = httpx.get(endpoint, params={"query": q}, headers={"Accept": "text/turtle"}).text
    assert Graph().parse(data=nquads, format="nt").isomorphic(Graph().parse(data=turtle))
    assert json.dumps(doc).count("@context") == 1


@pytest.mark.parametrize(("form", "returns"), [
    ("SELECT", "xml"), ("SELECT", "json"), ("ASK", "xml"), ("ASK", "json"),
    ("CONSTRUCT", "xml"), ("DESCRIBE", "xml"),  # rdflib then asks for RDF/XML
])
def test_rdflib_sparqlstore(form: str, returns: str, endpoint: str) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = Graph(store=SPARQLStore(endpoint, returnFormat=returns))
    result = store.query(FORMS[form])
    if form == "ASK":
        assert result.askAnswer is True
    elif form == "SELECT":
        assert len(list(result)) >= 4
    else:
        assert len(result.graph) >= 4


@pytest.mark.parametrize(("form", "fmt"), [
    ("SELECT", "json"), ("SELECT", "xml"), ("SELECT", "csv"), ("SELECT", "tsv"),
    ("ASK", "json"), ("ASK", "xml"),
    ("CONSTRUCT", "rdfxml"), ("CONSTRUCT", "turtle"), ("CONSTRUCT", "n3"),
    ("CONSTRUCT", "jsonld"), ("DESCRIBE", "rdfxml"), ("DESCRIBE", "turtle"),
    ("DESCRIBE", "jsonld"), ("DESCRIBE", "xml"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper(form: str, fmt: str, method: str, endpoint: str) -> None:
    import SPARQLWrapper as sw

    client = sw.SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(FORMS[form])
    client.setReturnFormat({"json": sw.JSON, "xml": sw.XML, "csv": sw.CSV, "tsv": sw.TSV,
                            "rdfxml": sw.RDFXML, "turtle": sw.TURTLE, "n3": sw.N3,
                            "jsonld": sw.JSONLD}[fmt])
    response = client.query()
    assert response.response.status == 200
    value = response.convert()
    if form == "ASK":
        assert (value["boolean"] if fmt == "json"
                else value.getElementsByTagName("boolean")[0].firstChild.data == "true")
    elif form == "SELECT":
        assert value  # parsed by SPARQLWrapper without error
    else:
        graph = value if isinstance(value, Graph) else Graph().parse(
            data=value, format={"turtle": "turtle", "n3": "turtle"}.get(fmt, fmt))
        assert len(graph) >= 4


COMUNICA = os.environ.get("KG_TEST_COMUNICA_CLI", "")


@pytest.mark.skipif(not Path(COMUNICA).is_file(),
                    reason="Comunica's client is not installed (.ci/run installs "
                           "@comunica/query-sparql with npm and sets KG_TEST_COMUNICA_CLI)")
@pytest.mark.parametrize(("form", "media_type"), [
    ("SELECT", "application/json"), ("ASK", "simple"),
    ("CONSTRUCT", "application/n-triples"), ("DESCRIBE", "application/n-triples"),
])
def test_comunica_client(form: str, media_type: str, endpoint: str) -> None:
    out = subprocess.run([COMUNICA, f"sparql@{endpoint}", "-t", media_type, FORMS[form]],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if form == "ASK":
        assert out.stdout.strip() == "true"
    elif form == "SELECT":
        rows = json.loads(out.stdout)
        assert len(rows) >= 4 and all("p" in r for r in rows)
    else:
        assert len(Graph().parse(data=out.stdout, format="nt")) >= 4
