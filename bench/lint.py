"""What the query lint costs a lookup at ``/sparql``: one-subject-to-200-subject label
lookups (as the query page sends), each a new text and then asked again, with the lint
off, on as served (it reads only empty answers and ``lint=1`` requests) and asked for
(``lint=1``, the page's own queries); variants interleaved, medians of 60.

Target: as served, a lookup of a new text is within 1.25x of the lint off (the lint must
not tax the lookup path). Writes build/bench/lint.md; exits 1 when the target is missed.
``python bench/lint.py``."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path


def main() -> int:
    from starlette.testclient import TestClient

    from kg.project import Project
    from kg.web import endpoint
    from kg.web.app import create_app
    from kg.web.settings import Settings

    project = Project.find()
    app = create_app(project, Settings(workers=1))
    real = endpoint._warnings
    variants = (("lint off", lambda *a: [], {}), ("as served", real, {}),
                ("lint=1", real, {"lint": "1"}))  # fmt: skip
    lines = ["| IRIs | variant | new text (ms) | asked again (ms) |", "|---:|---|---:|---:|"]
    missed = []
    with TestClient(app) as client:
        iris = [r[0].value for r in app.state.kg.engine.select(
            "SELECT ?s WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } LIMIT 600")]
        client.get("/sparql", params={"query": "SELECT ?v WHERE { ?v a ij:Visit }", "lint": "1"})
        for size in (1, 20, 200):
            times: dict[str, tuple[list[float], list[float]]] = {v[0]: ([], []) for v in variants}
            for i in range(60):
                for name, lint, extra in variants:
                    chunk = " ".join(f"<{x}>" for x in iris[(i * 7) % 400 :][:size])
                    text = (f"SELECT ?s ?l WHERE {{ VALUES ?s {{ {chunk} }} ?s rdfs:label ?l "
                            f'FILTER(LANGMATCHES(LANG(?l), "en")) }} # {name} {size} {i}')
                    endpoint._warnings = lint
                    for kept in times[name]:
                        start = time.perf_counter()
                        client.get("/sparql", params={"query": text, **extra})
                        kept.append(time.perf_counter() - start)
            endpoint._warnings = real
            medians = {k: [statistics.median(t) * 1000 for t in v] for k, v in times.items()}
            for name, (fresh, again) in medians.items():
                lines.append(f"| {size} | {name} | {fresh:.1f} | {again:.1f} |")
            if medians["as served"][0] > 1.25 * medians["lint off"][0]:
                missed.append(size)
    report = "\n".join(lines) + "\n"
    out = project.build_dir / "bench"
    out.mkdir(parents=True, exist_ok=True)
    Path(out / "lint.md").write_text(report, encoding="utf-8")
    print(report + (f"missed for {missed} IRIs" if missed else "target met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
