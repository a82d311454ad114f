"""The cost of safety: kg serve (confined workers) against the Oxigraph server in memory,
side by side, in one table.

    python bench/cost.py                    # article graph and 1,000 synthetic pairs
    python bench/cost.py --pairs 200 --seconds 5 --rounds 1      # quicker

Both servers run at once on 127.0.0.1 and wrk drives them in turns (kg, Oxigraph, kg,
Oxigraph …), so the machine's load weighs on both alike; medians of the rounds. kg
serve runs without its answer cache (``--cache-bytes 0``): every request is evaluated.
Measured:

- lookups (``SELECT ?p ?o { <s> ?p ?o }``, 200 subjects rotated) on the article graph
  and at ``--pairs``: requests/s;
- the saved queries rotated at ``--pairs``: requests/s, p50, p99, errors;
- CPU per request of each process (the HTTP process, the zygote, the workers;
  ``/proc/PID/stat``), over the lookups;
- memory of each process (PSS: a page shared by n processes counts 1/n to each, so
  the sum is what serving really holds), peak while ``timeline`` runs on every
  connection;
- start to first answer: ``kg serve`` from its command to its first answer; Oxigraph
  from its command, through loading the same N-Triples over the Graph Store Protocol,
  to its first answer.

Writes build/bench/cost.md and cost.json; exits 1 when a goal of issue 26 is missed.
Needs wrk (``apt-get install wrk``) and the ``oxigraph`` server (``pip install -e
'.[bench]'``). Every server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import BIN, free_port, lookup_subjects, run_wrk, synthetic_project  # noqa: E402
from bench.report import finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.queries import list_queries  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PROBE = "ASK { ?s ?p ?o }"
#: issue 26's goals: (what, the ratio's key, at least or at most, the bound)
GOALS = [
    ("lookups, article graph", "lookups_article", ">=", 0.2),
    ("lookups, synthetic pairs", "lookups_pairs", ">=", 0.2),
    ("saved queries rotated, throughput", "saved_rps", ">=", 1.0),
    ("saved queries rotated, p50", "saved_p50", "<=", 1.2),
    ("serving memory, peak of timeline", "memory", "<=", 1.3),
    ("start to first answer", "start", "<=", 1.2),
    ("saved queries rotated, errors (kg serve)", "saved_errors", "<=", 0),
]


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def rollup(pid: int | str, field: str) -> int:
    """One field of ``/proc/PID/smaps_rollup`` in bytes (``pid`` may be ``"self"``; 0 when
    the process has gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss(pid: int) -> int:
    """Proportional set size in bytes (0 when the process has gone)."""
    return rollup(pid, "Pss")


def roles(root: int) -> dict[int, str]:
    """kg serve's processes by role: the HTTP process, the zygote, its workers."""
    out = {root: "HTTP process"}  # and a "helper": multiprocessing's resource tracker
    for pid in descendants(root)[1:]:
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        out[pid] = "zygote" if ppid == root and descendants(pid)[1:] else (
            "worker" if ppid != root else "helper")
    return out


class Server:
    """A server process started now; stopped by :meth:`stop` (or at the end, whatever)."""

    def __init__(self, name: str, cmd: list[str], url: str, load: bytes | None = None) -> None:
        self.name, self.url = name, url
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        query_url = url + ("/sparql" if load is None else "/query")
        self.query_url = query_url
        deadline = started + 300
        loaded = load is None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} exited before answering")
            with contextlib.suppress(httpx.HTTPError):
                if not loaded:
                    httpx.put(url + "/store?default", content=load, timeout=600,
                              headers={"Content-Type": "application/n-triples"}
                              ).raise_for_status()
                    loaded = True
                r = httpx.post(query_url, data={"query": PROBE}, timeout=5,
                               headers={"Accept": "application/sparql-results+json"})
                if r.status_code == 200:
                    break
            time.sleep(0.05)
        else:
            self.stop()
            raise SystemExit(f"{name} did not answer within 300 s")
        self.start_s = time.monotonic() - started
        self.path = "/sparql" if load is None else "/query"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def cpu(self) -> dict[int, float]:
        return {p: cpu_seconds(p) for p in descendants(self.proc.pid)}


def kg_serve(root: Path, big: bool) -> Server:
    port = free_port()
    limits = ["--max-results", "100000000", "--max-result-bytes", str(4 << 30), "--timeout",
              "60", "--max-worker-memory", "8192", "--queue-wait", "60"] if big else []
    # one wrk is one client address standing for many clients: no per-client limits (the
    # default budget, 30 s of worker time a minute, would answer it 429 within a minute)
    cmd = [str(BIN / "kg"), "--root", str(root), "serve", "--port", str(port),
           "--per-client", "64", "--queue", "64", "--client-budget", "0",
           "--cache-bytes", "0", *limits]
    return Server("kg serve", cmd, f"http://127.0.0.1:{port}")


def oxigraph(nt: Path) -> Server:
    port = free_port()
    cmd = [str(BIN / "oxigraph"), "serve", "--bind", f"127.0.0.1:{port}"]
    return Server("Oxigraph (memory)", cmd, f"http://127.0.0.1:{port}",
                  load=nt.read_bytes().partition(b"\n")[2])


def interleaved(servers: list[Server], bodies: list[str], seconds: int, connections: int,
                rounds: int) -> dict[str, dict]:
    """wrk on each server in turn, ``rounds`` times; the median round of each, with the
    CPU each of its processes spent per request over all rounds."""
    runs: dict[str, list[dict]] = {s.name: [] for s in servers}
    cpu: dict[str, dict[int, float]] = {s.name: {} for s in servers}
    for _ in range(rounds):
        for s in servers:
            before = s.cpu()
            r = run_wrk(s.url, s.path, bodies, seconds, connections)
            after = s.cpu()
            runs[s.name].append(r)
            for pid, t in after.items():
                cpu[s.name][pid] = cpu[s.name].get(pid, 0.0) + t - before.get(pid, 0.0)
    out = {}
    for s in servers:
        rs = sorted(runs[s.name], key=lambda r: r["rps"])
        median = rs[len(rs) // 2]
        requests = sum(r["requests"] for r in runs[s.name]) or 1
        out[s.name] = {**median, "rounds": [r["rps"] for r in runs[s.name]],
                       "cpu_us": {str(p): t / requests * 1e6 for p, t in cpu[s.name].items()},
                       "errors": sum(r["errors"] for r in runs[s.name])}
    return out


def peak_memory(server: Server, body: str, seconds: int, connections: int) -> dict:
    """The peak of the processes' summed PSS (and each one's at that moment) while
    ``body`` is asked on every connection for ``seconds``."""
    peak: dict = {"total": 0, "each": {}}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            each = {p: pss(p) for p in descendants(server.proc.pid)}
            if sum(each.values()) > peak["total"]:
                peak["total"], peak["each"] = sum(each.values()), each
                peak["roles"] = roles(server.proc.pid)  # workers replaced since have new pids
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run_wrk(server.url, server.path, [body], seconds, connections)
    finally:
        stop.set()
        sampler.join(5)
    return peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run (lookups)")
    ap.add_argument("--saved-seconds", type=int, default=20, help="each wrk run (saved queries)")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    load_before = os.getloadavg()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "machine": f"{os.cpu_count()} cores, {os.uname().machine}",
                     "load_before": load_before}
    ratios: dict[str, float] = {}
    kg_name, ox_name = "kg serve", "Oxigraph (memory)"

    def lookups(root: Path, key: str, big: bool) -> tuple[Server, Server]:
        nt = cached_ntriples(Project(root))
        bodies = [urlencode({"query": f"SELECT ?p ?o {{ <{s}> ?p ?o }}"})
                  for s in lookup_subjects(nt, 200)]
        ox = oxigraph(nt)
        try:
            kg = kg_serve(root, big)
        except BaseException:
            ox.stop()
            raise
        print(f"{key}: started (kg {kg.start_s:.1f} s, Oxigraph {ox.start_s:.1f} s)", flush=True)
        r = interleaved([kg, ox], bodies, args.seconds, args.connections, args.rounds)
        results[key] = {**r, "roles": {str(p): n for p, n in roles(kg.proc.pid).items()}}
        ratios[key] = r[kg_name]["rps"] / r[ox_name]["rps"]
        print(f"  {key}: kg {r[kg_name]['rounds']} req/s, Oxigraph {r[ox_name]['rounds']}",
              flush=True)
        return kg, ox

    kg, ox = lookups(ROOT, "lookups_article", False)
    kg.stop()
    ox.stop()

    root = synthetic_project(args.pairs)
    cached_ntriples(Project(root))  # built once, outside the timings
    # start to first answer, one server at a time (each loads on the whole machine)
    kg = kg_serve(root, True)
    kg_start = kg.start_s
    kg.stop()
    kg, ox = lookups(root, "lookups_pairs", True)
    try:
        results["start"] = {kg_name: kg_start, ox_name: ox.start_s,
                            "kg serve beside a running Oxigraph": kg.start_s}
        ratios["start"] = kg_start / ox.start_s
        project = Project(root)
        queries = [q for q in list_queries(project) if not q.params and not q.needs_network]
        bodies = [urlencode({"query": q.text}) for q in queries]
        r = interleaved([kg, ox], bodies, args.saved_seconds, args.connections, args.rounds)
        results["saved"] = r
        ratios["saved_rps"] = r[kg_name]["rps"] / r[ox_name]["rps"]
        ratios["saved_p50"] = r[kg_name]["p50_ms"] / r[ox_name]["p50_ms"]
        ratios["saved_errors"] = r[kg_name]["errors"]
        timeline = next(q for q in queries if q.name == "timeline")
        body = urlencode({"query": timeline.text})
        mem = {s.name: peak_memory(s, body, args.seconds, args.connections) for s in (kg, ox)}
        results["memory"] = {n: {"total": m["total"], "each": {str(p): b for p, b in
                                                                m["each"].items()}}
                             for n, m in mem.items()}
        results["memory"]["roles"] = {str(p): n for p, n in mem[kg_name]["roles"].items()}
        ratios["memory"] = mem[kg_name]["total"] / mem[ox_name]["total"]
    finally:
        kg.stop()
        ox.stop()
    results["ratios"] = ratios
    results["load_after"] = os.getloadavg()
    return report(results, args)


def report(results: dict, args: argparse.Namespace) -> int:
    kg_name, ox_name = "kg serve", "Oxigraph (memory)"
    lo, sv, st, mem = (results[k] for k in ("lookups_pairs", "saved", "start", "memory"))
    la = results["lookups_article"]
    gib = 1 << 30

    def role_table(section: dict, value: Any, unit: str) -> str:
        names = section.get("roles") or {}
        by: dict[str, list[float]] = {}
        for pid, v in value.items():
            by.setdefault(names.get(pid, "?"), []).append(v)
        return ", ".join(f"{n} {sum(v):{unit}}" + (f" ({len(v)})" if len(v) > 1 else "")
                         for n, v in sorted(by.items()))

    ratios = results["ratios"]
    missed = []
    goal_lines = []
    for what, key, way, bound in GOALS:
        value = ratios[key]
        ok = value >= bound if way == ">=" else value <= bound
        if not ok:
            missed.append(what)
        unit = "" if key == "saved_errors" else "×"
        goal_lines.append(f"| {what} | {value:.2f}{unit} | {way} {bound:g}{unit} | "
                          f"{'yes' if ok else 'no'} |")
    p = args.pairs
    lines = [
        "# The cost of safety: kg serve against the Oxigraph server in memory",
        "",
        f"{results['date']}, {results['machine']}; load average before "
        f"{results['load_before'][0]:.2f}, after {results['load_after'][0]:.2f}. "
        f"`python bench/cost.py --pairs {p} --seconds {args.seconds} --saved-seconds "
        f"{args.saved_seconds} --rounds {args.rounds}`: both servers up at once, wrk "
        f"`-t2 -c{args.connections}` on each in turn, median of {args.rounds} rounds; kg serve "
        "without its answer cache.",
        "",
        "| measure | kg serve | Oxigraph server, in memory | ratio |",
        "|---|---:|---:|---:|",
        f"| lookups, article graph, req/s | {la[kg_name]['rps']:,.0f} | "
        f"{la[ox_name]['rps']:,.0f} | {ratios['lookups_article']:.2f}× |",
        f"| lookups, {p} pairs, req/s | {lo[kg_name]['rps']:,.0f} | {lo[ox_name]['rps']:,.0f} "
        f"| {ratios['lookups_pairs']:.2f}× |",
        f"| saved queries rotated, {p} pairs, req/s | {sv[kg_name]['rps']:.1f} | "
        f"{sv[ox_name]['rps']:.1f} | {ratios['saved_rps']:.2f}× |",
        f"| … p50 / p99 ms | {sv[kg_name]['p50_ms']:,.0f} / {sv[kg_name]['p99_ms']:,.0f} | "
        f"{sv[ox_name]['p50_ms']:,.0f} / {sv[ox_name]['p99_ms']:,.0f} | "
        f"{ratios['saved_p50']:.2f}× (p50) |",
        f"| … errors (all rounds) | {sv[kg_name]['errors']} | {sv[ox_name]['errors']} | |",
        f"| serving memory at {p} pairs, peak of `timeline` (PSS), GiB | "
        f"{mem[kg_name]['total'] / gib:.2f} | {mem[ox_name]['total'] / gib:.2f} | "
        f"{ratios['memory']:.2f}× |",
        f"| start to first answer at {p} pairs, s | {st[kg_name]:.1f} | {st[ox_name]:.1f} "
        f"(start + load) | {ratios['start']:.2f}× |",
        "",
        f"CPU per lookup at {p} pairs, µs: kg serve: "
        + role_table(lo, lo[kg_name]["cpu_us"], ".0f")
        + f"; Oxigraph: {sum(lo[ox_name]['cpu_us'].values()):.0f}. Article graph: kg serve: "
        + role_table(la, la[kg_name]["cpu_us"], ".0f")
        + f"; Oxigraph: {sum(la[ox_name]['cpu_us'].values()):.0f}.",
        "",
        "Memory at the peak, GiB (PSS): kg serve: "
        + role_table(mem, {k: v / gib for k, v in mem[kg_name]["each"].items()}, ".2f")
        + f"; Oxigraph: {mem[ox_name]['total'] / gib:.2f}.",
        "",
        "| goal (issue 26) | ratio | bound | met |",
        "|---|---:|---:|---|",
        *goal_lines,
    ]
    return finish("cost", lines, results, missed)


if __name__ == "__main__":
    sys.exit(main())
