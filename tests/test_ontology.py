"""The ontology, the context and the data's IRIs follow the documented conventions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.namespaces import ID, IJ, RESOURCE_KINDS
from kg.project import Project
from kg.store.loading import load

COPIED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "tools" / "copied-text"


@pytest.fixture(scope="module")
def graph(project: Project):
    return load(project)


def ontology_terms(graph) -> list[URIRef]:
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    return sorted({s for k in kinds for s in graph.subjects(RDF.type, k)
                   if str(s).startswith(IJ)})


def test_every_term_has_an_english_label_and_comment(graph) -> None:
    terms = ontology_terms(graph)
    assert len(terms) > 60
    for t in terms:
        for prop in (RDFS.label, RDFS.comment):
            values = [v for v in graph.objects(t, prop) if isinstance(v, Literal)]
            assert any(v.language == "en" for v in values), f"{t} lacks an English {prop}"


def test_ontology_metadata(graph) -> None:
    onto = URIRef("https://w3id.org/israel-japan-kg/ontology")
    assert (onto, RDF.type, OWL.Ontology) in graph
    for prop in (DCTERMS.title, OWL.versionInfo, DCTERMS.license, DCTERMS.creator):
        assert graph.value(onto, prop) is not None, prop


def test_context_has_a_readable_key_for_every_term(graph, project: Project) -> None:
    ctx = json.loads(project.context_file.read_text())["@context"]
    ids = {(v if isinstance(v, str) else v.get("@id")) for v in ctx.values()}
    for t in ontology_terms(graph):
        assert f"ij:{str(t)[len(IJ):]}" in ids, f"no context key for {t}"
    for kind in RESOURCE_KINDS:
        assert ctx[kind] == f"{ID}{kind}/"


def test_data_iris_follow_the_documented_pattern(graph) -> None:
    pattern = re.compile(rf"^{re.escape(ID)}({'|'.join(RESOURCE_KINDS)})/[a-z0-9]+(-[a-z0-9]+)*$")
    minted = {s for s in graph.subjects() if str(s).startswith(ID)}
    assert len(minted) > 200
    bad = sorted(str(s) for s in minted if not pattern.match(str(s)))
    assert not bad


def test_every_used_ij_term_is_declared(graph) -> None:
    declared = set(ontology_terms(graph)) | {s for s in graph.subjects() if str(s).startswith(IJ)}
    used = {p for p in graph.predicates() if str(p).startswith(IJ)}
    used |= {o for o in graph.objects(None, RDF.type) if str(o).startswith(IJ)}
    assert used <= declared, sorted(used - declared)


def test_no_line_repeats_the_article(project: Project) -> None:
    if not COPIED_TEXT.is_file():
        pytest.skip(f"{COPIED_TEXT} is not here (a user's clone has no ../shared)")
    r = subprocess.run([str(COPIED_TEXT), str(project.root)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout
