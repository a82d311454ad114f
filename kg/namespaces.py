"""Namespace IRIs and the prefixes used in every file the project writes.

Kept free of rdflib so the query path can import it cheaply.
"""

from __future__ import annotations

import re

BASE = "https://w3id.org/israel-japan-kg/"
IJ = BASE + "ontology#"
SHAPES = BASE + "shapes#"
ID = BASE + "id/"
#: the records of how each Wikidata link was established (data/wikidata.ttl)
LINK = BASE + "link/"
#: the units of the article (sentences, rows, items) and the citations of facts: records
#: about the article's text, not resources of the world it describes, so outside id/
UNIT = BASE + "unit/"
CITATION = BASE + "citation/"
#: the named graph this graph is published as, and the server's default graph
GRAPH_IRI = BASE + "graph"

ARTICLE = "https://en.wikipedia.org/wiki/Israel%E2%80%93Japan_relations"
WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"

#: resource prefixes, one per kind of resource (see data/README.md)
RESOURCE_KINDS = (
    "agreement",
    "concept",
    "era",
    "event",
    "figure",
    "group",
    "mission",
    "office",
    "organisation",
    "person",
    "place",
    "plan",
    "relation",
    "section",
    "state",
    "statement",
    "tenure",
    "text",
    "topic",
    "visit",
)

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_SUBCLASS_OF = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
OWL_CLASS = "http://www.w3.org/2002/07/owl#Class"
SKOS_EXACT_MATCH = "http://www.w3.org/2004/02/skos/core#exactMatch"
PROV_DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"

PREFIXES: dict[str, str] = {
    "ij": IJ,
    "ijsh": SHAPES,
    **{kind: f"{ID}{kind}/" for kind in RESOURCE_KINDS},
    "unit": UNIT,
    "citation": CITATION,
    "link": LINK,
    "dcterms": "http://purl.org/dc/terms/",
    "org": "http://www.w3.org/ns/org#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "pav": "http://purl.org/pav/",  # the source article's retrieval date
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "http://schema.org/",
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "time": "http://www.w3.org/2006/time#",
    "wd": WIKIDATA_ENTITY,
    "wdt": "http://www.wikidata.org/prop/direct/",
    "xsd": XSD,
}


def expand(name: str) -> str | None:
    """``person:shinzo-abe`` -> full IRI; ``None`` when the prefix is unknown.

    >>> expand("person:shinzo-abe")
    'https://w3id.org/israel-japan-kg/id/person/shinzo-abe'
    >>> expand("nosuch:thing") is None, expand("http://example.org/") is None
    (True, True)
    """
    prefix, sep, local = name.partition(":")
    if not sep or prefix not in PREFIXES or local.startswith("//"):
        return None
    return PREFIXES[prefix] + local


def shorten(iri: str) -> str:
    """The prefixed form of ``iri`` where a project prefix fits, else ``<iri>``.

    >>> shorten("https://w3id.org/israel-japan-kg/id/state/japan")
    'state:japan'
    >>> shorten("http://example.org/a b")
    '<http://example.org/a b>'
    """
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            local = iri[len(ns) :]
            if local and all(c.isalnum() or c in "-_." for c in local):
                best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else f"<{iri}>"


#: a Wikidata item as people copy it: Q17, wd:Q17, its entity IRI or its page's address
_WIKIDATA_ITEM = re.compile(
    # an item's number: 12 digits at most (Wikidata's are 9 in 2026)
    r"(?:wd:|<?https?://(?:www\.)?wikidata\.org/(?:entity|wiki)/)?[Qq]([1-9][0-9]{0,11})>?")


#: a resource's path under ID, as the reconciliation service and /search give it
_ID_PATH = re.compile(r"[a-z][a-z-]*/[\w.-]{1,200}")


def id_path(value: str) -> str | None:
    """The IRI ``value`` names when it is a resource's path under ``…/id/``
    (``person/shinzo-abe``, the id ``/reconcile`` and ``/search`` give), else None; whether
    the graph holds it is the caller's to ask.

    >>> id_path("person/shinzo-abe"), id_path("Shinzo Abe"), id_path("state:japan")
    ('https://w3id.org/israel-japan-kg/id/person/shinzo-abe', None, None)
    """
    return ID + value if _ID_PATH.fullmatch(value) else None


def wikidata_item(value: str) -> str | None:
    """The item ID ``value`` names when it is a Wikidata item as people copy it, else None.

    >>> [wikidata_item(v) for v in ("Q17", "q17", "wd:Q17", "https://www.wikidata.org/wiki/Q17")]
    ['Q17', 'Q17', 'Q17', 'Q17']
    >>> wikidata_item("Q0"), wikidata_item("Kabun"), wikidata_item("http://example.org/Q17")
    (None, None, None)
    """
    m = _WIKIDATA_ITEM.fullmatch(value.strip())
    return f"Q{m.group(1)}" if m else None
