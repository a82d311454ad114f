"""Shared fixtures: the real project, a scratch copy of it, both engines, a CLI runner."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kg.links import safe_href
from kg.namespaces import GRAPH_IRI
from kg.project import Project
from kg.queries import list_queries
from kg.store.oxigraph import OxigraphDiskEngine, OxigraphEngine
from kg.store.rdflib_engine import RdflibEngine
from kg.store.remote import RemoteEngine

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT.parent / "shared" / "seed" / "israel-japan-relations.txt"
KG = Path(sys.executable).parent / "kg"  # the installed console script


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--dist loadgroup`` for pytest 9.2: pytest-xdist (3.8.0, the latest) marks a test of
    an ``xdist_group`` by adding ``@GROUP`` to the test's id through ``item._nodeid``, which
    pytest 9.2 no longer reads (the id is ``item._id``), so no group held: the tests of one
    ran in both workers, each computing the group's session fixture (the validation of the
    invalid examples, 5-15 s; a Chromium). Here a worker writes the id as xdist would; where
    xdist's own mark took (an older pytest), the id already ends in it and is left alone."""
    if not getattr(config.option, "loadgroup", False):  # set in xdist's workers only
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: xdist's own mark works
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        nodeid = item.nodeid
        if names and nodeid.rfind("@") <= nodeid.rfind("]"):  # not yet marked
            item._id = NodeId.parse(f"{nodeid}@{'_'.join(names)}")


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def ox_engine(project: Project) -> OxigraphEngine:
    return OxigraphEngine.from_project(project)


@pytest.fixture(scope="session")
def rdflib_engine(project: Project) -> RdflibEngine:
    return RdflibEngine.from_project(project)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory) -> str:
    """A real Oxigraph server: the one .ci/run started ($KG_TEST_OXIGRAPH), or our own."""
    import contextlib
    import socket
    import time

    import httpx

    url = os.environ.get("KG_TEST_OXIGRAPH")
    if url:
        yield url.rstrip("/")
        return
    binary = Path(sys.executable).parent / "oxigraph"
    if not binary.exists():
        pytest.skip("no Oxigraph server: pip install oxigraph, or set KG_TEST_OXIGRAPH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    location = tmp_path_factory.mktemp("oxigraph")
    proc = subprocess.Popen([str(binary), "serve", "--location", str(location), "--bind",
                             f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=1).is_success:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the Oxigraph server did not start within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def published_graph(oxigraph_server: str, project: Project, worker_id: str) -> str:
    """The project's graph published to the Oxigraph server (one graph per test process)."""
    from kg.publish import publish

    graph = f"{GRAPH_IRI}/test-{worker_id}"
    publish(oxigraph_server + "/query", graph=graph, project=project)
    return graph


@pytest.fixture(scope="session")
def engines(ox_engine: OxigraphEngine, rdflib_engine: RdflibEngine, project: Project,
            oxigraph_server: str, published_graph: str) -> dict:
    return {"oxigraph": ox_engine, "rdflib": rdflib_engine,
            "oxigraph-disk": OxigraphDiskEngine.from_project(project),
            "oxigraph-server": RemoteEngine(oxigraph_server + "/query",
                                            default_graph=published_graph)}


@pytest.fixture(scope="session")
def virtuoso_engine(project: Project, worker_id: str) -> RemoteEngine:
    """OpenLink Virtuoso (``.ci/servers start`` sets $KG_TEST_VIRTUOSO), with the project's
    graph published to it by ``kg publish`` (its Graph Store Protocol endpoint)."""
    from kg.publish import publish

    url = os.environ.get("KG_TEST_VIRTUOSO")
    if not url:
        pytest.skip("no Virtuoso server: .ci/servers start sets KG_TEST_VIRTUOSO")
    graph = f"{GRAPH_IRI}/test-{worker_id}"
    publish(url, graph=graph, store=virtuoso_store(url), project=project)
    return RemoteEngine(url, default_graph=graph)


def virtuoso_store(url: str) -> str:
    """Virtuoso's Graph Store Protocol endpoint beside its /sparql."""
    return url.rsplit("/", 1)[0] + "/sparql-graph-crud"


@pytest.fixture(scope="session")
def comunica_engine() -> RemoteEngine:
    """Comunica (TypeScript) serving ``kg export -f nt``'s file read-only (.ci/servers)."""
    url = os.environ.get("KG_TEST_COMUNICA")
    if not url:
        pytest.skip("no Comunica server: .ci/servers start --graph-file … sets KG_TEST_COMUNICA")
    return RemoteEngine(url)


@pytest.fixture
def scratch(tmp_path: Path) -> Project:
    """A copy of the project's edited files, safe to break."""
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return Project(tmp_path)


@pytest.fixture
def bare(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the project with its ontology, shapes and queries but no data: a graph that
    conforms and validates in a fraction of a second (the project's takes ~4 s), for tests of
    what a verdict leads to (the cache, a refused export or publication) rather than of the
    project's data. Its own folder: a test may use it and ``scratch`` together."""
    root = tmp_path_factory.mktemp("bare")
    for folder in ("ontology", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    (root / "data").mkdir()
    return Project(root)


@pytest.fixture
def small(bare: Project) -> Project:
    """The bare project with the self-contained example data of tests/data/valid/ (some 60
    triples, which conform): for tests of what is done with a graph (releases, dumps) rather
    than of the project's data, at a fraction of the whole data's cost."""
    example = ROOT / "tests" / "data" / "valid" / "standalone.ttl"
    (bare.data_dir / "example.ttl").write_text(example.read_text(encoding="utf-8"))
    return bare


@pytest.fixture
def article() -> Path:
    if not ARTICLE.is_file():
        pytest.skip(f"the source article is not at {ARTICLE} (a user's clone has no ../shared)")
    return ARTICLE


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_kg(*args: str, root: Path | None = None, env: dict | None = None,
           stdin: str | None = None) -> Run:
    """Run the real ``kg`` entry point in a child process."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("KG_DEBUG", None)
    cmd = [str(KG), *(["--root", str(root)] if root else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, input=stdin,
                          timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_in_process(*args: str, root: Path | None = None, env: dict | None = None,
                   stdin: str | None = None) -> Run:
    """Run ``kg.cli.main`` in this process, as the ``kg`` program would (its output, error
    output and exit code), at a small fraction of a child process's cost; for what the
    process itself does (the entry point, signals, a real shell, cold start) use
    :func:`run_kg`."""
    import io

    from kg import cli

    class Kept(io.BytesIO):
        def close(self) -> None:  # the text layer closes it when dropped: keep what it holds
            pass

    argv = [*(["--root", str(root)] if root else []), *args]
    out, err = Kept(), Kept()
    streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_env = dict(os.environ)
    os.environ.pop("KG_DEBUG", None)
    os.environ.update(env or {})
    sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    try:
        try:
            code = cli.main(argv)
        except SystemExit as e:  # argparse's own errors and --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
        os.environ.clear()
        os.environ.update(saved_env)
    return Run(code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


@pytest.fixture
def kg_cli():
    """The command line, run in process (see :func:`run_in_process`)."""
    return run_in_process


# -- helpers shared by several test modules -----------------------------------------------

#: a query whose answer explodes (four-way cartesian product): what limits must stop
EXPLOSIVE = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(root: Path, *extra: str, env: dict | None = None,
                   preexec=None) -> Iterator[str]:
    """A real ``kg serve`` (its own process, on a free port of 127.0.0.1) with ``extra``
    options, until the block ends; its base URL."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe blocks the server
        proc = subprocess.Popen(
            [str(KG), "--root", str(root), "serve", "--port", str(port), *extra],
            stdout=subprocess.DEVNULL, stderr=log, text=True, env=env, preexec_fn=preexec)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"kg serve exited: {log.read()}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail("kg serve did not answer within 60 s")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


GOLDEN = ROOT / "tests" / "golden"
#: the parameters each golden result was produced with
LOCAL_QUERIES = [q for q in list_queries() if not q.needs_network]  # network ones: test_linking.py
GOLDEN_CASES: list[tuple[str, dict[str, str]]] = [
    (q.name, {}) for q in LOCAL_QUERIES if not q.params
] + [
    ("visits-to", {"state": "Japan"}),
    ("visits-to", {"state": "state:israel"}),
    ("describe", {"entity": "Shinzo Abe"}),
    ("by-section", {"section": "Public opinion"}),
    ("sources", {"entity": "Tokyo"}),
]


def golden_path(name: str, params: dict[str, str]) -> Path:
    suffix = "".join(f"[{k}={v}]" for k, v in sorted(params.items()))
    return GOLDEN / f"{name}{suffix}.tsv"


#: the shared cases of kg/links.py and static/links.js: (term, the href or None)
SAFE_HREF_CASES = json.loads((ROOT / "tests/data/links/safe-href.json").read_text("utf-8"))


def allowed(href: str) -> bool:
    """An ``href`` a page of this site may carry: a path of the site, a fragment of the
    page itself, or an http(s) URL."""
    return safe_href(href) == href or (href.startswith("#") and safe_href("/" + href) is not None)


#: the options of the shared server: small limits that the protocol tests reach on purpose
SHARED_SERVER_OPTIONS = ("--timeout", "3", "--max-results", "2000",
                         "--max-request-bytes", "20000", "--per-client", "4")  # fmt: skip


@pytest.fixture(scope="session")
def kg_server(project: Project) -> Iterator[str]:
    """One real ``kg serve`` for every test that needs a socket but no limits of its own
    (the protocol, the pages in a browser, the W3C protocol tests, reconciliation): its
    base URL. Tests that need other limits, a broken environment or a signal start their
    own with :func:`running_server`."""
    with running_server(project.root, *SHARED_SERVER_OPTIONS) as url:
        yield url


#: the invalid examples of tests/data/invalid/, one per constraint of the shapes
INVALID = sorted((ROOT / "tests" / "data" / "invalid").glob("*.ttl"))


@dataclass
class InvalidRun:
    """One ``kg validate --with-data`` over every invalid example: the library's report
    (what :func:`kg.validation.validate` returned to the command) and the command's own
    exit code and text."""

    report: object  # kg.validation.Report
    code: int
    out: str


@pytest.fixture(scope="session")
def invalid_run(project: Project) -> InvalidRun:
    """The one validation of the project's data with every invalid example added (~5 s),
    run through the command line (in process) with the library's return value kept on
    the way: the library's tests read the report, the command's tests its text, and
    pyshacl runs once for both. Shared by the tests marked
    ``xdist_group("invalid-examples")``, which run in one worker."""
    import kg.validation

    seen = []
    real = kg.validation.validate

    def kept(*args, **kwargs):
        seen.append((args, kwargs, report := real(*args, **kwargs)))
        return report

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kg.validation, "validate", kept)
        r = run_in_process("validate", "--with-data", *map(str, INVALID), root=project.root)
    (args, kwargs, report), = seen  # the command validated once, with what it was given
    assert [Path(f) for f in args[0]] == INVALID
    assert kwargs == {"with_data": True, "project": project}
    return InvalidRun(report, r.code, r.out)


@pytest.fixture(scope="session")
def invalid_report(invalid_run: InvalidRun):
    """pyshacl's report on the project's data with every invalid example added."""
    return invalid_run.report


def expected_violation(path: Path) -> tuple[str, str]:
    """The (shape, component) an invalid example trips, from its first line."""
    first = path.read_text(encoding="utf-8").splitlines()[0].split()
    assert first[:2] == ["#", "expect:"], f"{path.name} must start with '# expect: SHAPE COMPONENT'"
    return first[2], first[3]


def example_slug(path: Path) -> str:
    """The local name the example's resources start with."""
    return "invalid-" + path.stem.replace("--", "-").lower()


# -- the pages in a real browser (Debian's chromium + chromium-driver) -------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


#: the mark of every module that drives the browser: one worker runs them all, so one
#: Chromium serves the whole run (a Chromium a module in each worker was 7 starts, ~11 s)
BROWSER_GROUP = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """A headless Chromium driven by Selenium (one per test process; the modules that use it
    are marked :data:`BROWSER_GROUP`), or a skip that says what to install. A test that
    changes the window's size puts it back."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("headless Chromium is not installed (Debian packages chromium and "
                    "chromium-driver); .ci/run installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,1400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports, read below
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def site(kg_server: str) -> str:
    """The base URL the browser tests open: the shared server."""
    return kg_server


def open_page(browser, site: str):
    """The query page, loaded and ready; a wait to use on it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(site + "/")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")
    return wait


def run_text(browser, site: str, text: str):
    """The query page with ``text`` typed in and run; a wait to use on it."""
    from selenium.webdriver.common.by import By

    wait = open_page(browser, site)
    box = browser.find_element(By.ID, "query")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "run").click()
    return wait
