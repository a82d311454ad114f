"""kg release: two (and more) releases of a scratch copy of the project, their checksums,
changelogs, the semantic-versioning rules, and byte-identical output for a given date."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import yaml

from kg.errors import KGError
from kg.project import Project
from kg.release import parse_version, release, release_date

from .conftest import run_kg

NEW_PLACE = """
place:haifa a ij:Place ;
    rdfs:label "Haifa"@en ;
    prov:wasDerivedFrom section:history .
"""


def sums_hold(folder: Path) -> dict[str, str]:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    sums = {name: digest for digest, name in (ln.split("  ", 1) for ln in lines)}
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(sums) == files - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    return sums


def nt(path: Path) -> set:
    return {q.triple for q in ox.parse(path.read_bytes(), format=ox.RdfFormat.N_TRIPLES)}


def test_two_releases_with_checksums_and_a_changelog(scratch: Project) -> None:
    first, changes = release("1.0.0", issued="2026-12-01", project=scratch, validate=False)
    assert changes.previous is None
    sums_hold(first)
    for name in ("israel-japan.ttl", "israel-japan.jsonld", "israel-japan.nt",
                 "israel-japan.trig", "israel-japan.rdf", "void.ttl", "CHANGES.md"):
        assert (first / name).is_file(), name
    void = rdflib.Graph().parse(first / "void.ttl")
    dataset = rdflib.URIRef("https://w3id.org/israel-japan-kg/dataset")
    dcat, dct = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/"
    assert str(void.value(dataset, rdflib.URIRef(dcat + "version"))) == "1.0.0"
    assert str(void.value(dataset, rdflib.URIRef(dct + "issued"))) == "2026-12-01"
    data_dump = rdflib.URIRef("http://rdfs.org/ns/void#dataDump")
    dumps = {str(o) for o in void.objects(dataset, data_dump)}
    assert "https://w3id.org/israel-japan-kg/release/1.0.0/israel-japan.nt" in dumps
    cited = yaml.safe_load((first / "CITATION.cff").read_text())  # cited as downloaded
    assert (cited["version"], cited["date-released"]) == ("1.0.0", "2026-12-01")
    citation = str(void.value(dataset, rdflib.URIRef(dct + "bibliographicCitation")))
    assert "version 1.0.0, released 2026-12-01. https://w3id.org/israel-japan-kg/." in citation

    # a new place (a new IRI) and a changed label
    places = scratch.data_dir / "places.ttl"
    text = places.read_text().replace('"Tokyo"@en', '"Tokyo Metropolis"@en', 1)
    places.write_text(text + NEW_PLACE)
    with pytest.raises(KGError, match=r"needs a minor release \(new IRIs\); release 1\.1\.0"):
        release("1.0.1", issued="2026-12-02", project=scratch, validate=False)
    assert not (scratch.build_dir / "release" / "1.0.1").exists()
    second, changes = release("1.1.0", issued="2026-12-02", project=scratch, validate=False)
    sums_hold(second)
    assert changes.previous == "1.0.0" and changes.bump == "minor"
    haifa = "https://w3id.org/israel-japan-kg/id/place/haifa"
    assert changes.iris_new == {haifa} and not changes.iris_gone
    added, removed = nt(second / "changes" / "added.nt"), nt(second / "changes" / "removed.nt")
    assert added == nt(second / "israel-japan.nt") - nt(first / "israel-japan.nt")
    assert removed == nt(first / "israel-japan.nt") - nt(second / "israel-japan.nt")
    from kg.store.loading import CITATION as citation  # the nodes citing the facts
    removed = {t for t in removed if not t.subject.value.startswith(citation)}
    added = {t for t in added if not t.subject.value.startswith(citation)}
    assert {str(t.object) for t in removed} == {'"Tokyo"@en'}
    assert len(added) == 4  # Haifa's three triples and the new label
    log = (second / "CHANGES.md").read_text()
    assert "Against 1.0.0: " in log and "4 added, 1 removed" in log
    assert "| `ij:Place` | 4 | 1 |" in log  # per class of the subject
    assert "| `rdfs:label` | 2 | 1 |" in log  # per property
    assert f"- <{haifa}>" in log


def test_a_removed_iri_needs_a_major_version(small: Project, monkeypatch) -> None:
    scratch = small
    release("1.0.0", issued="2026-12-01", project=scratch, validate=False)
    for path in scratch.data_dir.glob("*.ttl"):  # rename a state: its old IRI is gone
        path.write_text(path.read_text().replace("state/example-b>", "state/example-bee>")
                        .replace("state:example-b ", "state:example-bee "))

    def no_dumps(*args, **kwargs):
        raise AssertionError("the dumps were made for a version that is refused")

    with monkeypatch.context() as m:  # the step is checked first: a refusal makes no dump
        m.setattr("kg.release.dumps", no_dumps)
        for version in ("1.1.0", "1.0.1"):
            with pytest.raises(KGError, match=r"needs a major release \(IRIs of the previous"):
                release(version, issued="2026-12-02", project=scratch, validate=False)
        with pytest.raises(KGError, match=r"not greater than the previous release 1\.0\.0"):
            release("0.9.0", issued="2026-12-02", project=scratch, validate=False)
    folder, changes = release("2.0.0", issued="2026-12-02", project=scratch, validate=False)
    assert changes.iris_gone == {"https://w3id.org/israel-japan-kg/id/state/example-b"}
    assert "## IRIs gone (1)" in (folder / "CHANGES.md").read_text()


def test_a_release_is_the_same_bytes_for_the_same_date(scratch: Project, tmp_path) -> None:
    a, _ = release("1.0.0", issued="2026-12-01", project=scratch, validate=False,
                   root=tmp_path / "a")
    b, _ = release("1.0.0", issued=release_date(None, {"SOURCE_DATE_EPOCH": "1796126400"}),
                   project=scratch, validate=False, root=tmp_path / "b")
    assert (a / "SHA256SUMS").read_bytes() == (b / "SHA256SUMS").read_bytes()
    assert sums_hold(a) == sums_hold(b)


@pytest.mark.parametrize("args,message", [
    (["release", "1.0"], "'1.0' is not a semantic version"),
    (["release", "01.0.0"], "not a semantic version"),
    (["release", "1.0.0-rc1"], "not a semantic version"),
    (["release", "1.0.0"], "a release needs its date"),
    (["release", "1.0.0", "--date", "yesterday"], "is not a date YYYY-MM-DD"),
])  # fmt: skip
def test_bad_versions_and_dates_are_one_line(args, message, scratch: Project) -> None:
    env = {} if "--date" in args else {"SOURCE_DATE_EPOCH": ""}
    r = run_kg(*args, root=scratch.root, env=env)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not (scratch.build_dir / "release").exists()


def test_parse_version_orders_numerically() -> None:
    assert parse_version("1.10.0") > parse_version("1.9.9")


def test_a_release_older_than_the_last_or_changing_nothing_is_refused(scratch: Project) -> None:
    """kg release took a 1.1.0 dated the day before the 1.0.1 it followed, and a 1.0.1 that
    changed nothing (s35-newcomer): a version list whose dates go backwards, and releases
    that differ in their number only."""
    release("1.0.0", issued="2026-12-08", project=scratch, validate=False)
    with pytest.raises(KGError, match=r"nothing changed since 1\.0\.0"):
        release("1.0.1", issued="2026-12-09", project=scratch, validate=False)
    places = scratch.data_dir / "places.ttl"
    places.write_text(places.read_text().replace('"Tokyo"@en', '"Tokyo Metropolis"@en', 1))
    with pytest.raises(KGError, match=r"dated 2026-12-07, before 1\.0\.0's 2026-12-08"):
        release("1.0.1", issued="2026-12-07", project=scratch, validate=False)
    assert sorted(p.name for p in (scratch.build_dir / "release").iterdir()) == ["1.0.0"]
    release("1.0.1", issued="2026-12-08", project=scratch, validate=False)  # the same day
