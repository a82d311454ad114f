"""The dataset described the way its readers look for it: VoID, DCAT (DCAT-AP) and
schema.org, all generated from the graph, and the licence stated everywhere.

Where each field comes from:

- counts (``void:triples``, entities, class and property partitions) and example
  resources: the library queries ``void-*.rq`` over the graph, never written by hand;
- the source article (URL, label, retrieval date, and the pinned text's SHA-256,
  revision and date where the data has them): ``source-article.rq`` over ``data/``;
- title, description, keywords, creator and publisher, the licence and the credit
  to the article: the constants below (the project's own words; they are metadata,
  not facts of the graph, so they live here rather than in ``data/``);
- version and date: the caller (``kg release VERSION --date``; the package version
  and no date for the server and ``kg export``), never the clock;
- distributions: the dump bytes handed in (media type, size, SHA-256, download URL).

The licence and the credit to the article are :mod:`kg.licence`'s.

>>> sorted(DUMPS)
['jsonld', 'nquads', 'nt', 'rdfxml', 'trig', 'turtle']
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from kg import sparql
from kg.citation import text as citation
from kg.formats import graph_bytes
from kg.licence import (
    ARTICLE_LICENCE,
    CREDIT,
    DATASET,
    DESCRIPTION,
    KEYWORDS,
    LICENCE,
    LICENCE_NAME,
    PROJECT_NAME,
    TITLE,
    licence_header,
    with_licence_header,
)
from kg.namespaces import ARTICLE, BASE, ID, PREFIXES, XSD, shorten
from kg.project import Project
from kg.registry import EXPORT_FORMATS, RESULT_FORMATS, __version__
from kg.store import Engine, open_engine

#: the project as creator and publisher
PROJECT = BASE + "dataset#project"
HOMEPAGE = BASE

#: the EU file-type code of each export format (the registry has the rest)
_EU_FILE_TYPES = {"turtle": "RDF_TURTLE", "jsonld": "JSON_LD", "nt": "RDF_N_TRIPLES",
                  "trig": "RDF_TRIG", "nquads": "RDF_N_QUADS", "rdfxml": "RDF_XML"}  # fmt: skip
#: the dump of each export format: file name, IANA media type, EU file-type code, from the
#: registry's one format table
DUMPS: dict[str, tuple[str, str, str]] = {
    name: (f"israel-japan.{RESULT_FORMATS[name].extension}", RESULT_FORMATS[name].media_type,
           _EU_FILE_TYPES[name])
    for name in EXPORT_FORMATS
}  # fmt: skip

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
SPDX = "http://spdx.org/rdf/terms#"
OWL = "http://www.w3.org/2002/07/owl#"
PROV = "http://www.w3.org/ns/prov#"
SCHEMA = "http://schema.org/"
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
EU_LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
IANA = "http://www.iana.org/assignments/media-types/"

#: prefixes for writing the description (the graph's own, plus the vocabularies used here)
DESCRIPTION_PREFIXES = {
    **{p: ns for p, ns in PREFIXES.items() if p in ("ij", "rdf", "rdfs", "xsd", "owl",
                                                     "dcterms", "prov", "schema")},
    "dcat": DCAT, "void": VOID, "foaf": FOAF, "spdx": SPDX,
}  # fmt: skip


@dataclass(frozen=True)
class Dump:
    """One file of the whole graph: its export format and bytes."""

    fmt: str
    data: bytes

    @property
    def name(self) -> str:
        return DUMPS[self.fmt][0]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class DumpFile:
    """One dump written to disk (:func:`dump_files`): its format, file, size and SHA-256,
    so that a server describes and sends it without holding it in memory."""

    fmt: str
    path: Path
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return DUMPS[self.fmt][0]


@dataclass(frozen=True)
class Counts:
    """What the description counts, read from the graph."""

    triples: int
    subjects: int
    objects: int
    properties: int
    classes: int
    entities: int
    per_class: tuple[tuple[str, int], ...]
    per_property: tuple[tuple[str, int], ...]
    examples: tuple[str, ...]


def dumps(project: Project | None = None, graph: list[ox.Triple] | None = None) -> list[Dump]:
    """The whole graph in every export format, each with the licence header
    (:func:`kg.licence.with_licence_header`), deterministically."""
    from kg.exports import triples

    project = project or Project.find()
    graph = sorted(graph if graph is not None else triples(project), key=str)
    return [Dump(fmt, dump_bytes(graph, fmt, project)) for fmt in DUMPS]


def dump_bytes(graph: list[ox.Triple], fmt: str, project: Project) -> bytes:
    """One dump: the graph (sorted by ``str``) in ``fmt`` with the licence header."""
    from kg.exports import serialize

    return with_licence_header(serialize(graph, fmt, project, presorted=True), fmt)


#: what lists the dumps of a folder, written last (``sha256sum`` reads it back)
SUMS = "SHA256SUMS"


def write_dumps(
    project: Project,
    folder: Path,
    source: Path | None = None,
    times: dict[str, float] | None = None,
) -> None:
    """Every dump of the graph (``source``, an N-Triples file: by default the project's
    graph as its files say now) into ``folder``, one at a time (each written atomically,
    and let go before the next is made: at 230 synthetic pairs the six are 1.3 GB), then
    :data:`SUMS`, whose presence says the folder is whole. ``times`` is given the seconds
    of each step (``bench/dumps.py``)."""
    import time

    from kg.exports import triples
    from kg.fileio import atomic_write

    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        if times is not None:
            times[name] = times.get(name, 0.0) + now - clock
        clock = now

    graph = triples(project, source)
    lap("read")
    graph.sort(key=str)  # once: each writer's own sort of a sorted list is one pass
    lap("sort")
    lines = []
    for fmt in DUMPS:
        data = dump_bytes(graph, fmt, project)
        lap(fmt)
        digest = hashlib.sha256(data).hexdigest()
        atomic_write(folder / DUMPS[fmt][0], data)
        del data
        lines.append(f"{digest}  {DUMPS[fmt][0]}\n")
        lap("sha256 and write")
    atomic_write(folder / SUMS, "".join(sorted(lines, key=lambda x: x[66:])).encode())
    lap("sha256 and write")


def _read_sums(folder: Path, check: bool = False) -> list[DumpFile] | None:
    """The dumps :data:`SUMS` lists, or None when it is missing or a file is not whole;
    with ``check``, or when one is not the SHA-256 it lists (a file cut short or changed
    after the list was written: a full disk, a hand edit)."""
    try:
        listed = (folder / SUMS).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    digests = {line[66:]: line[:64] for line in listed if len(line) > 66}
    out = []
    for fmt, (name, _, _) in DUMPS.items():
        path = folder / name
        try:
            if name not in digests or (check and _sha256(path) != digests[name]):
                return None
            out.append(DumpFile(fmt, path, path.stat().st_size, digests[name]))
        except OSError:
            return None
    return out


def _sha256(path: Path) -> str:
    """The file's SHA-256, read a MB at a time (hashlib lets other threads run meanwhile)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _make_dumps(root: str, folder: str, source: str) -> None:  # pragma: no cover - own process
    import os

    os.nice(10)  # the server that asked goes on answering first
    write_dumps(Project(Path(root)), Path(folder), Path(source))


#: the processes making dumps now, with the root of their project (:func:`stop_making`)
_MAKING: dict[Any, Path] = {}
_MAKING_LOCK = threading.Lock()


def stop_making(project: Project) -> None:
    """End the processes making the project's dumps (its server stopping). Without this,
    the thread waiting for one kept the stopped server's process alive until it was done:
    minutes at 1.7 M triples (the pool's threads are not daemons; Python waits for them
    at exit)."""
    with _MAKING_LOCK:
        for child, root in _MAKING.items():
            if root == project.root:
                child.terminate()


def dump_files(project: Project, source: Path | None = None) -> list[DumpFile]:
    """The dumps of a graph as files under ``build/dumps/KEY/``, made when missing by
    another process, at a lower priority: at 1.7 M triples the six formats take minutes of
    Python that, in a server's own process, held its other clients for seconds at a time,
    and hundreds of MB it then kept.

    ``source`` is the graph as N-Triples, ``build/cache/graph-KEY.nt`` (``KEY``: its content
    key): a server gives the file it loaded, so that what it offers for download is what it
    answers queries from, even when the data files were edited after it started. By default,
    the project's graph as its files say now."""
    import contextlib
    import multiprocessing
    import shutil

    from kg.errors import KGError
    from kg.store.loading import cached_ntriples

    source = source or cached_ntriples(project)
    folder = project.build_dir / "dumps" / source.stem.removeprefix("graph-")
    found = _read_sums(folder, check=True)
    if found is None:
        if not source.is_file():  # another process rebuilt the cache for edited data files
            raise KGError(
                f"the graph this server loaded ({source.name}) is no longer on disk, as its "
                "data files changed since it started: restart it to serve the new graph"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise KGError(f"cannot write the dumps under {folder.parent}: {e.strerror}") from None
        child = multiprocessing.get_context("spawn").Process(
            target=_make_dumps, args=(str(project.root), str(folder), str(source)), daemon=True
        )
        with _MAKING_LOCK:
            try:
                child.start()
            except OSError as e:  # the user's process limit, memory (EAGAIN, ENOMEM)
                raise KGError(
                    f"could not start the process making the dumps: {e.strerror or e}"
                ) from None
            _MAKING[child] = project.root
        try:
            child.join()
        finally:
            with _MAKING_LOCK:
                _MAKING.pop(child, None)
        found = _read_sums(folder)
        if found is None:
            code = child.exitcode or 0
            raise KGError("making the dumps failed (" + (
                f"stopped by signal {-code})" if code < 0 else f"exit code {code})"))
        with contextlib.suppress(OSError):  # tidying: the dumps are made whatever it finds
            for old in folder.parent.iterdir():
                if old != folder and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
    return found


def write_beside(
    path: str | Path, fmt: str, data: bytes, project: Project | None = None
) -> Path:
    """Write the description of one dump (``data``, written at ``path`` in ``fmt``) as
    Turtle beside it, at ``PATH.void.ttl``; its download URL is the file's name under
    the dataset's download address. The path written."""
    from kg.fileio import atomic_write

    target = Path(f"{path}.void.ttl")
    triples = describe(project, dumps=[Dump(fmt, data)])
    atomic_write(target, description_bytes(triples))
    return target


def counts(engine: Engine) -> Counts:
    """The graph's VoID counts, from the library queries."""
    row = next(iter(engine.select(sparql.load("void-counts"))))
    values = [int(t.value) for t in row]  # type: ignore[union-attr]
    per_class = tuple(
        (c.value, int(n.value))  # type: ignore[union-attr]
        for c, n in engine.select(sparql.load("void-classes"))
        if isinstance(c, ox.NamedNode)
    )
    per_property = tuple(
        (p.value, int(n.value))  # type: ignore[union-attr]
        for p, n in engine.select(sparql.load("void-properties"))
    )
    examples = tuple(r.value for (r,) in engine.select(sparql.load("void-examples")))  # type: ignore[union-attr]
    return Counts(*values, per_class, per_property, examples)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Source:
    """The source article and what the data records of its pinned text."""

    url: str
    label: str
    retrieved: str | None
    sha256: str | None
    revision: str | None
    date: str | None


def source(engine: Engine) -> Source:
    """The source article, from ``data/`` (``source-article.rq``)."""
    for row in engine.select(sparql.load("source-article")):
        url, label, retrieved, sha, rev, date = (None if t is None else t.value for t in row)
        return Source(url or ARTICLE, label or "Israel–Japan relations", retrieved, sha, rev,
                      date)  # fmt: skip
    return Source(ARTICLE, "Israel–Japan relations", None, None, None, None)


def _fragment(iri: str) -> str:
    """A readable, stable fragment for a partition of ``iri`` (``ij-State``)."""
    short = shorten(iri).replace(":", "-")
    if re.fullmatch(r"[A-Za-z0-9_.-]+", short):
        return short
    return hashlib.sha256(iri.encode()).hexdigest()[:16]


def vocabularies(terms: list[str]) -> list[str]:
    """The namespaces (of the graph's prefixes, longest first) that ``terms`` belong to,
    other than the resource namespaces."""
    spaces = sorted(
        (ns for p, ns in PREFIXES.items() if not ns.startswith(ID)), key=len, reverse=True
    )
    used = {next((ns for ns in spaces if t.startswith(ns)), None) for t in terms}
    return sorted(u for u in used if u)


def describe(
    project: Project | None = None,
    *,
    engine: Engine | None = None,
    version: str | None = None,
    issued: str | None = None,
    base_url: str | None = None,
    download_base: str | None = None,
    dumps: Sequence[Dump | DumpFile] = (),
    counted: Counts | None = None,
) -> list[ox.Triple]:
    """The VoID and DCAT description of the dataset, as triples.

    ``version`` defaults to the package's; ``issued`` (an ``xsd:date``) is left out
    unless given; ``base_url`` is where ``kg serve`` answers (the SPARQL endpoint, the
    landing page); each dump becomes a ``dcat:Distribution`` whose download URL is its
    name under ``download_base``; ``counted``: the graph's :func:`counts`, when made
    already.
    """
    engine = engine or open_engine(project=project)
    c = counted or counts(engine)
    src = source(engine)
    version = version or __version__
    out: list[ox.Triple] = []
    N = ox.NamedNode

    def lit(value: object, datatype: str | None = None, lang: str | None = None) -> ox.Literal:
        if lang:
            return ox.Literal(str(value), language=lang)
        return ox.Literal(str(value), datatype=N(datatype or XSD + "string"))

    def add(s: str, p: str, o: ox.NamedNode | ox.Literal | str) -> None:
        out.append(ox.Triple(N(s), N(p), N(o) if isinstance(o, str) else o))

    def count(n: int) -> ox.Literal:
        return lit(n, XSD + "integer")

    d = DATASET
    for t in (VOID + "Dataset", DCAT + "Dataset"):
        add(d, RDF + "type", t)
    add(d, DCT + "title", lit(TITLE, lang="en"))
    add(d, DCT + "description", lit(DESCRIPTION, lang="en"))
    for k in KEYWORDS:
        add(d, DCAT + "keyword", lit(k, lang="en"))
    add(d, DCT + "license", LICENCE)
    add(d, DCT + "rights", d + "#rights")
    add(d + "#rights", RDF + "type", DCT + "RightsStatement")
    add(d + "#rights", RDFS + "label", lit(CREDIT, lang="en"))
    add(d, DCT + "creator", PROJECT)
    add(d, DCT + "publisher", PROJECT)
    add(PROJECT, RDF + "type", FOAF + "Agent")
    add(PROJECT, FOAF + "name", lit(PROJECT_NAME, lang="en"))
    add(PROJECT, FOAF + "homepage", HOMEPAGE)
    add(d, DCT + "language", EU_LANGUAGE + "ENG")
    add(EU_LANGUAGE + "ENG", RDF + "type", DCT + "LinguisticSystem")
    add(d, DCT + "conformsTo", IJ_ONTOLOGY)
    add(IJ_ONTOLOGY, RDF + "type", DCT + "Standard")
    add(d, DCAT + "version", lit(version))
    add(d, OWL + "versionInfo", lit(version))
    if issued:
        add(d, DCT + "issued", lit(issued, XSD + "date"))
    add(d, DCT + "bibliographicCitation", lit(citation(version, issued), lang="en"))
    # the source article
    # (not dcterms:source: DCAT-AP reads it as a source *dataset*)
    add(d, PROV + "wasDerivedFrom", src.url)
    add(src.url, RDF + "type", FOAF + "Document")
    add(src.url, DCT + "title", lit(src.label, lang="en"))
    add(src.url, DCT + "license", ARTICLE_LICENCE)
    add(ARTICLE_LICENCE, RDF + "type", DCT + "LicenseDocument")
    add(ARTICLE_LICENCE, RDFS + "label", lit("CC BY-SA 4.0", lang="en"))
    if src.retrieved:
        add(src.url, "http://purl.org/pav/retrievedOn", lit(src.retrieved, XSD + "date"))
    if src.sha256:
        add(src.url, SPDX + "checksum", src.url + "#pinned-text-sha256")
        _checksum(add, src.url + "#pinned-text-sha256", src.sha256, lit)
    if src.revision:
        add(src.url, PREFIXES["ij"] + "revision", lit(src.revision, XSD + "integer"))
    if src.date:
        add(src.url, DCT + "date", lit(src.date, XSD + "date"))
    add(LICENCE, RDF + "type", DCT + "LicenseDocument")
    add(LICENCE, RDFS + "label", lit(LICENCE_NAME, lang="en"))
    # counts
    add(d, VOID + "triples", count(c.triples))
    add(d, VOID + "entities", count(c.entities))
    add(d, VOID + "distinctSubjects", count(c.subjects))
    add(d, VOID + "distinctObjects", count(c.objects))
    add(d, VOID + "properties", count(c.properties))
    add(d, VOID + "classes", count(c.classes))
    add(d, VOID + "uriSpace", lit(ID))
    for cls, n in c.per_class:
        part = f"{d}#class-{_fragment(cls)}"
        add(d, VOID + "classPartition", part)
        add(part, VOID + "class", cls)
        add(part, VOID + "entities", count(n))
    for prop, n in c.per_property:
        part = f"{d}#property-{_fragment(prop)}"
        add(d, VOID + "propertyPartition", part)
        add(part, VOID + "property", prop)
        add(part, VOID + "triples", count(n))
    for ex in c.examples:
        add(d, VOID + "exampleResource", ex)
    for ns in vocabularies([p for p, _ in c.per_property] + [k for k, _ in c.per_class]):
        add(d, VOID + "vocabulary", ns)
    # where it is served
    if base_url:
        base = base_url.rstrip("/")
        add(d, VOID + "sparqlEndpoint", base + "/sparql")
        add(d, DCAT + "landingPage", base + "/")
        add(base + "/", RDF + "type", FOAF + "Document")
        service = base + "/sparql"
        add(service, RDF + "type", DCAT + "DataService")
        add(service, DCT + "title", lit(TITLE + ", SPARQL endpoint", lang="en"))
        add(service, DCAT + "endpointURL", service)
        add(service, RDF + "type", RDFS + "Resource")  # DCAT-AP's range of endpointURL
        add(service, DCAT + "servesDataset", d)
        add(service, DCT + "license", LICENCE)
    # distributions
    for dump in dumps:
        name, media, filetype = DUMPS[dump.fmt]
        url = (download_base or BASE + "download/") + quote(name)
        dist = f"{d}#dump-{dump.fmt}"
        add(d, DCAT + "distribution", dist)
        add(d, VOID + "dataDump", url)
        add(dist, RDF + "type", DCAT + "Distribution")
        add(dist, DCT + "title", lit(f"{TITLE} ({name})", lang="en"))
        add(dist, DCAT + "accessURL", url)
        add(dist, DCAT + "downloadURL", url)
        add(dist, DCAT + "mediaType", IANA + media)
        add(IANA + media, RDF + "type", DCT + "MediaType")
        add(dist, DCT + "format", EU_FILE_TYPE + filetype)
        add(EU_FILE_TYPE + filetype, RDF + "type", DCT + "MediaTypeOrExtent")
        add(dist, DCAT + "byteSize", lit(dump.size, XSD + "nonNegativeInteger"))
        add(dist, SPDX + "checksum", dist + "-sha256")
        _checksum(add, dist + "-sha256", dump.sha256, lit)
        add(dist, DCT + "license", LICENCE)
        if issued:
            add(dist, DCT + "issued", lit(issued, XSD + "date"))
    return sorted(set(out), key=str)


IJ_ONTOLOGY = BASE + "ontology"


def _checksum(add: object, node: str, hexdigest: str, lit: object) -> None:
    add(node, RDF + "type", SPDX + "Checksum")  # type: ignore[operator]
    add(node, SPDX + "algorithm", SPDX + "checksumAlgorithm_sha256")  # type: ignore[operator]
    add(SPDX + "checksumAlgorithm_sha256", RDF + "type", SPDX + "ChecksumAlgorithm")  # type: ignore[operator]
    add(node, SPDX + "checksumValue", lit(hexdigest, XSD + "hexBinary"))  # type: ignore[operator]


def description_bytes(triples: list[ox.Triple], fmt: str = "turtle") -> bytes:
    """The description in ``fmt`` (turtle, nt, rdfxml, jsonld), sorted, so equal
    descriptions give equal bytes."""
    triples = sorted(triples, key=str)
    if fmt == "jsonld":
        return graph_bytes(triples, "jsonld")
    if fmt == "turtle":
        prefixes = {
            p: ns
            for p, ns in DESCRIPTION_PREFIXES.items()
            if any(ns in str(t) for t in triples)
        }
        return licence_header("turtle").encode() + graph_bytes(triples, "turtle", prefixes=prefixes)
    return graph_bytes(triples, fmt)


def schema_org(
    engine: Engine, *, base_url: str, version: str | None = None
) -> dict[str, object]:
    """The schema.org ``Dataset`` of the home page (JSON-LD), naming the same counts as
    the VoID description (as ``variableMeasured`` values)."""
    c = counts(engine)
    src = source(engine)
    base = base_url.rstrip("/")
    return {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": DATASET,
        "name": TITLE,
        "description": DESCRIPTION,
        "url": base + "/",
        "sameAs": DATASET,
        "version": version or __version__,
        "keywords": list(KEYWORDS),
        "license": LICENCE,
        "inLanguage": "en",
        "creator": {"@type": "Organization", "name": PROJECT_NAME,
                    "url": HOMEPAGE},
        "isBasedOn": {"@type": "Article", "@id": src.url, "name": src.label,
                      "license": ARTICLE_LICENCE},
        "creditText": CREDIT,
        "variableMeasured": [
            {"@type": "PropertyValue", "name": "triples", "value": c.triples},
            {"@type": "PropertyValue", "name": "entities", "value": c.entities},
            {"@type": "PropertyValue", "name": "classes", "value": c.classes},
            {"@type": "PropertyValue", "name": "properties", "value": c.properties},
        ],
        "distribution": [
            {"@type": "DataDownload", "encodingFormat": media,
             "contentUrl": f"{base}/download/{name}"}
            for name, media, _ in DUMPS.values()
        ],
        "subjectOf": {"@type": "DataCatalog", "url": base + "/.well-known/void"},
    }  # fmt: skip


__all__ = [
    "DATASET",
    "DUMPS",
    "LICENCE",
    "Counts",
    "Dump",
    "counts",
    "describe",
    "description_bytes",
    "dump_bytes",
    "dump_files",
    "dumps",
    "schema_org",
    "write_beside",
    "write_dumps",
]
