"""kg publish and the remote engine, against real servers on 127.0.0.1: Oxigraph, and
Virtuoso when .ci/servers started one ($KG_TEST_VIRTUOSO)."""

from __future__ import annotations

import json

import httpx
import pytest
from werkzeug import Request, Response

from kg.errors import KGError
from kg.namespaces import GRAPH_IRI
from kg.project import Project
from kg.publish import publish
from kg.store.remote import RemoteEngine

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def remote_count(server: str, graph: str) -> int:
    r = httpx.post(server + "/query", data={"query": f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> "
                                                      "{ ?s ?p ?o } }"},
                   headers={"Accept": "application/sparql-results+json"})
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def test_publish_with_the_graph_store_protocol(oxigraph_server, project: Project, kg_cli,
                                               worker_id) -> None:
    graph = f"{GRAPH_IRI}/publish-gsp-{worker_id}"
    r = kg_cli("publish", "--endpoint", oxigraph_server + "/query", "--graph", graph,
               root=project.root)
    assert r.code == 0, r.err
    assert "graph store protocol" in r.out and "identical" in r.out
    triples = int(r.out.split()[1])
    assert remote_count(oxigraph_server, graph) == triples
    again = kg_cli("publish", "--endpoint", oxigraph_server + "/query", "--graph", graph,
                   root=project.root)
    assert again.code == 0 and remote_count(oxigraph_server, graph) == triples  # replaced


@pytest.fixture
def virtuoso() -> str:
    import os

    url = os.environ.get("KG_TEST_VIRTUOSO")
    if not url:
        pytest.skip("no Virtuoso server: .ci/servers start sets KG_TEST_VIRTUOSO")
    return url


def test_publish_to_virtuoso_replaces_the_graph_and_names_what_it_rewrote(
        virtuoso: str, project: Project, kg_cli, worker_id) -> None:
    from .conftest import virtuoso_store

    graph = f"{GRAPH_IRI}/publish-virtuoso-{worker_id}"
    args = ("publish", "--endpoint", virtuoso, "--store", virtuoso_store(virtuoso),
            "--graph", graph)
    for _ in range(2):  # the second time replaces the first: the count stays
        r = kg_cli(*args, root=project.root)
        assert r.code == 0, r.err
        assert "graph store protocol" in r.out and "every triple is there" in r.out
        count = httpx.post(virtuoso, data={"query": f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> "
                                                     "{ ?s ?p ?o } }"},
                           headers={"Accept": "application/sparql-results+json"})
        assert int(count.json()["results"]["bindings"][0]["n"]["value"]) == int(r.out.split()[1])
    # Virtuoso 7.2 keeps durations as month counts and large integers as decimals: said so
    assert 'sent "P1Y"^^<http://www.w3.org/2001/XMLSchema#duration>, reads back "12"' in r.out
    # three literals, each in its fact and again as rdf:object of the fact's citation node,
    # and the repeat frequency of the ontology's yearly schedule (ij:Yearly), uncited
    assert r.out.count("reads back") == 7


def test_a_rewritten_literal_is_told_apart_from_a_missing_triple() -> None:
    import pyoxigraph as ox

    from kg.publish import compare

    s, p, q = (ox.NamedNode(f"http://example.org/{x}") for x in "spq")
    local = {ox.Triple(s, p, ox.Literal("P1Y", datatype=ox.NamedNode(
        "http://www.w3.org/2001/XMLSchema#duration"))), ox.Triple(s, q, ox.Literal("a"))}
    remote = {ox.Triple(s, p, ox.Literal("12"))}
    missing, extra, rewritten = compare(local, remote)
    assert [str(t.predicate) for t in missing] == ["<http://example.org/q>"] and not extra
    assert len(rewritten) == 1 and rewritten[0][1].object.value == "12"


def test_publish_with_sparql_update_only(oxigraph_server, project: Project, worker_id) -> None:
    graph = f"{GRAPH_IRI}/publish-update-{worker_id}"
    report = publish(oxigraph_server + "/query", graph=graph, store="", batch=500,
                     project=project)
    assert report.method == "SPARQL Update" and report.verified
    assert remote_count(oxigraph_server, graph) == report.triples
    # no temporary graph of this publish is left behind (another test process may be
    # loading its own graph on the same server at this moment: its temporary graph is not
    # this one's)
    r = httpx.post(oxigraph_server + "/query",
                   headers={"Accept": "application/sparql-results+json"},
                   data={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"})
    graphs = [b["g"]["value"] for b in r.json()["results"]["bindings"]]
    assert not [g for g in graphs if g.startswith(graph + "-loading-")]


def test_publish_refuses_a_non_conforming_graph(oxigraph_server, bare: Project, kg_cli,
                                                worker_id) -> None:
    from pathlib import Path

    bad = Path(__file__).parent / "data" / "invalid" / "Visit-date--MinCount.ttl"
    (bare.data_dir / "bad.ttl").write_text(bad.read_text())
    graph = f"{GRAPH_IRI}/refused-{worker_id}"
    r = kg_cli("publish", "--endpoint", oxigraph_server + "/query", "--graph", graph,
               root=bare.root)
    assert r.code == 1 and "does not conform" in r.err
    assert remote_count(oxigraph_server, graph) == 0


def test_publish_to_a_server_that_is_down(project: Project, kg_cli) -> None:
    r = kg_cli("publish", "--endpoint", "http://127.0.0.1:9/query", root=project.root)
    assert r.code == 2 and r.err.startswith("kg: error: cannot reach http://127.0.0.1:9/")


def test_query_through_endpoint_matches_embedded(oxigraph_server, published_graph,
                                                project: Project, kg_cli) -> None:
    remote = kg_cli("query", "visits-to", "-p", "state=Japan", "-f", "tsv", "--endpoint",
                    oxigraph_server + "/query", "--graph", published_graph, root=project.root)
    local = kg_cli("query", "visits-to", "-p", "state=Japan", "-f", "tsv", root=project.root)
    assert remote.code == 0 and remote.out == local.out


def test_remote_engine_errors(httpserver) -> None:
    httpserver.expect_request("/html").respond_with_data("<html>hi</html>",
                                                         content_type="text/html")
    httpserver.expect_request("/broken").respond_with_data("{not json",
                                                           content_type="application/json")
    httpserver.expect_request("/fail").respond_with_data("boom", status=500)
    with pytest.raises(KGError, match="unexpected format"):
        RemoteEngine(httpserver.url_for("/html")).query(COUNT)
    with pytest.raises(KGError, match="not valid application/json"):
        RemoteEngine(httpserver.url_for("/broken")).query(COUNT)
    with pytest.raises(KGError, match="answered HTTP 500"):
        RemoteEngine(httpserver.url_for("/fail")).query(COUNT)


def test_remote_engine_sends_credentials_from_the_environment(httpserver, monkeypatch) -> None:
    seen = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("Authorization"))
        body = {"head": {"vars": ["n"]}, "results": {"bindings": []}}
        return Response(json.dumps(body), content_type="application/sparql-results+json")

    httpserver.expect_request("/q").respond_with_handler(handler)
    monkeypatch.setenv("KG_ENDPOINT_TOKEN", "secret-token")
    RemoteEngine(httpserver.url_for("/q")).query(COUNT)
    monkeypatch.delenv("KG_ENDPOINT_TOKEN")
    monkeypatch.setenv("KG_ENDPOINT_USER", "ann")
    monkeypatch.setenv("KG_ENDPOINT_PASSWORD", "pw")
    RemoteEngine(httpserver.url_for("/q")).query(COUNT)
    assert seen[0] == "Bearer secret-token" and seen[1].startswith("Basic ")


def test_disk_store_is_built_once_per_content(scratch: Project) -> None:
    from kg.store.oxigraph import disk_store

    first = disk_store(scratch)
    stamp = (first / "kg-complete").stat().st_mtime_ns
    assert disk_store(scratch) == first and (first / "kg-complete").stat().st_mtime_ns == stamp
    with (scratch.data_dir / "places.ttl").open("a") as f:
        f.write('\nplace:tokyo <http://www.w3.org/2004/02/skos/core#altLabel> "Edo"@en .\n')
    second = disk_store(scratch)
    assert second != first and not first.exists()
