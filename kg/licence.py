"""What every copy of the data says of itself, in one place: its title, description,
keywords and creator (:mod:`kg.dataset` and :mod:`kg.citation` read them), the licence
of the data, and the credit the source article's licence asks for (the dataset
description, every dump's header, the page footer and the ``Link: <…>; rel="license"``
header of every answer read them from here).

The data (and the ontology) are CC0 1.0, so that any fact may be given back to
Wikidata, whose data is CC0: the graph states the article's facts in the
project's own words, and facts are not the article's expression. The article
(English Wikipedia, CC BY-SA 4.0) is credited everywhere the licence is stated.
The short quotations kept in ``ij:quotation`` (80 characters at most) stay the
article's, under its licence, with the same credit.

>>> LICENCE
'http://creativecommons.org/publicdomain/zero/1.0/'
>>> licence_header("nt").splitlines()[0]
'# Israel–Japan relations knowledge graph: https://w3id.org/israel-japan-kg/dataset'
"""

from __future__ import annotations

from kg.namespaces import ARTICLE, BASE

#: the dataset's IRI (w3id.org redirects it to the server's ``/.well-known/void``)
DATASET = BASE + "dataset"
TITLE = "Israel–Japan relations knowledge graph"
DESCRIPTION = (
    "The facts of the English Wikipedia article Israel–Japan relations as RDF, in the "
    "project's own words: the two states, their missions and envoys with their dated "
    "posts, visits, agreements, trade, investment, residents and opinion figures with "
    "their units, friendship leagues and dated events, each naming the article section "
    "it came from, with a small OWL ontology, SHACL shapes and links to Wikidata."
)
KEYWORDS = ("Israel", "Japan", "bilateral relations", "diplomacy", "foreign relations",
            "knowledge graph")  # fmt: skip
#: the project as creator and publisher (of the dataset, and of a citation)
PROJECT_NAME = "The Israel–Japan relations knowledge graph project"
#: the data's licence (CC0 1.0; the form Wikidata and the Creative Commons RDF use)
LICENCE = "http://creativecommons.org/publicdomain/zero/1.0/"
LICENCE_NAME = "CC0 1.0 Universal (public domain dedication)"
#: the source article's licence
ARTICLE_LICENCE = "https://creativecommons.org/licenses/by-sa/4.0/"
CREDIT = (
    "The facts are taken from the English Wikipedia article \u201cIsrael–Japan relations\u201d "
    f"({ARTICLE}) by its contributors, licensed CC BY-SA 4.0 ({ARTICLE_LICENCE}), and "
    "restated in the project's own words; the data is dedicated to the public domain "
    "(CC0 1.0). Short quotations of the article (ij:quotation) remain under its licence."
)


def licence_header(fmt: str) -> str:
    """Comment lines naming the dataset, its licence and the article's credit, for the
    formats that have comments (Turtle, TriG, N-Triples, N-Quads: ``#``; RDF/XML:
    ``<!-- -->``);
    empty for JSON-LD, whose licence is in the description beside it."""
    lines = [
        f"{TITLE}: {DATASET}",
        f"Licence: CC0 1.0 ({LICENCE}).",
        *_wrap(CREDIT, 86),
    ]
    if fmt in ("turtle", "trig", "nt", "nquads"):
        return "".join(f"# {ln}\n" for ln in lines)
    if fmt == "rdfxml":
        return "<!--\n" + "".join(f"  {ln.replace('--', '-')}\n" for ln in lines) + "-->\n"
    return ""


def with_licence_header(data: bytes, fmt: str) -> bytes:
    """A dump with :func:`licence_header` at its top (after RDF/XML's declaration)."""
    head = licence_header(fmt).encode()
    if not head:
        return data
    if fmt == "rdfxml" and data.startswith(b"<?xml"):
        end = data.index(b"\n") + 1
        return data[:end] + head + data[end:]
    return head + data


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False)
