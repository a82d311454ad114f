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
the cores.

Then the ceiling, side by side in turns (as ``bench/cost.py`` does): kg serve, **kg's
front alone** (the same application and HTTP protocol, every query run in the HTTP
process on its own store: no worker, no hop, nothing confined; a measuring device only,
what kg serve would be without its sandbox) and the Oxigraph server in memory. The front
alone is the most kg's application in one Python process can give; the difference from
kg serve is what the confined workers cost. Then **a lean front**: the least a Python
front with kg's worker hop can do, as a bound for any redesign that keeps Python's HTTP
process and a worker process per query (issue 26): uvicorn with kg's guards, a raw ASGI
``/sparql`` that reads the form, remembers which texts it has seen, hands the text to
one of two forked worker processes over a socket pair (a length and the bytes each way),
and writes pyoxigraph's JSON with fixed headers; no fair share, no caps, no time limit,
nothing confined, no other route; and **the lean front on kg's workers**: the same front
handing the text to kg's own pool (:class:`kg.web.workers.QueryPool`: confined workers
forked from the zygote, fair share, time limit, caps) instead of its bare workers, so
that the lean front, this one and kg serve tell apart what the pool and kg's application
each cost a lookup. Then each device again as **two HTTP processes** on one port
(``SO_REUSEPORT``: the kernel spreads connections over them), the workers split between
them: what more processes, rather than a leaner one, give a Python front. With both
cores busy, a server's rate is bounded by its CPU a lookup summed over all its
processes, which the table gives. Writes build/bench/floor.md, floor.json and, with
matplotlib (the bench extra), floor.png.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cost import Server, cpu_seconds, interleaved, kg_serve, oxigraph, roles  # noqa: E402
from bench.load import free_port, lookup_subjects, run_wrk  # noqa: E402
from bench.report import OUT, finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

JSON = "application/sparql-results+json"


def _fronts(n: int) -> None:  # pragma: no cover - runs in a device's process
    """Make this process ``n`` HTTP processes (forks, before anything is loaded), the forks
    ending with the first."""
    import ctypes
    import signal

    for _ in range(n - 1):
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
            return


def http_processes(pids: list[int], port: int) -> set[int]:
    """Which of ``pids`` listen on ``port``: a server's HTTP processes, told apart from its
    workers (kg's zygote closes the descriptors it inherits; the lean workers are forked
    before the port is bound)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    listening.add(f"socket:[{fields[9]}]")
    found = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in listening:
                        found.add(pid)
                        break
    return found


def _serve(app, port: int, **kwargs) -> None:  # type: ignore[no-untyped-def]  # pragma: no cover
    """uvicorn on 127.0.0.1:``port`` bound with ``SO_REUSEPORT``: every HTTP process of a
    device listens on the same port, and the kernel spreads connections over them."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, **kwargs)).run(
        sockets=[sock])


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


def front_alone_server(port: int, fronts: int = 1) -> None:  # pragma: no cover - own process
    """kg's application served as ``kg serve`` serves it (its guarded protocol, the limits
    ``bench/cost.py`` gives it), but every query run in this process on its own store: no
    worker and nothing confined. A measuring device for the ceiling, never a way to serve;
    ``fronts`` such processes on one port."""
    _fronts(fronts)
    from kg.web.app import create_app
    from kg.web.connections import guarded_protocol
    from kg.web.settings import Settings
    from kg.web.workers import run_query

    settings = Settings(per_client=64, max_queue=64, client_budget=0, cache_bytes=0,
                        base_url=f"http://127.0.0.1:{port}")
    app = create_app(Project(ROOT), settings)
    state = app.state.kg
    store = state.engine.store

    async def here(job, client=""):  # type: ignore[no-untyped-def]
        return run_query(store, job, settings)

    async def nothing() -> None:
        pass

    state.pool.run, state.pool.start, state.pool.stop = here, nothing, nothing
    _serve(app, port, timeout_keep_alive=5, limit_concurrency=settings.max_connections,
                proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies,
                http=guarded_protocol(settings))  # type: ignore[arg-type]


async def _form_query(receive) -> str:  # type: ignore[no-untyped-def]
    """The ``query`` field of a POSTed form, read whole (the lean fronts' one parse)."""
    from urllib.parse import parse_qs

    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return parse_qs(body.decode())["query"][0]


def lean_front_server(port: int, fronts: int = 1) -> None:  # pragma: no cover - own process
    """The lean front of the module's docstring: a measuring device, never a way to serve;
    ``fronts`` of them on one port share the two workers' cores (one worker each when two)."""
    import io
    import socket
    import struct

    import pyoxigraph as ox

    _fronts(fronts)

    from kg.web.connections import guarded_protocol
    from kg.web.settings import Settings

    store = ox.Store()
    store.load(path=str(cached_ntriples(Project(ROOT))), format=ox.RdfFormat.N_TRIPLES)
    ends = []
    for _ in range(max(1, 2 // fronts)):
        mine, theirs = socket.socketpair()
        if os.fork() == 0:
            mine.close()
            reader = theirs.makefile("rb")
            while head := reader.read(4):
                text = reader.read(struct.unpack("!I", head)[0]).decode()
                out = io.BytesIO()
                store.query(text).serialize(out, ox.QueryResultsFormat.JSON)
                theirs.sendall(struct.pack("!I", len(out.getvalue())) + out.getvalue())
            os._exit(0)
        theirs.close()
        ends.append(mine)
    idle: list = []
    waiting: list = []
    seen: set[str] = set()
    headers = [(b"content-type", JSON.encode()), (b"x-content-type-options", b"nosniff"),
               (b"access-control-allow-origin", b"*"), (b"vary", b"Accept")]

    async def ask(text: str) -> bytes:
        if idle:
            worker = idle.pop()
        else:
            waiter = asyncio.get_running_loop().create_future()
            waiting.append(waiter)
            worker = await waiter
        reader, writer = worker
        data = text.encode()
        writer.write(struct.pack("!I", len(data)) + data)
        body = await reader.readexactly(struct.unpack("!I", await reader.readexactly(4))[0])
        if waiting:
            waiting.pop(0).set_result(worker)
        else:
            idle.append(worker)
        return body

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                for end in ends:
                    idle.append(await asyncio.open_connection(sock=end))
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        text = await _form_query(receive)
        seen.add(text)  # where a text check would be remembered
        answer = await ask(text)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*headers, (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    _serve(app, port, lifespan="on", http=guarded_protocol(Settings()))


def lean_pool_server(port: int, fronts: int = 1) -> None:  # pragma: no cover - own process
    """The lean front on kg's workers (the module's docstring): a measuring device;
    ``fronts`` of them on one port, each with its own pool (one worker each when two)."""
    _fronts(fronts)
    from kg.store import graph_file, open_engine
    from kg.web.connections import guarded_protocol
    from kg.web.settings import Settings
    from kg.web.workers import Job, QueryPool

    settings = Settings(per_client=64, max_queue=64, client_budget=0, cache_bytes=0,
                        workers=max(1, 2 // fronts))
    project = Project(ROOT)
    engine = open_engine("oxigraph", project)
    pool = QueryPool(graph_file(project), project.root, settings, engine.store)  # type: ignore[attr-defined]
    headers = [(b"content-type", JSON.encode()), (b"x-content-type-options", b"nosniff"),
               (b"access-control-allow-origin", b"*"), (b"vary", b"Accept")]
    endpoint = f"http://127.0.0.1:{port}/sparql"

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await pool.start()
                await send({"type": "lifespan.startup.complete"})
            await pool.stop()
            await send({"type": "lifespan.shutdown.complete"})
            return
        text = await _form_query(receive)
        answer = await pool.run(Job(text, [JSON], {}, endpoint), scope["client"][0])
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": [*headers, (b"content-length", str(len(answer.body)).encode())]})
        await send({"type": "http.response.body", "body": answer.body})

    _serve(app, port, lifespan="on", http=guarded_protocol(settings))


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


#: the measuring devices of the ceiling: name, command-line switch, HTTP processes
DEVICES = [
    ("front alone", "--front-alone", 1),
    ("lean front", "--lean-front", 1),
    ("lean front on kg's workers", "--lean-pool", 1),
    ("front alone, two processes", "--front-alone", 2),
    ("lean front, two processes", "--lean-front", 2),
    ("lean front on kg's workers, two processes", "--lean-pool", 2),
]


def ceiling(nt: Path, bodies: list[str], seconds: int, rounds: int) -> dict:
    """kg serve, the measuring devices and Oxigraph in memory, driven in turns: req/s of
    each (median round), CPU a request of each process, and of its HTTP processes."""
    servers = []
    try:
        servers.append(kg_serve(ROOT, False))
        for name, switch, fronts in DEVICES:
            port = free_port()
            servers.append(Server(name, [sys.executable, __file__, switch, str(port),
                                         str(fronts)], f"http://127.0.0.1:{port}"))
        servers.append(oxigraph(nt))
        found = interleaved(servers, bodies, seconds, 8, rounds)
        http = {s.name: http_processes(list(found[s.name]["cpu_us"]),
                                       int(s.url.rsplit(":", 1)[1])) for s in servers}
    finally:
        for s in servers:
            s.stop()
    ox = found["Oxigraph (memory)"]["rps"]
    for name, r in found.items():
        print(f"{name}: {r['rps']:,.0f} req/s ({r['rps'] / ox:.3f}x Oxigraph)", flush=True)
    return {name: {"rps": r["rps"], "rounds": r["rounds"], "ratio": r["rps"] / ox,
                   "cpu_us": r["cpu_us"],
                   "http_us": sum(v for p, v in r["cpu_us"].items() if p in http[name]),
                   "behind_us": sum(v for p, v in r["cpu_us"].items() if p not in http[name])}
            for name, r in found.items()}


def picture(ceiling: dict) -> None:
    """build/bench/floor.png: each server's CPU a lookup, split into the process that
    answers HTTP and the workers behind it, with its lookups a second."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no picture; pip install -e '.[bench]')")
        return
    names = list(ceiling)[::-1]
    front = [ceiling[n]["http_us"] for n in names]
    behind = [ceiling[n]["behind_us"] for n in names]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.barh(names, front, color="#1d4ed8", label="the processes answering HTTP")
    ax.barh(names, behind, left=front, color="#93c5fd", label="its workers, together")
    for y, n in enumerate(names):
        r = ceiling[n]
        ax.text(front[y] + behind[y] + 8, y, f"{r['rps']:,.0f} req/s ({r['ratio']:.2f}x)",
                va="center", fontsize=8)
    ox = ceiling.get("Oxigraph (memory)")
    if ox:  # using the cores as fully as Oxigraph does, 0.2x its rate is 5x its CPU
        budget = 5 * (ox["http_us"] + ox["behind_us"])
        ax.axvline(budget, color="#b91c1c", linestyle="--", linewidth=1)
        ax.text(budget + 8, len(names) - 0.5, "0.2x Oxigraph's rate, at its use of the cores",
                color="#b91c1c", fontsize=7, va="center")
    ax.set_xlabel("CPU µs a lookup (article graph, wrk -t2 -c8)")
    ax.set_xlim(0, max(f + b for f, b in zip(front, behind, strict=True)) * 1.45)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / "floor.png", dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2, help="turns of the ceiling's servers")
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

    out["ceiling"] = ceiling(nt, bodies, args.seconds, args.rounds)

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
        "",
        f"The ceiling, in turns (median of {args.rounds} rounds of {args.seconds} s; the "
        "lean front does nothing but forward and write, with no guarantee of kg serve's):",
        "",
        "| server | req/s | × Oxigraph | CPU µs a request: HTTP processes, workers, all | "
        "each process |",
        "|---|---:|---:|---:|---|",
        *(f"| {name} | {r['rps']:,.0f} | {r['ratio']:.3f} | {r['http_us']:.0f}, "
          f"{r['behind_us']:.0f}, {r['http_us'] + r['behind_us']:.0f} | "
          + ", ".join(f"{v:.0f}" for v in sorted(r["cpu_us"].values(), reverse=True) if v >= 1)
          + " |" for name, r in out["ceiling"].items()),
    ]
    picture(out["ceiling"])
    return finish("floor", lines, out, [])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fixed-app":
        fixed_app_server(int(sys.argv[2]))
        sys.exit(0)
    devices = {"--lean-pool": lean_pool_server, "--lean-front": lean_front_server,
               "--front-alone": front_alone_server}
    if len(sys.argv) == 4 and sys.argv[1] in devices:
        devices[sys.argv[1]](int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
