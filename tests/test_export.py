"""Exports: every RDF format re-loads isomorphic, literals survive every writer and parser,
deterministic bytes, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyoxigraph as ox
import pytest
from pyld import jsonld
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kg.exports import FORMATS, export
from kg.project import Project
from kg.store.loading import load

from .conftest import run_kg

RDFLIB_FORMAT = {"turtle": "turtle", "jsonld": "json-ld", "nt": "nt", "trig": "trig",
                 "nquads": "nquads", "rdfxml": "xml"}
OX_FORMAT = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
             "trig": ox.RdfFormat.TRIG, "nquads": ox.RdfFormat.N_QUADS,
             "rdfxml": ox.RdfFormat.RDF_XML}
DATASETS = ("trig", "nquads")


def rdflib_triples(data: bytes, fmt: str) -> Graph:
    """What rdflib reads back from ``data`` in ``fmt``: a dataset's quads as triples."""
    if fmt not in DATASETS:
        return Graph().parse(data=data, format=RDFLIB_FORMAT[fmt])
    ds = Dataset()
    ds.parse(data=data, format=RDFLIB_FORMAT[fmt])
    back = Graph()
    for s, p, o, _ in ds.quads():
        back.add((s, p, o))
    return back


@pytest.fixture(scope="module")
def source(project: Project) -> Graph:
    return load(project)


@pytest.fixture(scope="module")
def exported(project: Project):
    """``export(fmt)`` of the project, made once per format for the module's tests (the
    JSON-LD takes ~1 s, and four tests read it); that a second export is the same bytes
    is test_export_is_byte_identical_across_processes's business."""
    from functools import cache

    return cache(lambda fmt: export(fmt, project=project))


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_reloads_isomorphic_with_rdflib(fmt: str, source: Graph, exported) -> None:
    assert isomorphic(rdflib_triples(exported(fmt), fmt), source)


@pytest.mark.parametrize("fmt", sorted(OX_FORMAT))
def test_export_reloads_with_pyoxigraph(fmt: str, project: Project, exported) -> None:
    # an independent parser: the same triples as the N-Triples of the graph
    from kg.store.loading import cached_ntriples

    expected = {q.triple for q in ox.parse(path=cached_ntriples(project),
                                             format=ox.RdfFormat.N_TRIPLES)}
    got = {q.triple for q in ox.parse(exported(fmt), format=OX_FORMAT[fmt])}
    assert got == expected


def test_jsonld_reloads_with_pyld(source: Graph, exported) -> None:
    doc = json.loads(exported("jsonld"))
    assert "@context" in doc and isinstance(doc["@context"], dict)  # embedded, not fetched
    nquads = jsonld.to_rdf(doc, {"format": "application/n-quads"})
    back = Graph().parse(data=nquads, format="nt")
    assert isomorphic(back, source)


def test_jsonld_is_readable_and_keeps_datatypes(exported) -> None:
    doc = json.loads(exported("jsonld"))
    nodes = {n["id"]: n for n in doc["@graph"]}
    visit = nodes["visit:2014-benjamin-netanyahu"]
    assert visit["visitor"] == "person:benjamin-netanyahu"
    assert visit["label"] == {"en": "Benjamin Netanyahu visits Japan, 2014-05"}
    assert visit["date"] == {"type": "xsd:gYearMonth", "@value": "2014-05"}
    assert nodes["figure:trade-volume-2022"]["value"] == 3574000000  # xsd:integer
    share = nodes["figure:japanese-share-of-foreign-investment"]["value"]
    assert share == {"type": "xsd:decimal", "@value": "15.8"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_is_byte_identical_across_processes(fmt: str, project: Project) -> None:
    outs = {run_kg("export", "-f", fmt, root=project.root, env={"PYTHONHASHSEED": seed}).out
            for seed in ("1", "2")}
    assert len(outs) == 1 and outs.pop()


def test_export_writes_a_file(project: Project, tmp_path: Path, kg_cli) -> None:
    out = tmp_path / "sub" / "graph.ttl"
    r = kg_cli("export", "-o", str(out), root=project.root)
    assert r.code == 0 and r.out == ""
    assert out.read_bytes() == export("turtle", project=project)


def test_export_refuses_a_non_conforming_graph(bare: Project, tmp_path: Path, kg_cli) -> None:
    bad = Path(__file__).parent / "data" / "invalid" / "Visit-date--MinCount.ttl"
    (bare.data_dir / "bad.ttl").write_text(bad.read_text())
    out = tmp_path / "graph.ttl"
    out.write_text("previous export\n")
    r = kg_cli("export", "-o", str(out), root=bare.root)
    assert r.code == 1
    assert "does not conform" in r.err and "--no-validate" in r.err
    assert out.read_text() == "previous export\n"  # untouched
    r = kg_cli("export", "--no-validate", "-o", str(out), root=bare.root)
    assert r.code == 0 and "invalid-visit-date-mincount" in out.read_text()


def test_failed_write_leaves_no_partial_file(project: Project, tmp_path: Path, kg_cli) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = kg_cli("export", "-o", str(blocker / "graph.ttl"), root=project.root)
    assert r.code == 2 and "cannot write" in r.err
    assert os.listdir(tmp_path) == ["file"]


def test_interrupted_write_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    from kg import fileio

    target = tmp_path / "graph.ttl"
    target.write_text("old\n")

    def boom(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        fileio.atomic_write(target, b"new\n" * 1000)
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["graph.ttl"]


def test_unknown_export_format(project: Project, kg_cli) -> None:
    r = kg_cli("export", "-f", "yaml", root=project.root)
    assert r.code == 2 and "invalid choice: 'yaml'" in r.err and r.out == ""


def test_the_old_name_of_a_format_still_works_and_says_so(project: Project, kg_cli) -> None:
    r = kg_cli("export", "-f", "xml", "--no-validate", root=project.root)
    assert r.code == 0 and r.out.encode() == export("rdfxml", validate=False, project=project)
    assert "-f xml is now -f rdfxml" in r.err


# literals that writers get wrong: line breaks (TriG once indented them), quotes,
# backslashes, tabs, characters outside the BMP, language tags, a datatype
TRICKY = [
    ox.Literal("line one\nline two\n  indented"),
    ox.Literal("say \"hello\" and 'bye'"),
    ox.Literal("C:\\path\\to \\n not a break"),
    ox.Literal("tab\there\r\nand a carriage return"),
    ox.Literal("emoji \U0001F5FE and \U0001D11E, 日本, יפן"),
    ox.Literal("triple ''' and \"\"\" quotes"),
    ox.Literal("ends with a backslash \\"),
    ox.Literal("Tokyo", language="ja-latn"),
    ox.Literal("  leading and trailing  ", language="en"),
    ox.Literal("2014-05", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYearMonth")),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_tricky_literals_survive_every_writer_and_parser(fmt: str, project: Project) -> None:
    from kg.exports import serialize

    subject = ox.NamedNode("https://w3id.org/israel-japan-kg/id/concept/tricky")
    note = ox.NamedNode("http://www.w3.org/2004/02/skos/core#note")
    written = [ox.Triple(subject, note, lit) for lit in TRICKY]
    data = serialize(written, fmt, project)
    expected = set(written)
    if fmt in OX_FORMAT:
        assert {q.triple for q in ox.parse(data, format=OX_FORMAT[fmt])} == expected
    back = rdflib_triples(data, fmt)
    nt = back.serialize(format="nt", encoding="utf-8")
    assert {q.triple for q in ox.parse(nt, format=ox.RdfFormat.N_TRIPLES)} == expected
    if fmt == "jsonld":
        nquads = jsonld.to_rdf(json.loads(data), {"format": "application/n-quads"})
        back = ox.parse(nquads.encode(), format=ox.RdfFormat.N_QUADS)
        assert {q.triple for q in back} == expected


def test_one_rdf_writer_in_the_package() -> None:
    """Every RDF graph the package writes goes through kg.formats.graph_bytes (and the
    sorted N-Triples of the cache, kg.store.loading.ntriples, which it uses); writing
    query solutions and reading other engines' answers are not RDF writers."""
    import re

    kg = Path(__file__).parent.parent / "kg"
    allowed = {
        ("formats.py", "graph_bytes"),  # the one writer
        ("formats.py", "_jsonld"),  # rdflib's compacted JSON-LD, inside graph_bytes
        ("formats.py", "write"),  # query solutions (pyoxigraph's result writers)
        ("store/loading.py", "ntriples"),  # the cache's sorted N-Triples
        ("web/workers.py", "_solutions"),  # query solutions, counted as they stream
        ("store/rdflib_engine.py", "query"),  # rdflib's own answers, handed to pyoxigraph
    }
    found = set()
    for path in kg.rglob("*.py"):
        function = ""
        for line in path.read_text().splitlines():
            m = re.match(r"\s*def (\w+)", line)
            if m and not line.startswith("        "):
                function = m.group(1)
            if re.search(r"\.serialize\(", line):
                found.add((path.relative_to(kg).as_posix(), function))
    assert found <= allowed, sorted(found - allowed)


def _edge_graph() -> list[ox.Triple]:
    """Triples that take every turn of rdflib's JSON-LD converter with the project's
    context: language maps (two values of one language, a value with no language), terms
    typed @id given a literal, typed terms given their datatype and another, rdf:type of a
    class the context names, of one it does not and of a literal, a predicate outside
    every prefix, native numbers and booleans (in rdflib's normal form), an ill-typed
    integer, several values of one key."""
    N, L = ox.NamedNode, ox.Literal
    ij, ex = "https://w3id.org/israel-japan-kg/ontology#", "http://example.org/"
    xsd, rdf = "http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    label = N("http://www.w3.org/2000/01/rdf-schema#label")
    a = N("https://w3id.org/israel-japan-kg/id/event/a")
    b = N(ex + "b")
    out = [ox.Triple(a, label, lit) for lit in TRICKY]
    out += [
        ox.Triple(a, label, L("first", language="en")),
        ox.Triple(a, label, L("second", language="en")),
        ox.Triple(a, label, L("Ein", language="de-CH")),
        ox.Triple(a, label, L("no language")),
        ox.Triple(a, label, N(ex + "an-iri-as-label")),
        ox.Triple(a, N(ij + "about"), L("a literal where an IRI is expected")),
        ox.Triple(a, N(ij + "about"), N("https://w3id.org/israel-japan-kg/id/state/japan")),
        ox.Triple(a, N(ij + "about"), N("https://w3id.org/israel-japan-kg/id/state/israel")),
        ox.Triple(a, N(ij + "ordinal"), L("07", datatype=N(xsd + "integer"))),
        ox.Triple(a, N(ij + "ordinal"), L("1.50", datatype=N(xsd + "decimal"))),
        ox.Triple(a, N(ij + "maximumStay"), L("P90D", datatype=N(xsd + "duration"))),
        ox.Triple(a, N(ij + "value"), L("+0012", datatype=N(xsd + "integer"))),
        ox.Triple(a, N(ij + "value"), L("1.0E3", datatype=N(xsd + "double"))),
        ox.Triple(a, N(ij + "value"), L("1", datatype=N(xsd + "boolean"))),
        ox.Triple(a, N(ij + "value"), L("abc", datatype=N(xsd + "integer"))),
        ox.Triple(a, N(ij + "value"), L("2.50", datatype=N(xsd + "decimal"))),
        ox.Triple(a, N(ij + "date"), L("2024-02", datatype=N(xsd + "gYearMonth"))),
        ox.Triple(a, N(rdf + "type"), N(ij + "Event")),
        ox.Triple(a, N(rdf + "type"), N(ex + "Unknown")),
        ox.Triple(a, N(rdf + "type"), L("a literal type")),
        ox.Triple(a, N(ex + "p"), N(ex + "o")),
        ox.Triple(a, N("http://schema.org/name"), L("x", datatype=N(ex + "dt"))),
        ox.Triple(b, N(ex + "p"), L("", datatype=N(xsd + "string"))),
        ox.Triple(b, N(ij + "unit"), N("https://w3id.org/israel-japan-kg/id/concept/percent")),
    ]
    return out


@pytest.mark.parametrize("part", ["edge cases", "one node", "no triples", "the graph"])
def test_jsonld_writer_gives_rdflibs_bytes(part: str, project: Project, monkeypatch) -> None:
    """The JSON-LD writer builds the compacted document itself (rdflib took minutes at
    230 synthetic pairs) and writes the bytes rdflib's converter gave, with the same
    context, for every kind of triple the graph has and more."""
    from kg import formats
    from kg.exports import triples

    graph = {"edge cases": _edge_graph, "one node": lambda: _edge_graph()[:20],
             "no triples": list, "the graph": lambda: triples(project)}[part]()
    assert formats._compacted(sorted(graph, key=str), formats.jsonld_context(project))
    for context in (None, "https://kg.example.org/context.jsonld"):
        ours = formats.graph_bytes(graph, "jsonld", context=context)
        with monkeypatch.context() as m:
            m.setattr(formats, "_compacted", lambda *a: None)  # rdflib's converter
            assert ours == formats.graph_bytes(graph, "jsonld", context=context)


def test_jsonld_writer_leaves_blank_nodes_to_rdflib(project: Project) -> None:
    from kg import formats

    blank = [ox.Triple(ox.BlankNode("x"), ox.NamedNode("http://example.org/p"), ox.Literal("v"))]
    assert formats._compacted(blank, formats.jsonld_context(project)) is None
    doc = json.loads(formats.graph_bytes(blank, "jsonld"))
    assert doc["http://example.org/p"] == "v" and doc["id"].startswith("_:")
