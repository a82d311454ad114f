"""The w3id.org redirect (w3id/israel-japan-kg/.htaccess), applied to every IRI of the
graph's namespace — resources, link records, classes, properties, the ontology, the
dataset — with each of the formats a client may ask for: each lands on a document
the server answers, in the format asked for."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest

from kg.licence import DATASET
from kg.namespaces import BASE, GRAPH_IRI
from kg.project import Project
from kg.store.loading import cached_ntriples

from . import w3id_rules

FOLDER = Path(__file__).resolve().parent.parent / "w3id" / "israel-japan-kg"
PREFIX = "https://w3id.org/israel-japan-kg/"
HOST = "https://kg.example.org"
#: Accept headers, and the media type each must be answered in
ASKS = [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
    ("text/turtle", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/n-triples", "application/n-triples"),
    ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "text/turtle"),
    ("application/ld+json;profile=\"http://www.w3.org/ns/json-ld#compacted\"",
     "application/ld+json"),
]


@pytest.fixture(scope="module")
def rules() -> list:
    return w3id_rules.load(FOLDER / ".htaccess")


class _OneLoop:
    """A client asking the application directly on one event loop kept for all requests:
    half the time a request of a TestClient used without ``with``, which starts a loop
    for each (2.9 against 6.2 ms a page; this module asks some 1,500)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import asyncio

        import httpx

        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                        base_url="http://testserver")

    def get(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(self.client.get(url, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def client(project: Project):  # type: ignore[no-untyped-def]
    from kg.web.app import create_app
    from kg.web.state import Settings

    one = _OneLoop(create_app(project, Settings(workers=1, base_url=HOST)))
    yield one
    one.close()


def graph_iris(project: Project) -> list[str]:
    iris = {
        t.value
        for q in ox.parse(path=cached_ntriples(project), format=ox.RdfFormat.N_TRIPLES)
        for t in q.triple
        if isinstance(t, ox.NamedNode) and t.value.startswith(BASE)
    }
    return sorted(iris | {DATASET, GRAPH_IRI})


def test_the_folder_is_ready_to_submit(rules) -> None:
    assert BASE == PREFIX
    readme = (FOLDER / "README.md").read_text()
    assert "https://w3id.org/israel-japan-kg/" in readme and "Maintainers" in readme
    assert all(urlsplit(r.target).netloc == "kg.example.org" for r in rules)


def test_every_iri_of_the_graph_resolves_to_a_document_the_server_answers(
    rules, client, project
) -> None:
    iris = graph_iris(project)
    assert len(iris) > 400
    # the README's figure stays true (it said 1,667 long after the graph held 1,772)
    readme = " ".join((project.root / "README.md").read_text(encoding="utf-8").split())
    assert f"applies the rules to all {len(iris):,} IRIs" in readme
    kinds = {i[len(PREFIX):].split("/")[0].split("#")[0] for i in iris}
    assert kinds == {"id", "link", "unit", "citation", "ontology", "dataset", "graph"}
    answered: dict[tuple[str, str], str] = {}
    for n, iri in enumerate(iris):
        # every IRI with one format (in turn), the ontology and the dataset with all
        one = any(f"/{k}/" in iri for k in ("id", "link", "unit", "citation"))
        asks = [ASKS[n % len(ASKS)]] if one else ASKS
        for accept, media in asks:
            path = iri[len(PREFIX):].split("#")[0]
            target = w3id_rules.redirect(rules, path, accept)
            assert target is not None, f"no rule for {iri}"
            url = urlsplit(target)
            assert (url.scheme, url.netloc) == ("https", "kg.example.org"), target
            local = url.path + (f"?{url.query}" if url.query else "")
            if (local, accept) not in answered:
                r = client.get(local, headers={"accept": accept})
                assert r.status_code == 200, f"{iri} -> {target}: {r.status_code}"
                got = r.headers["content-type"].split(";")[0]
                if local.startswith("/.well-known/void") and media == "text/html":
                    media = "text/turtle"  # the description has no HTML form
                assert got == media, f"{iri} with Accept {accept} -> {target}: {got}"
                answered[(local, accept)] = r.text
            body = answered[(local, accept)]
            if "#" in iri:  # a term of the ontology: its document names it
                assert iri in body or iri.split("#")[1] in body, iri


APACHE = Path("/usr/sbin/apache2")
APACHE_CONF = """ServerRoot {root}
PidFile {root}/httpd.pid
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
ErrorLog {root}/error.log
DocumentRoot {root}/docroot
<Directory {root}/docroot>
    AllowOverride All
    Require all granted
</Directory>
"""


def test_apache_applies_the_rules_as_the_interpreter_does(rules, project, tmp_path) -> None:
    """Debian's Apache (apache2-bin; .ci/run installs it) with the folder as w3id.org
    serves it, against the interpreter: the same redirect for every IRI of the graph."""
    import http.client
    import shutil
    import socket
    import subprocess
    import time

    if not APACHE.is_file():
        pytest.skip("Apache is not installed (Debian: apache2-bin): the interpreter alone ran")
    (tmp_path / "docroot").mkdir()
    shutil.copytree(FOLDER, tmp_path / "docroot" / "israel-japan-kg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "httpd.conf").write_text(APACHE_CONF.format(root=tmp_path, port=port))
    server = subprocess.Popen([str(APACHE), "-X", "-f", str(tmp_path / "httpd.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        conn = None
        for _ in range(100):  # at most 5 s to start
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("HEAD", "/")
                conn.getresponse().read()
                break
            except OSError:
                conn = None
                time.sleep(0.05)
        assert conn is not None, "Apache did not start: " + server.stderr.read(2000).decode()
        paths = [i[len(PREFIX):].split("#")[0] for i in graph_iris(project)]
        paths += ["", "download/israel-japan.nt", "release/1.0.0/SHA256SUMS", "shapes", "other"]
        checked = 0
        for n, path in enumerate(sorted(set(paths))):
            for accept, _ in (ASKS if n % 25 == 0 else [ASKS[n % len(ASKS)]]):
                conn.request("GET", f"/israel-japan-kg/{path}", headers={"Accept": accept})
                answer = conn.getresponse()
                answer.read()
                want = w3id_rules.redirect(rules, path, accept)
                got = answer.getheader("Location") if answer.status == 303 else None
                assert got == want, (path, accept, answer.status, got, want)
                checked += 1
        assert checked > 250
    finally:
        server.terminate()
        server.wait(10)


def test_paths_outside_the_graph_are_not_redirected(rules) -> None:
    for path in ("shapes", "id", "ontologyx", "dataset/extra", "download/../x", "other/thing"):
        assert w3id_rules.redirect(rules, path, "text/turtle") is None, path


def test_the_interpreter_refuses_what_it_does_not_implement() -> None:
    for text in ("RewriteCond %{HTTP_HOST} x [NC]\nRewriteRule ^a$ https://h/ [R=303,L]",
                 "RewriteRule ^a$ https://h/ [R=302,L,QSA]", "Redirect 303 /a https://h/",
                 "RewriteCond %{HTTP_ACCEPT} x [NC]"):
        with pytest.raises(ValueError):
            w3id_rules.parse(text)
