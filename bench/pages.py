"""What serving entity pages costs: their speed, and the memory the HTTP process keeps.

    python bench/pages.py [--pairs 230] [--pages 3000]

Starts ``kg serve`` on ``bench/synth.py``'s graph of ``--pairs`` pairs, then asks for
``--pages`` distinct entity pages (HTML, four clients at once) and reports pages a second,
the median and worst page, and the memory each process holds of its own
(``Private_Dirty``) before and after, with the total PSS of all of them. A forked process
copies each page of memory it writes, and pyoxigraph's store writes to what a query reads:
the HTTP process should copy none of the store for pages (their queries run in the
workers, :mod:`kg.web.pooled`). Fails (exit 1) when it grew by more than ``--budget``
MiB (64). Writes build/bench/pages.md and pages.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cost import descendants, kg_serve, pss, roles, rollup  # noqa: E402
from bench.load import lookup_subjects, synthetic_project  # noqa: E402
from bench.report import finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

MiB = 1 << 20
BASE = "https://w3id.org/israel-japan-kg"


def private(pid: int) -> int:
    """Bytes of ``pid``'s memory no other process shares."""
    return rollup(pid, "Private_Dirty")


def snapshot(root_pid: int) -> dict:
    names = roles(root_pid)
    pids = descendants(root_pid)
    http = next(p for p, n in names.items() if n == "HTTP process")
    return {"http_private": private(http), "pss": sum(pss(p) for p in pids),
            "workers_private": sum(private(p) for p, n in names.items() if n == "worker")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=230)
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--budget", type=float, default=64, help="MiB the HTTP process may grow")
    args = ap.parse_args()
    root = synthetic_project(args.pairs)
    nt = cached_ntriples(Project(root))
    paths = [s[len(BASE):] for s in lookup_subjects(nt, args.pages)]
    server = kg_serve(root, False)
    times: list[float] = []
    failed: list[str] = []
    try:
        httpx.get(server.url + paths[0], timeout=600)  # the graph-wide parts, made once
        before = snapshot(server.proc.pid)
        todo = iter(paths)
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(timeout=120, headers={"accept": "text/html"}) as c:
                while True:
                    with lock:
                        path = next(todo, None)
                    if path is None:
                        return
                    started = time.perf_counter()
                    r = c.get(server.url + path)
                    times.append(time.perf_counter() - started)
                    if r.status_code != 200:
                        failed.append(f"{path}: {r.status_code}")

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(1800)
        took = time.perf_counter() - started
        after = snapshot(server.proc.pid)
    finally:
        server.stop()
    grew = (after["http_private"] - before["http_private"]) / MiB
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": f"{os.cpu_count()} cores", "pairs": args.pairs, "pages": len(times),
           "per_second": len(times) / took, "p50_ms": statistics.median(times) * 1e3,
           "worst_ms": max(times) * 1e3, "before": before, "after": after,
           "http_grew_mib": grew, "failed": failed[:20]}
    lines = [
        "# What serving entity pages costs",
        "",
        f"{out['date']}, {out['machine']}. `python bench/pages.py --pairs {args.pairs} "
        f"--pages {args.pages}`: {len(times):,} distinct entity pages (HTML), 4 clients.",
        "",
        f"- {out['per_second']:,.0f} pages a second; median {out['p50_ms']:.0f} ms, worst "
        f"{out['worst_ms']:.0f} ms; {len(failed)} not 200",
        f"- the HTTP process's own memory: {before['http_private'] / MiB:,.0f} MiB before, "
        f"{after['http_private'] / MiB:,.0f} MiB after ({grew:+,.0f} MiB)",
        f"- the workers' own memory: {before['workers_private'] / MiB:,.0f} MiB before, "
        f"{after['workers_private'] / MiB:,.0f} MiB after (a worker that copied a quarter "
        "of the store is replaced)",
        f"- all of kg serve's processes (PSS): {before['pss'] / MiB:,.0f} MiB before, "
        f"{after['pss'] / MiB:,.0f} MiB after",
    ]
    missed = ([f"the HTTP process grew {grew:,.0f} MiB"] if grew > args.budget else []) + (
        [f"{len(failed)} pages were not 200"] if failed else [])
    return finish("pages", lines, out, missed)


if __name__ == "__main__":
    sys.exit(main())
