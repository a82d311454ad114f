"""The SPARQL 1.1 Protocol rules this server applies, apart from any web framework.

- :func:`refusal` says why a query must not run here: updates (read-only),
  SERVICE (the server never fetches a URL a query names), FROM / FROM NAMED
  (one default graph; nothing outside it).
- :func:`acceptable` turns an ``Accept`` header (or a ``format`` parameter)
  into the media types to try, best first.
- :func:`service_description` describes the endpoint (SPARQL 1.1 Service
  Description) in Turtle.
"""

from __future__ import annotations

import re

from kg.workers import CONTENT_TYPE, GRAPH_TYPES, SOLUTION_TYPES

# Comments, strings and IRIs are removed before looking for keywords, so a
# label that mentions "service" is not refused, and no keyword hides in them.
_NOISE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n]*",
)


def _keyword(*words: str) -> re.Pattern[str]:
    """A SPARQL keyword, not part of a variable (?from), prefixed name (ex:add) or word."""
    return re.compile(rf"(?<![?$:\w-])(?:{'|'.join(words)})(?![:\w-])", re.I)


_UPDATE = _keyword(
    "INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"
)
_SERVICE = _keyword("SERVICE")
_FROM = _keyword("FROM")

FORMAT_PARAM = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "jsonld": "application/ld+json",
}
DEFAULT_ORDER = ["application/sparql-results+json", "text/turtle"]


def strip_noise(text: str) -> str:
    return _NOISE.sub(" ", text)


def mask_noise(text: str) -> str:
    """Like strip_noise, but keeps every position: strings, IRIs and comments become spaces."""
    return _NOISE.sub(lambda m: " " * len(m.group(0)), text)


def refusal(text: str) -> str | None:
    """Why ``text`` may not run on this read-only, no-outbound endpoint; None if it may."""
    bare = strip_noise(text)
    if _UPDATE.search(bare):
        return "this endpoint is read-only: SPARQL Update is not accepted"
    if _SERVICE.search(bare):
        return "SERVICE is disabled: this endpoint never fetches a URL a query names"
    if _FROM.search(bare):
        return (
            "FROM and FROM NAMED are not accepted: this endpoint serves one default graph "
            "and never loads graphs from elsewhere"
        )
    return None


def media_ranges(accept: str) -> list[tuple[str, float]]:
    """``Accept`` as (media range, quality) pairs, in header order; a bad q counts as 0."""
    out = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media:
            out.append((media.lower(), q))
    return out


def acceptable(accept: str | None, fmt: str | None = None) -> list[str] | None:
    """Media types to try, best first; None when the header or parameter asks for nothing we have.

    ``fmt`` (a ``format`` query parameter: json, xml, csv, tsv, turtle, nt,
    jsonld) overrides the header.
    """
    if fmt:
        media = FORMAT_PARAM.get(fmt.lower())
        return [media] if media else None
    if not accept or not accept.strip():
        return list(DEFAULT_ORDER)
    offered = list(SOLUTION_TYPES) + list(GRAPH_TYPES)
    ranked: list[tuple[float, int, int, str]] = []
    for i, (media, q) in enumerate(media_ranges(accept)):
        if q <= 0:
            continue
        if media in ("*/*", "application/*", "text/*"):
            expanded = [m for m in DEFAULT_ORDER if media == "*/*" or m.startswith(media[:-1])]
            expanded += [
                m
                for m in offered
                if m not in expanded and (media == "*/*" or m.startswith(media[:-1]))
            ]
        elif media in offered:
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


def service_description(endpoint: str, triples: int) -> str:
    formats = {
        "application/sparql-results+json": "SPARQL_Results_JSON",
        "application/sparql-results+xml": "SPARQL_Results_XML",
        "text/csv": "SPARQL_Results_CSV",
        "text/tab-separated-values": "SPARQL_Results_TSV",
        "text/turtle": "Turtle",
        "application/n-triples": "N-Triples",
        "application/ld+json": "JSON-LD",
    }
    result_formats = " ,\n        ".join(
        f"<http://www.w3.org/ns/formats/{v}>" for v in formats.values()
    )
    return f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix dcterms: <http://purl.org/dc/terms/> .

<{endpoint}> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    dcterms:title "Israel–Japan relations knowledge graph" ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat {result_formats} ;
    sd:feature sd:EmptyGraphs ;
    sd:defaultDataset [
        a sd:Dataset ;
        sd:defaultGraph [ a sd:Graph ; void:triples {triples} ]
    ] .
"""


__all__ = ["CONTENT_TYPE", "acceptable", "refusal", "service_description", "strip_noise"]
