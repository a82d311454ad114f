"""SHACL validation: the data conforms, and every constraint is proven by an example.

Each file of tests/data/invalid/ starts with ``# expect: SHAPE COMPONENT`` and
adds new resources whose IRIs end in its own slug; together with the project's
data it must trip exactly that constraint and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from kg.namespaces import ID, SHAPES, shorten
from kg.project import Project
from kg.validation import validate

from .conftest import INVALID, example_slug, expected_violation

DATA = Path(__file__).parent / "data"
VALID = DATA / "valid"

# SHACL parameters that each make one constraint component
COMPONENT_OF = {
    SH.minCount: "MinCount", SH.maxCount: "MaxCount", SH["class"]: "Class",
    SH.datatype: "Datatype", SH.languageIn: "LanguageIn", SH.uniqueLang: "UniqueLang",
    SH.qualifiedMinCount: "QualifiedMinCount", SH["in"]: "In", SH["or"]: "Or",
    SH.minInclusive: "MinInclusive", SH.maxInclusive: "MaxInclusive", SH.disjoint: "Disjoint",
    SH.lessThanOrEquals: "LessThanOrEquals", SH.pattern: "Pattern", SH.maxLength: "MaxLength",
    SH.sparql: "SPARQL", SH.nodeKind: "NodeKind", SH.hasValue: "HasValue",
    SH.equals: "Equals", SH.lessThan: "LessThan",
}


def declared_constraints(project: Project) -> set[tuple[str, str]]:
    shapes = Graph()
    for f in project.shape_files():
        shapes.parse(f)
    found = set()
    for s in set(shapes.subjects()):
        if isinstance(s, URIRef):
            for param, comp in COMPONENT_OF.items():
                if (s, param, None) in shapes:
                    found.add((shorten(str(s)), f"sh:{comp}ConstraintComponent"))
    return found


def test_project_graph_conforms(project: Project) -> None:
    report = validate(project=project)
    assert report.conforms, report.to_text()


def test_every_class_the_data_mints_must_name_its_source(project: Project, ox_engine) -> None:
    """ijsh:HasSource lists its target classes (core SHACL has no IRI-pattern target): every
    class with a resource under /id/ is one of them, but the article's sections."""
    shapes = Graph()
    for f in project.shape_files():
        shapes.parse(f)
    targets = {shorten(str(c)) for c in shapes.objects(URIRef(SHAPES + "HasSource"),
                                                        SH.targetClass)}
    minted = {shorten(r[0].value) for r in ox_engine.select(
        f'SELECT DISTINCT ?c {{ ?s a ?c FILTER(STRSTARTS(STR(?s), "{ID}") && STRSTARTS(STR(?c), '
        'STR(ij:))) }')}
    sources = {"ij:ArticleSection", "ij:ArticleText", "ij:Sentence", "ij:InfoboxRow",
               "ij:TableRow", "ij:ListItem"}  # the article and its parts are the sources
    assert minted - sources <= targets, "add these to ijsh:HasSource"


def test_valid_examples_conform(project: Project) -> None:
    assert validate([VALID / "standalone.ttl"], project=project).conforms
    assert validate([VALID / "with-project-data.ttl"], with_data=True, project=project).conforms


def test_every_constraint_has_exactly_one_invalid_example(project: Project) -> None:
    examples = [expected_violation(p) for p in INVALID]
    assert len(examples) == len(set(examples)), "two invalid files test the same constraint"
    assert set(examples) == declared_constraints(project)


@pytest.mark.xdist_group("invalid-examples")
def test_each_invalid_example_trips_exactly_its_constraint(invalid_report) -> None:
    # One validation of all examples together (1-2 s instead of minutes); each
    # result is attributed to the file whose slug its focus node carries.
    report = invalid_report
    assert not report.conforms
    unexplained = [v for v in report.violations if "/invalid-" not in v.focus]
    assert not unexplained, "the project's own data was flagged"
    for path in INVALID:
        s = example_slug(path)
        got = {(v.shape, v.component) for v in report.violations
               if v.focus.rsplit("/", 1)[-1] == s or v.focus.rsplit("/", 1)[-1].startswith(s + "-")}
        assert got == {expected_violation(path)}, path.name


@pytest.mark.xdist_group("invalid-examples")
def test_the_group_is_in_the_id_xdist_schedules_by(request: pytest.FixtureRequest) -> None:
    """``--dist loadgroup`` keeps a group's tests in one worker, so its session fixture
    (``invalid_run``) is computed once, only when the test's id ends in ``@GROUP``: under
    pytest 9.2 xdist's own mark no longer took (tests/conftest.py)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by pytest-xdist with --dist loadgroup (the README's command is)")
    assert request.node.nodeid.endswith("@invalid-examples")


@pytest.fixture(scope="module")
def cli_report(invalid_run) -> tuple[int, dict[str, list[str]]]:
    """``kg validate --with-data`` over every invalid example at once (one validation of
    the project's data, ~4 s, instead of one per example; the same run gives
    ``invalid_report``): its exit code, and the text report's results by the slug of
    their focus node."""
    code, text = invalid_run.code, invalid_run.out
    head, *results = text.split("\n- ")
    assert head == f"does not conform: {len(results)} result(s)"
    by_slug: dict[str, list[str]] = {}
    for result in results:
        focus = next(line for line in result.splitlines() if line.startswith("    focus: "))
        local = focus.rstrip(">").rsplit("/", 1)[-1]
        owners = [example_slug(p) for p in INVALID
                  if local == example_slug(p) or local.startswith(example_slug(p) + "-")]
        owner = max(owners, key=len, default=local)
        by_slug.setdefault(owner, []).append("- " + result)
    return code, by_slug


@pytest.mark.xdist_group("invalid-examples")  # one worker computes cli_report
@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_cli_reports_each_invalid_example(path: Path, cli_report) -> None:
    code, by_slug = cli_report
    shape, component = expected_violation(path)
    assert code == 1
    (result,) = by_slug.get(example_slug(path), [])  # exactly one result is this example's
    assert f"shape: {shape} ({component})" in result
    assert f"/{example_slug(path)}" in result  # the focus node is named by IRI


@pytest.mark.xdist_group("invalid-examples")
def test_text_report_names_label_iri_path_value_and_message(cli_report) -> None:
    (text,) = cli_report[1][example_slug(DATA / "invalid" / "Observation-value--MinInclusive.ttl")]
    assert "focus: Test figure <https://w3id.org/israel-japan-kg/id/figure/" in text
    assert "path:  ij:value" in text
    assert "value: -5" in text
    assert "not below zero" in text


@pytest.mark.xdist_group("invalid-examples")
def test_a_path_of_several_properties_is_written_as_sparql_not_as_a_blank_node(
    cli_report,
) -> None:
    """A blank node's label changes from run to run: a report naming one was not the same
    bytes twice (``kg validate --format json``, the cached report)."""
    (text,) = cli_report[1][example_slug(DATA / "invalid" / "Era-bound--MinCount.ttl")]
    assert "path:  (ij:startDate|ij:endDate)" in text


def test_every_form_of_shacl_path_is_written_as_sparql() -> None:
    from kg.validation import path_text

    g = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix ij: <https://w3id.org/israel-japan-kg/ontology#> .
        <urn:alt> sh:path [ sh:alternativePath ( ij:date [ sh:inversePath ij:about ] ) ] .
        <urn:seq> sh:path ( ij:about [ sh:zeroOrMorePath ij:partOf ] ) .
        <urn:one> sh:path [ sh:oneOrMorePath ( ij:a ij:b ) ] .
        <urn:opt> sh:path [ sh:zeroOrOnePath ij:c ] .
        <urn:odd> sh:path [ sh:unknownPath ij:c ] .
    """, format="turtle")
    written = {str(s): path_text(g, o) for s, o in g.subject_objects(SH.path)}
    assert written == {"urn:alt": "(ij:date|^ij:about)", "urn:seq": "ij:about/ij:partOf*",
                       "urn:one": "(ij:a/ij:b)+", "urn:opt": "ij:c?",
                       "urn:odd": "(a path the report does not describe)"}


@pytest.mark.xdist_group("invalid-examples")
def test_every_result_of_the_examples_belongs_to_one(cli_report) -> None:
    owners = {example_slug(p) for p in INVALID}
    assert set(cli_report[1]) <= owners, "the project's own data was flagged"


def test_json_report(project: Project, kg_cli) -> None:
    r = kg_cli("validate", "--format", "json", "--with-data",
               str(DATA / "invalid" / "Visit-toState--Class.ttl"), root=project.root)
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["conforms"] is False
    (v,) = doc["violations"]
    assert v["shape"] == "ijsh:Visit-toState" and v["value"] == "place:tokyo"


def test_json_report_when_conforming(project: Project, kg_cli) -> None:
    r = kg_cli("validate", "--format", "json", root=project.root)
    assert r.code == 0 and json.loads(r.out) == {"conforms": True, "violations": []}


def test_missing_file_is_a_usage_error(project: Project, kg_cli) -> None:
    r = kg_cli("validate", "no/such/file.ttl", root=project.root)
    assert r.code == 2 and r.err == "kg: error: no/such/file.ttl: no such file\n"


def test_broken_shapes_are_reported_not_crashed(scratch: Project, kg_cli) -> None:
    shapes = scratch.shapes_dir / "shapes.ttl"
    shapes.write_text(shapes.read_text().replace('sh:pattern "^(194', 'sh:pattern "^((194'))
    r = kg_cli("validate", root=scratch.root)
    assert r.code == 2 and r.err.startswith("kg: error: ") and "Traceback" not in r.err
    assert "sh:pattern '^((194" in r.err and "ijsh:Dated-range" in r.err, r.err  # which shape


def test_report_is_cached_and_follows_data_changes(bare: Project) -> None:
    assert validate(project=bare).conforms
    cached = list((bare.build_dir / "cache").glob("validation-*.json"))
    assert len(cached) == 1
    bad = DATA / "invalid" / "Visit-date--MinCount.ttl"
    (bare.data_dir / "extra.ttl").write_text(bad.read_text())
    report = validate(project=bare)
    assert not report.conforms
    assert expected_violation(bad) in {(v.shape, v.component) for v in report.violations}


def test_unreadable_shapes_file_is_a_clear_error(scratch: Project, kg_cli) -> None:
    bad = b"@prefix sh: <http://www.w3.org/ns/shacl#> .\n\xe9\n"
    (scratch.shapes_dir / "extra.ttl").write_bytes(bad)
    r = kg_cli("validate", root=scratch.root)
    assert r.code == 2 and r.err.startswith("kg: error: ontology/shapes/extra.ttl: cannot read")


def test_a_sparql_constraint_is_checked_once_per_validation_and_a_forbidden_one_still_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pyshacl searches a SPARQL constraint's text for what SHACL forbids before every focus
    node's query; kg.validation lets it do so once per text (about 0.3 s of each validation
    of the project's graph). The check itself still runs, and still refuses MINUS."""
    from pyshacl.helper import get_query_helper_cls

    from kg.errors import KGError
    from kg.validation import shacl_report

    helper = get_query_helper_cls()
    checked: list[str] = []
    real = helper.check_invalid_sparql

    def spy(self, sparql_text, valuenode=None, extravars=None):
        checked.append(sparql_text)
        return real(self, sparql_text, valuenode=valuenode, extravars=extravars)

    monkeypatch.setattr(helper, "check_invalid_sparql", spy)
    data = Graph().parse(format="turtle", data="@prefix e: <http://example.org/> .\n"
                         + "".join(f"e:n{i} a e:K ; e:v {i} .\n" for i in range(5)))

    def shapes(where: str) -> Graph:
        return Graph().parse(format="turtle", data=f"""
            @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix e: <http://example.org/> .
            e:S a sh:NodeShape ; sh:targetClass e:K ; sh:sparql [ a sh:SPARQLConstraint ;
                sh:select "SELECT $this ?value WHERE {{ {where} }}" ] .""")

    report = shacl_report(data, shapes("$this <http://example.org/v> ?value FILTER(?value > 2)"))
    assert len(report.violations) == 2  # e:n3 and e:n4, each queried with the check passed
    assert len(checked) == 1  # once for the five focus nodes
    assert helper.check_invalid_sparql is spy  # put back after the validation
    with pytest.raises(KGError, match="MINUS"):
        shacl_report(data, shapes("$this ?p ?value MINUS { $this a ?value }"))


def test_validations_in_two_threads_leave_rdflib_and_pyshacl_unpatched() -> None:
    """Each validation patches rdflib's Graph.query and pyshacl's text check while it runs.
    A second thread entering meanwhile took the first one's wrappers for the originals and,
    leaving last, put them back for good; now the second waits for the first."""
    import threading

    import rdflib.graph
    from pyshacl.helper import get_query_helper_cls

    from kg.validation import _prepared_queries

    query, check = rdflib.graph.Graph.query, get_query_helper_cls().check_invalid_sparql
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with _prepared_queries():
            first_in.set()
            second_in.wait(timeout=0.5)  # without the lock the second is in by now
        first_out.set()

    def second() -> None:
        first_in.wait(timeout=5)
        with _prepared_queries():
            second_in.set()
            first_out.wait(timeout=5)  # and leaves last

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert rdflib.graph.Graph.query is query
    assert get_query_helper_cls().check_invalid_sparql is check
