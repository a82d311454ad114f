"""What the first use of each page built from the whole graph costs, and whether the
server goes on answering others meanwhile.

    python bench/firstuse.py [--pairs 230]

Starts ``kg serve`` on ``bench/synth.py``'s graph of ``--pairs`` pairs (230 pairs are
1.7 M triples) and asks, one after another, each page whose first answer builds
something from the whole graph (the names index behind ``/reconcile``, the search
index, the query page's terms, the home page's timeline). While each is built, another
client asks ``/health`` every 50 ms and a lookup on ``/sparql`` every 50 ms; the table
gives each page's first answer time and the worst of the other client's waits. Fails
(exit 1) when the other client ever waited more than ``--budget`` seconds (1): one
request must not hold the server from everyone else (``docs/security.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cost import kg_serve  # noqa: E402
from bench.load import lookup_subjects, synthetic_project  # noqa: E402
from bench.report import finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

#: the pages whose first answer builds from the whole graph
PAGES = [
    ("/reconcile", {"queries": '{"q0": {"query": "Japan"}}'}),
    ("/search", {"q": "Japan"}),
    ("/api/terms", {}),
    ("/", {}),
    ("/timeline.svg", {}),
    ("/.well-known/void", {}),
]


def others(url: str, lookup: str, stop: threading.Event, worst: dict[str, float]) -> None:
    """``/health`` and a lookup every 50 ms until ``stop``; the longest wait of each."""
    with httpx.Client(timeout=120) as client:
        while not stop.is_set():
            for name, call in (
                ("health", lambda: client.get(url + "/health")),
                ("lookup", lambda: client.post(url + "/sparql", content=lookup, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/sparql-results+json"})),
            ):
                started = time.perf_counter()
                call().raise_for_status()
                worst[name] = max(worst.get(name, 0.0), time.perf_counter() - started)
            stop.wait(0.05)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=230)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds another client may wait")
    ap.add_argument("--pages", nargs="*", default=[p for p, _ in PAGES],
                    help="the paths to ask (default: all)")
    args = ap.parse_args()
    root = synthetic_project(args.pairs)
    nt = cached_ntriples(Project(root))
    subject = lookup_subjects(nt, 1)[0]
    lookup = urlencode({"query": f"SELECT ?p ?o {{ <{subject}> ?p ?o }}"})
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": f"{os.cpu_count()} cores", "pairs": args.pairs, "pages": {}}
    server = kg_serve(root, False)
    try:
        for path, params in (p for p in PAGES if p[0] in args.pages):
            worst: dict[str, float] = {}
            stop = threading.Event()
            probe = threading.Thread(target=others, args=(server.url, lookup, stop, worst))
            probe.start()
            time.sleep(0.2)  # the other client is asking before the page is
            started = time.perf_counter()
            status = httpx.get(server.url + path, params=params, timeout=600).status_code
            took = time.perf_counter() - started
            stop.set()
            probe.join(130)
            out["pages"][path] = {"status": status, "seconds": took, **worst}
            print(f"{path}: {status} in {took:.2f} s; other client's worst wait: health "
                  f"{worst.get('health', 0):.3f} s, lookup {worst.get('lookup', 0):.3f} s",
                  flush=True)
    finally:
        server.stop()
    missed = [f"{p} held others {max(v.get('health', 0), v.get('lookup', 0)):.1f} s"
              for p, v in out["pages"].items()
              if max(v.get("health", 0), v.get("lookup", 0)) > args.budget or v["status"] != 200]
    lines = [
        "# First use of the pages built from the whole graph",
        "",
        f"{out['date']}, {out['machine']}. `python bench/firstuse.py --pairs {args.pairs}`: "
        "kg serve's defaults; another client asks `/health` and a lookup every 50 ms.",
        "",
        "| page | status | first answer, s | other client's worst wait, s (health / lookup) |",
        "|---|---:|---:|---:|",
        *(f"| `{p}` | {v['status']} | {v['seconds']:.2f} | {v.get('health', 0):.3f} / "
          f"{v.get('lookup', 0):.3f} |" for p, v in out["pages"].items()),
    ]
    return finish("firstuse", lines, out, missed)


if __name__ == "__main__":
    sys.exit(main())
