"""Pages' queries go to the query workers once they run: the HTTP process never reads its
own copy of the store for a page (reading it copies it, page by page of memory), and the
pages come out the same."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kg.web.app import create_app
from kg.web.settings import Settings

PAGES = [
    ("/id/state/japan", "text/html"),
    ("/id/state/japan", "text/turtle"),
    ("/id/state/israel.jsonld", "*/*"),
    ("/id/person/shinzo-abe", "text/html"),
]


@pytest.fixture(scope="module")
def local(project) -> dict:
    """Each page as the HTTP process's own store makes it (no pool started)."""
    client = TestClient(create_app(project, Settings(workers=1)))
    return {(p, a): client.get(p, headers={"accept": a}) for p, a in PAGES}


def test_pages_read_the_workers_store_not_the_servers(project, local, monkeypatch) -> None:
    app = create_app(project, Settings(workers=1))
    state = app.state.kg
    real = state.engine.query
    read_here = []

    def watched(text, bindings=None):
        read_here.append(bindings)
        return real(text, bindings)

    with TestClient(app) as client:  # the lifespan starts the workers
        monkeypatch.setattr(state.engine, "query", watched)
        for path, accept in PAGES:
            got = client.get(path, headers={"accept": accept})
            want = local[(path, accept)]
            assert got.status_code == want.status_code == 200, (path, got.text[:200])
            assert got.headers["content-type"] == want.headers["content-type"]
            assert got.content == want.content, path
        served = state.pool.status()
    # the graph-wide things a page shows are made once from the server's store (the units
    # of the article); no query about the resource itself (each binds it) is read there
    assert not any(read_here), read_here
    assert served["workers"] == 1


def test_a_page_waits_for_a_worker_and_says_so_when_none_comes(project) -> None:
    """Every worker busy past the queue's wait: the page is a 503 with Retry-After, not a
    500 (a page's queries are queries like any other)."""
    app = create_app(project, Settings(workers=1, queue_wait=0.2))
    with TestClient(app) as client:
        pool = app.state.kg.pool
        # the one worker, taken as a running query would take it (on the server's loop)
        held = client.portal.call(pool._idle.pop)
        try:
            r = client.get("/id/state/japan", headers={"accept": "text/html"})
        finally:
            client.portal.call(pool._release, held)
        assert r.status_code == 503 and r.headers["retry-after"]
        assert "busy" in r.text
        assert client.get("/id/state/japan").status_code == 200


def test_a_page_past_the_workers_byte_cap_comes_from_the_servers_store(project, local) -> None:
    """A resource with more facts than the byte cap allows an answer (hundreds of
    thousands) still has its page: made from the server's own store, not refused."""
    app = create_app(project, Settings(workers=1, max_result_bytes=300))
    with TestClient(app) as client:
        for path, accept in PAGES[:2]:
            got = client.get(path, headers={"accept": accept})
            assert got.status_code == 200, got.text[:200]
            assert got.content == local[(path, accept)].content
        assert client.post("/sparql", data={"query": "SELECT * { ?s ?p ?o }"}).status_code == 413


def test_health_says_whether_query_workers_run(project) -> None:
    """``/health`` is 200 ``ok`` while a worker runs, 503 with ``Retry-After`` when none
    does; JSON gives the pool's state."""
    import os
    import signal
    import time

    app = create_app(project, Settings(workers=1))
    with TestClient(app) as client:
        r = client.get("/health", headers={"accept": "application/json"})
        assert r.status_code == 200
        state = r.json()
        assert state["status"] == "ok" and state["workers"] == 1 and state["idle"] == 1
        assert state["sandbox"] in ("seccomp", "netns")
        assert client.get("/health").text == "ok\n"
        pool = app.state.kg.pool
        worker = next(iter(pool._all))
        os.kill(worker.process.pid, signal.SIGKILL)
        for _ in range(100):  # at most 5 s for the kernel to close its end
            if client.get("/health").status_code == 503:
                break
            time.sleep(0.05)
        r = client.get("/health")
        assert r.status_code == 503 and r.headers["retry-after"] and "worker" in r.text
        gone = client.get("/health", headers={"accept": "application/json"})
        assert gone.status_code == 503 and gone.json()["status"] == "unavailable"
        # a query finds the dead worker, which is replaced; serving goes on
        assert client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"}).status_code == 200
        for _ in range(100):
            if client.get("/health").status_code == 200:
                break
            time.sleep(0.05)
        assert client.get("/health").status_code == 200
