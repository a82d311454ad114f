"""The examples in the public API's docstrings run, and say what they show (as pyoxigraph's
own docstrings do). Each module listed must have examples, so none can silently lose them."""

from __future__ import annotations

import doctest
import importlib

import pytest

DOCUMENTED = [
    "kg.namespaces",  # expand, shorten
    "kg.queries",  # parse_query_text, query
    "kg.formats",  # format_result
    "kg.exports",  # export
    "kg.description",  # fact_group
    "kg.registry",
    "kg.sparqltext",
    "kg.sparql",
    "kg.store.results",
    "kg.web.protocol",  # acceptable, rdf_format, document_format
    "kg.licence",  # licence_header
    "kg.dataset",
    "kg.release",  # parse_version, needed_bump
    "kg.wikidata.statements",  # quickstatements_time, quote
]


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
