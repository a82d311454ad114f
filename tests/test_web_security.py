"""kg serve under attack: the hostile-input table of docs/security.md, test by test.

Every server here is a real `kg serve` child process on 127.0.0.1. Distinct
clients are told apart by X-Forwarded-For (trusted from 127.0.0.1 only, as
behind a reverse proxy); those addresses are header values, never contacted.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import EXPLOSIVE, KG, Listener, free_port, running_server

ATTACKER = {"X-Forwarded-For": "203.0.113.7"}  # TEST-NET-3: documentation addresses
VISITOR = {"X-Forwarded-For": "198.51.100.9"}  # TEST-NET-2
BOMB = "SELECT (GROUP_CONCAT(CONCAT(STR(?s), STR(?o), STR(?x))) AS ?all) { ?s ?p ?o . ?x ?y ?z }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?v a <https://w3id.org/israel-japan-kg/ontology#Visit> }"


@pytest.fixture(scope="module")
def defaults(project):
    """A server with the default limits (2 workers, 1 query per client), a short timeout."""
    with running_server(project.root, "--timeout", "3", "--read-timeout", "2",
                        "--base-url", "https://kg.example.org") as url:
        yield url


# -- 1. no outbound connection --------------------------------------------------------


def test_the_server_refuses_to_start_unconfined(project) -> None:
    env = {**os.environ, "KG_SANDBOX_MECHANISMS": ""}
    proc = subprocess.run([str(KG), "--root", str(project.root), "serve", "--port",
                           str(free_port())], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--allow-outbound-risk" in lines[0] and "serving" not in lines[0]


def test_allow_outbound_risk_serves_with_a_warning(project) -> None:
    env = {**os.environ, "KG_SANDBOX_MECHANISMS": ""}
    with running_server(project.root, "--allow-outbound-risk", env=env) as url:
        assert httpx.get(url + "/sparql", params={"query": "ASK {}"}).json()["boolean"] is True


@pytest.mark.parametrize("query", [
    "SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "PREFIX : <{url}> SELECT * {{ BIND(1 AS ?o) FILTER(?o<?o||true)SERVICE SILENT:x#>\n"
    "{{ ?s ?p ?x }} }}",
    "SELECT * {{ #\rSERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ BIND(1 AS ?x) FILTER(true)SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
])
def test_no_query_makes_the_server_connect(query: str, defaults: str) -> None:
    listener = Listener()
    try:
        r = httpx.post(defaults + "/sparql", data={"query": query.format(url=listener.url)},
                       headers=VISITOR, timeout=30)
        assert r.status_code == 403 and "SERVICE" in r.text
        time.sleep(0.3)
        assert listener.connections == 0
    finally:
        listener.close()


# -- 2. limits an attacker cannot step around -----------------------------------------


def test_a_normal_query_answers_within_a_second_under_attack(defaults: str) -> None:
    stop = threading.Event()
    statuses: list[int] = []

    def attack(query: str) -> None:
        with httpx.Client(base_url=defaults, timeout=30, headers=ATTACKER) as c:
            while not stop.is_set():
                statuses.append(c.post("/sparql", data={"query": query}).status_code)

    slow = []
    for _ in range(20):  # slow clients: headers that never end
        s = socket.create_connection(("127.0.0.1", int(defaults.rsplit(":", 1)[1])))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    pool = ThreadPoolExecutor(4)
    for q in (EXPLOSIVE, BOMB, EXPLOSIVE, "SELECT * { ?s ?p ?o } LIMIT 1000"):
        pool.submit(attack, q)
    try:
        time.sleep(1.0)
        timings = []
        with httpx.Client(base_url=defaults, timeout=30, headers=VISITOR) as c:
            for _ in range(8):
                start = time.monotonic()
                r = c.get("/sparql", params={"query": COUNT})
                timings.append(time.monotonic() - start)
                assert r.status_code == 200 and "27" in r.text
                start = time.monotonic()
                assert c.get("/health").status_code == 200
                timings.append(time.monotonic() - start)
                time.sleep(0.4)
        assert max(timings) < 1.0, timings
    finally:
        stop.set()
        pool.shutdown(wait=True)
        for s in slow:
            s.close()
    assert 429 in statuses  # the attacker's extra queries were turned away
    assert set(statuses) <= {200, 413, 429, 503}, statuses


def test_too_many_queries_from_one_client_get_429_with_retry_after(defaults: str) -> None:
    def slow_query(_: int) -> httpx.Response:
        return httpx.post(defaults + "/sparql", data={"query": EXPLOSIVE}, headers=ATTACKER,
                          timeout=30)

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(slow_query, range(3)))
    refused = [r for r in answers if r.status_code == 429]
    assert refused and all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert any(r.status_code == 503 and "time limit of 3 s" in r.text for r in answers)


def test_two_clients_looping_heavy_queries_do_not_starve_a_third(defaults: str) -> None:
    """Two addresses loop the heaviest query they can (each up to the 3 s time limit, one
    at a time as --per-client allows): a third client's cheap query still answers fast."""
    stop = threading.Event()
    statuses: list[int] = []

    def attack(address: str) -> None:
        with httpx.Client(base_url=defaults, timeout=30,
                          headers={"X-Forwarded-For": address}) as c:
            while not stop.is_set():
                statuses.append(c.post("/sparql", data={"query": EXPLOSIVE}).status_code)

    pool = ThreadPoolExecutor(2)
    for address in ("203.0.113.21", "203.0.113.22"):
        pool.submit(attack, address)
    timings, answers = [], []
    try:
        time.sleep(0.5)
        with httpx.Client(base_url=defaults, timeout=30,
                          headers={"X-Forwarded-For": "198.51.100.21"}) as c:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                query = f"ASK {{ BIND({len(answers)} AS ?n) }}"  # new each time: no cached answer
                start = time.monotonic()
                answers.append(c.get("/sparql", params={"query": query}).status_code)
                timings.append(time.monotonic() - start)
                time.sleep(0.1)
    finally:
        stop.set()
        pool.shutdown(wait=True)
    timings.sort()
    median = timings[len(timings) // 2]
    assert set(answers) == {200}, answers  # no 503, no 429
    assert median < 0.5, f"median {median:.2f} s over {len(timings)} queries"
    assert 503 in statuses or 429 in statuses  # the attackers were the ones who waited


def test_one_address_holding_hundreds_of_connections_does_not_shut_others_out(
        defaults: str) -> None:
    port = int(defaults.rsplit(":", 1)[1])
    held: list[socket.socket] = []
    refused = 0
    try:
        for _ in range(300):  # past --max-connections (256): all from 127.0.0.2
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                             source_address=("127.0.0.2", 0))
            except OSError:
                refused += 1
                continue
            held.append(s)
        time.sleep(0.3)
        transport = httpx.HTTPTransport(local_address="127.0.0.3")
        with httpx.Client(base_url=defaults, timeout=10, transport=transport) as c:
            statuses = [c.get("/sparql", params={"query": "ASK {}"}).status_code
                        for _ in range(20)]
        assert statuses == [200] * 20, statuses
        first = held[-1]
        first.settimeout(5)
        answer = first.recv(200)  # the connections over the cap were answered and closed
        assert answer.startswith(b"HTTP/1.1 429"), answer
    finally:
        for s in held:
            s.close()


def test_a_huge_header_is_refused_before_it_holds_the_server(defaults: str) -> None:
    """A 4 MB Accept header once blocked every other request for 10 s."""
    port = int(defaults.rsplit(":", 1)[1])
    stop = threading.Event()
    health: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=defaults, timeout=30) as c:
            while not stop.is_set():
                start = time.monotonic()
                c.get("/health")
                health.append(time.monotonic() - start)
                time.sleep(0.005)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        time.sleep(0.2)
        accept = ",".join(["*/*"] * (1 << 20)).encode()  # 4 MB
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with contextlib.suppress(OSError):  # the server may close before all is sent
                s.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nAccept: "
                          + accept + b"\r\n\r\n")
            answer = s.recv(200)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    assert answer.startswith(b"HTTP/1.1 431"), answer
    # before: every /health waited 10 s; the margin is for a loaded machine, not the server
    assert len(health) > 20 and max(health) < 1.0, f"worst /health {max(health):.3f} s"


@pytest.mark.parametrize(("head", "status"), [
    (b"GET /sparql?query=" + b"A" * 80_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: %s\r\n" % (i, b"v" * 4000) for i in range(9)) + b"\r\n", b"431"),
    (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n", b"431"),
    # what httptools cannot parse: uvicorn answered its own 400, without the headers
    (b"GET /sparql?query=ASK%7B%7D\xff HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
])
def test_request_heads_are_capped(head: bytes, status: bytes, defaults: str) -> None:
    port = int(defaults.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        answer = b""
        while chunk := s.recv(4096):  # the server closes after answering
            answer += chunk
    assert answer.split(b" ")[1] == status, answer
    assert b"nosniff" in answer and b"content-security-policy: default-src 'self'" in answer


def test_answers_are_capped_in_bytes(project) -> None:
    with running_server(project.root, "--max-result-bytes", "100000") as url:
        one_large_row = "SELECT (GROUP_CONCAT(STR(?s)) AS ?all) { ?s ?p ?o }"
        r = httpx.post(url + "/sparql", data={"query": one_large_row}, timeout=60)
        assert r.status_code == 413 and "larger than 100000 bytes" in r.text
        r = httpx.get(url + "/sparql", params={"query": COUNT})
        assert r.status_code == 200


def test_idle_and_slow_connections_are_closed(defaults: str) -> None:
    port = int(defaults.rsplit(":", 1)[1])
    idle = socket.create_connection(("127.0.0.1", port))
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /health HTTP/1.1\r\n")
    for s in (idle, slow):
        s.settimeout(10)
        start = time.monotonic()
        assert s.recv(100) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - start < 5
        s.close()


def test_the_server_survives_file_descriptor_pressure(project) -> None:
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))

    with running_server(project.root, "--max-connections", "100", preexec=low_limit) as url:
        port = int(url.rsplit(":", 1)[1])
        held = []
        for _ in range(300):
            with contextlib.suppress(OSError):
                held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        for s in held:
            s.close()
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/sparql", params={"query": COUNT}, timeout=2).is_success:
                    break
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.2)


def test_deep_nesting_is_a_clear_400(defaults: str) -> None:
    r = httpx.post(defaults + "/sparql", data={"query": "SELECT * " + "{" * 5000 + "}" * 5000},
                   headers=VISITOR)
    assert r.status_code == 400 and "levels deep" in r.text


# -- 3. every bad input a clear 4xx --------------------------------------------------


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/id/a%20b", {}, 400),
    ("GET", "/id/%00", {}, 400),
    ("GET", "/id/%3Cscript%3E", {}, 400),
    ("GET", "/link/%FF%FE", {}, 400),
    ("GET", "/api/queries/visits-to", {"params": {"state": "http://a<b>"}}, 400),
    ("GET", "/api/queries/visits-to", {"params": {"state": "<>"}}, 400),
    ("GET", "/sparql", {"params": {"query": ""}}, 400),
    ("GET", "/sparql?query=%FF%FE", {}, 400),
    ("POST", "/sparql", {"content": b"ASK {} \xff",
                         "headers": {"Content-Type": "application/sparql-query"}}, 400),
    ("POST", "/sparql", {"content": b"query=ASK%20%7B%7D%FF",
                         "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400),
    ("POST", "/sparql", {"content": "ASK {}",
                         "headers": {"Content-Type": "application/sparql-query; charset=latin1"}},
     415),
    ("GET", "/sparql", {"params": {"query": "ASK {}"}, "headers": {"Accept": "x/y;q=nan"}}, 406),
    ("GET", "/sparql", {"params": {"query": "ASK {}"}, "headers": {"Accept": ";;;,,,"}}, 406),
    ("GET", "/sparql", {"params": {"query": "SELECT * { ?s ?p ?o } LIMIT 99999999999999999999"}},
     400),
    ("PUT", "/sparql", {"content": "ASK {}"}, 405),
    ("GET", "/static/../../etc/passwd", {}, 404),
    ("GET", "/api/queries/..%2F..%2Fetc", {}, 404),
])
def test_bad_input_is_a_4xx_never_a_500(method, path, kwargs, status, defaults: str) -> None:
    headers = {**VISITOR, **kwargs.pop("headers", {})}
    r = httpx.request(method, defaults + path, headers=headers, timeout=30, **kwargs)
    assert r.status_code == status, r.text
    assert "Traceback" not in r.text


def test_the_host_header_is_not_reflected(defaults: str) -> None:
    r = httpx.get(defaults + "/sparql", headers={"Host": "evil.example", "Accept": "text/turtle"})
    assert r.status_code == 200
    assert "evil.example" not in r.text and "<https://kg.example.org/sparql>" in r.text


def test_no_answer_points_to_the_host_a_request_named(defaults: str) -> None:
    """GET /search/ with Host: evil.example was redirected to http://evil.example/search
    (Starlette's trailing-slash redirect, written from the Host header; s36-attack)."""
    for path in ("/search/", "/ontology/", "/sparql/", "/reconcile/"):
        r = httpx.get(defaults + path, headers={"Host": "evil.example"})
        assert "evil.example" not in r.headers.get("location", ""), (path, r.headers)
        assert r.status_code == 404, (path, r.status_code)


def test_csv_downloads_neutralise_formulas(defaults: str) -> None:
    q = 'SELECT ?f ?n ?t WHERE { VALUES (?f ?n ?t) { ("=HYPERLINK(\\"x\\")" "-5" "@SUM(1)") } }'
    raw = httpx.get(defaults + "/sparql", params={"query": q, "format": "csv"})
    assert raw.text.splitlines()[1] == '"=HYPERLINK(""x"")",-5,@SUM(1)'  # the W3C format, exact
    down = httpx.get(defaults + "/sparql", params={"query": q, "format": "csv", "download": "1"})
    assert down.headers["content-disposition"].startswith("attachment")
    assert down.text.splitlines()[1] == '"\'=HYPERLINK(""x"")",-5,\'@SUM(1)'


# -- pages computed once ---------------------------------------------------------------


def test_pages_are_computed_once(project) -> None:
    from starlette.testclient import TestClient

    from kg.web.app import Settings, create_app

    app = create_app(project, Settings(workers=1))
    state = app.state.kg
    with TestClient(app) as client:
        for path in ("/", "/ontology", "/timeline.svg", "/context.jsonld"):
            assert client.get(path).status_code == 200
        first = {path: client.get(path).content for path in ("/", "/ontology")}

        def fail(*args, **kwargs):
            raise AssertionError("recomputed")

        state.engine.query = fail  # any recomputation would now fail
        for path, body in first.items():
            assert client.get(path).content == body
        assert client.get("/ontology", headers={"Accept": "application/n-triples"}).status_code \
            == 200
        assert client.get("/ontology", headers={"Accept": "application/n-triples"}).content


# -- what one process cannot do alone: the documented reverse proxy, run ------------------


def _proxied(config: str, tmp: Path, port: int, upstream: int) -> str:
    """The documented nginx settings in a whole nginx.conf of their own, on ``port``."""
    snippet = re.sub(r"listen \d+;", f"listen 127.0.0.1:{port};", config)
    snippet = snippet.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{upstream}")
    temp = " ".join(f"{name}_temp_path {tmp / name};"
                    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;" if os.geteuid() == 0 else ""
    return (f"{user} worker_processes 1; pid {tmp / 'nginx.pid'}; error_log {tmp / 'error.log'};"
            f" events {{ worker_connections 2048; }} http {{ access_log off; {temp} {snippet} }}")


def test_the_documented_proxy_settings_hold(defaults: str, tmp_path: Path) -> None:
    """docs/nginx-kg.conf in front of kg serve: connections held from many addresses wait
    in nginx, not in kg serve, and each client is limited there too."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (.ci/run installs it): the proxy example is untested")
    config = (Path(__file__).parent.parent / "docs" / "nginx-kg.conf").read_text()
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(_proxied(config, tmp_path, port, int(defaults.rsplit(":", 1)[1])))
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stderr=subprocess.PIPE, text=True)
    held: list[socket.socket] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        for i in range(400):  # a flood from 100 addresses, past kg serve's 256 connections
            with contextlib.suppress(OSError):
                held.append(socket.create_connection(
                    ("127.0.0.1", port), timeout=2, source_address=(f"127.0.1.{i % 100 + 1}", 0)))
        transport = httpx.HTTPTransport(local_address="127.0.2.1")
        with httpx.Client(base_url=url, timeout=10, transport=transport) as c:
            statuses = [c.get("/sparql", params={"query": f"ASK {{ BIND({i} AS ?n) }}"})
                        .status_code for i in range(10)]  # fmt: skip
            assert statuses == [200] * 10, statuses
            burst = [c.get("/health").status_code for _ in range(80)]
        assert 429 in burst  # one client past its rate: refused by the proxy
    finally:
        for s in held:
            s.close()
        proc.terminate()
        proc.wait(10)
