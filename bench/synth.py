"""Synthetic graphs shaped like this one: N bilateral-relations "pairs".

Pair k is a copy of the project's data in which every resource IRI of its own
(states, people, visits, figures, ...) gets the prefix ``p{k}-``, while the
shared vocabulary (concepts, topics, article sections) and the ontology stay
shared, as they would across many articles. Every saved query therefore runs
unchanged on a graph N times larger.

    python bench/synth.py 1000          # writes build/bench/synth-1000.nt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.namespaces import CITATION, ID  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store.loading import cached_ntriples, ntriples, read_triples  # noqa: E402

SHARED = ("concept", "topic", "section")
LINK = "https://w3id.org/israel-japan-kg/link/"


def template(project: Project) -> tuple[str, str]:
    """(ontology and shared lines, per-pair lines with § where k goes), as N-Triples."""
    data_files = sorted(project.data_dir.glob("*.ttl"))
    data = read_triples(data_files, project)
    data_lines = set(ntriples(data).decode("utf-8").splitlines())  # the cache's writer
    everything = cached_ntriples(project).read_text(encoding="utf-8").splitlines()[1:]
    ontology = [line for line in everything if line not in data_lines]
    # citations name one pair's triple each, so each pair has its own (issue 22 moved them
    # out of id/); units are the article's text, shared like its sections
    own = re.compile(rf"<({re.escape(ID)}(?!(?:{'|'.join(SHARED)})/)[a-z]+/|{re.escape(LINK)}"
                     rf"|{re.escape(CITATION)})")
    shared, per_pair = [], []
    for line in sorted(data_lines):
        if not line.strip():
            continue
        if own.search(line):
            per_pair.append(own.sub(lambda m: "<" + m.group(1) + "p§-", line))
        else:
            shared.append(line)
    return "\n".join(ontology + shared) + "\n", "\n".join(per_pair) + "\n"


def write(pairs: int, out: Path, project: Project | None = None) -> tuple[Path, int]:
    """Write ``pairs`` pairs to ``out``; return its path and its number of triples."""
    project = project or Project(ROOT)
    fixed, per_pair = template(project)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(fixed)
        for k in range(pairs):
            f.write(per_pair.replace("§", str(k)))
    tmp.replace(out)
    return out, fixed.count("\n") + pairs * per_pair.count("\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="Write a synthetic graph of PAIRS copies of this one's data "
        "to build/bench/synth-PAIRS.nt.")
    parser.add_argument("pairs", nargs="?", type=int, default=1, metavar="PAIRS",
                        help="how many bilateral-relation pairs (default 1)")
    n = parser.parse_args().pairs
    if n < 1:
        parser.error("PAIRS must be at least 1")
    path, triples = write(n, ROOT / "build" / "bench" / f"synth-{n}.nt")
    print(f"{path}: {n} pairs, {triples} triples")
