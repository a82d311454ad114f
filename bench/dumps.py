"""What making the dumps costs, step by step: the process ``kg serve`` starts for the first
``/.well-known/void`` or ``/download/...`` (:func:`kg.dataset.write_dumps`), before and
after the changes of 2026-12-07 (the JSON-LD writer above all).

    python bench/dumps.py                      # the article graph, 50 and 230 pairs
    python bench/dumps.py --pairs 0,50 --no-before

For each graph (0 pairs: the article's own; N: ``bench/synth.py``'s N pairs, a project
under ``build/bench/project-N/``), the seconds of each step:

- after: :func:`kg.dataset.write_dumps` as the server runs it, timing its own steps
  (reading the N-Triples, sorting once, each format, hashing and writing);
- before: the dump maker as it was: every format written from the unsorted graph (each
  writer sorting for itself), the JSON-LD by rdflib's converter (``kg.formats``'
  fallback, which rdflib parsing the graph feeds), TriG and N-Quads from a list of quads
  made first, all six held until the last is made.

Every dump's SHA-256 is compared before and after: the bytes must be the same. Writes
build/bench/dumps.md and dumps.json; exits 1 when a dump's bytes differ, or when, at the
largest graph, making the dumps takes more than ``--budget`` of what it took before
(default a third).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import finish  # noqa: E402
from kg.dataset import DUMPS, write_dumps  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store.loading import cached_ntriples  # noqa: E402

STEPS = ["read", "sort", *DUMPS, "sha256 and write"]


def project_of(pairs: int) -> Project:
    if not pairs:
        return Project(ROOT)
    from bench.load import synthetic_project

    return Project(synthetic_project(pairs))


def after(project: Project, source: Path) -> tuple[dict[str, float], dict[str, str]]:
    """The dump maker as it is: its steps' seconds, each dump's SHA-256."""
    times: dict[str, float] = {}
    folder = Path(tempfile.mkdtemp(prefix="kg-dumps-", dir=ROOT / "build" / "bench"))
    try:
        write_dumps(project, folder, source, times)
        sums = dict(reversed(line.split("  ")) for line in
                    (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return times, {fmt: sums[name] for fmt, (name, _, _) in DUMPS.items()}


def before(project: Project, source: Path) -> tuple[dict[str, float], dict[str, str]]:
    """The dump maker as it was before 2026-12-07's: the same library writers, each given
    the unsorted graph, rdflib's converter for JSON-LD, and TriG and N-Quads from a list of
    quads made first (:func:`old_dataset`)."""
    from kg import formats
    from kg.exports import serialize, triples
    from kg.licence import with_licence_header

    times: dict[str, float] = {}
    clock = time.perf_counter()
    graph = triples(project, source)
    times["read"] = time.perf_counter() - clock
    made, compacted = {}, formats._compacted
    formats._compacted = lambda *a: None  # type: ignore[assignment]  # rdflib's converter
    try:
        for fmt in DUMPS:
            clock = time.perf_counter()
            data = old_dataset(graph, fmt) if fmt in ("trig", "nquads") else serialize(
                graph, fmt, project)
            made[fmt] = with_licence_header(data, fmt)
            times[fmt] = time.perf_counter() - clock
    finally:
        formats._compacted = compacted  # type: ignore[assignment]
    clock = time.perf_counter()
    sums = {fmt: hashlib.sha256(data).hexdigest() for fmt, data in made.items()}
    times["sha256 and write"] = time.perf_counter() - clock  # hashing only: a lower bound
    return times, sums


def old_dataset(graph: list, fmt: str) -> bytes:
    """TriG or N-Quads as :func:`kg.formats.graph_bytes` wrote them before 2026-12-07."""
    import pyoxigraph as ox

    from kg.formats import _used_prefixes
    from kg.namespaces import GRAPH_IRI

    graph = sorted(graph, key=str)
    prefixes = _used_prefixes(graph) if fmt == "trig" else None
    name = ox.NamedNode(GRAPH_IRI)
    quads = [ox.Quad(t.subject, t.predicate, t.object, name) for t in graph]
    rdf_format = ox.RdfFormat.TRIG if fmt == "trig" else ox.RdfFormat.N_QUADS
    return ox.serialize(quads, format=rdf_format, prefixes=prefixes) or b""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", default="0,50,230", help="graphs, in pairs (0: the article's)")
    ap.add_argument("--no-before", action="store_true", help="time the dump maker as it is only")
    ap.add_argument("--budget", type=float, default=1 / 3,
                    help="the largest graph's time after, at most this share of before")
    args = ap.parse_args()
    sizes = [int(n) for n in args.pairs.split(",")]
    (ROOT / "build" / "bench").mkdir(parents=True, exist_ok=True)
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "machine": f"{os.cpu_count()} cores", "graphs": {}}
    for pairs in sizes:
        project = project_of(pairs)
        source = cached_ntriples(project)
        with source.open("rb") as f:
            count = sum(1 for _ in f) - 1  # the cache's first line is its checksum
        name = f"{pairs} pairs" if pairs else "article"
        print(f"{name}: {count:,} triples", flush=True)
        row: dict = {"triples": count}
        row["after"], row["sha256"] = after(project, source)
        print(f"  after: {sum(row['after'].values()):.1f} s", flush=True)
        if not args.no_before:
            row["before"], old = before(project, source)
            row["differ"] = [fmt for fmt in DUMPS if old[fmt] != row["sha256"][fmt]]
            print(f"  before: {sum(row['before'].values()):.1f} s; bytes differ: "
                  f"{', '.join(row['differ']) or 'none'}", flush=True)
        out["graphs"][name] = row

    graphs = out["graphs"]
    head = "| step | " + " | ".join(
        f"{g} ({r['triples']:,} triples)" + ("" if args.no_before else " before / after, s")
        for g, r in graphs.items()) + " |"
    lines = [
        "# Making the dumps, step by step",
        "",
        f"{out['date']}, {out['machine']}. `python bench/dumps.py --pairs {args.pairs}"
        f"{' --no-before' if args.no_before else ''}`",
        "",
        head,
        "|---|" + "---:|" * len(graphs),
    ]

    def cell(r: dict, step: str | None) -> str:
        def total(t: dict) -> float:
            return sum(t.values()) if step is None else t.get(step, 0.0)

        now = f"{total(r['after']):.2f}"
        return now if "before" not in r else f"{total(r['before']):.2f} / {now}"

    for step in STEPS:
        lines.append(f"| {step} | " + " | ".join(cell(r, step) for r in graphs.values()) + " |")
    lines.append("| **total** | " + " | ".join(cell(r, None) for r in graphs.values()) + " |")
    missed = []
    if not args.no_before:
        lines += ["", "Bytes of every dump the same before and after: " + "; ".join(
            f"{g}: {'yes' if not r['differ'] else 'NO (' + ', '.join(r['differ']) + ')'}"
            for g, r in graphs.items())]
        missed += [f"{g}: {', '.join(r['differ'])} differ" for g, r in graphs.items()
                   if r["differ"]]
        last = graphs[list(graphs)[-1]]
        share = sum(last["after"].values()) / sum(last["before"].values())
        lines += [f"Largest graph: after is {share:.0%} of before (budget {args.budget:.0%})."]
        if share > args.budget:
            missed.append(f"after is {share:.0%} of before")
    return finish("dumps", lines, out, missed)


if __name__ == "__main__":
    sys.exit(main())
