"""The benchmark: one command, side by side in one run, numbers and pictures.

    pip install -e '.[bench]'
    python bench/run.py                       # sizes 1, 100, 1000, 10000 pairs
    python bench/run.py --sizes 1,100 --quick # a few minutes

Measures, on this machine:
1. cold ``kg query NAME`` end to end, against a minimal script that loads the
   same N-Triples into pyoxigraph and runs the same query (the floor), and
   against plain rdflib parse-and-query;
2. every saved query on each engine on the article's graph (Oxigraph in
   memory, Oxigraph on disk, rdflib, a real Oxigraph server over HTTP);
3. ``kg validate``, cold (no cache) and cached;
4. a scale series of synthetic graphs (bench/synth.py): load time, disk,
   peak memory and every saved query, per engine. Each engine runs in a child
   process; a query over its time limit gets its child killed (recorded as a
   timeout) and the series goes on in a fresh child.

Writes build/bench/report.md, results.json and scale.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
OUT = ROOT / "build" / "bench"


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def saved_queries() -> list[dict]:
    from kg.queries import list_queries

    return [{"name": q.name, "text": q.text} for q in list_queries()
            if not q.params and not q.needs_network]


def median_time(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- 1. cold command line ---------------------------------------------------------


def cold(repeats: int) -> dict:
    from kg.project import Project
    from kg.store.loading import cached_ntriples

    # Byte-compile first: a normal install caches bytecode, but environments
    # with PYTHONDONTWRITEBYTECODE=1 (like this one) would recompile kg on
    # every cold run and measure the compiler, not the command.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "kg")], check=True)
    nt = str(cached_ntriples(Project(ROOT)))
    subprocess.run([str(BIN / "kg"), "query", "visits"], stdout=subprocess.DEVNULL, check=True)
    out = {}
    for name in ("visits", "timeline", "residents"):
        rq = str(ROOT / "queries" / f"{name}.rq")
        out[name] = {
            "kg query (table)": median_time([str(BIN / "kg"), "query", name], repeats),
            "kg query -f csv": median_time([str(BIN / "kg"), "query", name, "-f", "csv"], repeats),
            "minimal pyoxigraph script": median_time(
                [sys.executable, str(ROOT / "bench" / "minimal_oxigraph.py"), nt, rq], repeats),
            "plain rdflib script": median_time(
                [sys.executable, str(ROOT / "bench" / "minimal_rdflib.py"), nt, rq], repeats),
        }
        log(f"cold {name}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in out[name].items()))
    return out


# -- 2. every saved query on every engine, article graph ------------------------------


def spawn_oxigraph(*options: str) -> tuple[subprocess.Popen, str]:
    """``oxigraph serve`` on a free port of 127.0.0.1 (with ``options``), once it answers:
    the process and the server's base URL."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(BIN / "oxigraph"), "serve", *options, "--bind",
                             f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=1).is_success:
                return proc, url
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the Oxigraph server did not answer within 60 s")


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def oxigraph_server() -> object:
    location = Path(tempfile.mkdtemp(prefix="kg-bench-oxigraph-"))
    proc, url = spawn_oxigraph("--location", str(location))
    try:
        yield url
    finally:
        stop_process(proc)
        shutil.rmtree(location, ignore_errors=True)


def per_query(repeats: int) -> dict:
    from kg.namespaces import GRAPH_IRI
    from kg.project import Project
    from kg.publish import publish
    from kg.store.oxigraph import OxigraphDiskEngine, OxigraphEngine
    from kg.store.rdflib_engine import RdflibEngine
    from kg.store.remote import RemoteEngine

    project = Project(ROOT)
    queries = saved_queries()
    results: dict[str, dict[str, float]] = {}
    with oxigraph_server() as url:
        publish(url + "/query", graph=GRAPH_IRI, project=project)
        engines = {"oxigraph (memory)": OxigraphEngine.from_project(project),
                   "oxigraph (disk)": OxigraphDiskEngine.from_project(project),
                   "rdflib": RdflibEngine.from_project(project),
                   "Oxigraph server (HTTP)": RemoteEngine(url + "/query", default_graph=GRAPH_IRI)}
        for ename, engine in engines.items():
            results[ename] = {}
            for q in queries:
                engine.query(q["text"])  # warm: rdflib parses and caches nothing, but the OS does
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    engine.query(q["text"])
                    times.append(time.perf_counter() - start)
                results[ename][q["name"]] = statistics.median(times) * 1000
            worst = max(results[ename].items(), key=lambda kv: kv[1])
            log(f"per query, {ename}: median {statistics.median(results[ename].values()):.2f} ms, "
                f"slowest {worst[0]} {worst[1]:.2f} ms")
    return results


# -- 3. validation ---------------------------------------------------------------------


def validation(repeats: int) -> dict:
    cache = ROOT / "build" / "cache"
    cold_times = []
    for _ in range(repeats):
        for f in cache.glob("validation-*.json"):
            f.unlink()
        start = time.perf_counter()
        subprocess.run([str(BIN / "kg"), "validate"], stdout=subprocess.DEVNULL, check=True)
        cold_times.append(time.perf_counter() - start)
    warm = median_time([str(BIN / "kg"), "validate"], repeats)
    out = {"kg validate (no cache)": statistics.median(cold_times), "kg validate (cached)": warm}
    log(f"validate: cold {out['kg validate (no cache)']:.2f} s, cached {warm:.2f} s")
    return out


# -- 4. scale series ----------------------------------------------------------------------


def child(engine: str, nt: str, store: str, skip: list[str]) -> None:
    """Runs in a child process: load, then every query, one JSON line per event."""
    def emit(**event: object) -> None:
        print(json.dumps(event), flush=True)

    def rss() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    start = time.perf_counter()
    if engine == "rdflib":
        from rdflib import Graph

        g = Graph()
        g.parse(nt, format="nt")
        run = lambda text: list(g.query(text))  # noqa: E731
    else:
        import pyoxigraph as ox

        if engine == "oxigraph-disk":
            if not (Path(store) / "kg-complete").exists():
                s = ox.Store(store)
                s.bulk_load(path=nt, format=ox.RdfFormat.N_TRIPLES)
                s.flush()
                del s
                (Path(store) / "kg-complete").write_text("ok")
            st = ox.Store.read_only(store)
        else:
            st = ox.Store()
            st.load(path=nt, format=ox.RdfFormat.N_TRIPLES)
        run = lambda text: list(st.query(text))  # noqa: E731
    disk = sum(p.stat().st_size for p in Path(store).rglob("*") if p.is_file()) \
        if engine == "oxigraph-disk" else 0
    emit(event="loaded", seconds=time.perf_counter() - start, rss=rss(), disk=disk)
    for q in saved_queries():
        if q["name"] in skip:
            continue
        emit(event="start", name=q["name"])
        t0 = time.perf_counter()
        rows = len(run(q["text"]))
        first = time.perf_counter() - t0
        times = [first]
        if first < 1.0:
            for _ in range(2):
                t0 = time.perf_counter()
                run(q["text"])
                times.append(time.perf_counter() - t0)
        emit(event="query", name=q["name"], ms=statistics.median(times) * 1000, rss=rss(),
             rows=rows)
    emit(event="done", rss=rss())


def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def run_child(engine: str, nt: Path, store: Path, *, load_limit: float,
              query_limit: float) -> dict:
    record: dict = {"queries": {}, "timeouts": [], "rows": {}}
    skip: list[str] = []
    restarts = 0
    while True:
        proc = subprocess.Popen([sys.executable, __file__, "child", engine, str(nt), str(store),
                                 json.dumps(skip)], stdout=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
        current, limit, finished = None, load_limit, False
        while True:
            try:
                line = lines.get(timeout=limit)
            except queue.Empty:
                proc.kill()
                proc.wait()
                if current is None:
                    record["load_timeout"] = True
                    return record
                record["queries"][current] = None
                record["timeouts"].append(current)
                skip.append(current)
                break
            if line is None:
                proc.wait()
                finished = True
                break
            event = json.loads(line)
            if event["event"] == "loaded" and restarts == 0:
                record.update(load_s=event["seconds"], rss_after_load=event["rss"],
                              disk=event["disk"])
            elif event["event"] == "start":
                current, limit = event["name"], query_limit
            elif event["event"] == "query":
                record["queries"][event["name"]] = event["ms"]
                record["rows"][event["name"]] = event["rows"]
                skip.append(event["name"])
                current = None
                record["peak_rss"] = max(record.get("peak_rss", 0), event["rss"])
            elif event["event"] == "done":
                record["peak_rss"] = max(record.get("peak_rss", 0), event["rss"])
        if finished:
            return record
        restarts += 1


GRAPH = "https://w3id.org/israel-japan-kg/graph"
ENGINES = ("oxigraph", "oxigraph-disk", "oxigraph-server", "virtuoso", "rdflib")
LABELS = {"oxigraph": "pyoxigraph, memory", "oxigraph-disk": "pyoxigraph, disk",
          "oxigraph-server": "Oxigraph server", "virtuoso": "Virtuoso 7", "rdflib": "rdflib"}


def peak_memory(pid: int) -> int:
    """The highest resident memory a process has had, in bytes (VmHWM in /proc)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class Server:
    """A SPARQL server the scale series starts, loads over HTTP, queries and stops."""

    def __init__(self, query_limit: float, load_limit: float, nt: Path) -> None:
        import httpx

        self.query_limit, self.load_limit, self.nt = query_limit, load_limit, nt
        self.pid, self.url, self.params = 0, "", {}
        # one client, so that connections are kept alive as any real client would
        self.client = httpx.Client(timeout=query_limit)

    def start(self) -> None: ...
    def load(self, nt: Path) -> None: ...
    def stop(self) -> None: ...

    def query(self, text: str) -> tuple[float, int]:
        """Seconds to the last byte of the answer, and its rows; TimeoutError past the limit."""
        import httpx

        start = time.perf_counter()
        try:
            r = self.client.post(self.url, data={"query": text, **self.params},
                                 headers={"Accept": "text/tab-separated-values"})
        except httpx.TimeoutException as e:
            raise TimeoutError from e
        seconds = time.perf_counter() - start
        r.raise_for_status()
        if seconds >= self.query_limit:  # Virtuoso stops at its own limit and answers what it has
            raise TimeoutError
        return seconds, r.content.count(b"\n") - 1


class OxigraphServer(Server):
    """``oxigraph serve`` in memory, loaded with one PUT of the file (Graph Store Protocol)."""

    def start(self) -> None:
        self.proc, base = spawn_oxigraph()
        self.pid, self.url = self.proc.pid, base + "/query"

    def load(self, nt: Path) -> None:
        with nt.open("rb") as f:
            self.client.put(self.url.rsplit("/", 1)[0] + "/store", params={"default": ""},
                            content=f, headers={"Content-Type": "application/n-triples"},
                            timeout=self.load_limit).raise_for_status()

    def stop(self) -> None:
        stop_process(self.proc)


class VirtuosoServer(Server):
    """Virtuoso from .ci/servers, given memory for its buffers and the same time limit per
    query, loaded into the graph in 64 MB posts of N-Triples (Graph Store Protocol)."""

    def start(self) -> None:
        # buffers for twice the N-Triples' size (its pages plus indexes), 0.1 to 8 GiB
        gib = min(8.0, max(0.1, 2 * self.nt.stat().st_size / 2**30))
        self.env = {**os.environ, "KG_SERVERS_DIR": tempfile.mkdtemp(prefix="kg-bench-")}
        out = subprocess.run([sys.executable, str(ROOT / ".ci" / "servers"), "start", "--only",
                              "virtuoso", "--virtuoso-memory", f"{gib:.2f}",
                              "--query-seconds", str(int(self.query_limit))],
                             capture_output=True, text=True, env=self.env, timeout=900)
        if out.returncode:
            raise SystemExit(out.stderr)
        state = json.loads((Path(self.env["KG_SERVERS_DIR"]) / "servers.json").read_text())[0]
        self.pid, self.url = state["pid"], state["url"]
        self.params = {"default-graph-uri": GRAPH}

    def load(self, nt: Path) -> None:
        store = self.url.rsplit("/", 1)[0] + "/sparql-graph-crud"

        def post(chunk: list[bytes]) -> None:
            self.client.post(store, params={"graph": GRAPH}, content=b"".join(chunk),
                             headers={"Content-Type": "application/n-triples"},
                             timeout=self.load_limit).raise_for_status()

        chunk, size = [], 0
        with nt.open("rb") as f:
            for line in f:
                chunk.append(line)
                size += len(line)
                if size > 64 << 20:
                    post(chunk)
                    chunk, size = [], 0
        if chunk:
            post(chunk)

    def stop(self) -> None:
        subprocess.run([sys.executable, str(ROOT / ".ci" / "servers"), "stop"], env=self.env,
                       capture_output=True, timeout=120)
        shutil.rmtree(self.env["KG_SERVERS_DIR"], ignore_errors=True)


SERVERS: dict[str, type[Server]] = {"oxigraph-server": OxigraphServer, "virtuoso": VirtuosoServer}


def run_server(kind: type[Server], nt: Path, *, load_limit: float, query_limit: float) -> dict:
    """Like run_child, for a server: a query past the limit restarts and reloads it."""
    server = kind(query_limit, load_limit, nt)
    record: dict = {"queries": {}, "timeouts": [], "rows": {}, "peak_rss": 0}
    server.start()
    try:
        start = time.perf_counter()
        server.load(nt)
        record["load_s"] = time.perf_counter() - start
        record["disk"] = 0
        for q in saved_queries():
            try:
                first, rows = server.query(q["text"])
                times = [first]
                if first < 1.0:
                    times += [server.query(q["text"])[0] for _ in range(2)]
                record["queries"][q["name"]] = statistics.median(times) * 1000
                record["rows"][q["name"]] = rows
            except TimeoutError:
                record["queries"][q["name"]] = None
                record["timeouts"].append(q["name"])
                record["peak_rss"] = max(record["peak_rss"], peak_memory(server.pid))
                server.stop()
                server.start()
                server.load(nt)
            record["peak_rss"] = max(record["peak_rss"], peak_memory(server.pid))
    finally:
        server.stop()
        server.client.close()
    return record


def scale(sizes: list[int], rdflib_max: int, load_limit: float, query_limit: float,
          servers: bool = True) -> dict:
    from bench.synth import write

    results: dict = {}
    for pairs in sizes:
        nt, triples = write(pairs, OUT / f"synth-{pairs}.nt")
        log(f"scale {pairs} pairs: {triples} triples ({nt.stat().st_size / 1e6:.0f} MB N-Triples)")
        results[pairs] = {"triples": triples}
        for engine in ENGINES:
            if engine == "rdflib" and pairs > rdflib_max:
                continue
            if engine in SERVERS:
                if not servers:
                    continue
                rec = run_server(SERVERS[engine], nt, load_limit=load_limit,
                                 query_limit=query_limit)
            else:
                store = OUT / f"store-{pairs}"
                shutil.rmtree(store, ignore_errors=True)
                rec = run_child(engine, nt, store, load_limit=load_limit,
                                query_limit=query_limit)
                shutil.rmtree(store, ignore_errors=True)
            results[pairs][engine] = rec
            done = [v for v in rec["queries"].values() if v is not None]
            log(f"  {engine}: load {rec.get('load_s', float('nan')):.1f} s, peak "
                f"{rec.get('peak_rss', 0) / 2**30:.2f} GiB, disk {rec.get('disk', 0) / 2**30:.2f} "
                f"GiB, queries max {max(done, default=float('nan')):.1f} ms, "
                f"timeouts {rec['timeouts']}")
        if pairs > 1:
            nt.unlink()
    return results


# -- report --------------------------------------------------------------------------------


def report(res: dict, args: argparse.Namespace) -> str:
    lines = [f"# Benchmark, {time.strftime('%Y-%m-%d')}", "",
             f"Machine: {os.cpu_count()} cores, "
             f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
             f"Python {sys.version.split()[0]}. Medians of {args.repeats} runs.", ""]
    if "cold" in res:
        lines += ["## Cold `kg query NAME`, end to end (process start to exit)", "",
                  "| query | kg query (table) | kg query -f csv | minimal pyoxigraph | "
                  "plain rdflib | kg / minimal |", "|---|---:|---:|---:|---:|---:|"]
        for name, r in res["cold"].items():
            ratio = r["kg query (table)"] / r["minimal pyoxigraph script"]
            lines.append(f"| {name} | {r['kg query (table)'] * 1000:.0f} ms | "
                         f"{r['kg query -f csv'] * 1000:.0f} ms | "
                         f"{r['minimal pyoxigraph script'] * 1000:.0f} ms | "
                         f"{r['plain rdflib script'] * 1000:.0f} ms | {ratio:.2f}x |")
        lines.append("")
    if "per_query" in res:
        engines = list(res["per_query"])
        lines += ["## Every saved query on each engine, article graph (ms)", "",
                  "| query | " + " | ".join(engines) + " |",
                  "|---|" + "---:|" * len(engines)]
        for q in res["per_query"][engines[0]]:
            lines.append(f"| {q} | " + " | ".join(f"{res['per_query'][e][q]:.2f}"
                                                   for e in engines) + " |")
        lines.append("")
    if "validate" in res:
        v = res["validate"]
        lines += ["## Validation", "", f"`kg validate`: {v['kg validate (no cache)']:.2f} s "
                  f"without cache, {v['kg validate (cached)']:.2f} s cached.", ""]
    if "scale" in res:
        lines += scale_report(res["scale"])
    return "\n".join(lines) + "\n"


def versus_fastest(r: dict) -> dict[str, dict[str, float]]:
    """Per engine, per query: its time over the fastest engine's time for that query."""
    engines = [e for e in ENGINES if e in r]
    out: dict[str, dict[str, float]] = {e: {} for e in engines}
    for name in {q for e in engines for q in r[e]["queries"]}:
        times = {e: r[e]["queries"].get(name) for e in engines}
        done = {e: v for e, v in times.items() if v is not None}
        if not done:
            continue
        best = max(min(done.values()), 0.001)
        for e, v in done.items():
            out[e][name] = v / best
    return out


def scale_report(scale_res: dict) -> list[str]:
    lines = ["## Scale series (synthetic pairs, bench/synth.py)", "",
             "Each engine gets the same N-Triples file and every saved query. pyoxigraph runs "
             "in a child process; the servers are queried over HTTP (answers as TSV, timed to "
             "the last byte). \"× fastest\" is the median, over the queries, of the engine's "
             "time over the fastest engine's time for that query.", "",
             "| pairs | triples | engine | load s | peak memory GiB | disk GiB | median query ms "
             "| × fastest | fastest on | slowest query | over the limit |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for pairs, r in scale_res.items():
        ratios = versus_fastest(r)
        for engine in ENGINES:
            if engine not in r:
                continue
            rec = r[engine]
            done = {k: v for k, v in rec["queries"].items() if v is not None}
            slowest = max(done.items(), key=lambda kv: kv[1]) if done else ("-", float("nan"))
            mine = ratios.get(engine, {})
            wins = sum(1 for v in mine.values() if v <= 1.0)
            lines.append(
                f"| {pairs} | {r['triples']} | {LABELS[engine]} | "
                f"{rec.get('load_s', float('nan')):.2f} | {rec.get('peak_rss', 0) / 2**30:.2f} | "
                f"{rec.get('disk', 0) / 2**30:.2f} | "
                f"{statistics.median(done.values()) if done else float('nan'):.2f} | "
                f"{statistics.median(mine.values()) if mine else float('nan'):.1f} | "
                f"{wins} of {len(rec['queries'])} | "
                f"{slowest[0]} {slowest[1]:.1f} ms | {', '.join(rec['timeouts']) or '-'} |")
    lines.append("")
    for pairs, r in scale_res.items():
        engines = [e for e in ENGINES if e in r]
        ratios = versus_fastest(r)
        reference = r.get("oxigraph", {}).get("rows", {})
        lines += [f"### {pairs} pairs: every saved query (ms, and × the fastest)", "",
                  "| query | rows | " + " | ".join(LABELS[e] for e in engines) + " |",
                  "|---|---:|" + "---:|" * len(engines)]
        differ = []
        for name in sorted({q for e in engines for q in r[e]["queries"]}):
            cells = []
            for e in engines:
                v = r[e]["queries"].get(name)
                cells.append("over the limit" if v is None else
                             f"{v:.1f} ({ratios[e][name]:.1f}×)")
                rows = r[e].get("rows", {}).get(name)
                if rows is not None and name in reference and rows != reference[name]:
                    differ.append(f"{name} on {LABELS[e]}: {rows} rows, "
                                  f"{reference[name]} in memory")
            lines.append(f"| {name} | {reference.get(name, '-')} | " + " | ".join(cells) + " |")
        lines += ["", ("Rows that differ from pyoxigraph in memory: " + "; ".join(differ) + ".")
                  if differ else "Every engine returned the same number of rows for every query.",
                  ""]
    return lines


def plot(res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colours = {"oxigraph": "#1d4ed8", "oxigraph-disk": "#0f766e", "oxigraph-server": "#7c3aed",
               "virtuoso": "#c2410c", "rdflib": "#b42318"}
    for engine, colour in colours.items():
        xs, load, mem, worst = [], [], [], []
        for r in res["scale"].values():
            rec = r.get(engine)
            if not rec or "load_s" not in rec:
                continue
            done = [v for v in rec["queries"].values() if v is not None]
            xs.append(r["triples"])
            load.append(rec["load_s"])
            mem.append(rec.get("peak_rss", 0) / 2**30)
            worst.append(max(done) if done else float("nan"))
        for ax, ys in zip(axes, (load, mem, worst), strict=True):
            ax.plot(xs, ys, "o-", label=LABELS[engine], color=colour)
    for ax, title in zip(axes, ("load time (s)", "peak memory (GiB)", "slowest saved query (ms)"),
                         strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("triples")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(OUT / "scale.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description="the project's benchmark")
    ap.add_argument("--sizes", default="1,100,1000,10000", help="pairs in the scale series")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rdflib-max", type=int, default=100,
                    help="largest size rdflib is run on (it needs ~1.8 GB and minutes at 1000)")
    ap.add_argument("--query-limit", type=float, default=60.0, help="seconds per query")
    ap.add_argument("--load-limit", type=float, default=1800.0, help="seconds per load")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--no-servers", action="store_true",
                    help="leave the Oxigraph server and Virtuoso out of the scale series")
    ap.add_argument("--only-scale", action="store_true",
                    help="the scale series alone (its report section and picture)")
    args = ap.parse_args()
    if args.quick:
        args.repeats = 3
    OUT.mkdir(parents=True, exist_ok=True)
    res: dict = {} if args.only_scale else {
        "cold": cold(args.repeats), "per_query": per_query(args.repeats),
        "validate": validation(min(args.repeats, 3))}
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    res["scale"] = scale(sizes, args.rdflib_max, args.load_limit, args.query_limit,
                         servers=not args.no_servers)
    (OUT / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    text = report(res, args)
    (OUT / "report.md").write_text(text)
    with contextlib.suppress(ImportError):
        plot(res)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]))
    else:
        main()
