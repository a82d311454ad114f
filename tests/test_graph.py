"""Loading: every Turtle file into one graph, errors as file:line, a safe cache."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from rdflib import RDF, URIRef

from kg.errors import KGError
from kg.namespaces import ID, IJ
from kg.project import Project
from kg.store.loading import cached_ntriples, load, parse_files

from .conftest import KG, ROOT


def test_graph_holds_ontology_and_data(project: Project) -> None:
    g = load(project)
    assert (URIRef(ID + "relation/israel-japan"), RDF.type, URIRef(IJ + "BilateralRelation")) in g
    assert len(set(g.subjects(RDF.type, URIRef(IJ + "Visit")))) == 27
    assert (URIRef(IJ + "Visit"), None, None) in g  # the ontology is part of the graph


def test_shapes_are_not_part_of_the_graph(project: Project) -> None:
    assert all("shapes" not in p.parts for p in project.graph_files())
    g = load(project)
    assert not list(g.subjects(RDF.type, URIRef("http://www.w3.org/ns/shacl#NodeShape")))


def test_syntax_error_names_file_and_line(scratch: Project) -> None:
    bad = scratch.data_dir / "broken.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n')
    with pytest.raises(KGError) as e:
        parse_files([bad], scratch)
    assert e.value.message.startswith("data/broken.ttl:3: ")
    assert e.value.exit_code == 2


def test_syntax_error_through_cli_is_one_line(scratch: Project, kg_cli) -> None:
    broken = "@prefix ex: <http://example.org/> .\n\nex:a ex:b\n"
    (scratch.data_dir / "broken.ttl").write_text(broken)
    for args in (["validate"], ["query", "visits"], ["export"], ["stats"]):
        r = kg_cli(*args, root=scratch.root)
        assert r.code == 2, args
        assert r.err.startswith("kg: error: data/broken.ttl:"), r.err
        assert "Traceback" not in r.err and r.err.count("\n") == 1
        assert r.out == ""


def test_blank_nodes_are_refused(scratch: Project) -> None:
    f = scratch.data_dir / "bnode.ttl"
    f.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b [ ex:c ex:d ] .\n")
    with pytest.raises(KGError, match="blank node"):
        parse_files([f], scratch)


def test_unreadable_file_is_a_clear_error(scratch: Project) -> None:
    f = scratch.data_dir / "latin1.ttl"
    f.write_bytes(b"# caf\xe9\n")
    with pytest.raises(KGError, match=r"data/latin1\.ttl: cannot read"):
        parse_files([f], scratch)


def test_cache_is_reused_when_inputs_are_unchanged(scratch: Project) -> None:
    first = cached_ntriples(scratch)
    stamp = first.stat().st_mtime_ns
    assert cached_ntriples(scratch) == first
    assert first.stat().st_mtime_ns == stamp


def test_cache_follows_changes_and_drops_stale_files(scratch: Project) -> None:
    first = cached_ntriples(scratch)
    with (scratch.data_dir / "places.ttl").open("a") as f:
        f.write('\nplace:tokyo <http://www.w3.org/2004/02/skos/core#altLabel> "Edo"@en .\n')
    second = cached_ntriples(scratch)
    assert second != first and not first.exists()
    assert '"Edo"@en' in second.read_text()


def test_corrupt_cache_is_rebuilt(scratch: Project) -> None:
    path = cached_ntriples(scratch)
    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # truncated, as by a crash or a full disk
    g = load(scratch)
    assert len(g) == len(good.splitlines()) - 1
    assert path.read_text() == good


def test_concurrent_cold_runs_agree(scratch: Project) -> None:
    def run(_: int) -> tuple[int, str]:
        cmd = [str(KG), "--root", str(scratch.root), "query", "residents", "-f", "csv"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    assert {code for code, _ in results} == {0}
    assert len({out for _, out in results}) == 1
    assert len(list((scratch.build_dir / "cache").glob("graph-*.nt"))) == 1
    assert not list((scratch.build_dir / "cache").glob(".*.tmp"))


def _age_inputs(project: Project, seconds: int = 60) -> None:
    import os
    import time

    past = time.time_ns() - seconds * 1_000_000_000
    for path in project.graph_files() + project.shape_files():
        os.utime(path, ns=(past, past))


def test_a_stamped_cache_is_found_without_reading_or_hashing_inputs(scratch, monkeypatch) -> None:
    _age_inputs(scratch)
    first = cached_ntriples(scratch)  # verifies by content, then stamps

    def no_hashing(*args, **kwargs):
        raise AssertionError("the inputs were hashed although the stamp matched")

    monkeypatch.setattr(Project, "content_key", no_hashing)
    assert cached_ntriples(scratch) == first


def test_the_stamp_sends_changed_or_fresh_inputs_the_slow_way(scratch, monkeypatch) -> None:
    _age_inputs(scratch)
    first = cached_ntriples(scratch)
    calls = []
    real = Project.content_key
    monkeypatch.setattr(Project, "content_key", lambda self, *a: calls.append(1) or real(self, *a))
    places = scratch.data_dir / "places.ttl"
    places.write_text(places.read_text() + "\n# touched\n")  # changed size and time
    second = cached_ntriples(scratch)
    assert calls and second != first
    calls.clear()
    assert cached_ntriples(scratch) == second and calls  # just edited: racily clean, hash again
    _age_inputs(scratch)
    cached_ntriples(scratch)
    calls.clear()
    assert cached_ntriples(scratch) == second and not calls
    second.write_bytes(second.read_bytes()[:-10])  # the cache itself damaged
    assert cached_ntriples(scratch) == second and calls
    assert second.read_bytes().endswith(b" .\n")


def test_the_readmes_query_for_unstated_facts_finds_what_kg_stats_counts(kg_cli, ox_engine) -> None:
    """A researcher citing the graph asked which facts are not the article's: kg stats
    counted them and kg sources showed them one entity at a time, but nothing listed
    them all (s36-newcomer). The README's query lists each flagged fact no unit states."""
    import csv
    import io
    import re
    from collections import Counter

    from kg.statistics import stats

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^kg query -e '(SELECT \?s \?p \?o \?flag [^']+)'$", readme, re.M)
    assert m, "README.md lost its query for the facts no unit states"
    r = kg_cli("query", "-e", m[1], "-f", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    flags = Counter(row["flag"].rsplit("#", 1)[1] for row in rows)
    bases = dict(stats(engine=ox_engine).bases)
    assert flags == {"inferred": bases["inferred"],
                     "fromGeneralKnowledge": bases["general knowledge"]}, (flags, bases)


#: the README's words for the classes `kg stats` counts (its labels)
README_CLASSES = {"visits": "Visit", "agreements": "Agreement", "tenures": "Tenure",
                  "missions": "Diplomatic mission", "figures": "Observation", "events": "Event",
                  "eras": "Era", "people": "Person", "organisations": "Organisation",
                  "groups": "Group",
                  "sentences": "Sentence", "infobox rows": "Infobox row",
                  "table rows": "Table row", "list items": "List item"}  # fmt: skip


def test_the_readme_shows_what_kg_stats_prints(ox_engine) -> None:
    """Every figure of README's "What the graph holds" is today's (issue 23: the README
    once gave three triple counts, none of them current)."""
    import re

    from kg.statistics import stats

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split("## What the graph holds", 1)[1].split("\n## ", 1)[0].split())
    s = stats(engine=ox_engine)
    per_class = {label: n for _, label, n in s.classes}

    def number(pattern: str) -> int:
        m = re.search(pattern, text)
        assert m, f"README.md's 'What the graph holds' lost: {pattern}"
        return int(m.group(1).replace(",", ""))

    assert number(r"`kg stats` on the current data: ([\d,]+) triples") == s.triples
    for words, label in README_CLASSES.items():
        assert number(rf"([\d,]+) {words}\b") == per_class[label], words
    sections = number(r"every one of the (\d+) article sections contributes facts")
    assert sections == per_class["Article section"] == len([n for *_, n in s.sections if n])
    assert number(r"Every stated fact cites its units — (\d+) of them") == per_class["Text unit"]
    bases = dict(s.bases)
    assert number(r"Of the ([\d,]+) facts about the graph's resources") == sum(bases.values())
    assert number(r"through ([\d,]+) citation nodes") == bases["stated"]
