"""The query lint (kg/querylint.py) and what rests on its reading: warnings on the command
line, in /sparql's KG-Warning header; parameters bound only where the edited pattern binds
them; SELECT * in the pattern's order; downloads named with their extension; entity
documents by plain links; free queries in pages."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

import pytest

from kg.project import Project
from kg.queries import find_query
from kg.querylint import (
    Vocabulary,
    bound_variables,
    explicit_projection,
    header_value,
    lint,
)

#: each slip the lint names, with words its warning must hold
CASES = {
    "a term not in the graph": ("SELECT ?v ?d WHERE { ?v ij:dat ?d }",
                                ["ij:dat is not a term", "did you mean ij:date?"]),
    "a misspelt class": ("SELECT ?v WHERE { ?v a ij:Vist }",
                         ["ij:Vist is not a term", "did you mean ij:Visit?"]),
    "a class used as a property": ("SELECT ?s WHERE { ?s ij:DatePrecision ?x }",
                                   ["ij:DatePrecision is a class, used here as a property"]),
    "a property used as a class": ("SELECT ?s WHERE { ?s rdf:type ij:date }",
                                   ["ij:date is a property, used here as a class"]),
    "a variable selected, never bound": ("SELECT ?v ?x WHERE { ?v a ij:Visit } LIMIT 3",
                                         ["?x is selected but the pattern never binds it"]),
}


@pytest.fixture(scope="module")
def vocabulary(ox_engine) -> Vocabulary:
    return Vocabulary.of(ox_engine)


@pytest.mark.parametrize("case", list(CASES))
def test_the_lint_names_each_slip(vocabulary: Vocabulary, case: str) -> None:
    text, words = CASES[case]
    found = " | ".join(lint(text, vocabulary))
    assert all(w in found for w in words), found


def test_a_sound_query_has_no_warning(vocabulary: Vocabulary) -> None:
    for name in ("visits-to", "visits", "residents"):
        assert lint(find_query(name).text, vocabulary) == [], name
    assert lint("SELECT ?v (COUNT(?d) AS ?n) WHERE { ?v ij:date ?d } GROUP BY ?v",
                vocabulary) == []
    assert lint("not SPARQL", vocabulary) == []  # the engine's error says why


def edited_visits_to() -> str:
    """visits-to with its state written into the pattern: ?state still selected, unbound."""
    text = find_query("visits-to").text
    assert "ij:toState ?state" in text
    return text.replace("ij:toState ?state", "ij:toState state:israel")


def test_a_parameter_the_pattern_no_longer_binds_is_named(vocabulary: Vocabulary) -> None:
    text = edited_visits_to()
    assert "state" not in bound_variables(text)  # selected by the subqueries, bound by none
    (warning,) = lint(text, vocabulary, {"state": "Japan"})
    assert "parameter state (Japan) is not used" in warning and "dropped" in warning


def test_select_star_names_columns_in_the_patterns_order() -> None:
    text = "SELECT * WHERE { ?visit a ij:Visit ; ij:date ?date OPTIONAL { ?visit ij:by ?who } }"
    assert explicit_projection(text).startswith("SELECT ?visit ?date ?who WHERE")
    star = "SELECT DISTINCT*{ ?s ?p ?o }"
    assert explicit_projection(star) == "SELECT DISTINCT ?s ?p ?o{ ?s ?p ?o }"
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    assert explicit_projection(count) == count


def test_a_text_of_long_operator_chains_is_not_read(monkeypatch) -> None:
    """rdflib's parser takes about 2 ms an operator of a chain: 9,000 '1+' in 18 KB were
    30 s of a server's thread (s36-attack). Past MAX_OPERATORS the text is not read (the
    lint is a courtesy), which costs no parse at all; names' hyphens are no operators."""
    from rdflib.plugins.sparql import parser

    import kg.querylint as ql

    calls: list[str] = []
    monkeypatch.setattr(parser, "parseQuery", calls.append)
    for chain in ("1+" * 9000, "1-" * 5400, "!" * 20000, "?a*" * 200):
        assert ql.read("SELECT * WHERE { ?s ?p ?o FILTER(" + chain + "1) }") is None
    assert calls == []
    monkeypatch.undo()
    names = "SELECT * { " + " ".join(f"visit:a-b-c-d-e-f-g-{i} ?p ?o ." for i in range(30)) + " }"
    assert ql.read(names) is not None and ql.read(names).star  # 210 hyphens, all in names


def test_warnings_travel_as_ascii_header_values() -> None:
    value = header_value(["ij:dat is not a term; did you mean ij:date?", "é, and more"])
    assert value.isascii() and [unquote(v) for v in value.split(", ")] == [
        "ij:dat is not a term; did you mean ij:date?", "é, and more"]


# -- the command line -------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_kg_query_warns_of_each_slip(kg_cli, case: str) -> None:
    text, words = CASES[case]
    r = kg_cli("query", "-e", text, "-f", "csv")
    said = [line for line in r.err.splitlines() if line.startswith("kg: warning: ")]
    assert r.code == 0 and said and all(any(w in line for line in said) for w in words), r.err


def test_kg_query_prints_the_warnings_on_stderr(kg_cli) -> None:
    r = kg_cli("query", "-e", "SELECT ?v ?x WHERE { ?v a ij:Vist }", "-f", "csv")
    assert r.code == 0 and r.out.strip() == "v,x"  # the answer is still the answer
    lines = r.err.splitlines()
    assert "kg: warning: ij:Vist is not a term of the graph or its ontology; did you mean " \
           "ij:Visit?" in lines
    assert any("?x is selected but the pattern never binds it" in line for line in lines)


def test_kg_query_select_star_in_the_patterns_order(kg_cli) -> None:
    r = kg_cli("query", "-e", "SELECT * WHERE { ?visit a ij:Visit ; ij:date ?date } LIMIT 1",
               "-f", "csv")
    assert r.code == 0 and r.out.splitlines()[0] == "visit,date", r.out  # pyoxigraph: date,visit


# -- the server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(project: Project) -> Iterator:
    from starlette.testclient import TestClient

    from kg.web.app import create_app
    from kg.web.settings import Settings

    app = create_app(project, Settings(workers=1, max_results=10))
    with TestClient(app) as c:
        yield c


def warnings_of(response) -> list[str]:
    return [unquote(v) for v in response.headers.get("kg-warning", "").split(", ") if v]


@pytest.mark.parametrize("case", list(CASES))
def test_sparql_warns_of_each_slip(client, case: str) -> None:
    text, words = CASES[case]
    r = client.get("/sparql", params={"query": text, "lint": "1"})
    said = warnings_of(r)
    assert r.status_code == 200 and all(any(w in line for line in said) for w in words), said


def test_sparql_sends_the_warnings_in_a_header(client) -> None:
    r = client.get("/sparql", params={"query": "SELECT ?v WHERE { ?v ij:dat ?d }"},
                   headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200 and r.json()["results"]["bindings"] == []  # standard JSON
    assert warnings_of(r) == ["ij:dat is not a term of the graph or its ontology; "
                              "did you mean ij:date?"]
    r = client.post("/sparql", data={"query": "SELECT ?s WHERE { ?s ij:DatePrecision ?x }"},
                    headers={"Origin": "https://yasgui.example.org"})
    assert any("used here as a property" in w for w in warnings_of(r))
    assert "KG-Warning" in r.headers["access-control-expose-headers"]  # other sites read it
    r = client.get("/sparql", params={"query": "SELECT ?v WHERE { ?v a ij:Visit } LIMIT 1"})
    assert "kg-warning" not in r.headers
    # an answer with rows is read when asked (lint=1, as the query page does): a lookup
    # does not pay for the reading
    unbound = "SELECT ?v ?x WHERE { ?v a ij:Visit } LIMIT 1"
    assert "kg-warning" not in client.get("/sparql", params={"query": unbound}).headers
    r = client.get("/sparql", params={"query": unbound, "lint": "1"})
    assert len(r.json()["results"]["bindings"]) == 1
    assert warnings_of(r) == ["?x is selected but the pattern never binds it: its column "
                              "stays empty"]


def test_an_edited_parameter_cannot_show_a_wrong_value(client) -> None:
    """The state written into the pattern as Israel, the form still saying Japan: no row
    says Japan, and the answer says the parameter was dropped."""
    r = client.get("/api/queries/visits-to", params={
        "state": "Japan", "query": edited_visits_to(), "format": "json"})
    assert r.status_code == 200, r.text
    rows = r.json()["results"]["bindings"]
    assert rows and all("state" not in b for b in rows)  # unbound, never Japan
    assert any("parameter state (Japan) is not used" in w for w in warnings_of(r))
    # a text typed over the saved one: a query of its own, not a 400
    r = client.get("/api/queries/visits-to", params={
        "state": "not a state at all", "query": "SELECT ?v WHERE { ?v a ij:Visit } LIMIT 2",
        "format": "json"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 2


def test_downloads_are_named_with_their_extension(client) -> None:
    cases = [
        ("/api/queries/visits-to", {"state": "Israel", "format": "csv"}, "visits-to.csv",
         "text/csv"),
        ("/sparql", {"query": "SELECT ?v WHERE { ?v a ij:Visit } LIMIT 1", "format": "json"},
         "query.json", "application/sparql-results+json"),
        ("/sparql", {"query": "SELECT ?v WHERE { ?v a ij:Visit } LIMIT 1", "format": "xml"},
         "query.xml", "application/sparql-results+xml"),
        ("/sparql", {"query": "DESCRIBE person:shinzo-abe", "format": "turtle"},
         "describe-shinzo-abe.ttl", "text/turtle"),
        ("/sparql", {"query": "DESCRIBE person:shinzo-abe", "format": "jsonld"},
         "describe-shinzo-abe.jsonld", "application/ld+json"),
    ]
    for path, params, name, media in cases:
        r = client.get(path, params={**params, "download": "1"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].split(";")[0] == media
        assert r.headers["content-disposition"] == f'attachment; filename="{name}"'


@pytest.mark.parametrize("ext,media", [("ttl", "text/turtle"), ("nt", "application/n-triples"),
                                       ("jsonld", "application/ld+json"),
                                       ("rdf", "application/rdf+xml")])
def test_entity_documents_by_plain_links(client, ext: str, media: str) -> None:
    r = client.get(f"/id/person/shinzo-abe.{ext}", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media
    assert "shinzo-abe" in r.text
    page = client.get("/id/person/shinzo-abe", headers={"Accept": "text/html"}).text
    assert f'href="/id/person/shinzo-abe.{ext}"' in page
    assert f'download="shinzo-abe.{ext}"' in page
    assert client.get(f"/id/person/nobody.{ext}").status_code == 404


def test_a_free_query_comes_in_pages(client) -> None:
    text = "SELECT ?v WHERE { ?v a ij:Visit } ORDER BY ?v"  # 27 visits, a row limit of 10
    assert client.get("/sparql", params={"query": text}).status_code == 413  # the protocol
    r = client.get("/sparql", params={"query": text, "paged": "1", "format": "json"})
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 10
    assert r.headers["x-kg-page"] == "limit=10; offset=0" and 'rel="next"' in r.headers["link"]
    r = client.get("/sparql", params={"query": text, "paged": "1", "offset": "20"})
    assert r.status_code == 200 and r.headers["x-kg-page"] == "limit=10; offset=20"
