"""kg coverage: every date and figure of the article is in the graph or listed with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.article import coverage, extract_values
from kg.errors import KGError
from kg.project import Project


def test_article_values_are_all_accounted_for(article: Path, project: Project) -> None:
    report = coverage(article, project=project)
    assert not report.missing, report.to_text()
    assert not report.stale_exceptions
    assert len(report.values) > 90
    listed = {v.text for v in report.values if v.reason}
    assert listed == {"twice"}  # the short list, each with a reason in data/


def test_cli_on_the_article(article: Path, project: Project, kg_cli) -> None:
    r = kg_cli("coverage", "--article", str(article), root=project.root)
    assert r.code == 0
    assert r.out.splitlines()[-1].endswith(", 0 missing")


def test_extraction_kinds_and_normalisation() -> None:
    text = ("- Mission1: Embassy\nOn May 15, 1952 and in October 1999, $3.574 billion, "
            "$810 million, 15.8%, 1,156 people, the 1990s, mid-2010s, the 21st century, "
            "twice, triple, sixtieth, 2023.")
    got = [(v.kind, v.key) for v in extract_values(text)]
    assert got == [
        ("date", "1952-05-15"), ("month", "1999-10"), ("money", "3574000000"),
        ("money", "810000000"), ("percent", "15.8"), ("decade", "1990"), ("decade", "2010"),
        ("ordinal", "21"), ("year", "2023"), ("number", "1156"), ("word", "2"), ("word", "3"),
        ("word", "60"),
    ]


def test_unknown_values_are_reported_missing(tmp_path: Path, project: Project, kg_cli) -> None:
    fake = tmp_path / "article.txt"
    fake.write_text("Relations began in 1952; in 1777 nothing happened; 4242 visitors came.\n")
    report = coverage(fake, project=project)
    assert [v.text for v in report.missing] == ["1777", "4242"]
    r = kg_cli("coverage", "--article", str(fake), root=project.root)
    assert r.code == 1 and "MISSING" in r.out


def test_stale_exceptions_fail(tmp_path: Path, scratch: Project) -> None:
    fake = tmp_path / "article.txt"
    fake.write_text("Nothing but 1952.\n")
    report = coverage(fake, project=scratch)
    assert set(report.stale_exceptions) == {"twice"} and not report.ok


def test_exception_needs_a_reason(tmp_path: Path, scratch: Project) -> None:
    (scratch.data_dir / "coverage-exceptions.toml").write_text('[[exception]]\ntext = "1777"\n')
    fake = tmp_path / "a.txt"
    fake.write_text("1777\n")
    with pytest.raises(KGError, match="exception 1 needs a non-empty 'text', 'reason'"):
        coverage(fake, project=scratch)


@pytest.mark.parametrize("option", ["--article", "--citations"])
def test_missing_article_is_a_usage_error(project: Project, kg_cli, option: str) -> None:
    r = kg_cli("coverage", option, "/no/such/article.txt", root=project.root)
    assert r.code == 2 and r.err.startswith("kg: error: /no/such/article.txt: cannot read")
    assert r.err.count("\n") == 1 and not r.out


# -- the notes audit: a fact in a note is also a triple -------------------------------------


def test_every_resource_a_note_names_is_linked_or_explained(project: Project) -> None:
    from kg.notes import audit_notes

    report = audit_notes(project=project)
    assert report.ok, report.to_text()
    assert len(report.explained) == 2  # the reviewed list in data/notes-exceptions.toml


def test_a_note_naming_an_unlinked_resource_is_found_and_an_old_exception_is_stale(
        scratch: Project, kg_cli) -> None:
    (scratch.data_dir / "extra.ttl").write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix person: <https://w3id.org/israel-japan-kg/id/person/> .\n"
        'person:david-levy skos:note "He once met Shinzo Abe."@en .\n', encoding="utf-8")
    (scratch.data_dir / "notes-exceptions.toml").write_text(
        '[[exception]]\nnote_of = "figure:japanese-high-tech-investment-total-2021"\n'
        'names = "organisation:harel-hertz"\nreason = "reviewed"\n'
        '[[exception]]\nnote_of = "person:david-levy"\nnames = "state:japan"\n'
        'reason = "no longer needed"\n', encoding="utf-8")
    r = kg_cli("coverage", "--notes", root=scratch.root)
    assert r.code == 1
    assert "- person:david-levy names 'Shinzo Abe' (person:shinzo-abe)" in r.out
    assert "stale exception: person:david-levy → state:japan" in r.out


def test_a_bad_exceptions_file_is_one_line(scratch: Project, kg_cli) -> None:
    (scratch.data_dir / "notes-exceptions.toml").write_text(
        '[[exception]]\nnote_of = "person:david-levy"\n', encoding="utf-8")
    r = kg_cli("coverage", "--notes", root=scratch.root)
    assert r.code == 2 and r.out == ""
    assert "exception 1 needs a non-empty 'note_of', 'names', 'reason'" in r.err


# -- each cited date and number is stated by a unit cited for it ----------------------------


def test_every_cited_date_and_number_is_stated_by_its_unit(article: Path, project: Project,
                                                           kg_cli) -> None:
    from kg.article import cited_values

    report = cited_values(article, project=project)
    assert report.ok, report.to_text()
    assert len(report.values) > 100  # visits' years, tenures' dates, the figures …
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    assert f"On the current data: {len(report.values)} cited dates and numbers" in readme
    r = kg_cli("coverage", "--citations", str(article), root=project.root)
    assert r.code == 0 and ", 0 not stated, 0 in units" in r.out.splitlines()[-1]


def test_a_value_its_unit_does_not_state_is_found(article: Path, scratch: Project,
                                                  kg_cli) -> None:
    """A date edited so that its unit no longer states it (one day off), and a number cited
    to a unit that does not give it: both are listed, and the command fails."""
    relation = scratch.data_dir / "relation.ttl"
    text = relation.read_text(encoding="utf-8")
    assert text.count('"2008-12-01"^^xsd:date') == 1
    relation.write_text(text.replace('"2008-12-01"^^xsd:date', '"2008-12-02"^^xsd:date'),
                        encoding="utf-8")
    figures = scratch.data_dir / "figures.ttl"
    text = figures.read_text(encoding="utf-8")
    cited = '"15.8"^^xsd:decimal {| ij:statedIn unit:economy-9 |}'
    assert text.count(cited) == 1
    figures.write_text(text.replace(cited, cited.replace("economy-9", "economy-8")),
                       encoding="utf-8")
    r = kg_cli("coverage", "--citations", str(article), root=scratch.root)
    assert r.code == 1
    wrong = sorted(line for line in r.out.splitlines() if line.endswith("NOT STATED"))
    assert len(wrong) == 2, r.out
    assert "'15.8'" in wrong[0] and "economy-8" in wrong[0]
    assert "'2008-12-02'" in wrong[1] and "history-6" in wrong[1]
    assert ", 2 not stated," in r.out.splitlines()[-1]


def test_what_states_a_value() -> None:
    from kg.article import stated_in
    from kg.namespaces import XSD

    unit = ("In May 2012, on December 1, 2008, $3.574 billion, 15.8% of them, 1,156 people, "
            "the sixtieth year, in the mid-2010s, its 3rd round, the first of them.")
    for lexical, kind in [("2012-05", "gYearMonth"), ("2012", "gYear"), ("2008-12", "gYearMonth"),
                          ("2008-12-01", "date"), ("2010", "gYear"), ("3574000000", "decimal"),
                          ("15.8", "decimal"), ("1156", "integer"), ("60", "integer"),
                          ("3", "integer"), ("1", "integer")]:
        assert stated_in(lexical, XSD + kind, unit), (lexical, kind)
    for lexical, kind in [("2012-05-01", "date"), ("2012-06", "gYearMonth"), ("2013", "gYear"),
                          ("2008-12-02", "date"), ("3574", "decimal"), ("1155", "integer"),
                          ("2020", "gYear")]:
        assert not stated_in(lexical, XSD + kind, unit), (lexical, kind)
