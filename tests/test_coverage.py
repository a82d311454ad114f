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
    assert listed == {"twice", "21st"}  # the short list, each with a reason in data/


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
    assert set(report.stale_exceptions) == {"twice", "21st"} and not report.ok


def test_exception_needs_a_reason(tmp_path: Path, scratch: Project) -> None:
    (scratch.data_dir / "coverage-exceptions.toml").write_text('[[exception]]\ntext = "1777"\n')
    fake = tmp_path / "a.txt"
    fake.write_text("1777\n")
    with pytest.raises(KGError, match="exception 1 needs a non-empty 'text', 'reason'"):
        coverage(fake, project=scratch)


def test_missing_article_is_a_usage_error(project: Project, kg_cli) -> None:
    r = kg_cli("coverage", "--article", "/no/such/article.txt", root=project.root)
    assert r.code == 2 and r.err.startswith("kg: error: /no/such/article.txt: cannot read")


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
