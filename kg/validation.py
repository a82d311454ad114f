"""SHACL validation with pyshacl, reported as a list of :class:`Violation`.

The report names each focus node by its label and IRI, the property path, the
offending value and the shape's message. Reports for the project's own graph
are cached under ``build/cache/`` on the same content key as the graph.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.errors import KGError
from kg.fileio import atomic_write
from kg.namespaces import shorten
from kg.project import Project
from kg.store.loading import load, parse_files

if TYPE_CHECKING:
    from rdflib import Graph


@dataclass(frozen=True)
class Violation:
    focus: str
    focus_label: str
    path: str | None
    value: str | None
    message: str
    severity: str
    shape: str
    component: str


@dataclass
class Report:
    conforms: bool
    violations: list[Violation] = field(default_factory=list)

    def to_json(self) -> str:
        doc = {"conforms": self.conforms, "violations": [asdict(v) for v in self.violations]}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        if self.conforms:
            return "conforms: the graph meets every shape\n"
        lines = [f"does not conform: {len(self.violations)} result(s)"]
        for v in self.violations:
            lines.append(f"- {v.severity}: {v.message}")
            lines.append(f"    focus: {v.focus_label} <{v.focus}>")
            if v.path:
                lines.append(f"    path:  {v.path}")
            if v.value is not None:
                lines.append(f"    value: {v.value}")
            lines.append(f"    shape: {v.shape} ({v.component})")
        return "\n".join(lines) + "\n"


def load_shapes(project: Project) -> Graph:
    files = project.shape_files()
    if not files:
        raise KGError(f"no shapes found under {project.relative(project.shapes_dir)}/")
    shapes = parse_files(files, project, allow_blank_nodes=True)  # shapes are not the graph
    _check_patterns(shapes)
    return shapes


def _check_patterns(shapes: Graph) -> None:
    """Refuse a ``sh:pattern`` that is no regular expression before validating: pyshacl
    found it only when it reached a value to match, 2.6 s into a run, and said nothing
    of which shape it was."""
    import re

    from rdflib.namespace import SH

    letters = {"i": re.I, "s": re.S, "m": re.M, "x": re.X}
    for shape, pattern in shapes.subject_objects(SH.pattern):
        flags = 0
        for letter in str(shapes.value(shape, SH.flags) or ""):
            flags |= letters.get(letter, 0)
        try:
            re.compile(str(pattern), flags)
        except re.error as e:
            raise KGError(
                f"the shapes cannot be used: the sh:pattern {str(pattern)!r} of "
                f"{shorten(str(shape))} is not a regular expression ({e})"
            ) from None


_PATCHING = threading.Lock()


@contextlib.contextmanager
def _prepared_queries() -> Iterator[None]:
    """rdflib parses each SPARQL constraint once, not once per focus node.

    pyshacl hands rdflib a constraint's text for every focus node, and rdflib parses it
    each time; with the citation rule (one focus per resource) the whole graph's
    validation took 27.9 s of CPU. Inside this block, ``Graph.query`` prepares a text
    once and reuses it: 4.4 s with the same shapes, the same results.
    """
    from functools import lru_cache

    import rdflib.graph
    from rdflib.plugins.sparql import prepareQuery

    @lru_cache(maxsize=128)
    def prepare(text: str, namespaces: tuple[tuple[str, Any], ...]) -> Any:
        return prepareQuery(text, initNs=dict(namespaces))

    def query(self: Any, q: Any, processor: str = "sparql", result: str = "sparql",
              initNs: Any = None, initBindings: Any = None,
              use_store_provided: bool = True, **kwargs: Any) -> Any:
        if isinstance(q, str) and processor == "sparql":
            q = prepare(q, tuple(sorted((initNs or {}).items())))
            initNs = None
        return original(self, q, processor, result, initNs, initBindings, use_store_provided,
                        **kwargs)

    # one validation at a time patches: a second thread entering meanwhile would keep the
    # first one's wrapper as "the original" and put it back last, for good
    with _PATCHING:
        original = rdflib.graph.Graph.query
        rdflib.graph.Graph.query = query  # type: ignore[method-assign]
        try:
            with _checked_once():
                yield
        finally:
            rdflib.graph.Graph.query = original  # type: ignore[method-assign]


@contextlib.contextmanager
def _checked_once() -> Iterator[None]:
    """pyshacl checks a SPARQL constraint's text once, not once per focus node.

    Before each focus node's query pyshacl searches the constraint's text with its
    regular expressions for what SHACL forbids there (MINUS, VALUES, SERVICE, a
    pre-bound variable a subquery hides or rebinds); some of them backtrack over the
    whole text from every line. The verdict depends on the text and on which variables
    may be pre-bound, nothing else: inside this block it is reached once for each, and
    a text that fails still fails every time (a failure is not kept). Over the project's
    graph that was 471 checks, about 0.3 s of each validation's 2.2 s of CPU.
    """
    from pyshacl.helper import get_query_helper_cls

    helper = get_query_helper_cls()
    original = helper.check_invalid_sparql
    passed: dict[tuple[type, str, bool, frozenset[str]], Any] = {}

    def check_invalid_sparql(self: Any, sparql_text: str, valuenode: Any = None,
                             extravars: Any = None) -> Any:
        # the check reads only its arguments and the class's regular expressions
        key = (type(self), sparql_text, valuenode is not None, frozenset(extravars or ()))
        if key not in passed:
            passed[key] = original(self, sparql_text, valuenode=valuenode, extravars=extravars)
        return passed[key]

    helper.check_invalid_sparql = check_invalid_sparql
    try:
        yield
    finally:
        helper.check_invalid_sparql = original


def path_text(graph: Graph, node: Any) -> str:
    """A SHACL property path as SPARQL writes it (``ij:date``, ``(ij:startDate|ij:endDate)``,
    ``^ij:about``, ``ij:a/ij:b``): a path other than one property is a blank node, whose
    label changes from run to run, so it never goes into a report as such."""
    from rdflib import RDF, URIRef
    from rdflib.collection import Collection
    from rdflib.namespace import SH

    def inner(n: Any) -> str:
        text = path_text(graph, n)
        return f"({text})" if ("/" in text or "|" in text) and not text.startswith("(") else text

    if isinstance(node, URIRef):
        return shorten(str(node))
    if graph.value(node, RDF.first) is not None:
        return "/".join(inner(n) for n in Collection(graph, node))
    alternatives = graph.value(node, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(inner(n) for n in Collection(graph, alternatives)) + ")"
    for predicate, form in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"),
                            (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):  # fmt: skip
        value = graph.value(node, predicate)
        if value is not None:
            return form.format(inner(value))
    return "(a path the report does not describe)"


def shacl_report(data: Graph, shapes: Graph) -> Report:
    """Run pyshacl (SHACL-SPARQL on, no inference) and collect its results."""
    import pyshacl
    from rdflib import RDFS, Literal, URIRef
    from rdflib.namespace import SH

    from kg.progress import step

    try:
        with step(f"checking {len(data):,} triples against the shapes"), _prepared_queries():
            conforms, results, _ = pyshacl.validate(
                data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
            )
    except Exception as e:  # pyshacl raises many types for unusable shapes (bad regex, lists)
        raise KGError(f"the shapes cannot be used: {type(e).__name__}: {e}") from None
    if not hasattr(results, "subjects"):  # pyshacl's ValidationFailure: the shapes are broken
        raise KGError(f"the shapes cannot be used: {results}")
    violations = []
    for r in results.subjects(SH.resultSeverity, None):
        focus = results.value(r, SH.focusNode)
        path = results.value(r, SH.resultPath)
        value = results.value(r, SH.value)
        label = data.value(focus, RDFS.label) if focus is not None else None
        shape = results.value(r, SH.sourceShape)
        violations.append(
            Violation(
                focus=str(focus),
                focus_label=str(label) if label is not None else shorten(str(focus)),
                path=_path_of(results, shapes, path, shape),
                value=(str(value) if isinstance(value, Literal) else shorten(str(value)))
                if value is not None
                else None,
                message=str(results.value(r, SH.resultMessage) or "constraint not met"),
                severity=str(results.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
                shape=shorten(str(shape)) if isinstance(shape, URIRef) else "(anonymous shape)",
                component=shorten(str(results.value(r, SH.sourceConstraintComponent))),
            )
        )
    violations.sort(key=lambda v: (v.focus, v.shape, v.path or "", v.value or ""))
    return Report(bool(conforms), violations)


def _path_of(results: Graph, shapes: Graph, path: Any, shape: Any) -> str | None:
    """A result's path as text: read from the report, or from its shape where the report
    does not hold the path's own triples."""
    from rdflib import BNode
    from rdflib.namespace import SH

    if path is None:
        return None
    if isinstance(path, BNode) and next(results.predicate_objects(path), None) is None:
        declared = shapes.value(shape, SH.path) if shape is not None else None
        if declared is not None:
            return path_text(shapes, declared)
    return path_text(results, path)


def validate(
    files: list[Path] | None = None, *, with_data: bool = False, project: Project | None = None
) -> Report:
    """Validate the project's graph, or ``files`` (with the ontology) against its shapes.

    ``with_data`` adds the project's own data to ``files``: how a new data file
    is checked together with what it refers to.
    """
    project = project or Project.find()
    if not files:
        key = project.content_key()
        cache = project.build_dir / "cache" / f"validation-{key}.json"
        cached = _read_report(cache)
        if cached is not None:
            return cached
        report = shacl_report(load(project), load_shapes(project))
        atomic_write(cache, report.to_json().encode())
        return report
    ontology = [p for p in project.graph_files() if project.data_dir not in p.parents]
    base = project.graph_files() if with_data else ontology
    for f in files:
        if not Path(f).is_file():
            raise KGError(f"{f}: no such file")
    data = parse_files(base + [Path(f) for f in files], project)
    return shacl_report(data, load_shapes(project))


def _read_report(path: Path) -> Report | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Report(doc["conforms"], [Violation(**v) for v in doc["violations"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None
