"""The dataset description: DCAT-AP shapes, counts equal to the graph's, read back by
two parsers, served at /.well-known/void with the licence everywhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from pyld import jsonld
from rdflib.compare import isomorphic
from starlette.testclient import TestClient

from kg.dataset import DUMPS, describe, description_bytes, dumps
from kg.exports import export
from kg.licence import DATASET, LICENCE
from kg.project import Project
from kg.store.loading import load

HERE = Path(__file__).parent
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
D = rdflib.URIRef(DATASET)


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    """DCAT-AP 3.0.1 (tests/dcat-ap/README.md), loaded once, without the five references
    to property shapes that neither file defines."""
    g = rdflib.Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        g.parse(HERE / "dcat-ap" / name, format="turtle")
    dangling = [(s, o) for s, o in g.subject_objects(SH.property) if g.value(o, SH.path) is None]
    assert len(dangling) == 5, "the pinned shapes changed: review tests/dcat-ap/README.md"
    for s, o in dangling:
        g.remove((s, SH.property, o))
    return g


@pytest.fixture(scope="module")
def graph(project: Project) -> rdflib.Graph:
    return load(project)


@pytest.fixture(scope="module")
def made(project: Project) -> tuple[list, bytes]:
    found = dumps(project)
    triples = describe(project, version="1.2.3", issued="2026-12-07",
                       base_url="https://kg.example.org", dumps=found)
    return found, description_bytes(triples)


@pytest.fixture(scope="module")
def description(made) -> rdflib.Graph:
    return rdflib.Graph().parse(data=made[1], format="turtle")


def test_the_description_conforms_to_dcat_ap(description, shapes) -> None:
    import pyshacl

    conforms, _, text = pyshacl.validate(description, shacl_graph=shapes)
    assert conforms, text
    # and the shapes do bite: without its title a dataset fails them
    broken = rdflib.Graph() + description
    broken.remove((D, rdflib.URIRef("http://purl.org/dc/terms/title"), None))
    assert not pyshacl.validate(broken, shacl_graph=shapes)[0]


def test_the_counts_are_the_graphs(description, graph) -> None:
    def number(s, p) -> int:
        return int(description.value(s, p))

    assert number(D, VOID.triples) == len(graph)
    assert number(D, VOID.distinctSubjects) == len(set(graph.subjects()))
    assert number(D, VOID.properties) == len(set(graph.predicates()))
    classes = {}
    for s, c in graph.subject_objects(rdflib.RDF.type):
        classes.setdefault(c, set()).add(s)
    assert number(D, VOID.classes) == len(classes)
    parts = {description.value(p, VOID["class"]): number(p, VOID.entities)
             for p in description.objects(D, VOID.classPartition)}
    assert parts == {c: len(s) for c, s in classes.items()}
    props = {description.value(p, VOID.property): number(p, VOID.triples)
             for p in description.objects(D, VOID.propertyPartition)}
    assert sum(props.values()) == len(graph)
    assert props[rdflib.RDFS.label] == len(list(graph.triples((None, rdflib.RDFS.label, None))))
    entities = {s for s in graph.subjects() if str(s).startswith("https://w3id.org/israel-japan-kg/id/")}
    assert number(D, VOID.entities) == len(entities)
    examples = set(description.objects(D, VOID.exampleResource))
    assert rdflib.URIRef("https://w3id.org/israel-japan-kg/id/relation/israel-japan") in examples


def test_every_vocabulary_the_graph_uses_is_named(description, graph) -> None:
    """pav:retrievedOn (the article's retrieval date) had a partition named by a hash
    (#property-0ef18d838bb1cf67) and its vocabulary was missing from void:vocabulary, as
    pav was no project prefix (s35-user's researcher)."""
    named = {str(v) for v in description.objects(D, VOID.vocabulary)}
    for p in set(graph.predicates()):
        if not str(p).startswith("https://w3id.org/israel-japan-kg/id/"):
            assert any(str(p).startswith(ns) for ns in named), p
    for part in description.objects(D, VOID.propertyPartition):
        fragment = str(part).split("#property-")[1]
        assert "-" in fragment, f"{part} is not named by its property"


def test_every_dump_is_a_distribution_with_its_size_and_checksum(made, description) -> None:
    found, _ = made
    assert {d.fmt for d in found} == set(DUMPS)
    by_url = {}
    for dist in description.objects(D, DCAT.distribution):
        checksum = description.value(dist, SPDX.checksum)
        by_url[str(description.value(dist, DCAT.downloadURL))] = (
            int(description.value(dist, DCAT.byteSize)),
            str(description.value(checksum, SPDX.checksumValue)),
            description.value(dist, rdflib.URIRef("http://purl.org/dc/terms/license")),
        )
    for d in found:
        size, digest, licence = by_url["https://w3id.org/israel-japan-kg/download/" + d.name]
        assert (size, digest) == (len(d.data), hashlib.sha256(d.data).hexdigest())
        assert licence == rdflib.URIRef(LICENCE)


def test_a_second_parser_reads_the_same_description(made, project) -> None:
    _, ttl = made
    ours = {q.triple for q in ox.parse(ttl, format=ox.RdfFormat.TURTLE)}
    theirs = rdflib.Graph().parse(data=ttl, format="turtle")
    assert len(ours) == len(theirs) > 300
    triples = sorted(ours, key=str)
    for fmt, rdflib_name in (("nt", "nt"), ("rdfxml", "xml"), ("jsonld", "json-ld")):
        again = rdflib.Graph().parse(data=description_bytes(triples, fmt), format=rdflib_name)
        assert isomorphic(again, theirs), fmt


def test_the_description_is_deterministic(made, project) -> None:
    _, ttl = made
    again = describe(project, version="1.2.3", issued="2026-12-07",
                     base_url="https://kg.example.org", dumps=dumps(project))
    assert description_bytes(again) == ttl


@pytest.mark.parametrize("fmt", ["turtle", "nt", "trig", "nquads", "rdfxml"])
def test_every_dump_with_comments_names_the_licence_and_the_article(fmt, project) -> None:
    head = export(fmt, validate=False, project=project)[:1200].decode()
    assert LICENCE in head and "CC BY-SA 4.0" in head and "Israel%E2%80%93Japan" in head


# -- on the web -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(project) -> TestClient:
    from kg.web.app import create_app
    from kg.web.state import Settings

    # no lifespan: these pages need no query worker
    return TestClient(create_app(project, Settings(workers=1, base_url="https://kg.example.org")))


@pytest.mark.parametrize("accept,parse", [
    ("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
    ("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
    ("text/html,application/xhtml+xml", "turtle"), ("", "turtle"),
])  # fmt: skip
def test_well_known_void_negotiates(client, accept, parse, graph) -> None:
    r = client.get("/.well-known/void", headers={"accept": accept} if accept else {})
    assert r.status_code == 200 and "Accept" in r.headers["vary"]
    got = rdflib.Graph().parse(data=r.content, format=parse)
    assert int(got.value(D, VOID.triples)) == len(graph)
    assert got.value(D, VOID.sparqlEndpoint) == rdflib.URIRef("https://kg.example.org/sparql")


def test_the_served_description_conforms_too(client, shapes) -> None:
    import pyshacl

    served = rdflib.Graph().parse(data=client.get("/.well-known/void").content, format="turtle")
    conforms, _, text = pyshacl.validate(served, shacl_graph=shapes)
    assert conforms, text


def test_served_dumps_are_the_ones_described(client) -> None:
    got = rdflib.Graph().parse(data=client.get("/.well-known/void").content, format="turtle")
    dists = list(got.objects(D, DCAT.distribution))
    assert len(dists) == len(DUMPS)
    for dist in dists:
        url = str(got.value(dist, DCAT.downloadURL))
        r = client.get(url.replace("https://kg.example.org", ""))
        assert r.status_code == 200
        digest = got.value(got.value(dist, SPDX.checksum), SPDX.checksumValue)
        assert hashlib.sha256(r.content).hexdigest() == str(digest)
    assert client.get("/download/../data/sources.ttl").status_code == 404
    assert client.get("/download/nothing.ttl").status_code == 404


@pytest.mark.parametrize("path", ["/", "/sparql", "/id/state/japan", "/.well-known/void",
                                  "/id/nothing", "/static/style.css", "/download/nope"])
def test_every_answer_links_the_licence(client, path) -> None:
    r = client.get(path, headers={"accept": "text/turtle"})
    assert f'<{LICENCE}>; rel="license"' in r.headers.get_list("link")


def test_pages_say_the_licence_and_link_the_description(client) -> None:
    html = client.get("/id/state/japan", headers={"accept": "text/html"}).text
    footer = html[html.index("<footer"):]
    assert f'rel="license" href="{LICENCE}"' in footer and "CC BY-SA 4.0" in footer
    assert 'href="/.well-known/void"' in footer
    doc = rdflib.Graph().parse(
        data=client.get("/id/state/japan", headers={"accept": "text/turtle"}).content,
        format="turtle")
    page = rdflib.URIRef("https://kg.example.org/id/state/japan")
    assert doc.value(page, VOID.inDataset) == D
    sd = rdflib.Graph().parse(
        data=client.get("/sparql", headers={"accept": "text/turtle"}).content, format="turtle")
    described = rdflib.URIRef("https://kg.example.org/.well-known/void")
    assert (None, rdflib.RDFS.seeAlso, described) in sd


def test_the_home_page_carries_schema_org_dataset_markup(client, description) -> None:
    html = client.get("/").text
    tag = '<script type="application/ld+json">'
    start = html.index(tag) + len(tag)
    doc = json.loads(html[start:html.index("</script>", start)])
    expanded = jsonld.expand(doc, {"documentLoader": _schema_context_loader})
    (node,) = expanded
    assert node["@type"] == ["https://schema.org/Dataset"] and node["@id"] == DATASET
    (licence,) = node["https://schema.org/license"]
    assert licence.get("@id", licence.get("@value")) == LICENCE
    name, value = "https://schema.org/name", "https://schema.org/value"
    measured = {m[name][0]["@value"]: m[value][0]["@value"]
                for m in node["https://schema.org/variableMeasured"]}
    void = {"triples": VOID.triples, "entities": VOID.entities, "classes": VOID.classes,
            "properties": VOID.properties}
    assert measured == {k: int(description.value(D, p)) for k, p in void.items()}


def _schema_context_loader(url: str, options=None) -> dict:
    """schema.org's context, offline: every term is https://schema.org/TERM."""
    assert url.rstrip("/") == "https://schema.org"
    return {"contextUrl": None, "documentUrl": url,
            "document": {"@context": {"@vocab": "https://schema.org/"}}}


def test_the_ontology_states_the_same_licence(graph) -> None:
    onto = rdflib.URIRef("https://w3id.org/israel-japan-kg/ontology")
    assert graph.value(onto, rdflib.URIRef("http://purl.org/dc/terms/license")) == rdflib.URIRef(
        LICENCE)


def test_dumps_are_files_made_once_by_another_process(scratch, monkeypatch) -> None:
    """The server sends dumps from files it did not make itself (another process wrote
    them, at a lower priority), byte for byte what ``dumps`` makes; they are made again
    only when one is missing."""
    import multiprocessing

    from kg.dataset import _read_sums, dump_files
    from kg.exports import serialize, triples
    from kg.licence import with_licence_header

    made = dump_files(scratch)
    assert {d.fmt for d in made} == set(DUMPS)
    folder = scratch.build_dir / "dumps" / scratch.content_key()
    for d in made:
        data = d.path.read_bytes()
        assert d.size == len(data) and d.sha256 == hashlib.sha256(data).hexdigest()
        assert d.path.parent == folder
    nt = next(d for d in made if d.fmt == "nt").path.read_bytes()
    assert nt == with_licence_header(serialize(triples(scratch), "nt", scratch), "nt")
    started = []
    real = multiprocessing.get_context

    def counted(method=None):
        started.append(method)
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", counted)
    assert dump_files(scratch) == made and started == []  # found whole: nothing made
    made[0].path.unlink()
    assert _read_sums(folder) is None  # one missing: the folder is not whole, made again


# -- the dumps under attack: partial folders, other processes, a failing maker ------------


@pytest.fixture
def served(small) -> tuple[Project, TestClient]:
    """A server of a small project (the example data), whose dumps folder a test may break:
    its dumps take a fraction of the whole data's."""
    from kg.web.app import create_app
    from kg.web.state import Settings

    return small, TestClient(create_app(small, Settings(workers=1)))


def test_a_changed_dump_file_is_made_again_not_served(bare) -> None:
    """A file of the folder changed or cut short after ``SHA256SUMS`` was written (a disk
    full, a hand edit) is found, and the dumps made again: never sent with a size and a
    checksum it does not have."""
    from kg.dataset import _read_sums, dump_files

    made = dump_files(bare)
    folder = made[0].path.parent
    whole = made[0].path.read_bytes()
    made[0].path.write_bytes(whole[: len(whole) // 2])  # cut short
    assert _read_sums(folder, check=True) is None
    made[0].path.write_bytes(whole)
    assert _read_sums(folder, check=True) == made
    made[1].path.write_bytes(made[1].path.read_bytes().replace(b"Japan", b"Japon", 1))
    assert _read_sums(folder, check=True) is None  # the same size, other bytes
    again = dump_files(bare)  # made again, not served as listed
    assert hashlib.sha256(again[1].path.read_bytes()).hexdigest() == made[1].sha256
    assert again == made


def test_a_dump_folder_removed_under_the_server_is_made_again(served) -> None:
    """Another server of the same project (the graph edited since) removes the folders of
    other content keys; a server whose folder went that way makes it again, no 500."""
    import shutil

    scratch, client = served
    first = client.get("/download/israel-japan.nt")
    assert first.status_code == 200
    shutil.rmtree(scratch.build_dir / "dumps")
    again = client.get("/download/israel-japan.nt")
    assert again.status_code == 200 and again.content == first.content


def test_a_failing_dump_maker_is_a_one_line_503_remembered_for_a_while(served, monkeypatch) -> None:
    """The process making the dumps fails (here: the graph file the server loaded was
    damaged after it loaded it): ``/download`` and ``/.well-known/void`` say so in one line,
    with a 503 and ``Retry-After``, never a 500; and for a while every request is told at
    once, without starting another process that would fail the same way."""
    import multiprocessing

    _, client = served
    loaded = client.app.state.kg.pool.nt_path
    loaded.write_text("<broken", encoding="utf-8")
    started = []
    real = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context",
                        lambda method=None: started.append(method) or real(method))
    for url in ("/download/israel-japan.nt", "/.well-known/void", "/download/israel-japan.ttl"):
        r = client.get(url)
        assert r.status_code == 503, (url, r.status_code, r.text)
        assert "making the dumps failed" in r.text and r.text.count("\n") == 1
        assert "Traceback" not in r.text
        assert 0 < int(r.headers["retry-after"]) <= 60
    assert started == ["spawn"]  # one process tried; the others were told


def test_dumps_are_of_the_graph_the_server_loaded(served) -> None:
    """The data files edited after the server started: what it offers for download is
    still what it answers queries from. Once the graph it loaded is gone from disk (another
    command rebuilt the cache for the edited files), it says to restart it."""
    from kg.exports import serialize, triples
    from kg.licence import with_licence_header

    scratch, client = served
    before = with_licence_header(serialize(triples(scratch), "nt", scratch), "nt")
    loaded = client.app.state.kg.pool.nt_path
    data = next(p for p in scratch.graph_files() if p.parent.name == "data")
    data.write_text(data.read_text(encoding="utf-8") + "\n<https://w3id.org/israel-japan-kg/id/"
                    "state/atlantis> a <https://w3id.org/israel-japan-kg/ontology#State> .\n",
                    encoding="utf-8")
    r = client.get("/download/israel-japan.nt")
    assert r.status_code == 200 and r.content == before and b"atlantis" not in r.content
    void = client.get("/.well-known/void", params={"format": "nt"})
    assert void.status_code == 200 and hashlib.sha256(before).hexdigest().encode() in void.content
    triples(scratch)  # another command reads the edited files: the cache is rebuilt
    assert not loaded.exists()
    import shutil

    shutil.rmtree(scratch.build_dir / "dumps")
    gone = client.get("/download/israel-japan.nt")
    assert gone.status_code == 503 and "restart it" in gone.text and gone.text.count("\n") == 1


def test_a_range_of_a_dump_is_sent_if_unchanged(served) -> None:
    """``Range`` with ``If-Range`` (a download resumed): the part when the tag is the
    site's own for that dump, the whole dump otherwise; never a 500."""
    _, client = served
    whole = client.get("/download/israel-japan.nt")
    tag = whole.headers["etag"]
    part = client.get("/download/israel-japan.nt", headers={"Range": "bytes=0-9", "If-Range": tag})
    assert part.status_code == 206 and part.content == whole.content[:10]
    stale = client.get("/download/israel-japan.nt",
                       headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == whole.content
    dated = client.get("/download/israel-japan.nt",
                       headers={"Range": "bytes=0-9", "If-Range": "Mon, 07 Dec 2026 08:00:00 GMT"})
    assert dated.status_code == 200 and dated.content == whole.content
    head = client.head("/download/israel-japan.nt")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(whole.content))
    assert 'filename="israel-japan.nt"' in head.headers["content-disposition"]
    for got in (whole, head):
        assert "content-security-policy" in got.headers and "license" in got.headers["link"]


def test_a_stopping_server_ends_the_dump_being_made(scratch) -> None:
    """The thread waiting for the process making the dumps is one of the pool's, which
    Python waits for at exit: a server stopped meanwhile ended only once the dumps were
    made (minutes at 1.7 M triples). A server stopping ends that process; the wait returns
    at once, with a one-line error, and no folder is taken for whole."""
    import threading
    import time

    import kg.dataset
    from kg.dataset import SUMS, dump_files
    from kg.errors import KGError

    said: list[str] = []

    def make() -> None:
        try:
            dump_files(scratch)
        except KGError as e:
            said.append(e.message)

    from kg.web.app import create_app
    from kg.web.state import Settings

    with TestClient(create_app(scratch, Settings(workers=1))):  # its lifespan: a server
        waiting = threading.Thread(target=make)
        waiting.start()
        deadline = time.monotonic() + 10
        while not kg.dataset._MAKING and waiting.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
    # the server stopped
    waiting.join(10)
    assert not waiting.is_alive() and said == ["making the dumps failed (stopped by signal 15)"]
    assert not (scratch.build_dir / "dumps" / scratch.content_key() / SUMS).exists()


def test_dumps_that_cannot_be_written_are_a_one_line_503(served) -> None:
    """``build/dumps`` not a folder (or not writable): a 503 that says where, not a 500."""
    scratch, client = served
    scratch.build_dir.mkdir(parents=True, exist_ok=True)
    (scratch.build_dir / "dumps").write_text("not a folder", encoding="utf-8")
    r = client.get("/download/israel-japan.nt")
    assert r.status_code == 503 and "cannot write the dumps under" in r.text
    assert r.text.count("\n") == 1 and "retry-after" in r.headers


def test_a_dump_maker_that_cannot_be_started_is_a_remembered_503(served, monkeypatch) -> None:
    """The process making the dumps cannot be started (the user's process limit, memory:
    EAGAIN): a one-line 503 with Retry-After, remembered like a failed making, not a 500
    (and not another attempt for every request)."""
    import errno
    import multiprocessing.context
    import os

    _, client = served
    tried = []

    def refuse(self) -> None:
        tried.append(self)
        raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    for url in ("/download/israel-japan.nt", "/.well-known/void"):
        r = client.get(url)
        assert r.status_code == 503, (url, r.status_code, r.text)
        assert "could not start the process making the dumps" in r.text
        assert r.text.count("\n") == 1 and 0 < int(r.headers["retry-after"]) <= 60
    assert len(tried) == 1


def test_the_description_counts_the_graph_while_the_dumps_are_made(served, monkeypatch) -> None:
    """The description gives every dump's size and SHA-256, so its first request waits for
    the dumps; it counts the graph meanwhile, not after (3.4 s at 230 pairs)."""
    import threading

    import kg.dataset
    import kg.web.dataset
    from kg.errors import KGError

    _, client = served
    counting = threading.Event()
    real_counts, real_files = kg.dataset.counts, kg.web.dataset.dump_files

    def counts(engine):
        counting.set()
        return real_counts(engine)

    def dump_files(*args):
        if not counting.wait(10):  # bounded: counted only after the dumps, never
            raise KGError("the graph was not counted while the dumps were made")
        return real_files(*args)

    monkeypatch.setattr(kg.web.dataset, "counts", counts)
    monkeypatch.setattr(kg.web.dataset, "dump_files", dump_files)
    r = client.get("/.well-known/void", params={"format": "nt"})
    assert r.status_code == 200, r.text
    assert counting.is_set() and b"http://rdfs.org/ns/void#triples" in r.content
