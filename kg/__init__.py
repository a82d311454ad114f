"""The Israel–Japan relations knowledge graph as a Python library.

Every command of the ``kg`` command line is a function here::

    import kg
    report = kg.validation()
    result = kg.query("visits-to", {"state": "Japan"})
    print(kg.format_result(result, "csv"))

Names are imported lazily so that ``import kg`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": "kg.graph",
    "validate": "kg.validation",
    "query": "kg.queries",
    "list_queries": "kg.queries",
    "find_query": "kg.queries",
    "export": "kg.exports",
    "stats": "kg.statistics",
    "describe": "kg.description",
    "coverage": "kg.article",
    "docs": "kg.documentation",
    "format_result": "kg.results",
    "open_engine": "kg.engine",
    "Project": "kg.project",
    "KGError": "kg.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kg' has no attribute {name!r}")
