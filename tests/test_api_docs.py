"""The examples in the public API's docstrings run, and say what they show (as pyoxigraph's
own docstrings do). Each module listed must have examples, so none can silently lose them."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

KG = Path(__file__).resolve().parent.parent / "kg"


def with_examples() -> list[str]:
    """Every module of the package whose source has a doctest example, found, not listed:
    a module gains examples and they run."""
    names = []
    for path in sorted(KG.rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            parts = path.relative_to(KG.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


DOCUMENTED = with_examples()


def test_the_public_modules_keep_their_examples() -> None:
    public = {"kg.namespaces", "kg.queries", "kg.formats", "kg.exports", "kg.registry",
              "kg.sparqltext", "kg.store.results", "kg.web.protocol", "kg.boundedjson",
              "kg.licence", "kg.dataset", "kg.release", "kg.wikidata.statements"}
    assert public <= set(DOCUMENTED), public - set(DOCUMENTED)


@pytest.mark.parametrize("name", DOCUMENTED)
def test_docstring_examples_run(name, project, monkeypatch) -> None:
    monkeypatch.setenv("KG_ROOT", str(project.root))
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{name}: {result.failed} example(s) failed (run python -m doctest)"


def test_public_api_functions_have_examples() -> None:
    from kg import exports, formats, namespaces, queries

    for func in (namespaces.expand, namespaces.shorten, queries.parse_query_text, queries.query,
                 formats.format_result, exports.export):
        assert ">>>" in (func.__doc__ or ""), f"{func.__qualname__} has no example"
