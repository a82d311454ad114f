"""The package's own SPARQL queries, one ``.rq`` file each, with the same header as the
saved queries of ``queries/`` (the ones users run); these serve the library's features
(statistics, descriptions, pages, the timeline, coverage, label lookup).

>>> "SELECT" in load("count-triples")
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def load(name: str) -> str:
    """The text of ``kg/sparql/NAME.rq``."""
    return (HERE / f"{name}.rq").read_text(encoding="utf-8")


def names() -> list[str]:
    """Every query of the package, by name."""
    return sorted(p.stem for p in HERE.glob("*.rq"))
