"""Where a lookup's time goes in kg serve: each layer's cost, hot and in place.

    python bench/floor.py [--seconds 8]

A lookup (``SELECT ?p ?o { <s> ?p ?o }``, 200 subjects of the article graph rotated,
POSTed as forms by wrk ``-t2 -c8``) crosses three layers; each is measured alone and in
the running server, CPU per request from ``/proc/PID/stat``:

- **uvicorn**: its HTTP protocol with kg's guards (:mod:`kg.web.connections`) around an
  ASGI application that answers a fixed two-header body: the least any Python endpoint
  here can cost a request;
- **the application**: kg's ASGI application (finishing, the ``/sparql`` handler, the
  answer's headers) called in a loop in this process, its worker pool replaced by a
  stand-in that answers at once;
- **the worker**: :func:`kg.web.workers.run_query` on the loaded store, in a loop;
- **kg serve**: the whole, with its two confined workers, without the answer cache.

"hot" is the layer alone in a loop; "in place" is what the same work costs inside the
running server, where four processes (the HTTP process, two workers, wrk) take turns on
the cores. Writes build/bench/floor.md and floor.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cost import Server, cpu_seconds, kg_serve, roles  # noqa: E402
from bench.load import free_port, lookup_subjects, run_wrk  # noqa: E402
from bench.report import finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

JSON = "application/sparql-results+json"


def fixed_app_server(port: int) -> None:  # pragma: no cover - runs in its own process
    """uvicorn with kg's guarded protocol, answering every request with a fixed body."""
    import uvicorn

    from kg.web.connections import guarded_protocol
    from kg.web.settings import Settings

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", JSON.encode()), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                http=guarded_protocol(Settings()), proxy_headers=True)  # type: ignore[arg-type]


def per_request(pids: list[int], run) -> tuple[dict, dict[int, float]]:  # type: ignore[no-untyped-def]
    before = {p: cpu_seconds(p) for p in pids}
    result = run()
    n = result["requests"] or 1
    return result, {p: (cpu_seconds(p) - before[p]) / n * 1e6 for p in pids}


def hot_application(bodies: list[bytes], rounds: int = 3000) -> float:
    """µs a request of kg's ASGI application, workers replaced by an instant answer."""
    from kg.web.app import create_app
    from kg.web.settings import Settings
    from kg.web.workers import Answer

    app = create_app(Project(ROOT), Settings(workers=1))
    # rows: an empty answer would be linted (kg.web.endpoint._run), which a lookup is not
    answer = Answer(200, JSON, b'{"head":{"vars":["p","o"]},"results":{"bindings":[]}}', rows=9)

    async def instant(job, client=""):  # type: ignore[no-untyped-def]
        return answer

    app.state.kg.pool.run = instant

    async def loop() -> float:
        async def send(message: dict) -> None:
            pass

        def scope(body: bytes) -> dict:
            return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                    "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5555),
                    "scheme": "http", "root_path": "", "method": "POST", "path": "/sparql",
                    "raw_path": b"/sparql", "query_string": b"", "state": {},
                    "headers": [(b"host", b"127.0.0.1:8000"),
                                (b"content-type", b"application/x-www-form-urlencoded"),
                                (b"content-length", str(len(body)).encode())]}

        async def run(n: int) -> None:
            for i in range(n):
                body = bodies[i % len(bodies)]

                async def receive(body: bytes = body) -> dict:
                    return {"type": "http.request", "body": body, "more_body": False}

                await app(scope(body), receive, send)

        await run(200)
        started = time.perf_counter()
        await run(rounds)
        return (time.perf_counter() - started) / rounds * 1e6

    return asyncio.run(loop())


def hot_worker(texts: list[str], rounds: int = 5) -> float:
    """µs a lookup of :func:`run_query` on the loaded store."""
    from kg.store import open_engine
    from kg.web.settings import Settings
    from kg.web.workers import Job, run_query

    store = open_engine("oxigraph", Project(ROOT)).store  # type: ignore[attr-defined]
    jobs = [Job(t, [JSON], {}, "http://127.0.0.1:8000/sparql") for t in texts]
    limits = Settings()
    for job in jobs:
        run_query(store, job, limits)
    started = time.perf_counter()
    for _ in range(rounds):
        for job in jobs:
            run_query(store, job, limits)
    return (time.perf_counter() - started) / (rounds * len(jobs)) * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=8)
    args = ap.parse_args()
    nt = cached_ntriples(Project(ROOT))
    texts = [f"SELECT ?p ?o {{ <{s}> ?p ?o }}" for s in lookup_subjects(nt, 200)]
    bodies = [urlencode({"query": t}) for t in texts]
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": f"{os.cpu_count()} cores", "load_before": os.getloadavg()}

    port = free_port()
    fixed = Server("uvicorn", [sys.executable, __file__, "--fixed-app", str(port)],
                   f"http://127.0.0.1:{port}")
    try:
        r, cpu = per_request([fixed.proc.pid],
                             lambda: run_wrk(fixed.url, "/sparql", bodies, args.seconds, 8))
        out["uvicorn"] = {"rps": r["rps"], "cpu_us": cpu[fixed.proc.pid]}
    finally:
        fixed.stop()
    print(f"uvicorn alone: {out['uvicorn']['rps']:,.0f} req/s, "
          f"{out['uvicorn']['cpu_us']:.0f} µs a request", flush=True)

    kg = kg_serve(ROOT, False)
    try:
        names = roles(kg.proc.pid)
        r, cpu = per_request(list(names),
                             lambda: run_wrk(kg.url, "/sparql", bodies, args.seconds, 8))
        http = sum(v for p, v in cpu.items() if names[p] == "HTTP process")
        workers = sum(v for p, v in cpu.items() if names[p] == "worker")
        out["kg"] = {"rps": r["rps"], "http_us": http, "workers_us": workers}
    finally:
        kg.stop()
    print(f"kg serve: {out['kg']['rps']:,.0f} req/s", flush=True)

    out["application_hot_us"] = hot_application([b.encode() for b in bodies])
    out["worker_hot_us"] = hot_worker(texts)
    u, k = out["uvicorn"], out["kg"]
    app_in_place = k["http_us"] - u["cpu_us"]
    lines = [
        "# Where a lookup's time goes in kg serve",
        "",
        f"{out['date']}, {out['machine']}, load average before "
        f"{out['load_before'][0]:.2f}. `python bench/floor.py --seconds {args.seconds}`: "
        "article graph, 200 lookups rotated, wrk `-t2 -c8`.",
        "",
        "| layer | hot, µs a request | in kg serve, µs of CPU a request |",
        "|---|---:|---:|",
        f"| uvicorn with kg's guards, a fixed answer ({u['rps']:,.0f} req/s alone) | — | "
        f"{u['cpu_us']:.0f} |",
        f"| kg's application and its side of the pool (the HTTP process less uvicorn) | "
        f"{out['application_hot_us']:.0f} (pool answering at once) | {app_in_place:.0f} |",
        f"| a worker's query and answer, both workers together | {out['worker_hot_us']:.0f} | "
        f"{k['workers_us']:.0f} |",
        f"| the HTTP process, all of it ({k['rps']:,.0f} req/s) | — | {k['http_us']:.0f} |",
    ]
    return finish("floor", lines, out, [])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fixed-app":
        fixed_app_server(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
