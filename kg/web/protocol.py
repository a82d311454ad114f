"""The SPARQL 1.1 Protocol rules this server applies, apart from any web framework.

- :func:`acceptable` turns an ``Accept`` header and any ``format``/``output``
  parameters into the media types to try, best first.
- :func:`service_description` describes the endpoint (SPARQL 1.1 Service
  Description) in Turtle, N-Triples, RDF/XML or JSON-LD.
- :func:`neutralise_formulas` makes CSV/TSV safe to open in a spreadsheet.
- :func:`rdf_format` and :func:`prefers_html`: content negotiation of the pages.

What a query may do (read-only, no SERVICE, no FROM) is :func:`kg.sparqltext.refusal`
for the message, and :mod:`kg.web.sandbox` for the guarantee.
"""

from __future__ import annotations

import re

from kg.formats import graph_bytes
from kg.registry import RESULT_FORMATS, by_media_type, offered

#: ``format=`` / ``output=`` values (as SPARQLWrapper, YASGUI and Virtuoso send them);
#: each names the media types it may mean, the worker takes the first that fits the result
FORMAT_PARAM = {
    "json": ["application/sparql-results+json", "application/ld+json"],
    "xml": ["application/sparql-results+xml", "application/rdf+xml"],
    "csv": ["text/csv"],
    "tsv": ["text/tab-separated-values"],
    "turtle": ["text/turtle"],
    "ttl": ["text/turtle"],
    "n3": ["text/turtle"],
    "nt": ["application/n-triples"],
    "ntriples": ["application/n-triples"],
    "jsonld": ["application/ld+json"],
    "json-ld": ["application/ld+json"],
    "rdf": ["application/rdf+xml"],
    "rdfxml": ["application/rdf+xml"],
    "rdf+xml": ["application/rdf+xml"],
}
DEFAULT_ORDER = ["application/sparql-results+json", "text/turtle"]

#: caps on a request's head, applied as it is read (:mod:`kg.web.app`), before any work:
#: one header (name and value), all headers together, how many headers (431 past each);
#: the request line may be the longest query accepted plus this much (414 past it)
MAX_HEADER_BYTES = 8 * 1024
MAX_HEADERS_BYTES = 32 * 1024
MAX_HEADERS = 100
URL_SLACK = 4 * 1024
#: media ranges of ``Accept`` read; the rest are ignored (no client sends more than a dozen)
MAX_ACCEPT_RANGES = 32
OFFERED = offered("solutions") + offered("graph")


def _format_types(value: str) -> list[str] | None:
    value = value.strip().lower()
    if value in FORMAT_PARAM:
        return FORMAT_PARAM[value]
    media = value.split(";")[0].strip()
    return [media] if media in OFFERED else None


def media_ranges(accept: str) -> list[tuple[str, float]]:
    """``Accept`` as (media range, quality) pairs, in header order; a bad q counts as 0."""
    out = []
    for part in accept.split(",", MAX_ACCEPT_RANGES)[:MAX_ACCEPT_RANGES]:
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
                if not 0 <= q <= 1:  # nan, inf, negative: not a quality
                    q = 0.0
        if media:
            out.append((media.lower(), q))
    return out


def acceptable(accept: str | None, formats: list[str] | str | None = None) -> list[str] | None:
    """Media types to try, best first; None when nothing asked for is offered.

    ``formats`` are the request's ``format``/``output`` parameter values. When
    they all name the same known format it overrides the header; an unknown
    value, or values that disagree (SPARQLWrapper sends both ``format`` and
    ``output``), are ignored and ``Accept`` decides.
    """
    if isinstance(formats, str):
        formats = [formats]
    named = [_format_types(f) for f in formats or [] if f.strip()]
    if named and all(t is not None for t in named) and all(t == named[0] for t in named):
        return list(named[0])  # type: ignore[arg-type]
    if not accept or not accept.strip():
        return list(DEFAULT_ORDER)
    ranked: list[tuple[float, int, int, str]] = []
    for i, (media, q) in enumerate(media_ranges(accept)):
        if q <= 0:
            continue
        if media in ("*/*", "application/*", "text/*"):
            expanded = [m for m in DEFAULT_ORDER if media == "*/*" or m.startswith(media[:-1])]
            expanded += [
                m
                for m in OFFERED
                if m not in expanded and (media == "*/*" or m.startswith(media[:-1]))
            ]
        elif media in OFFERED:
            expanded = [media]
        else:
            continue
        ranked += [(-q, i, j, m) for j, m in enumerate(expanded)]
    ranked.sort()
    out: list[str] = []
    for *_, m in ranked:
        if m not in out:
            out.append(m)
    return out or None


def prefers_html(accept: str) -> bool:
    """Does ``Accept`` take HTML at all (a browser)?"""
    return any(
        m in ("text/html", "application/xhtml+xml") and q > 0 for m, q in media_ranges(accept)
    )


def rdf_format(accept: str) -> str | None:
    """The RDF format (a :data:`kg.registry.RESULT_FORMATS` name) that ``Accept`` prefers
    over HTML, if any.

    >>> rdf_format("text/html, text/turtle;q=0.9"), rdf_format("application/n-triples")
    (None, 'nt')
    """
    best: tuple[float, str] | None = None
    for media, q in media_ranges(accept):
        if media in ("text/html", "application/xhtml+xml"):
            kind: str | None = "html"
        else:
            spec = by_media_type(media)
            kind = spec.name if spec is not None and spec.kind == "graph" else None
        if kind is not None and q > 0 and (best is None or q > best[0]):
            best = (q, kind)
    return None if best is None or best[1] == "html" else best[1]


def document_format(param: str | None, accept: str) -> str | None:
    """The RDF format a document (a resource, the ontology, the dataset description) is
    asked in: the ``format`` parameter when given (the names ``/sparql`` takes:
    ``turtle``, ``jsonld``, ``nt``, ``rdfxml`` …), else ``Accept`` (:func:`rdf_format`);
    None for HTML. A ``format`` naming no RDF format raises ValueError.

    >>> document_format("jsonld", "text/html"), document_format(None, "text/turtle")
    ('jsonld', 'turtle')
    """
    if param is None:
        return rdf_format(accept)
    for media in FORMAT_PARAM.get(param.strip().lower(), []):
        spec = by_media_type(media)
        if spec is not None and spec.kind == "graph":
            return spec.name
    raise ValueError(
        f"format={param[:40]!r} names no RDF format; use turtle, jsonld, nt or rdfxml"
    )


def service_description(
    endpoint: str,
    triples: int,
    fmt: str = "turtle",
    *,
    graph: str | None = None,
    described_by: str | None = None,
) -> bytes:
    """The SPARQL 1.1 Service Description of ``endpoint`` in ``fmt`` (turtle, nt, rdfxml,
    jsonld). It claims only what holds: query, no update, one default graph.
    ``described_by`` is the address of the dataset's VoID description, which the
    dataset links with ``rdfs:seeAlso``, naming the dataset (:data:`kg.licence.DATASET`)
    as the graph's ``void:inDataset``."""
    import pyoxigraph as ox

    from kg.licence import DATASET

    result_formats = " ,\n        ".join(
        f"<http://www.w3.org/ns/formats/{f.w3c}>"
        for f in RESULT_FORMATS.values()
        if f.w3c and f.kind in ("solutions", "graph")
    )
    name = f"\n        sd:name <{graph}> ;" if graph else ""
    see = (
        f"\n    rdfs:seeAlso <{described_by}> ;\n    void:inDataset <{DATASET}> ;"
        if described_by
        else ""
    )
    declared = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in _SD_PREFIXES.items())
    turtle = declared + f"""
<{endpoint}> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    dcterms:title "Israel–Japan relations knowledge graph" ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat {result_formats} ;
    sd:defaultDataset <{endpoint}#dataset> .

<{endpoint}#dataset> a sd:Dataset ;{see}
    sd:defaultGraph <{endpoint}#default-graph> .

<{endpoint}#default-graph> a sd:Graph ;{name}
    void:triples {triples} .
"""
    parsed = [q.triple for q in ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE)]
    return graph_bytes(parsed, fmt, prefixes=_SD_PREFIXES)


_SD_PREFIXES = {
    "sd": "http://www.w3.org/ns/sparql-service-description#",
    "void": "http://rdfs.org/ns/void#",
    "dcterms": "http://purl.org/dc/terms/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}


# a spreadsheet reads a cell starting with one of these as a formula (OWASP: CSV injection)
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_formulas(body: bytes, delimiter: str) -> bytes:
    """CSV/TSV with every cell a spreadsheet would run as a formula prefixed by ``'``.

    Only for downloads from the page: the protocol path keeps the W3C formats
    exact. Numbers (``-5``, ``+1.5e3``) are left alone: they are not formulas.
    """
    import csv
    import io

    if delimiter == "\t":  # SPARQL TSV: cells are RDF terms, one row a line, no quoting
        rows = [line.split("\t") for line in body.decode("utf-8").split("\n")]
        fixed = [[_neutral(c) for c in row] for row in rows]
        return "\n".join("\t".join(row) for row in fixed).encode()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(body.decode("utf-8"), newline="")):
        writer.writerow([_neutral(c) for c in row])
    return out.getvalue().encode()


def _neutral(cell: str) -> str:
    if _FORMULA.match(cell) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def whole_number(value: str, least: int, most: int) -> int | None:
    """A query parameter read as a whole number from ``least`` to ``most``, else None; its
    length is bounded first (Python refuses to read 5,000 digits as a number: a 500).

    >>> whole_number("20", 1, 1000), whole_number("0", 1, 1000), whole_number("9" * 5000, 1, 9)
    (20, None, None)
    """
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(most))):
        return None
    n = int(value)
    return n if least <= n <= most else None


__all__ = [
    "acceptable",
    "document_format",
    "media_ranges",
    "neutralise_formulas",
    "prefers_html",
    "rdf_format",
    "service_description",
    "whole_number",
]
