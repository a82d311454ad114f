"""Names the whole package agrees on: formats, media types, engines, the version.

One table each, as plain strings, so the command line can offer its choices
without importing the store or any writer (``kg --help`` imports this and
nothing heavy). :mod:`kg.formats` maps these names onto pyoxigraph's writers.

>>> RESULT_FORMATS["json"].media_type
'application/sparql-results+json'
>>> [f.name for f in RESULT_FORMATS.values() if f.kind == "graph"]
['turtle', 'nt', 'jsonld', 'rdfxml']
>>> by_media_type("text/turtle").name
'turtle'
"""

from __future__ import annotations

from collections import namedtuple

__version__ = "0.1.0"


# collections.namedtuple, not typing.NamedTuple: importing typing costs a cold kg query 7 ms
class Format(
    namedtuple(
        "Format",
        "name kind media_type extension pyoxigraph charset w3c",
        defaults=("", False, ""),
    )
):
    """One way of writing an answer.

    ``kind`` is what it can carry: ``solutions`` (SELECT, ASK), ``graph``
    (CONSTRUCT, DESCRIBE, whole-graph exports), ``dataset`` (the graph as a named
    graph: exports only) or ``text`` (for people only).
    ``pyoxigraph`` names the member of ``QueryResultsFormat`` / ``RdfFormat``
    that writes it (empty: written by this package or by rdflib); ``charset``
    says the Content-Type carries ``; charset=utf-8``; ``w3c`` is the name under
    http://www.w3.org/ns/formats/ (service descriptions).
    """

    __slots__ = ()

    @property
    def content_type(self) -> str:
        return self.media_type + ("; charset=utf-8" if self.charset else "")


#: formats of query answers, in the order they are offered; ``table`` is for terminals
RESULT_FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("table", "text", "text/plain", "txt", charset=True),
        # .json and .xml (not the registered .srj, .srx): a downloaded answer opens anywhere
        Format("json", "solutions", "application/sparql-results+json", "json", "JSON",
               w3c="SPARQL_Results_JSON"),
        Format("xml", "solutions", "application/sparql-results+xml", "xml", "XML",
               w3c="SPARQL_Results_XML"),
        Format("csv", "solutions", "text/csv", "csv", "CSV", charset=True,
               w3c="SPARQL_Results_CSV"),
        Format("tsv", "solutions", "text/tab-separated-values", "tsv", "TSV", charset=True,
               w3c="SPARQL_Results_TSV"),
        Format("turtle", "graph", "text/turtle", "ttl", "TURTLE", charset=True, w3c="Turtle"),
        Format("nt", "graph", "application/n-triples", "nt", "N_TRIPLES", w3c="N-Triples"),
        Format("jsonld", "graph", "application/ld+json", "jsonld", w3c="JSON-LD"),
        Format("rdfxml", "graph", "application/rdf+xml", "rdf", "RDF_XML", w3c="RDF_XML"),
        # the graph as a named graph: exports, never a query's answer
        Format("trig", "dataset", "application/trig", "trig", "TRIG", charset=True, w3c="TriG"),
        Format("nquads", "dataset", "application/n-quads", "nq", "N_QUADS", w3c="N-Quads"),
    )
}  # fmt: skip

#: media types clients also send for a format (the first type of each format is its own)
MEDIA_ALIASES = {"application/json": "json", "application/xml": "xml"}

#: formats ``kg export`` writes the whole graph in (every graph and dataset format)
EXPORT_FORMATS = tuple(n for n, f in RESULT_FORMATS.items() if f.kind in ("graph", "dataset"))
#: names a format had before one name per format was the rule, still read (with a warning)
OLD_NAMES = {"xml": "rdfxml"}

#: query engines over the project's own graph (``--endpoint`` adds any remote one)
ENGINE_NAMES = ("oxigraph", "oxigraph-disk", "rdflib")

#: ``kg query --format`` choices: every format a query's answer can be written in
QUERY_FORMATS = tuple(n for n, f in RESULT_FORMATS.items() if f.kind != "dataset")


def by_media_type(media_type: str) -> Format | None:
    """The format a media type (without parameters) names, if any."""
    media_type = media_type.strip().lower()
    name = MEDIA_ALIASES.get(media_type)
    if name is not None:
        return RESULT_FORMATS[name]
    return next((f for f in RESULT_FORMATS.values() if f.media_type == media_type), None)


def offered(kind: str) -> list[str]:
    """Media types of every format of ``kind`` (solutions or graph), each followed by its
    aliases, in the registry's order (the order ``*/*`` expands to)."""
    out: list[str] = []
    for f in RESULT_FORMATS.values():
        if f.kind == kind:
            out.append(f.media_type)
            out += [m for m, name in MEDIA_ALIASES.items() if name == f.name]
    return out
