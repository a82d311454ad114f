"""The W3C SPARQL result formats, and graph results."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg.formats import format_result
from kg.store.results import AskResult, GraphResult, SelectResult

XSD = "http://www.w3.org/2001/XMLSchema#"
ROWS = SelectResult(
    ["s", "label", "n", "missing"],
    [
        (ox.NamedNode("http://example.org/a"), ox.Literal("Tel Aviv, \"Jaffa\"", language="en"),
         ox.Literal("3", datatype=ox.NamedNode(XSD + "integer")), None),
        (ox.BlankNode("b0"), ox.Literal("line\nbreak\ttab"), None, None),
    ],
)


def test_json_follows_the_w3c_format() -> None:
    doc = json.loads(format_result(ROWS, "json"))
    assert doc["head"]["vars"] == ["s", "label", "n", "missing"]
    first, second = doc["results"]["bindings"]
    assert first["s"] == {"type": "uri", "value": "http://example.org/a"}
    assert first["label"] == {"type": "literal", "value": 'Tel Aviv, "Jaffa"', "xml:lang": "en"}
    assert first["n"] == {"type": "literal", "value": "3", "datatype": XSD + "integer"}
    assert "missing" not in first
    assert second["s"] == {"type": "bnode", "value": "b0"}
    assert json.loads(format_result(AskResult(False), "json")) == {"head": {}, "boolean": False}


def test_xml_follows_the_w3c_format() -> None:
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(format_result(ROWS, "xml"))
    assert [v.get("name") for v in root.findall("r:head/r:variable", ns)] == ROWS.variables
    results = root.findall("r:results/r:result", ns)
    assert len(results) == 2
    lit = results[0].find("r:binding[@name='label']/r:literal", ns)
    assert lit.text == 'Tel Aviv, "Jaffa"'
    assert lit.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    ask = ET.fromstring(format_result(AskResult(True), "xml"))
    assert ask.find("r:boolean", ns).text == "true"


def test_csv_quotes_what_needs_quoting() -> None:
    text = format_result(ROWS, "csv")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["s", "label", "n", "missing"]
    assert rows[1] == ["http://example.org/a", 'Tel Aviv, "Jaffa"', "3", ""]
    assert rows[2] == ["_:b0", "line\nbreak\ttab", "", ""]


def test_tsv_writes_terms_in_ntriples_syntax() -> None:
    lines = format_result(ROWS, "tsv").split("\n")
    assert lines[0] == "?s\t?label\t?n\t?missing"
    assert lines[1] == f'<http://example.org/a>\t"Tel Aviv, \\"Jaffa\\""@en\t"3"^^<{XSD}integer>\t'
    assert lines[2].startswith("_:b0\t\"line\\nbreak\\ttab\"")


def test_table_is_readable() -> None:
    text = format_result(ROWS, "table")
    assert "Tel Aviv" in text and "2 rows" in text


def test_graph_results_in_each_format() -> None:
    t = ox.Triple(ox.NamedNode("https://w3id.org/israel-japan-kg/id/state/japan"),
                  ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                  ox.Literal("Japan", language="en"))
    result = GraphResult([t])
    ttl = format_result(result)
    assert "state:japan" in ttl
    for fmt, parser in (("turtle", "turtle"), ("nt", "nt"), ("jsonld", "json-ld")):
        g = Graph().parse(data=format_result(result, fmt), format=parser)
        assert len(g) == 1


def test_cli_construct_and_describe(project, kg_cli) -> None:
    r = kg_cli("query", "-e", "DESCRIBE <https://w3id.org/israel-japan-kg/id/state/iran>",
               root=project.root)
    assert r.code == 0 and "state:iran" in r.out
    r = kg_cli("query", "-f", "jsonld", "-e",
               "CONSTRUCT { ?s ?p ?o } WHERE { BIND(<https://w3id.org/israel-japan-kg/id/state/iran>"
               " AS ?s) ?s ?p ?o }", root=project.root)
    assert r.code == 0 and json.loads(r.out)["id"] == "state:iran"


# -- pyoxigraph's writers, and the worker's counted path ---------------------------------

TRICKY = [
    ox.Literal("tab\there, new\nline, \"quotes\", back\\slash, 日本"),
    ox.Literal("שלום", language="he"),
    ox.Literal("03", datatype=ox.NamedNode(XSD + "integer")),  # not canonical: kept as written
    ox.Literal("1.50", datatype=ox.NamedNode(XSD + "decimal")),
    ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")),
    ox.Literal("1985-12", datatype=ox.NamedNode(XSD + "gYearMonth")),
    ox.NamedNode("http://example.org/a?b=c#d"),
    ox.BlankNode("b1"),
]


def _store() -> ox.Store:
    store = ox.Store()
    s, p = ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p")
    for term in TRICKY:
        store.add(ox.Quad(s, p, term))
    return store


QUERY = "SELECT ?o ?none WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?none } } ORDER BY STR(?o)"


@pytest.mark.parametrize("fmt", ["json", "xml", "tsv"])
def test_every_term_survives_the_servers_counted_path(fmt) -> None:
    from kg.registry import RESULT_FORMATS
    from kg.web.settings import Settings
    from kg.web.workers import Job, run_query

    store = _store()
    expected = [row[0] for row in SelectResult.from_native(store.query(QUERY)).rows]
    answer = run_query(store, Job(QUERY, [RESULT_FORMATS[fmt].media_type], {}), Settings())
    assert answer.status == 200
    parsed = ox.parse_query_results(answer.body, getattr(ox.QueryResultsFormat, fmt.upper()))
    rows = [(s["o"], s["none"]) for s in parsed]
    assert [o for o, _ in rows] == expected and {n for _, n in rows} == {None}


def test_the_row_cap_is_exact() -> None:
    from kg.web.settings import Settings
    from kg.web.workers import Job, run_query

    job = Job(QUERY, ["application/sparql-results+json"], {})
    assert run_query(_store(), job, Settings(max_results=len(TRICKY))).status == 200
    over = run_query(_store(), job, Settings(max_results=len(TRICKY) - 1))
    assert over.status == 413 and b"more than 7 rows" in over.body


def test_native_solutions_are_written_unread_and_then_refuse_to_be_read_twice() -> None:
    result = SelectResult.from_native(_store().query(QUERY))
    first = format_result(result, "json")
    assert len(json.loads(first)["results"]["bindings"]) == len(TRICKY)
    with pytest.raises(RuntimeError, match="already written"):
        result.rows  # noqa: B018


def test_solutions_from_another_engine_are_written_by_pyoxigraph_too() -> None:
    rows = SelectResult(["o"], [(t,) for t in TRICKY])
    doc = json.loads(format_result(rows, "json"))
    assert [b["o"]["value"] for b in doc["results"]["bindings"]] == [t.value for t in TRICKY]
    assert json.loads(format_result(SelectResult([], [(), ()]), "json"))["results"] == {
        "bindings": [{}, {}]}


@pytest.mark.parametrize("fmt,status", [("nt", 200), ("turtle", 200), ("rdfxml", 200),
                                        ("jsonld", 406)])
def test_a_graph_holding_a_triple_term_is_written_or_refused_never_a_500(fmt, status) -> None:
    """An RDF 1.2 triple term (``<<( s p o )>>``) in a CONSTRUCT: the worker sized each term
    by its ``value``, which a triple term has not, and answered 500 naming AttributeError."""
    from kg.registry import RESULT_FORMATS
    from kg.web.settings import Settings
    from kg.web.workers import Job, run_query

    text = "CONSTRUCT { <http://example.org/s> <http://example.org/says> <<( ?s ?p ?o )>> } " \
           "WHERE { ?s ?p ?o } LIMIT 1"
    answer = run_query(_store(), Job(text, [RESULT_FORMATS[fmt].media_type], {}), Settings())
    assert answer.status == status, answer.body
    if status == 200:
        assert b"says" in answer.body
    else:
        assert b"triple term" in answer.body and b"Turtle" in answer.body
