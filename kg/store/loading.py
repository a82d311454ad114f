"""Loading the graph: every Turtle file of ontology/ and data/ into one graph.

The merged graph is cached under ``build/cache/`` as sorted N-Triples, keyed on
the inputs' content. The cache file carries a digest of its own body, so a
truncated or edited cache is detected and rebuilt, and it is written
atomically, so concurrent runs can only ever replace one whole file with
another.
"""

from __future__ import annotations

from pathlib import Path

from kg.errors import KGError
from kg.fileio import atomic_write
from kg.namespaces import CITATION, PREFIXES
from kg.project import Project

TYPE_CHECKING = False  # typing costs a cold ``kg query`` 7 ms; annotations need it only here
if TYPE_CHECKING:
    from typing import Any

TYPE_CHECKING = False  # typing costs a cold ``kg query`` 7 ms
if TYPE_CHECKING:
    from rdflib import Graph

_HEADER = "# kg-cache sha256="


def prefixed_graph() -> Graph:
    """An empty rdflib graph that knows the project's prefixes, and no others."""
    from rdflib import Graph

    graph = Graph(bind_namespaces="none")
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


def parse_files(
    paths: list[Path], project: Project | None = None, *, allow_blank_nodes: bool = False
) -> Graph:
    """Parse Turtle files into one rdflib graph (for pyshacl and rdflib's writers), by way
    of :func:`read_triples`, whose rules and messages it shares."""

    graph = prefixed_graph()
    triples = read_triples(paths, project, allow_blank_nodes=allow_blank_nodes)
    graph.parse(data=ntriples(triples), format="nt")
    return graph


def read_triples(
    paths: list[Path], project: Project | None = None, *, allow_blank_nodes: bool = False
) -> list[Any]:
    """The triples of Turtle files, parsed by pyoxigraph.

    Raises :class:`KGError` with ``file:line: message`` on the first syntax error, and
    refuses blank nodes (every resource needs a stable IRI so that exports are
    deterministic and links can point at it) unless ``allow_blank_nodes`` (shapes need
    them for lists and ``sh:or``). pyoxigraph rather than rdflib: parsing 1,000 synthetic
    pairs (1.7 M triples, bench/synth.py) took rdflib 102.5 s and 4.48 GiB; pyoxigraph
    takes 8.2 s and 1.04 GiB (200 pairs: 16.7 s against 1.4 s), and the cache it writes
    is the same byte for byte.
    """
    triples: set[Any] = set()
    for path in paths:
        triples.update(_read_file(path, project, allow_blank_nodes))
    _check_citations(triples)
    return list(triples)


def _check_citations(triples: set[Any]) -> None:
    """Every reification node names a triple that some file asserts: a citation of a
    triple the graph lacks (``<< s p o >> ij:statedIn …`` with no ``s p o .``, or an
    edited triple whose old citation stayed) would cite nothing."""
    import pyoxigraph as ox

    parts: dict[Any, dict[str, Any]] = {}
    names = {_RDF + k: k for k in ("subject", "predicate", "object")}
    for t in triples:
        key = names.get(t.predicate.value)
        if key and t.subject.value.startswith(CITATION):
            parts.setdefault(t.subject, {})[key] = t.object
    for node, spo in sorted(parts.items(), key=lambda kv: kv[0].value):
        try:
            triple = ox.Triple(spo["subject"], spo["predicate"], spo["object"])
        except (KeyError, TypeError):
            why = "a citation needs one subject, predicate and object"
            raise KGError(f"<{node.value}>: {why}") from None
        if triple not in triples:
            raise KGError(f"<{node.value}> cites a triple that no file asserts: {triple}; "
                          "write the citation as an annotation {| … |} of the triple")


_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def citation_iri(triple: Any) -> str:
    """The stable IRI of the reification node of ``triple``: the first 20 hex digits of
    the SHA-256 of the triple in N-Triples, so the same triple always gets the same node."""
    import hashlib

    key = f"{triple.subject} {triple.predicate} {triple.object} ."
    return CITATION + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _reified(quads: list[Any], name: str) -> list[Any]:
    """``quads`` with each RDF 1.2 reifier (``_:r rdf:reifies <<( s p o )>>``, what Turtle
    1.2's annotation syntax ``{| … |}`` writes) made an RDF 1.1 reification node with a
    stable IRI: typed rdf:Statement, with rdf:subject, rdf:predicate and rdf:object. Plain
    SPARQL 1.1 engines and every RDF 1.1 format can then carry the citation."""
    import pyoxigraph as ox

    reifies = ox.NamedNode(_RDF + "reifies")
    nodes: dict[Any, Any] = {}
    for q in quads:
        if q.predicate == reifies:
            if not isinstance(q.object, ox.Triple) or isinstance(q.object.object, ox.Triple):
                raise KGError(f"{name}: rdf:reifies must name one plain triple")
            nodes[q.subject] = ox.NamedNode(citation_iri(q.object))
    out = []
    for q in quads:
        subject = nodes.get(q.subject, q.subject)
        if q.predicate == reifies:
            t = q.object
            statement = ox.NamedNode(_RDF + "Statement")
            out += [ox.Triple(subject, ox.NamedNode(_RDF + "type"), statement),
                    ox.Triple(subject, ox.NamedNode(_RDF + "subject"), t.subject),
                    ox.Triple(subject, ox.NamedNode(_RDF + "predicate"), t.predicate),
                    ox.Triple(subject, ox.NamedNode(_RDF + "object"), t.object)]
        elif isinstance(q.object, ox.Triple) or isinstance(q.subject, ox.Triple):
            raise KGError(f"{name}: a triple term is allowed only as what rdf:reifies names")
        else:
            out.append(ox.Triple(subject, q.predicate, nodes.get(q.object, q.object)))
    return out


def _read_file(path: Path, project: Project | None, allow_blank_nodes: bool) -> list[Any]:
    import pyoxigraph as ox

    name = project.relative(path) if project else str(path)
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise KGError(f"{name}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        quads = list(ox.parse(data, format=ox.RdfFormat.TURTLE,
                              base_iri=path.resolve().as_uri()))
    except SyntaxError as e:
        why = str(e.msg).split(": ", 1)[-1] if ": " in str(e.msg) else str(e.msg)
        raise KGError(f"{name}:{e.lineno or 0}: {why}") from None
    triples = _reified(quads, name)
    for t in triples:
        blank = isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)
        if blank and not allow_blank_nodes:
            raise KGError(
                f"{name}: blank node in a triple with predicate <{t.predicate.value}>; "
                "give the resource an IRI"
            )
    return triples


def ntriples(triples: list[Any]) -> bytes:
    """Triples as N-Triples, one a line, sorted: the one writer of the cache, of
    ``kg export -f nt`` and of the synthetic graphs."""
    import pyoxigraph as ox

    return ox.serialize(sorted(triples, key=str), format=ox.RdfFormat.N_TRIPLES) or b""


def cached_ntriples(project: Project | None = None) -> Path:
    """The path of the merged graph as N-Triples, rebuilt when inputs changed."""
    project = project or Project.find()
    fast = _stamped(project)
    if fast is not None:
        return fast
    inputs = _stats(project)  # before hashing: a change after this is seen next time
    key = project.content_key()
    path = project.build_dir / "cache" / f"graph-{key}.nt"
    if _read_verified(path) is None:
        import hashlib

        from kg.progress import step

        with step(f"reading {len(project.graph_files())} data files"):
            body = ntriples(read_triples(project.graph_files(), project))
        digest = hashlib.sha256(body).hexdigest()
        atomic_write(path, f"{_HEADER}{digest}\n".encode() + body)
        for old in path.parent.glob("graph-*.nt"):
            if old != path:
                old.unlink(missing_ok=True)
    _write_stamp(project, path, inputs)
    return path


# The stamp: what the inputs and the cache looked like (sizes, modification times) when
# the cache was last verified against them, as git's index does for a checkout. With it,
# a cold ``kg query`` reads no input and hashes nothing (importing hashlib, hashing the
# inputs and the cache cost ~5 ms of ~55). An input modified less than _RACY_NS before
# the stamp was written could change again unseen within the file system's timestamp
# granularity ("racily clean" in git), so it sends the next run the slow way.
_STAMP = "stamp.tsv"
_RACY_NS = 2_000_000_000


def _stats(project: Project) -> list[str]:
    out = []
    for path in project.graph_files() + project.shape_files():
        st = path.stat()
        out.append(f"{path.relative_to(project.root)}\t{st.st_size}\t{st.st_mtime_ns}")
    return out


def _stamped(project: Project) -> Path | None:
    """The cache, when the stamp says neither it nor any input changed; else ``None``."""
    from kg.project import CACHE_VERSION

    stamp = project.build_dir / "cache" / _STAMP
    try:
        head, *rows = stamp.read_text(encoding="utf-8").splitlines()
        version, name, size, mtime, written = head.split("\t")
        cache = stamp.parent / name
        st = cache.stat()
        if version != CACHE_VERSION or (st.st_size, st.st_mtime_ns) != (int(size), int(mtime)):
            return None
        if rows != _stats(project):
            return None
        if any(int(row.rsplit("\t", 1)[1]) >= int(written) - _RACY_NS for row in rows):
            return None
    except (OSError, ValueError):
        return None
    return cache


def _write_stamp(project: Project, cache: Path, inputs: list[str]) -> None:
    import time

    from kg.project import CACHE_VERSION

    st = cache.stat()
    head = f"{CACHE_VERSION}\t{cache.name}\t{st.st_size}\t{st.st_mtime_ns}\t{time.time_ns()}"
    atomic_write(cache.parent / _STAMP, "\n".join([head, *inputs]).encode() + b"\n")


def _read_verified(path: Path) -> bytes | None:
    """The cache body when the file exists and its digest matches, else ``None``.

    Bytes throughout: decoding and re-encoding the body took as long as hashing it
    (3.8 ms of a cold ``kg query`` on the article's graph, 3.4 s at 1,000 pairs).
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    header, _, body = data.partition(b"\n")
    if not header.startswith(_HEADER.encode()):
        return None
    import hashlib

    if hashlib.sha256(body).hexdigest().encode() != header[len(_HEADER) :]:
        return None
    return body


def load(project: Project | None = None) -> Graph:
    """The whole graph (ontology and data) as an rdflib graph, from the cache when current."""

    path = cached_ntriples(project)
    graph = prefixed_graph()
    graph.parse(path, format="nt")
    return graph
