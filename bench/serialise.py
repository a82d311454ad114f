"""What writing an answer costs on top of evaluating the query, at scale.

    python bench/serialise.py                 # 1,000 synthetic pairs (bench/synth.py)
    python bench/serialise.py --pairs 100 --query visits

On a synthetic graph of N pairs, for one saved query (default ``timeline``,
~70,000 rows at 1,000 pairs), median of ``--repeats`` runs each:

- evaluation: the query's solutions read and dropped (the least any consumer pays);
- ``kg query -f json``'s path: :func:`kg.formats.write`, pyoxigraph's JSON writer
  streaming the solutions;
- ``kg serve``'s path: :func:`kg.web.workers.run_query`, which counts rows and
  bytes against the endpoint's caps while pyoxigraph writes TSV, then rewrites it
  as JSON natively.

Writes build/bench/serialise.md and .json; exits 1 when a path costs more than
``--budget`` (default 20%) over evaluation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.report import OUT, finish  # noqa: E402


def median(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--query", default="timeline")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=0.20, help="allowed cost over evaluation")
    args = ap.parse_args()

    import pyoxigraph as ox

    from bench import synth
    from kg.formats import write
    from kg.queries import find_query
    from kg.store.results import SelectResult
    from kg.web.settings import Settings
    from kg.web.workers import Job, run_query

    nt, triples = synth.write(args.pairs, OUT / f"synth-{args.pairs}.nt")
    print(f"{args.pairs} pairs, {triples} triples; loading", flush=True)
    store = ox.Store()
    store.bulk_load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
    text = find_query(args.query).text

    def evaluate() -> int:
        return sum(1 for _ in store.query(text))

    def cli_json() -> int:
        return len(write(SelectResult.from_native(store.query(text)), "json") or b"")

    unlimited = Settings(max_results=10**9, max_result_bytes=2**40)
    job = Job(text, ["application/sparql-results+json"], {})

    def server_json() -> int:
        answer = run_query(store, job, unlimited)
        assert answer.status == 200, answer.body[:200]
        return len(answer.body)

    evaluate()  # warm the store's caches once
    rows_t, rows = median(evaluate, args.repeats)
    cli_t, cli_bytes = median(cli_json, args.repeats)
    srv_t, srv_bytes = median(server_json, args.repeats)
    result = {
        "pairs": args.pairs, "triples": triples, "query": args.query, "rows": rows,
        "evaluation_s": rows_t,
        "kg_query_json_s": cli_t, "kg_query_json_bytes": cli_bytes,
        "kg_serve_json_s": srv_t, "kg_serve_json_bytes": srv_bytes,
        "budget": args.budget,
    }
    over_cli, over_srv = cli_t / rows_t - 1, srv_t / rows_t - 1
    lines = [
        f"# Writing answers: `{args.query}` at {args.pairs} pairs ({triples:,} triples)",
        "",
        f"{rows:,} rows; median of {args.repeats}; `python bench/serialise.py "
        f"--pairs {args.pairs} --query {args.query}`",
        "",
        "| path | seconds | over evaluation | JSON bytes |",
        "|---|---|---|---|",
        f"| evaluation only (solutions read, dropped) | {rows_t:.2f} | — | — |",
        f"| `kg query -f json` (kg.formats.write) | {cli_t:.2f} | {over_cli:+.0%} "
        f"| {cli_bytes:,} |",
        f"| `kg serve` JSON (worker, caps counted) | {srv_t:.2f} | {over_srv:+.0%} "
        f"| {srv_bytes:,} |",
        "",
        f"Budget: at most {args.budget:.0%} over evaluation.",
    ]  # fmt: skip
    missed = [name for name, over in (("kg query", over_cli), ("kg serve", over_srv))
              if over > args.budget]
    return finish("serialise", lines, result, missed)

if __name__ == "__main__":
    sys.exit(main())
