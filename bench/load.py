"""Load test: kg serve against the Oxigraph server and rdflib-endpoint, same data.

    pip install -e '.[bench]'          # oxigraph, rdflib-endpoint, matplotlib
    apt-get install wrk                # the native load generator (Debian)
    python bench/load.py [--seconds 15] [--connections 8]

Each server gets the project's graph and answers the saved queries (all that
run locally, rotated by a wrk Lua script, POSTed as SPARQL Protocol forms) for
a fixed time on 127.0.0.1. Writes build/bench/load.{md,json,png}. Every server
is stopped at the end, whatever happens.

kg serve runs twice: as deployed (its answer cache keeps repeated queries' answers,
so a rotation of the same queries is mostly answered from memory) and with
``--cache-bytes 0``, where every request is evaluated by a worker, as the other
servers do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.project import Project  # noqa: E402
from kg.queries import list_queries  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def started(cmd: list[str], url: str, probe: str) -> object:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{cmd[0]} exited before answering")
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.post(url, data={"query": probe}, timeout=5,
                               headers={"Accept": "application/sparql-results+json"})
                if r.status_code == 200:
                    break
            time.sleep(0.3)
        else:
            raise SystemExit(f"{cmd[0]} did not answer within 120 s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


# each wrk thread starts at its own place in the rotation (thread 1 at the first query,
# thread 2 halfway), so a short run samples every query, not the first few twice
LUA = """
local bodies = {%s}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("start", threads)
end
local i = 0
function init(args)
  i = ((start or 1) - 1) * math.floor(#bodies / 2)
end
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%s", {["Content-Type"] = "application/x-www-form-urlencoded",
                                    ["Accept"] = "application/sparql-results+json"}, bodies[i])
end
"""


def run_wrk(url: str, path: str, bodies: list[str], seconds: int, connections: int) -> dict:
    lua = LUA % (", ".join(json.dumps(b) for b in bodies), path)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "--timeout", "30s", "-s", f.name, url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    Path(f.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": rps, "p50_ms": latency("50"), "p99_ms": latency("99"), "errors": errors,
            "requests": total}


def synthetic_project(pairs: int) -> Path:
    """A project folder whose data is bench/synth.py's graph of ``pairs`` pairs."""
    from bench.synth import write

    root = ROOT / "build" / "bench" / f"project-{pairs}"
    data = root / "data" / "synth.ttl"
    if not data.exists():
        for folder in ("ontology", "queries"):
            shutil.copytree(ROOT / folder, root / folder, dirs_exist_ok=True)
        data.parent.mkdir(parents=True, exist_ok=True)
        write(pairs, data)
    return root


@contextlib.contextmanager
def virtuoso(nt: Path) -> object:
    """Virtuoso from .ci/servers, with ``nt`` loaded; stopped after."""
    env = {**os.environ, "KG_SERVERS_DIR": tempfile.mkdtemp(prefix="kg-bench-")}
    script = ROOT / ".ci" / "servers"
    out = subprocess.run([sys.executable, str(script), "start", "--only", "virtuoso"],
                         capture_output=True, text=True, env=env, timeout=900)
    if out.returncode:
        raise SystemExit(out.stderr)
    url = out.stdout.strip().split("=", 1)[1]
    try:
        store = url.rsplit("/", 1)[0] + "/sparql-graph-crud"
        body = nt.read_bytes().partition(b"\n")[2]
        started_at = time.monotonic()
        # into a named graph: Virtuoso's default graph for queries is all its graphs
        httpx.put(store, params={"graph": "https://w3id.org/israel-japan-kg/graph"},
                  content=body, timeout=1800,
                  headers={"Content-Type": "application/n-triples"}).raise_for_status()
        print(f"  loaded in {time.monotonic() - started_at:.1f} s")
        yield url
    finally:
        subprocess.run([sys.executable, str(script), "stop"], env=env, timeout=120,
                       capture_output=True)


def lookup_subjects(nt: Path, count: int) -> list[str]:
    """``count`` resources of the graph spread over the whole file (not only its start)."""
    found = sorted({line.split(" ", 1)[0][1:-1] for line in nt.read_text().splitlines()
                    if line.startswith("<https://w3id.org/israel-japan-kg/id/")})
    step = max(1, len(found) // count)
    return found[::step][:count]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="the project to serve (e.g. one whose data is bench/synth.py's graph)")
    ap.add_argument("--lookups", action="store_true",
                    help="instead of the saved queries, look up resources one by one: "
                         "SELECT ?p ?o { <s> ?p ?o } for 200 subjects of the graph")
    ap.add_argument("--pairs", type=int, metavar="N",
                    help="serve bench/synth.py's graph of N pairs (a project under build/bench/)")
    ap.add_argument("--query", metavar="NAME", help="one saved query instead of all of them")
    ap.add_argument("--no-rdflib", action="store_true",
                    help="leave rdflib-endpoint out (it needs minutes and GiBs on large graphs)")
    ap.add_argument("--virtuoso", action="store_true",
                    help="Virtuoso too, started by .ci/servers (Debian virtuoso-opensource)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if args.pairs:
        args.root = synthetic_project(args.pairs)
    project = Project(args.root)
    nt = cached_ntriples(project)
    queries = [q for q in list_queries(project) if not q.params and not q.needs_network
               and args.query in (None, q.name)]
    if not queries:
        raise SystemExit(f"no saved query without parameters named {args.query!r}")
    bodies = [urlencode({"query": q.text}) for q in queries]
    if args.lookups:
        subjects = lookup_subjects(nt, 200)
        bodies = [urlencode({"query": f"SELECT ?p ?o {{ <{s}> ?p ?o }}"}) for s in subjects]
    probe = "ASK { ?s ?p ?o }"
    out_dir = project.build_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    what = "200 lookups" if args.lookups else f"{len(queries)} saved queries"
    print(f"kg serve: {what}, {args.seconds} s, "
          f"{args.connections} connections")
    # one wrk process is one client address: lift the per-client limit (default 1) and
    # the queue to the connection count, as a deployment behind a proxy sees many clients
    conns = str(args.connections)
    # on a synthetic graph, limits like the other servers' (none that a listing would pass),
    # as a deployment serving a graph that size would set them
    # (the other servers queue without a bound: a 5 s wait for a worker would answer 503 while
    # two workers write 30 MB answers)
    big = ["--max-results", "100000000", "--max-result-bytes", str(4 << 30), "--timeout", "60",
           "--max-worker-memory", "8192", "--queue-wait", "60"] if args.pairs else []
    for name, cache in (("kg serve", []), ("kg serve, no answer cache", ["--cache-bytes", "0"])):
        with started([str(BIN / "kg"), "--root", str(args.root), "serve", "--port", str(port),
                      "--per-client", conns, "--queue", conns, *big, *cache],
                     url + "/sparql", probe):
            print(name)
            results[name] = run_wrk(url, "/sparql", bodies, args.seconds, args.connections)
        port = free_port()
        url = f"http://127.0.0.1:{port}"

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print("Oxigraph server (in memory, loaded over the Graph Store Protocol)")
    with started([str(BIN / "oxigraph"), "serve", "--bind", f"127.0.0.1:{port}"],
                 url + "/query", probe):
        httpx.put(url + "/store?default", content=nt.read_bytes().partition(b"\n")[2],
                  headers={"Content-Type": "application/n-triples"}, timeout=120
                  ).raise_for_status()
        results["Oxigraph server (memory)"] = run_wrk(url, "/query", bodies, args.seconds,
                                                      args.connections)

    db = Path(tempfile.mkdtemp(prefix="oxigraph-bench-"))
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(db), "--file", str(nt)],
                   check=True, capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print("Oxigraph server (serve-read-only, on disk)")
    with started([str(BIN / "oxigraph"), "serve-read-only", "--location", str(db),
                  "--bind", f"127.0.0.1:{port}"], url + "/query", probe):
        results["Oxigraph server"] = run_wrk(url, "/query", bodies, args.seconds,
                                             args.connections)
    shutil.rmtree(db, ignore_errors=True)

    if args.virtuoso:
        print("Virtuoso 7 (.ci/servers)")
        with virtuoso(nt) as url:
            base, path = url.rsplit("/", 1)
            results["Virtuoso"] = run_wrk(base, "/" + path, bodies, args.seconds,
                                          args.connections)

    if not args.no_rdflib:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        print("rdflib-endpoint")
        with started([str(BIN / "rdflib-endpoint"), "serve", str(nt), "--host", "127.0.0.1",
                      "--port", str(port)], url + "/", probe):  # 0.6 serves SPARQL at /
            results["rdflib-endpoint"] = run_wrk(url, "/", bodies, args.seconds,
                                                 args.connections)

    kg, ox_ = (results[k]["rps"] for k in ("kg serve", "Oxigraph server"))
    raw = results["kg serve, no answer cache"]["rps"]
    rl = results.get("rdflib-endpoint", {}).get("rps")
    ox_mem = results["Oxigraph server (memory)"]["rps"]
    lines = [f"Load test, {time.strftime('%Y-%m-%d')}: {what} rotated, "
             f"{args.connections} connections, {args.seconds} s each, wrk on 127.0.0.1, "
             "2-core machine.", "",
             "| server | requests/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['errors']} |")
    versus_rdflib = f"kg serve / rdflib-endpoint: {kg / rl:.1f}x; " if rl else ""
    lines += ["", f"{versus_rdflib}kg serve / Oxigraph server: "
                  f"{kg / ox_:.2f}x on disk, {kg / ox_mem:.2f}x in memory; without its answer "
                  f"cache {raw / ox_:.2f}x and {raw / ox_mem:.2f}x"]
    table = "\n".join(lines) + "\n"
    (out_dir / "load.md").write_text(table)
    (out_dir / "load.json").write_text(json.dumps(results, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3))
        ax.barh(list(results), [r["rps"] for r in results.values()], color="#1d4ed8")
        ax.set_xlabel("requests per second (saved queries, 8 connections)")
        ax.set_xscale("log")
        fig.tight_layout()
        fig.savefig(out_dir / "load.png", dpi=120)
    except ImportError:
        print("(matplotlib not installed: no picture)")
    print(table)


if __name__ == "__main__":
    main()
