"""Which addresses a page may turn into a link: a path of this site, or an ``http``/``https``
URL. Anything else a term can name (``javascript:``, ``data:``, ``vbscript:``, ``file:``,
``mailto:``, ``urn:``, ``//host``, ``\\\\host``) is shown as text, never as a link.

The graph's own IRIs (``https://w3id.org/israel-japan-kg/id/…``, ``…/link/…``, the
ontology's terms) are served here, so they become paths of this site. The same rule is
written once for the browser, in ``kg/web/static/links.js``; the two are tested on the
same cases.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from kg.namespaces import BASE, IJ

#: Characters a browser strips, skips or rewrites while reading an address (spaces and
#: control characters anywhere; ``\\`` read as ``/``): "java\tscript:" is javascript:.
#: An address holding one is never a link, whatever it seems to start with.
_UNREADABLE = re.compile(r"[\x00-\x20\x7f-\x9f\\]")
_WEB = re.compile(r"https?://[^/]", re.IGNORECASE)


def site_path(iri: str) -> str:
    """Where an IRI of this graph is served here (``/id/…``, ``/ontology#…``); any other
    IRI unchanged."""
    if iri.startswith((BASE + "id/", BASE + "link/")):
        return "/" + iri[len(BASE) :]
    if iri.startswith(IJ):
        return "/ontology#" + quote(iri[len(IJ) :])
    return iri


def safe_href(iri: str | None) -> str | None:
    """The address a link to ``iri`` may point at, or ``None`` when it must stay text:
    a path of this site (one ``/``, then not a second ``/``) or an ``http(s)://host`` URL.

    >>> safe_href("https://w3id.org/israel-japan-kg/id/state/japan")
    '/id/state/japan'
    >>> safe_href("https://www.wikidata.org/wiki/Q17"), safe_href("javascript:alert(1)")
    ('https://www.wikidata.org/wiki/Q17', None)
    """
    if not isinstance(iri, str) or _UNREADABLE.search(iri):
        return None
    href = site_path(iri)
    if href.startswith("/") and not href.startswith("//"):
        return href
    return href if _WEB.match(href) else None


__all__ = ["safe_href", "site_path"]
