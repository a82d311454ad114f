"""Units of the article, citations of every fact, kg sources, kg article check and fetch,
kg coverage --units, and the README's count of stated, inferred and general-knowledge
facts (issue 22)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import sparql
from kg.errors import KGError
from kg.project import Project
from kg.store.loading import CITATION, citation_iri, read_triples
from kg.units import fingerprint, pinned_units, segment, units_turtle

ROOT = Path(__file__).resolve().parent.parent
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
HEAD = """@prefix ij: <https://w3id.org/israel-japan-kg/ontology#> .
@prefix unit: <https://w3id.org/israel-japan-kg/unit/> .
@prefix state: <https://w3id.org/israel-japan-kg/id/state/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


# -- every resource found in the sections it cites ----------------------------------------


def test_by_section_finds_every_resource_in_each_section_its_facts_cite(ox_engine) -> None:
    """by-section (the facts taken from one section) finds resources by
    prov:wasDerivedFrom: seven resources whose facts cited units of a section they did not
    name were missing from that section's answer (Japan from Economy, the topics economy,
    aviation and taxation from History...), stop 33."""
    from kg.queries import query

    cited = query(text="""
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        SELECT DISTINCT ?s ?label WHERE {
            ?c rdf:subject ?s ; ij:statedIn ?u . ?u dcterms:isPartOf ?section .
            ?section rdfs:label ?label .
        }""", engine=ox_engine)
    wanted: dict[str, set[str]] = {}
    for s, label in cited.rows:
        wanted.setdefault(label.value, set()).add(s.value)
    assert len(wanted) == 11
    for section, resources in sorted(wanted.items()):
        found = {row[1].value for row in query("by-section", {"section": section},
                                               engine=ox_engine).rows}
        assert not resources - found, (section, sorted(resources - found))


# -- the units and the pinned text ---------------------------------------------------------


def test_units_ttl_is_what_kg_article_units_writes(article: Path, project: Project) -> None:
    pinned = (project.data_dir / "units.ttl").read_bytes()
    assert units_turtle(article.read_text(encoding="utf-8")) == pinned


def test_every_fingerprint_matches_the_pinned_text(article: Path, ox_engine) -> None:
    text = article.read_text(encoding="utf-8")
    units = pinned_units(ox_engine)
    assert len(units) == 101
    for u in units:
        assert 0 <= u.start < u.end <= len(text)
        assert fingerprint(text[u.start : u.end]) == u.fingerprint, u.id
    (digest,) = [r[0].value for r in ox_engine.select(sparql.load("pinned-text"))]
    import hashlib

    assert hashlib.sha256(text.encode()).hexdigest() == digest


def test_segmenting_keeps_rows_items_and_quoted_sentences_whole() -> None:
    text = ("= T =\n\nInfobox\n- Map: x.png\n\nIt began in 1952. Dr. Who said \"Yes. No.\" "
            "Then it ended.\n\n==Lists==\n- one\n- two\n\n==Table==\n| Year | What |\n"
            "| 1971 | A |\n")
    got = [(u.id, u.kind, text[u.start : u.end]) for u in segment(text)]
    assert got == [
        ("infobox-1", "infobox", "- Map: x.png"),
        ("lead-1", "sentence", "It began in 1952."),
        ("lead-2", "sentence", 'Dr. Who said "Yes. No."'),
        ("lead-3", "sentence", "Then it ended."),
        ("lists-1", "item", "- one"),
        ("lists-2", "item", "- two"),
        ("table-1", "row", "| 1971 | A |"),  # the header row names columns: not a unit
    ]


def test_kg_article_units_without_the_article_says_how(scratch: Project, kg_cli) -> None:
    r = kg_cli("article", "units", root=scratch.root)
    assert r.code == 2 and r.err.startswith("kg: error: the article's text is not at hand")


def test_kg_article_units_writes_the_file(article: Path, scratch: Project, kg_cli) -> None:
    out = scratch.root / "units.ttl"
    r = kg_cli("article", "units", str(article), "-o", str(out), "--revision", "123",
               "--date", "2026-12-01", root=scratch.root)
    assert r.code == 0, r.err
    text = out.read_text(encoding="utf-8")
    assert 'ij:revision "123"^^xsd:integer' in text and '"2026-12-01"^^xsd:date' in text
    bad = kg_cli("article", "units", str(article), "--date", "yesterday", root=scratch.root)
    assert bad.code == 2 and "YYYY-MM-DD" in bad.err


# -- citations: the reader turns annotations into RDF 1.1 reification nodes -------------


def test_an_annotation_becomes_a_stable_reification_node(tmp_path: Path) -> None:
    f = tmp_path / "a.ttl"
    f.write_text(HEAD + 'state:x rdfs:label "X"@en {| ij:statedIn unit:lead-1 |} .\n'
                 'state:x rdfs:label "X"@en {| ij:statedIn unit:lead-2 |} .\n')
    triples = read_triples([f])
    label = ox.Triple(ox.NamedNode("https://w3id.org/israel-japan-kg/id/state/x"),
                      ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                      ox.Literal("X", language="en"))
    node = ox.NamedNode(citation_iri(label))
    assert node.value.startswith(CITATION) and label in triples
    about = {(t.predicate.value.rsplit("#", 1)[-1], str(t.object)) for t in triples
             if t.subject == node}
    assert about == {("type", f"<{RDF}Statement>"), ("subject", str(label.subject)),
                     ("predicate", str(label.predicate)), ("object", str(label.object)),
                     ("statedIn", "<https://w3id.org/israel-japan-kg/unit/lead-1>"),
                     ("statedIn", "<https://w3id.org/israel-japan-kg/unit/lead-2>")}
    assert not any(isinstance(t.object, ox.Triple) or isinstance(t.subject, ox.BlankNode)
                   for t in triples)


def test_a_citation_of_a_triple_no_file_asserts_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "a.ttl"
    f.write_text(HEAD + '<< state:x rdfs:label "X"@en >> ij:statedIn unit:lead-1 .\n')
    with pytest.raises(KGError, match="cites a triple that no file asserts"):
        read_triples([f])


def test_every_fact_of_the_data_cites_a_unit_or_a_flag(ox_engine) -> None:
    bases = {r[0].value: int(r[1].value) for r in ox_engine.select(sparql.load("fact-bases"))}
    assert set(bases) == {"stated", "inferred", "general knowledge"}, bases


def test_the_readme_counts_stated_inferred_and_general_knowledge(ox_engine) -> None:
    bases = {r[0].value: int(r[1].value) for r in ox_engine.select(sparql.load("fact-bases"))}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = (r"(\d[\d,]*) are stated by a unit of the article, (\d+) are the editors' "
                r"reading \(`ij:inferred`\) and (\d+) come from general knowledge")
    m = re.search(sentence.replace(" ", r"\s+"), readme)
    assert m, "README.md: the sentence counting stated, inferred and general-knowledge facts"
    got = [int(g.replace(",", "")) for g in m.groups()]
    assert got == [bases["stated"], bases["inferred"], bases["general knowledge"]]


def test_describe_and_reconciliation_leave_citations_and_units_out(ox_engine) -> None:
    from kg.description import describe

    d = describe("Shinzo Abe", engine=ox_engine)
    assert not [s for s, _, _ in d.incoming if "/citation/" in s.value]
    names = [r[0].value for r in ox_engine.select(sparql.load("reconcile-names"))]
    assert names and not [n for n in names if "/unit/" in n or "/citation/" in n]


# -- kg sources ---------------------------------------------------------------------------


def test_sources_quotes_from_the_article(article: Path, project: Project, kg_cli) -> None:
    r = kg_cli("sources", "Kabun Muto", "--article", str(article), root=project.root)
    assert r.code == 0, r.err
    anchor = "https://en.wikipedia.org/wiki/Israel%E2%80%93Japan_relations#Visits"
    assert f"visits-7 (Visits, {anchor})" in r.out
    assert "Special Envoy Kabun Muto" in r.out  # the row's words, from the copy


def test_sources_without_the_text_gives_unit_section_and_how(scratch: Project, kg_cli) -> None:
    r = kg_cli("sources", "place:tokyo", root=scratch.root)
    assert r.code == 0, r.err
    assert "lead-1 (Lead, " in r.out and "“" not in r.out
    assert "ij:country  state:japan\n      no unit: general knowledge" in r.out
    assert "the article's text is not at hand: pass --article FILE" in r.out


def test_sources_says_when_a_copy_differs(article: Path, tmp_path: Path, project: Project,
                                          kg_cli) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_text(article.read_text(encoding="utf-8").replace("Special Envoy Kabun Muto",
                                                                "Special Envoy K. Muto"))
    r = kg_cli("sources", "Kabun Muto", "--article", str(copy), root=project.root)
    assert r.code == 0 and "“" not in r.out
    assert "differs from the pinned text in visits-7" in r.out


def test_sources_of_an_unknown_entity_is_one_line(project: Project, kg_cli) -> None:
    r = kg_cli("sources", "Nobody At All", root=project.root)
    assert r.code == 2 and r.err.count("\n") == 1 and "no resource labelled" in r.err


def test_sources_of_an_unknown_name_speaks_of_sources(project: Project, kg_cli) -> None:
    """A prefixed name or IRI the graph lacks is the command's error, not one of a
    parameter 'entity' the user never gave (the saved query's, which sources runs)."""
    for name in ("person:netanyahu", "https://w3id.org/israel-japan-kg/id/person/netanyahu"):
        r = kg_cli("sources", name, root=project.root)
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert r.err.startswith("kg: error: sources: person:netanyahu is not in the graph"), r.err
        assert "Benjamin Netanyahu" in r.err


def test_sources_of_a_wikidata_item_names_the_resource_linked_to_it(project: Project,
                                                                     kg_cli) -> None:
    """wd:Q132345 is in the graph as Shinzo Abe's link, so kg sources printed an empty
    header and exit 0; a bare Q132345 was 'no resource labelled' (s35-user)."""
    for name in ("wd:Q132345", "Q132345"):
        r = kg_cli("sources", name, root=project.root)
        assert r.code == 2 and r.err.count("\n") == 1, r.err
        assert r.err.endswith("Q132345 is Wikidata's item for Shinzo Abe: "
                              "give person:shinzo-abe\n"), r.err


# -- kg article check ---------------------------------------------------------------------


def _check(kg_cli, project: Project, text: str, tmp_path: Path, *fmt: str):
    f = tmp_path / "newer.txt"
    f.write_text(text, encoding="utf-8")
    return kg_cli("article", "check", str(f), *fmt, root=project.root)


def test_check_a_changed_number(article: Path, project: Project, tmp_path: Path,
                                kg_cli) -> None:
    text = article.read_text(encoding="utf-8").replace("$810 million", "$820 million")
    r = _check(kg_cli, project, text, tmp_path, "-f", "json")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["counts"] == {"unchanged": 100, "changed": 1, "gone": 0, "new": 0}
    (unit,) = doc["units"]
    assert unit["status"] == "changed" and unit["unit"] == "economy-3"
    assert "figure:israeli-exports-to-japan ij:value 810000000" in unit["facts"]


def test_check_keeps_apart_the_facts_another_unit_still_states(
        article: Path, project: Project, tmp_path: Path, kg_cli) -> None:
    """Exports are a measure by economy-3 and economy-4 alike: an edit of economy-3 alone
    leaves that fact stated, and calling it unconfirmed sent editors to review facts that
    still hold."""
    text = article.read_text(encoding="utf-8").replace("$810 million", "$820 million")
    r = _check(kg_cli, project, text, tmp_path, "-f", "json")
    (unit,) = json.loads(r.out)["units"]
    assert "figure:israeli-exports-to-japan ij:value 810000000" in unit["facts"]
    assert "concept:exports rdf:type ij:Measure" not in unit["facts"]
    assert "concept:exports rdf:type ij:Measure [economy-4]" in unit["still_stated"]
    assert "concept:us-dollar rdf:type ij:Unit [lead-11]" in unit["still_stated"]
    r = _check(kg_cli, project, text, tmp_path)
    assert r.code == 1
    assert "16 fact(s) now unconfirmed, 10 still stated elsewhere" in r.out
    head = r.out.splitlines()[0]
    assert head.endswith("1 cited unit(s) changed or gone, 16 fact(s) now unconfirmed, 1 of "
                         "them with a date, number or name the newer words no longer give")
    # a reworded sentence that keeps its figure and names: unconfirmed, none of them lost
    reworded = article.read_text(encoding="utf-8").replace("are worth $810", "amount to $810")
    doc = json.loads(_check(kg_cli, project, reworded, tmp_path, "-f", "json").out)
    assert doc["unconfirmed"] == 16 and doc["lost"] == 0


def test_check_says_which_dates_and_numbers_the_newer_words_still_give(
        article: Path, project: Project, tmp_path: Path, kg_cli) -> None:
    """Of the facts an edit leaves unconfirmed, those whose value went are the ones it
    most likely broke: the figure changed in one edit, only a word in the other."""
    from kg.article import NO_LONGER_GIVEN, STILL_GIVEN

    fact = "figure:israeli-exports-to-japan ij:value 810000000"
    original = article.read_text(encoding="utf-8")
    for edit, verdict in ((("$810 million", "$820 million"), NO_LONGER_GIVEN),
                          (("citrus fruit", "citrus fruits"), STILL_GIVEN)):
        r = _check(kg_cli, project, original.replace(*edit), tmp_path, "-f", "json")
        (unit,) = json.loads(r.out)["units"]
        assert unit["unit"] == "economy-3" and unit["values"][fact] == verdict, edit
    r = _check(kg_cli, project, original.replace("$810 million", "$820 million"), tmp_path)
    assert f"      {fact}  ({NO_LONGER_GIVEN})" in r.out.splitlines()


def test_check_with_the_pinned_text_shows_the_edit_and_the_names_it_took(
        article: Path, project: Project, tmp_path: Path, kg_cli, ox_engine) -> None:
    """A name changed in a sentence breaks the facts that hold it (his label, the event he
    acted in), not the others of the sentence: with a copy of the pinned text at hand
    (the seed beside the project, or --article), the check reads the earlier words too."""
    from kg.article import NAME_GONE, NAME_KEPT
    from kg.article import check as check_article

    newer = article.read_text(encoding="utf-8").replace("Shiro Suzuki", "Shiro Suzuka")
    r = _check(kg_cli, project, newer, tmp_path, "--article", str(article), "-f", "json")
    (unit,) = json.loads(r.out)["units"]
    assert unit["unit"] == "history-17" and unit["edits"] == ["[-Suzuki-] {+Suzuka+}"]
    values = unit["values"]
    assert values["person:shiro-suzuki rdfs:label Shiro Suzuki"] == NAME_GONE
    assert values["event:nagasaki-peace-ceremony-2024 ij:agent person:shiro-suzuki"] == NAME_GONE
    assert values["place:nagasaki rdfs:label Nagasaki"] == NAME_KEPT
    # in the table, what the newer words lost comes first under its unit
    lines = _check(kg_cli, project, newer, tmp_path, "--article", str(article)).out.splitlines()
    at = lines.index("      edit: [-Suzuki-] {+Suzuka+}")
    assert all(NAME_GONE in line for line in lines[at + 1 : at + 3]), lines[at : at + 4]
    # the project's own wording of an event is no name the article gave: no verdict
    assert not any("rdfs:label Israel left out" in f for f in values)
    # without the earlier words, only dates and numbers get a verdict
    (bare,) = [c for c in check_article(newer, ox_engine).changes if c.status == "changed"]
    assert bare.edits == []
    assert set(bare.values) == {"event:nagasaki-peace-ceremony-2024 ij:date 2024"}


def test_check_a_removed_sentence(article: Path, project: Project, tmp_path: Path,
                                  kg_cli) -> None:
    text = article.read_text(encoding="utf-8")
    units = {u.id: u for u in segment(text)}
    u = units["history-15"]
    r = _check(kg_cli, project, text[: u.start] + text[u.end :], tmp_path)
    assert r.code == 1
    assert "gone     history-15" in r.out and "visit:2014-benjamin-netanyahu ij:date" in r.out
    assert r.out.startswith("100 unchanged, 0 changed, 1 gone, 0 new")


def test_check_an_added_sentence(article: Path, project: Project, tmp_path: Path,
                                 kg_cli) -> None:
    text = article.read_text(encoding="utf-8").replace(
        "Israel also reaped", "Trade fairs were held in both states. Israel also reaped")
    r = _check(kg_cli, project, text, tmp_path)
    assert r.code == 0, r.out  # nothing a fact depends on changed
    assert "new      lead-15" in r.out and "0 changed, 0 gone, 1 new" in r.out


def test_check_reflowed_whitespace_reports_nothing(article: Path, project: Project,
                                                   tmp_path: Path, kg_cli) -> None:
    text = article.read_text(encoding="utf-8")
    text = text.replace(". ", ".  ").replace(" the ", "  the   ").replace("\n\n", "\n\n\n")
    r = _check(kg_cli, project, text, tmp_path, "-f", "json")
    assert r.code == 0
    doc = json.loads(r.out)
    assert doc["units"] == [] and doc["counts"]["unchanged"] == 101
    assert doc["same_text"] is False


def test_check_refuses_a_pinned_copy_it_cannot_read(project: Project, tmp_path: Path,
                                                    kg_cli) -> None:
    newer = tmp_path / "newer.txt"
    newer.write_text("Lead text.\n", encoding="utf-8")
    for bad in ("/no/such/file", str(tmp_path)):
        r = kg_cli("article", "check", str(newer), "--article", bad, root=project.root)
        assert r.code == 2 and r.err == f"kg: error: {bad}: no such file\n" and not r.out


def test_check_needs_a_file(project: Project, kg_cli) -> None:
    r = kg_cli("article", "check", root=project.root)
    assert r.code == 2 and "needs FILE" in r.err
    r = kg_cli("article", "check", "/no/such/file", root=project.root)
    assert r.code == 2 and r.err.startswith("kg: error: /no/such/file: cannot read")


# -- kg article fetch ---------------------------------------------------------------------


def test_fetch_writes_the_extract(httpserver, scratch: Project, kg_cli) -> None:
    httpserver.expect_request("/w/api.php", query_string={
        "action": "query", "prop": "extracts", "explaintext": "1",
        "titles": "Israel–Japan relations", "format": "json", "formatversion": "2",
        "redirects": "1"}).respond_with_json(
        {"query": {"pages": [{"title": "Israel–Japan relations", "extract": "Some text."}]}})
    r = kg_cli("article", "fetch", "--api", httpserver.url_for("/w/api.php"), root=scratch.root)
    assert r.code == 0, r.err
    assert (scratch.build_dir / "article.txt").read_text(encoding="utf-8") == "Some text."


def test_fetch_of_an_answer_without_text_is_one_line(httpserver, scratch: Project,
                                                     kg_cli) -> None:
    httpserver.expect_request("/w/api.php").respond_with_json({"query": {"pages": [{}]}})
    r = kg_cli("article", "fetch", "--api", httpserver.url_for("/w/api.php"), root=scratch.root)
    assert r.code == 2 and "no plain-text extract" in r.err
    assert not (scratch.build_dir / "article.txt").exists()
    r = kg_cli("article", "fetch", "--api", "file:///etc/passwd", root=scratch.root)
    assert r.code == 2 and "http(s)" in r.err


# -- kg coverage --units ------------------------------------------------------------------


def test_coverage_of_units_is_complete(project: Project, kg_cli) -> None:
    r = kg_cli("coverage", "--units", root=project.root)
    assert r.code == 0, r.out
    assert r.out.splitlines()[-1] == "101 units: 100 cited, 1 uncited with a reason, 0 uncited"


def test_coverage_of_units_reports_an_uncited_unit(scratch: Project, kg_cli) -> None:
    (scratch.data_dir / "units-exceptions.toml").write_text(
        '[[exception]]\nunit = "economy-2"\nreason = "stale on purpose"\n')
    r = kg_cli("coverage", "--units", root=scratch.root)
    assert r.code == 1
    assert "lead-15                  UNCITED" in r.out
    assert "stale exception: economy-2" in r.out


# -- entity pages -------------------------------------------------------------------------


def _page(project: Project, path: str, article: Path | None) -> str:
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from kg.web import pages
    from kg.web.app import app_state
    from kg.web.state import Settings

    app = Starlette(routes=[Route("/id/{path:path}", pages.resource)])
    app.state.kg = app_state(project, Settings(workers=1, article=str(article) if article
                                               else None))
    with TestClient(app) as client:
        r = client.get(path)
    assert r.status_code == 200
    return r.text


def test_a_page_shows_each_facts_unit_and_section(project: Project) -> None:
    html = _page(project, "/id/place/tokyo", None)
    anchor = "https://en.wikipedia.org/wiki/Israel%E2%80%93Japan_relations#Economy"
    assert f'<span class="unit">economy-17</span> (<a href="{anchor}">Economy</a>)' in html
    assert '<span class="units">general knowledge</span>' in html
    assert "This server has no copy of the article to quote from" in html
    assert "title=" not in html.split('class="unit"', 1)[1].split(">", 1)[0]


def test_a_page_quotes_units_on_hover_with_the_article(article: Path, project: Project) -> None:
    html = _page(project, "/id/person/kabun-muto", article)
    row = ("| 1994 | Foreign Minister Koji Kakizawa, Special Envoy Kabun Muto "
           "| Prime Minister Yitzhak Rabin |")
    assert f'<a class="unit" href="#unit-visits-7" title="{row}">visits-7</a>' in html
    assert "hover over a unit, or follow it, for its words" in html
    assert "<script" not in html.split("<main")[-1]


def test_a_page_lists_the_words_of_every_unit_it_cites(article: Path, project: Project) -> None:
    """The words were in a title alone, shown on hover: not on a phone, by keyboard or in
    print (s36-newcomer). Each unit cited is quoted once below the facts, in the order the
    page first cites it, and each unit beside a fact links to its words."""
    html = _page(project, "/id/person/yoshinori-katori", article)
    words = html.split('<section class="group" id="the-articles-words">', 1)[1]
    ids = re.findall(r'<dt id="unit-([\w-]+)">', words)
    cited = re.findall(r'<a class="unit" href="#unit-([\w-]+)"', html)
    assert ids == list(dict.fromkeys(cited)) and {"history-4", "history-5"} <= set(ids)
    assert "<dd>Katori previously served" in words
    # without a copy of the article, no words and no section
    assert "the-articles-words" not in _page(project, "/id/person/yoshinori-katori", None)


def test_sources_says_what_a_flag_means_and_gives_the_note(project: Project, kg_cli) -> None:
    """'no unit: inferred' under the league's founding year read as a year made up, where
    the year is the list's and only 'founded' is the editors' reading, as the note says
    (s35-newcomer)."""
    r = kg_cli("sources", "organisation:japan-israel-parliamentary-friendship-league",
               root=project.root)
    assert r.code == 0, r.err
    assert "no unit: the editors' reading (ij:inferred), not a sentence of the article" in r.out
    assert "\n  note: " in r.out and "1984" in r.out.split("\n  note: ")[1]
    jericho = kg_cli("sources", "Jericho", root=project.root).out
    assert "no unit: general knowledge (ij:fromGeneralKnowledge)" in jericho


def test_describe_of_a_wikidata_item_names_the_resource_linked_to_it(project: Project,
                                                                      kg_cli) -> None:
    """kg describe wd:Q17 printed a header and who refers to it, where Q17 and its page's
    address got 'give state:japan' (s35-newcomer): the same words now head it."""
    r = kg_cli("describe", "wd:Q17", root=project.root)
    assert r.code == 0 and "\n  Q17 is Wikidata's item for Japan: give state:japan\n" in r.out
    assert "give " not in kg_cli("describe", "state:japan", root=project.root).out
