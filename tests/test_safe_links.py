"""Only safe links, and the security headers of every answer (issue 21, point 1).

A term becomes a link only when it names a path of this site or an http(s) URL
(``kg/links.py``; ``static/links.js`` is checked on the same cases in
``test_browser.py``); every answer, errors included, carries a strict
Content-Security-Policy, ``nosniff`` and a ``Referrer-Policy``; and no page needs inline
script or style, so the policy can forbid them.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kg.links import safe_href
from kg.project import Project
from kg.web.app import Settings, create_app, routes

from .conftest import SAFE_HREF_CASES, allowed


@pytest.mark.parametrize(("iri", "expected"), SAFE_HREF_CASES,
                         ids=[repr(c[0])[:40] for c in SAFE_HREF_CASES])
def test_a_term_is_a_link_only_to_this_site_or_the_web(iri: str, expected: str | None) -> None:
    assert safe_href(iri) == expected





# -- the headers -------------------------------------------------------------------------

#: One request per route (and more): every route of the application must appear here.
EXAMPLES: dict[str, list[tuple[str, str, dict]]] = {
    "/": [("GET", "/", {}), ("HEAD", "/", {})],
    "/sparql": [
        ("GET", "/sparql", {}),  # the service description
        ("GET", "/sparql?query=ASK%20%7B%7D", {}),
        ("POST", "/sparql", {"data": {"query": "ASK {}"}}),
        ("GET", "/sparql?query=SELECT%20%3Cscript%3E", {}),  # 400, echoing the text
        ("HEAD", "/sparql?query=ASK%20%7B%7D", {}),
    ],
    "/api/queries": [("GET", "/api/queries", {})],
    "/api/queries/{name}": [("GET", "/api/queries/visits-to?state=Japan", {}),
                            ("GET", "/api/queries/nothing-of-that-name", {})],
    "/api/terms": [("GET", "/api/terms", {})],
    "/id/{path:path}": [
        ("GET", "/id/state/japan", {}),
        ("GET", "/id/state/japan", {"headers": {"Accept": "text/turtle"}}),
        ("GET", "/id/person/nobody", {"headers": {"Accept": "text/html"}}),  # 404 page
        ("GET", "/id/person/nobody", {}),  # 404 line
        ("GET", "/id/%3Csvg%20onload=alert(1)%3E", {"headers": {"Accept": "text/html"}}),  # 400
    ],
    "/link/{path:path}": [("GET", "/link/state/japan", {})],
    "/unit/{path:path}": [("GET", "/unit/lead-1", {})],
    "/citation/{path:path}": [("GET", "/citation/nothing", {})],
    "/ontology": [("GET", "/ontology", {})],
    "/timeline.svg": [("GET", "/timeline.svg", {})],
    "/context.jsonld": [("GET", "/context.jsonld", {})],
    "/openapi.json": [("GET", "/openapi.json", {})],
    "/.well-known/void": [("GET", "/.well-known/void", {})],
    "/download/{name}": [("GET", "/download/israel-japan.nt", {}),
                         ("GET", "/download/nothing.txt", {})],
    "/health": [("GET", "/health", {}), ("HEAD", "/health", {})],
    "/search": [("GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", {})],
    "/reconcile": [("GET", "/reconcile", {}),
                   ("POST", "/reconcile", {"data": {"queries": '{"q0": {"query": "Abe"}}'}}),
                   ("POST", "/reconcile", {"data": {"queries": "{not json"}}),
                   ("GET", "/reconcile?extend=%7B%22ids%22%3A%5B%5D%2C%22properties%22%3A%5B%5D%7D",
                    {})],
    "/reconcile/suggest/{kind}": [("GET", "/reconcile/suggest/entity?prefix=Ab", {}),
                                  ("GET", "/reconcile/suggest/nothing", {})],
    "/reconcile/preview": [("GET", "/reconcile/preview?id=nothing", {})],
    "/reconcile/properties": [("GET", "/reconcile/properties?type=Person", {}),
                              ("GET", "/reconcile/properties?type=%3Cb%3E", {})],
    "/static": [("GET", "/static/app.js", {}), ("GET", "/static/nothing.js", {}),
                ("HEAD", "/static/style.css", {})],
    # and what no route answers: 404, 405, and CORS
    "": [
        ("GET", "/nowhere", {}),
        ("POST", "/ontology", {}),
        ("OPTIONS", "/sparql", {"headers": {"Origin": "https://example.org",
                                            "Access-Control-Request-Method": "POST"}}),
        ("GET", "/sparql?query=ASK%20%7B%7D", {"headers": {"Origin": "https://example.org"}}),
    ],
}


def assert_secure(response, frameable: bool = False) -> None:
    where = f"{response.request.method} {response.request.url} ({response.status_code})"
    csp = response.headers.get("content-security-policy", "")
    rules = {r.strip().split()[0]: r.strip().split()[1:] for r in csp.split(";") if r.strip()}
    assert rules.get("default-src") == ["'self'"], where
    assert rules.get("script-src") == ["'self'"], where  # no inline script, no eval
    assert rules.get("style-src") == ["'self'"], where
    assert rules.get("object-src") == ["'none'"] and rules.get("base-uri") == ["'none'"], where
    assert rules.get("form-action") == ["'self'"], where
    assert rules.get("frame-ancestors") == (["*"] if frameable else ["'none'"]), where
    assert "unsafe" not in csp, where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "no-referrer", where
    assert len(response.headers.get_list("content-security-policy")) == 1, where


def test_every_answer_carries_the_security_headers(project: Project) -> None:
    from starlette.routing import Mount

    paths = {r.path for r in routes()} | {""}
    assert paths == set(EXAMPLES), "every route needs an example here"
    statuses = set()
    with TestClient(create_app(project, Settings(workers=1))) as client:
        for requests in EXAMPLES.values():
            for method, url, kwargs in requests:
                r = client.request(method, url, **kwargs)
                statuses.add(r.status_code)
                assert r.status_code < 500, (url, r.text)
                assert_secure(r, frameable=url.startswith("/reconcile/preview"))
                if "<" in url.replace("%3C", "<") and r.status_code >= 400:  # an echo
                    assert r.headers["content-type"].startswith(("text/plain", "application/json"))
        assert_secure(client.get("/reconcile/preview?id=person/shinzo-abe"), frameable=True)
    assert {200, 400, 404, 405} <= statuses
    assert any(isinstance(r, Mount) for r in routes())


def test_a_500_carries_the_headers_too(project: Project) -> None:
    app = create_app(project, Settings(workers=1))

    def broken(*args, **kwargs):
        raise RuntimeError("broken on purpose")

    app.state.kg.engine.query = broken  # the ontology page, computed on first use, fails
    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/ontology")
    assert r.status_code == 500 and r.text == "Internal Server Error"
    assert_secure(r)


# -- no inline script or style, no unsafe link in a page ---------------------------------


class Inline(HTMLParser):
    """What a strict policy would block in a page: inline script, inline style, event
    handler attributes, plugins; and every link target."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.hrefs: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        data = ("application/json", "application/ld+json")  # data blocks: never run
        if tag == "script" and "src" not in found and found.get("type") not in data:
            self.blocked.append("inline <script>")
        if tag == "style":
            self.blocked.append("<style>")
        if tag in ("object", "embed", "iframe"):
            self.blocked.append(f"<{tag}>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.blocked.append(f"{tag} {name}={value!r}")
            if name in ("href", "xlink:href", "src", "action", "formaction", "data"):
                self.hrefs.append(value or "")

    handle_startendtag = handle_starttag


def scan(text: str) -> Inline:
    parser = Inline()
    parser.feed(text)
    return parser


def test_no_page_needs_inline_script_or_style(project: Project) -> None:
    client = TestClient(create_app(project, Settings(workers=1)))
    for url in ("/", "/id/person/shinzo-abe", "/id/relation/israel-japan", "/search?q=Abe",
                "/ontology", "/id/person/nobody", "/timeline.svg",
                "/reconcile/preview?id=person/shinzo-abe"):
        r = client.get(url, headers={"Accept": "text/html"})
        page = scan(r.text)
        assert page.blocked == [], url
        assert page.hrefs and all(allowed(h) for h in page.hrefs), (url, page.hrefs)
    home = client.get("/").text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="kg-timeline"' in home  # inline
    svg = client.get("/timeline.svg").text  # alone, it links the site's stylesheet
    assert svg.startswith('<?xml-stylesheet type="text/css" href="/static/style.css"?>')
    for template in (Path(__file__).parent.parent / "kg/web/templates").glob("*.html"):
        assert scan(template.read_text("utf-8")).blocked == [], template.name


HOSTILE = """\
@prefix place: <https://w3id.org/israel-japan-kg/id/place/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ij: <https://w3id.org/israel-japan-kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
place:hostile a ij:Place ; rdfs:label "A place with hostile neighbours"@en ;
    rdfs:seeAlso <javascript:alert(document.domain)>, <JaVaScRiPt:alert(2)>,
        <data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==>, <vbscript:msgbox(1)>,
        <https://example.org/fine> ;
    rdfs:comment "javascript:alert(3)" ;
    <javascript:alert(4)> "a property no page may link" ;
    prov:wasDerivedFrom <urn:x-section:hostile> .
<javascript:alert(5)> rdfs:seeAlso place:hostile .
"""


def test_hostile_iris_in_the_graph_are_text_on_its_pages(scratch: Project) -> None:
    (scratch.data_dir / "hostile.ttl").write_text(HOSTILE, encoding="utf-8")
    client = TestClient(create_app(scratch, Settings(workers=1)))
    r = client.get("/id/place/hostile")
    assert r.status_code == 200
    page = scan(r.text)
    assert page.hrefs and all(allowed(h) for h in page.hrefs), page.hrefs
    assert "https://example.org/fine" in page.hrefs  # a web address stays a link
    for shown in ("javascript:alert(document.domain)", "JaVaScRiPt:alert(2)", "vbscript:msgbox(1)",
                  "javascript:alert(5)", "javascript:alert(3)"):
        assert shown in r.text  # as text
