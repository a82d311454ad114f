"""How to cite the graph: the repository's CITATION.cff, kg cite, and a release's citation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kg.citation import bibtex, cff, text
from kg.errors import KGError
from kg.registry import __version__

ROOT = Path(__file__).resolve().parent.parent


def test_the_repository_citation_file_is_what_kg_cite_writes() -> None:
    """CITATION.cff is edited by no one: a title, a description or a version changed in
    kg's metadata and not in the file would have GitHub and Zenodo cite the old one."""
    assert (ROOT / "CITATION.cff").read_text(encoding="utf-8") == cff(), (
        "CITATION.cff is out of date: kg cite -f cff > CITATION.cff")


def test_a_releases_citation_file_says_how_it_was_written() -> None:
    """A release's CITATION.cff said the tests check the repository's copy against it, which
    is not in the download and is not that file (s35-new); it names its own command now."""
    written = cff("1.0.0", "2026-12-07")
    assert "# Written by `kg cite -f cff --release 1.0.0 --date 2026-12-07`, for that " \
           "release.\n" in written
    assert "repository" not in written


SCHEMA = ROOT / "tests" / "vendor" / "citation-file-format" / "schema-1.2.0.json"


def cff_errors(written: str) -> list[str]:
    """What the Citation File Format 1.2.0's schema finds wrong with ``written``."""
    import json

    import jsonschema_rs

    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [e.message for e in validator.iter_errors(yaml.safe_load(written))]


@pytest.mark.parametrize("released", [None, "2026-12-07"])
def test_the_citation_file_is_valid_citation_file_format(released: str | None) -> None:
    written = cff("1.0.0", released)
    assert cff_errors(written) == []
    read = yaml.safe_load(written)
    assert read["version"] == "1.0.0" and read.get("date-released") == released
    assert read["license"] == "CC0-1.0"
    assert read["references"][0]["license"] == "CC-BY-SA-4.0"  # the article, credited
    assert cff_errors(written.replace("license: CC0-1.0", "license: CC0"))  # it can fail


def test_bibtex_is_one_entry_that_tex_reads() -> None:
    entry = bibtex("1.2.0", "2027-01-10")
    assert entry.startswith("@misc{israel-japan-kg-1.2.0,\n") and entry.endswith("\n}\n")
    assert entry.count("{") == entry.count("}")
    body = entry.replace("\\%", "")
    assert "%" not in body  # a bare % would end the line for TeX: the article's address
    assert "–" not in entry and "Israel--Japan" in entry
    assert "  year = {2027},\n  date = {2027-01-10},\n" in entry
    assert "year" not in bibtex()  # no release, no date


def test_text_names_the_version_and_credits_the_article() -> None:
    line = text()
    assert f"version {__version__}." in line and "https://w3id.org/israel-japan-kg/" in line
    assert "Wikipedia" in line and "CC BY-SA 4.0" in line


@pytest.mark.parametrize("version, released", [("1 0", None), ("", None),
                                                ("1.0.0", "2026-02-30"), ("1.0.0", "07/12/2026")])
def test_a_bad_version_or_date_is_refused(version: str, released: str | None) -> None:
    with pytest.raises(KGError):
        cff(version, released)


def test_kg_cite(kg_cli) -> None:
    r = kg_cli("cite", "-f", "cff", "--release", "1.0.0", "--date", "2026-12-07")
    assert r.code == 0 and r.out == cff("1.0.0", "2026-12-07") and r.err == ""
    # the package's version has stayed while the data changed: a researcher citing it
    # for a paper cited no fixed graph, and nothing said so (s36-newcomer)
    r = kg_cli("cite", "--accessed", "2026-12-07")
    assert r.code == 0 and r.out == text(accessed="2026-12-07") + "\n", r.out
    assert "cite its release (kg release VERSION" in r.err and r.err.count("\n") == 1
    for args, said in [(("--date", "2026-12-07"), "--date is the date of a release"),
                       (("--release", "1.0"), "is not a semantic version"),
                       (("--release", "1.0.0", "--date", "2026-13-01"), "YYYY-MM-DD")]:
        r = kg_cli("cite", *args)
        assert r.code == 2 and r.out == "" and said in r.err and r.err.count("\n") == 1, r.err


def test_a_working_copy_is_cited_with_the_day_it_was_read(kg_cli) -> None:
    """The package's version is no fixed release: its citation says when it was read, as a
    web page's does (s35: "kg cite without a release gives 0.1.0 and no year")."""
    r = kg_cli("cite", "--accessed", "2026-12-07")
    assert r.code == 0 and "(n.d.)" in r.out and ", unreleased. " in r.out, r.out
    assert "Retrieved 2026-12-07, from https://w3id.org/israel-japan-kg/." in r.out
    r = kg_cli("cite", "-f", "bibtex", "--accessed", "2026-12-07")
    assert "  urldate = {2026-12-07},\n" in r.out and "year" not in r.out
    # without --accessed: today (UTC), but only for a working copy
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    assert f"Retrieved {today}, from" in kg_cli("cite").out
    assert "urldate" not in kg_cli("cite", "-f", "bibtex", "--release", "1.0.0").out
    assert kg_cli("cite", "-f", "cff").out == cff()  # the file in the repository: no day
    r = kg_cli("cite", "--accessed", "2026-13-01")
    assert r.code == 2 and r.err == "kg: error: an access date is YYYY-MM-DD, not '2026-13-01'\n"
