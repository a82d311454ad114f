"""A cold ``kg query NAME -f csv`` against the floor: a bare pyoxigraph script.

    python bench/cold.py                      # saved queries visits, timeline, residents
    python bench/cold.py --repeats 31 --queries visits

Both run as whole processes on the same interpreter, from a non-editable install
(``pip install .`` into a fresh virtual environment under build/bench/, byte-compiled
as an installer does), so that neither pays for setuptools' editable-install finder.
The floor (bench/minimal_oxigraph.py) loads the same cached N-Triples and runs the
same query, writing CSV with pyoxigraph's writer. Runs alternate; medians.

Also shows where kg's time goes: interpreter start, importing ``kg.cli`` and the
query command's modules (``-X importtime``).

Writes build/bench/cold.md and .json; exits 1 when kg takes more than
``--budget`` (default 2.0) times the floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.report import OUT, finish  # noqa: E402

ENV = OUT / "cold-venv"


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def install() -> Path:
    """A virtual environment with kg installed from this checkout, not editable."""
    python = ENV / "bin" / "python"
    if not python.exists():
        log(f"creating {ENV.relative_to(ROOT)}")
        subprocess.run([sys.executable, "-m", "venv", str(ENV)], check=True)
    log("pip install . (non-editable)")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", str(ROOT)], check=True)
    subprocess.run([str(python), "-m", "compileall", "-q",
                    subprocess.run([str(python), "-c", "import kg, os; print(os.path.dirname("
                                    "kg.__file__))"], capture_output=True, text=True,
                                   check=True).stdout.strip()], check=True)
    return python


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start


def import_costs(python: Path, env: dict[str, str], name: str) -> dict[str, float]:
    """Milliseconds of cumulative import time per top module, from ``-X importtime``."""
    proc = subprocess.run([str(python), "-X", "importtime", str(ENV / "bin" / "kg"), "query",
                           name, "-f", "csv"], capture_output=True, text=True, env=env, check=True)
    costs: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, module = (p.strip() for p in line[len("import time:"):].split("|"))
        if cumulative.isdigit() and module.lstrip() == module:  # top-level imports only
            costs[module] = costs.get(module, 0) + int(cumulative) / 1000
    return costs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", default="visits,timeline,residents")
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--budget", type=float, default=2.0)
    args = ap.parse_args()

    python = install()
    env = {**os.environ, "KG_ROOT": str(ROOT)}
    kg = [str(python), "-m", "kg.cli"]
    if (ENV / "bin" / "kg").exists():
        kg = [str(ENV / "bin" / "kg")]
    subprocess.run([*kg, "query", "visits"], stdout=subprocess.DEVNULL, check=True, env=env)
    nt = next((ROOT / "build" / "cache").glob("graph-*.nt"))
    rows, result = [], {}
    for name in args.queries.split(","):
        rq = str(ROOT / "queries" / f"{name}.rq")
        ours, floor, bare = [], [], []
        for _ in range(args.repeats):
            ours.append(timed([*kg, "query", name, "-f", "csv"], env))
            floor.append(timed([str(python), str(ROOT / "bench" / "minimal_oxigraph.py"),
                                str(nt), rq], env))
            bare.append(timed([str(python), "-c", "pass"], env))
        o, f, b = (statistics.median(x) for x in (ours, floor, bare))
        result[name] = {"kg_s": o, "floor_s": f, "interpreter_s": b, "ratio": o / f}
        rows.append(f"| {name} | {o * 1000:.0f} | {f * 1000:.0f} | {b * 1000:.0f} | "
                    f"{o / f:.2f}× |")
        log(f"{name}: kg {o * 1000:.0f} ms, floor {f * 1000:.0f} ms ({o / f:.2f}×)")
    costs = import_costs(python, env, args.queries.split(",")[0])
    top = sorted(((v, k) for k, v in costs.items() if v >= 1), reverse=True)[:8]
    lines = [
        "# Cold `kg query NAME -f csv` against a bare pyoxigraph script",
        "",
        f"Median of {args.repeats} runs each, alternating; non-editable install; "
        f"`python bench/cold.py`. Budget: {args.budget:g}× the floor.",
        "",
        "| query | kg ms | floor ms | `python -c pass` ms | kg / floor |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Largest imports of `kg query` (cumulative ms, `-X importtime`): "
        + ", ".join(f"{m} {v:.1f}" for v, m in top),
    ]
    over = [n for n, r in result.items() if r["ratio"] > args.budget]
    return finish("cold", lines, {"queries": result, "imports_ms": costs}, over)

if __name__ == "__main__":
    sys.exit(main())
