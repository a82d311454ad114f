"""The Israel–Japan relations knowledge graph as a Python library.

Every command of the ``kg`` command line is a function here::

    import kg
    report = kg.validate()
    result = kg.query("visits-to", {"state": "Japan"})
    print(kg.format_result(result, "csv"))

The package's map (its layers, and where to add a command, a format or a
page) is ``kg/README.md``.

Names are imported lazily so that ``import kg`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module

from kg.registry import __version__

TYPE_CHECKING = False  # typing costs a cold ``kg query`` 7 ms; annotations need it only here
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "load": "kg.store.loading",
    "validate": "kg.validation",
    "query": "kg.queries",
    "list_queries": "kg.queries",
    "find_query": "kg.queries",
    "export": "kg.exports",
    "stats": "kg.statistics",
    "describe": "kg.description",
    "coverage": "kg.article",
    "docs": "kg.documentation",
    "format_result": "kg.formats",
    "write": "kg.formats",
    "open_engine": "kg.store",
    "Project": "kg.project",
    "KGError": "kg.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kg' has no attribute {name!r}")
