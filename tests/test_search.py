"""Search that finds events (issue 25): by name, alternative name, year or date, and the
words of notes; and the relation's page and its events name each other by triples."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from kg.namespaces import ID
from kg.project import Project
from kg.search import SearchIndex
from kg.web.app import create_app
from kg.web.settings import Settings

RECOGNITION = "event/japan-recognises-israel"


@pytest.fixture(scope="module")
def index(ox_engine) -> SearchIndex:
    return SearchIndex.from_engine(ox_engine)


@pytest.fixture(scope="module")
def client(project: Project) -> TestClient:
    return TestClient(create_app(project, Settings(workers=1)))


@pytest.mark.parametrize("words", ["1952", "recognition", "establish", "1952-05",
                                   "Recognition 1952", "ESTABLISHMENT"])
def test_the_1952_recognition_is_found(index: SearchIndex, words: str) -> None:
    assert RECOGNITION in [h.id for h in index.search(words)]


def test_every_word_must_be_found_and_says_where(index: SearchIndex) -> None:
    hits = index.search("1952 recognition")
    assert [h.id for h in hits] == [RECOGNITION]
    assert hits[0].why == "1952-05-15; name" and hits[0].name == "Japan recognises Israel"
    assert [h.id for h in index.search("legation")][:1] != []  # a word of a name
    assert "event/japan-defers-to-arab-boycott" in [h.id for h in index.search("boycott")]
    # a word only in a note (not "industrialised": the group it describes is named so now)
    by_note = index.search("capitalists")
    assert "event/trade-expansion" in [h.id for h in by_note]
    assert all(h.why == "note" for h in by_note)
    assert index.search("1952 nosuchword") == [] and index.search("  ") == []


def test_the_search_page_finds_by_year_and_word(client: TestClient) -> None:
    for words in ("1952", "recognition", "establish"):
        page = client.get("/search", params={"q": words}).text
        assert f'href="/id/{RECOGNITION}"' in page, words
    page = client.get("/search", params={"q": "1952"}).text
    assert "found in: 1952-05-15" in page
    assert 'href="/id/person/benjamin-netanyahu"' in client.get(
        "/search", params={"q": "Benjamin Netanyahou"}).text  # a slip: the closest names


def test_the_relation_and_its_events_name_each_other(client: TestClient) -> None:
    relation = client.get("/id/relation/israel-japan", headers={"Accept": "text/html"}).text
    for path in (RECOGNITION, "event/upgrade-to-embassy-level", "era/legation-level",
                 "era/arab-boycott-years", "era/warming"):
        assert f'href="/id/{path}"' in relation, path
    event = client.get(f"/id/{RECOGNITION}", headers={"Accept": "text/html"}).text
    assert 'href="/id/relation/israel-japan"' in event


def test_kg_search_finds_by_a_decade_in_a_dates_wording(project: Project, kg_cli) -> None:
    """The command line had no search: 'kg describe 1990s' found nothing and offered
    nothing (s34-newcomer), while /search found the deference to the boycott."""
    r = kg_cli("search", "1990s", root=project.root)
    assert r.code == 0, r.err
    assert r.out.splitlines()[2].startswith("event:japan-defers-to-arab-boycott ")
    doc = json.loads(kg_cli("search", "1952", "relation", "-f", "json", "-n", "1",
                            root=project.root).out)
    assert [h["iri"] for h in doc] == [ID + "relation/israel-japan"]
    assert doc[0]["found"] == "1952-05-15; name"


@pytest.mark.parametrize("args, code, message", [
    (["zzzz"], 1, "no resource holds every word of 'zzzz'"),
    (["x", "-n", "0"], 2, "kg: error: --limit must be 1 or more, got 0"),
    ([], 2, "the following arguments are required: WORD"),
])
def test_kg_search_says_why_it_found_nothing(args, code, message, project: Project,
                                              kg_cli) -> None:
    r = kg_cli("search", *args, root=project.root)
    assert r.code == code and message in (r.out + r.err) and "Traceback" not in r.err
