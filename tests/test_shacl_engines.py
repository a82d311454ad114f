"""The shapes hold in a second SHACL engine: rudof (Rust; PyPI ``pyrudof``) gives the same
verdicts as pyshacl on the project's data and on every file of tests/data/invalid/.

rudof runs core SHACL and SHACL-SPARQL constraints (``sh:sparql``), but not SHACL
Advanced Features such as SPARQL-based targets: the shapes use none, so that no
check is silently skipped by an engine that ignores them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.namespaces import shorten
from kg.project import Project
from kg.store.loading import _read_file, cached_ntriples, ntriples
from kg.validation import validate

from .conftest import INVALID, example_slug, expected_violation

pyrudof = pytest.importorskip(
    "pyrudof", reason="pyrudof is not installed (pip install -e '.[test]')")


def rudof_verdicts(project: Project, extra: list[Path]) -> set[tuple[str, str, str]]:
    """(focus, shape, component) of every violation rudof finds in the project's graph plus
    ``extra`` files, checked against the project's shapes."""
    r = pyrudof.Rudof(pyrudof.RudofConfig())
    r.read_data(str(cached_ntriples(project)), format=pyrudof.RDFFormat.NTriples)
    for f in extra:  # through the project's one reader, which makes citations RDF 1.1 nodes
        r.read_data(ntriples(_read_file(f, None, False)).decode("utf-8"),
                    format=pyrudof.RDFFormat.NTriples, merge=True)
    shapes = "\n".join(f.read_text(encoding="utf-8") for f in project.shape_files())
    r.read_shacl(shapes, format=pyrudof.ShaclFormat.Turtle)
    report = r.validate_shacl()
    return {(e.focus_node, shorten(str(e.source_shape)), shorten(str(e.constraint_component)))
            for e in report}


def pyshacl_verdicts(project: Project, extra: list[Path]) -> set[tuple[str, str, str]]:
    report = validate(extra, with_data=True, project=project) if extra else validate(
        project=project)
    return {(v.focus, v.shape, v.component) for v in report.violations}


def test_the_data_conforms_in_rudof_too(project: Project) -> None:
    assert rudof_verdicts(project, []) == set() == pyshacl_verdicts(project, [])


@pytest.mark.xdist_group("invalid-examples")
def test_every_invalid_example_gets_the_same_verdict_from_both_engines(project: Project,
                                                                       invalid_report) -> None:
    rudof = rudof_verdicts(project, INVALID)
    assert rudof == {(v.focus, v.shape, v.component) for v in invalid_report.violations}
    for path in INVALID:  # and each trips exactly its own constraint, in rudof as well
        s = example_slug(path)
        got = {(shape, component) for focus, shape, component in rudof
               if focus.rsplit("/", 1)[-1] == s or focus.rsplit("/", 1)[-1].startswith(s + "-")}
        assert got == {expected_violation(path)}, path.name
