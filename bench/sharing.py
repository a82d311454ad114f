"""What a fresh worker pays for sharing the store: saved queries warm, on a fresh fork,
and on the Oxigraph server, with the pages each fork copies.

    python bench/sharing.py [--pairs 230]

kg serve's workers are forks of one process holding the store, so the store's pages are
shared until a worker writes to one. pyoxigraph's in-memory store writes to the pages it
reads (a query dirties them as it goes), so a worker copies what its queries read, and
the copies stay. For each saved query without parameters, on ``bench/synth.py``'s graph
of ``--pairs`` pairs:

- **warm**: the fastest of three runs in a process that ran it before;
- **fresh fork**: its first run in a fork of a process holding the loaded store (what a
  new worker does), and the MiB that fork made its own (``Private_Dirty``);
- **Oxigraph**: the fastest of three requests to the Oxigraph server in memory.

Then one fork runs them all, in turn, three times: the MiB it holds of its own after
each round, against the store's. Last, the same rotation on pyoxigraph's on-disk store
opened read-only (RocksDB: its pages come from the file, so readers share them without
writing to them): the store workers could share without copying, and what it costs.
And **two threads in one fork**: pyoxigraph releases the GIL while it evaluates, so one
worker process could run two queries at once on one copy of what it reads; three
rotations drained by two threads, warm, against the Oxigraph server asked by two clients
at once: the rate of a design with one multi-threaded worker, and the pages it copies.
Writes build/bench/sharing.md and sharing.json.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cost import oxigraph, rollup  # noqa: E402
from bench.load import synthetic_project  # noqa: E402
from bench.report import finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.queries import list_queries  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

MiB = 1 << 20


def private_mib() -> float:
    """MiB of this process's pages no other process shares."""
    return rollup("self", "Private_Dirty") / MiB


def answer(store, text: str) -> None:  # type: ignore[no-untyped-def]
    """``text`` asked of ``store``, its answer written as a worker writes it (JSON, or
    N-Triples for a graph)."""
    import pyoxigraph as ox

    res = store.query(text)
    sink = io.BytesIO()
    if isinstance(res, ox.QuerySolutions):
        res.serialize(sink, ox.QueryResultsFormat.JSON)
    elif not isinstance(res, ox.QueryBoolean):
        res.serialize(sink, ox.RdfFormat.N_TRIPLES)


def in_fork(work) -> list:  # type: ignore[no-untyped-def]
    """``work()``'s list of numbers, computed in a fork of this process."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, " ".join(map(str, work())).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        out = f.read().decode().split()
    os.waitpid(pid, 0)
    return [float(x) for x in out]


def on_disk(nt: Path, texts: list[str], pairs: int) -> float:
    """ms of the fastest of three rotations of ``texts`` on the on-disk store, read-only
    (loaded once into ``build/bench/disk-PAIRS``)."""
    import shutil

    import pyoxigraph as ox

    folder = ROOT / "build" / "bench" / f"disk-{pairs}"
    if not (folder / "loaded").exists():
        shutil.rmtree(folder, ignore_errors=True)
        writer = ox.Store(str(folder))
        writer.bulk_load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
        writer.optimize()
        del writer
        (folder / "loaded").touch()
    store = ox.Store.read_only(str(folder))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for text in texts:
            answer(store, text)
        best = min(best, time.perf_counter() - started)
    return best * 1e3


def drained(ask, texts: list[str], rounds: int = 3, threads: int = 2) -> float:
    """ms a rotation of ``texts`` takes when ``threads`` threads share ``rounds`` of them,
    each asking the next text not yet taken."""
    import queue
    import threading

    work: queue.SimpleQueue[str] = queue.SimpleQueue()
    for _ in range(rounds):
        for text in texts:
            work.put(text)

    def drain() -> None:
        while True:
            try:
                text = work.get_nowait()
            except queue.Empty:
                return
            ask(text)

    pool = [threading.Thread(target=drain) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return (time.perf_counter() - started) / rounds * 1e3


def main() -> int:
    import pyoxigraph as ox

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=230)
    args = ap.parse_args()
    root = synthetic_project(args.pairs)
    nt = cached_ntriples(Project(root))
    queries = [q for q in list_queries(Project(root)) if not q.params and not q.needs_network]
    store = ox.Store()
    store.load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
    store_mib = private_mib()

    def run(text: str) -> float:
        started = time.perf_counter()
        answer(store, text)
        return time.perf_counter() - started

    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": f"{os.cpu_count()} cores", "pairs": args.pairs,
                 "store_mib": store_mib, "queries": {}}
    server = oxigraph(nt)
    try:
        for q in queries:
            fresh, copied = in_fork(lambda q=q: [run(q.text), private_mib()])
            warm = min(run(q.text) for _ in range(3))
            served = []
            for _ in range(3):
                started = time.perf_counter()
                httpx.post(server.query_url, data={"query": q.text}, timeout=300,
                           headers={"Accept": "application/sparql-results+json"})
                served.append(time.perf_counter() - started)
            out["queries"][q.name] = {"warm_ms": warm * 1e3, "fresh_ms": fresh * 1e3,
                                      "copied_mib": copied, "oxigraph_ms": min(served) * 1e3}
            print(f"{q.name}: warm {warm * 1e3:.0f} ms, fresh fork {fresh * 1e3:.0f} ms "
                  f"(copied {copied:.0f} MiB), Oxigraph {min(served) * 1e3:.0f} ms", flush=True)
        texts = [q.text for q in queries]

        def served_once(text: str) -> None:
            httpx.post(server.query_url, data={"query": text}, timeout=300,
                       headers={"Accept": "application/sparql-results+json"})

        out["oxigraph_two_clients_ms"] = drained(served_once, texts)
    finally:
        server.stop()

    def threaded() -> list[float]:
        for text in texts:  # warm: the pages a rotation reads are this fork's already
            answer(store, text)
        return [drained(lambda text: answer(store, text), texts), private_mib()]

    out["threads_ms"], out["threads_mib"] = in_fork(threaded)
    print(f"two threads in one fork: {out['threads_ms']:,.0f} ms a rotation, "
          f"{out['threads_mib']:,.0f} MiB of its own; Oxigraph, two clients: "
          f"{out['oxigraph_two_clients_ms']:,.0f} ms", flush=True)

    def rounds() -> list[float]:
        held = []
        for _ in range(3):
            for q in queries:
                run(q.text)
            held.append(private_mib())
        return held

    out["rotation_mib"] = in_fork(rounds)
    out["rotation_warm_ms"] = sum(v["warm_ms"] for v in out["queries"].values())
    out["rotation_disk_ms"] = on_disk(nt, [q.text for q in queries], args.pairs)
    print(f"on disk, read-only: {out['rotation_disk_ms']:,.0f} ms a rotation", flush=True)
    qs = out["queries"]
    total = {k: sum(v[k] for v in qs.values()) for k in ("warm_ms", "fresh_ms", "oxigraph_ms")}
    lines = [
        "# What a fresh worker pays for sharing the store",
        "",
        f"{out['date']}, {out['machine']}. `python bench/sharing.py --pairs {args.pairs}`: "
        f"the process holding the loaded store has {store_mib:,.0f} MiB of its own.",
        "",
        "| saved query | warm, ms | fresh fork, ms | MiB the fork copied | Oxigraph, ms |",
        "|---|---:|---:|---:|---:|",
        *(f"| {n} | {v['warm_ms']:.0f} | {v['fresh_ms']:.0f} | {v['copied_mib']:.0f} | "
          f"{v['oxigraph_ms']:.0f} |" for n, v in qs.items()),
        f"| all | {total['warm_ms']:,.0f} | {total['fresh_ms']:,.0f} | | "
        f"{total['oxigraph_ms']:,.0f} |",
        "",
        "One fork running them all, three times over: "
        + ", ".join(f"{m:,.0f}" for m in out["rotation_mib"])
        + f" MiB of its own after each round ({out['rotation_mib'][-1] / store_mib:.0%} of "
        "the store).",
        "",
        f"The same rotation on the on-disk store, read-only: {out['rotation_disk_ms']:,.0f} ms "
        f"(warm in memory: {out['rotation_warm_ms']:,.0f} ms).",
        "",
        f"Two threads in one warm fork, three rotations between them: "
        f"{out['threads_ms']:,.0f} ms a rotation, the fork holding "
        f"{out['threads_mib']:,.0f} MiB of its own "
        f"({out['threads_mib'] / store_mib:.0%} of the store); the Oxigraph server asked "
        f"by two clients at once: {out['oxigraph_two_clients_ms']:,.0f} ms a rotation "
        f"({out['oxigraph_two_clients_ms'] / out['threads_ms']:.2f}x the fork's time).",
    ]
    return finish("sharing", lines, out, [])


if __name__ == "__main__":
    sys.exit(main())
