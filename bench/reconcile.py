"""What one reconciliation query costs as the graph grows: the names index against
comparing every name, on the same index, with the same answers.

    python bench/reconcile.py [--pairs 230] [--speedup 2]

``/reconcile`` (OpenRefine's reconciliation service) scores each query against the names
of the graph (:mod:`kg.reconciliation`). Until 2026-12-07 every query was compared with
every name of every entity, folding each name again each time; now with the distinct names
its words, length and letters allow. Both are timed here on bench/synth.py's graph of
``--pairs`` pairs (where each pair repeats the article's names) and on the same entities
with every name made distinct (a word of random letters added to each, as a graph of many
different articles would have), for a fixed list of queries: names, parts of names,
misspellings, a long title and a random pair of words. Target: every answer of the index
the answer of the full comparison, and every query at least ``--speedup`` times faster
through the index. Writes build/bench/reconcile.md and .json.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import synthetic_project  # noqa: E402
from bench.report import finish  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.reconciliation import Entity, Index  # noqa: E402
from kg.store import open_engine  # noqa: E402

QUERIES = ["Japan", "Shinzo Abe", "Tel Aviv", "Rabin", "Foreign Minister of Japan", "Tokyo",
           "Japn", "Isreal", "Ambassador", "Air services agreement (2000)", "hsuhfpo shgdvx"]


def distinct(index: Index, seed: int = 7) -> Index:
    """The same entities, each name made distinct by a word of random letters."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))

    return Index([Entity(e.id, [f"{n} {word()}" if rng.random() < 0.5 else f"{word()} {n}"
                                for n in e.names], e.types, e.facts, e.wikidata)
                  for e in index.entities], index.terms)


def timed(index: Index, queries: list[str]) -> dict:
    """Each query's milliseconds through the index and through every name; whether the
    answers are the same."""
    rows = {}
    for q in queries:
        started = time.perf_counter()
        got = index.reconcile({"query": q})
        ours = time.perf_counter() - started
        started = time.perf_counter()
        want = index.reconcile_every_name({"query": q})
        theirs = time.perf_counter() - started
        rows[q] = {"index_ms": ours * 1e3, "every_name_ms": theirs * 1e3, "same": got == want,
                   "top": got[0]["score"] if got else None}
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=230)
    ap.add_argument("--speedup", type=float, default=2.0,
                    help="how many times faster each query must be through the index")
    args = ap.parse_args()
    engine = open_engine(project=Project(synthetic_project(args.pairs)))
    started = time.perf_counter()
    index = Index.from_engine(engine)
    built = time.perf_counter() - started
    started = time.perf_counter()
    unique = distinct(index)
    built_unique = time.perf_counter() - started
    names = sum(len(e.names) for e in index.entities)
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": f"{os.cpu_count()} cores", "pairs": args.pairs,
           "entities": len(index.entities), "names": names,
           "distinct": {"repeated": len(index._names), "made distinct": len(unique._names)},
           "build_s": {"repeated": built, "made distinct": built_unique},
           "runs": {"repeated": timed(index, QUERIES), "made distinct": timed(unique, QUERIES)}}
    lines = [
        "# One reconciliation query: the names index against every name",
        "",
        f"{out['date']}, {out['machine']}. `python bench/reconcile.py --pairs {args.pairs}`: "
        f"{len(index.entities):,} entities, {names:,} names; the article's names repeated "
        f"in each pair ({len(index._names):,} distinct), then each made distinct.",
        "",
        "| query | repeated names: index / every name, ms | distinct names: index / every "
        "name, ms | same answers |",
        "|---|---:|---:|---|",
    ]
    missed = []
    for q in QUERIES:
        a, b = out["runs"]["repeated"][q], out["runs"]["made distinct"][q]
        lines.append(f"| {q} | {a['index_ms']:.1f} / {a['every_name_ms']:.0f} | "
                     f"{b['index_ms']:.1f} / {b['every_name_ms']:.0f} | "
                     f"{'yes' if a['same'] and b['same'] else 'NO'} |")
        if not (a["same"] and b["same"]):
            missed.append(f"{q!r} answered differently")
        for kind, r in (("repeated", a), ("distinct", b)):
            if r["index_ms"] * args.speedup > r["every_name_ms"]:
                missed.append(f"{q!r} ({kind} names) under {args.speedup:g}× faster")
    runs = out["runs"]["made distinct"].values()
    worst = max(r["index_ms"] for r in runs)
    least = min(r["every_name_ms"] / r["index_ms"] for r in runs)
    lines += ["", f"On distinct names the slowest query takes {worst:.1f} ms through the index, "
              f"and the index is at least {least:.1f}× faster (target {args.speedup:g}×). "
              f"Index built in {built:.1f} s (repeated names, from the store) and "
              f"{built_unique:.1f} s (distinct, from those entities)."]
    return finish("reconcile", lines, out, missed)


if __name__ == "__main__":
    sys.exit(main())
