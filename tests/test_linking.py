"""Links to Wikidata: offline checks, and the client against a local stand-in server.

No test touches the network: pytest-httpserver serves Wikidata-shaped answers
(tests/data/wikidata/) on 127.0.0.1, and stops with the test.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from werkzeug import Request, Response

from kg.errors import KGError
from kg.namespaces import expand
from kg.project import Project
from kg.queries import query
from kg.registry import __version__
from kg.wikidata.candidates import no_item_search, suggest
from kg.wikidata.check import check, verify
from kg.wikidata.client import WikidataClient, qid
from kg.wikidata.records import accept, read_state
from kg.wikidata.report import link_report

from . import quickstatements

FIXTURES = Path(__file__).parent / "data" / "wikidata"
ENTITIES = {
    **json.loads((FIXTURES / "entities-david-levy.json").read_text())["entities"],
    **json.loads((FIXTURES / "entities-verify.json").read_text())["entities"],
}
HEADER = (Path(__file__).resolve().parent.parent / "data" / "wikidata.ttl").read_text().split(
    "\n\n")[0]
RELATION_JA = "日本とイスラエルの関係"


def api_answer(request: Request) -> Response:
    """Answers like Wikidata's action API for the fixtures."""
    args = request.args
    assert args.get("format") == "json" and args.get("maxlag") == "5"
    if args.get("action") == "wbsearchentities":
        doc = (json.loads((FIXTURES / "search-david-levy.json").read_text())
               if args.get("search") == "David Levy" else {"search": [], "success": 1})
        if args.get("search") == RELATION_JA and args.get("language") == "ja":
            doc = {"search": [{"id": "Q99900003", "label": "Levy", "description": "(fixture)",
                               "match": {"type": "label", "language": "ja",
                                         "text": RELATION_JA}}], "success": 1}
    elif args.get("action") == "wbgetentities":
        found = {}
        for q in args["ids"].split("|"):
            entity = ENTITIES.get(q) or next(
                (e for e in ENTITIES.values() if e.get("redirects", {}).get("from") == q),
                {"id": q, "missing": ""})
            found[entity.get("id", q)] = entity
        doc = {"entities": found, "success": 1}
    else:
        doc = {"error": {"code": "badvalue", "info": "unknown action"}}
    return Response(json.dumps(doc), content_type="application/json")


@pytest.fixture
def api(httpserver):
    httpserver.expect_request("/w/api.php").respond_with_handler(api_answer)
    return httpserver.url_for("/w/api.php")


def client_for(url: str, tmp_path: Path, **kw) -> tuple[WikidataClient, list[float]]:
    slept: list[float] = []
    client = WikidataClient(api=url, cache_dir=tmp_path / "cache", sleep=slept.append, **kw)
    return client, slept


# -- the project's own links --------------------------------------------------


def test_project_links_pass_the_offline_check(project: Project, kg_cli) -> None:
    assert check(project) == []
    r = kg_cli("link", "check", root=project.root)
    assert r.code == 0 and r.out.startswith("0 problem(s); 40 confirmed link(s)")


def test_every_link_has_evidence_and_canonical_iri(project: Project) -> None:
    state = read_state(project)
    confirmed = [r for r in state.records.values() if r.status == "Confirmed"]
    assert len(confirmed) == 40
    for rec in confirmed:
        assert qid(rec.target) and len(rec.evidence) > 40, rec.iri
    # the father is linked, and the namesake guard keeps the son's item out
    herzog = state.record_for("https://w3id.org/israel-japan-kg/id/person/chaim-herzog")
    assert herzog.status == "Confirmed"
    assert herzog.target == "http://www.wikidata.org/entity/Q295141"
    assert herzog.distinct_from == ["http://www.wikidata.org/entity/Q983258"]


@pytest.mark.parametrize(("addition", "problem"), [
    ("person:gilad-cohen skos:exactMatch wd:Q1 .",
     "linked to http://www.wikidata.org/entity/Q1 but its record says Unconfirmed"),
    ("person:gilad-cohen skos:exactMatch wd:Q132345 .", "shared by"),
    ("person:shinzo-abe skos:exactMatch wd:Q2 .", "linked to 2 items"),
    ("person:chaim-herzog skos:exactMatch wd:Q983258 .", "names as a namesake"),
    ("person:gilad-cohen skos:exactMatch <https://www.wikidata.org/wiki/Q9> .",
     "not a canonical Wikidata entity IRI"),
    ("person:new-person a ij:Person ; rdfs:label \"New Person\"@en .",
     "person:new-person: neither linked nor listed"),
    ("link:x a ij:WikidataLink ; ij:linkSubject person:x ; ij:linkStatus ij:NoItem ; "
     "ij:candidate wd:Q5 ; ij:evidence \"Wikidata's search for X returned nothing.\"@en .",
     "says Wikidata has no item, yet names candidate(s) http://www.wikidata.org/entity/Q5"),
    ("link:x a ij:WikidataLink ; ij:linkSubject person:x ; ij:linkStatus ij:NoItem ; "
     "ij:evidence \"none\"@en .", "a 'no item' record needs the search it rests on"),
])
def test_check_finds_each_kind_of_problem(addition, problem, scratch: Project, kg_cli) -> None:
    (scratch.data_dir / "extra.ttl").write_text(HEADER + "\n\n" + addition + "\n")
    problems = check(scratch)
    assert any(problem in p for p in problems), problems
    r = kg_cli("link", "check", root=scratch.root)
    assert r.code == 1 and problem in r.out


def test_each_link_task_takes_its_own_options(project: Project, kg_cli) -> None:
    r = kg_cli("link", "check", "--type", "Person", root=project.root)
    assert r.code == 2 and "unrecognized arguments: --type" in r.err
    assert "'kg link check --help'" in r.err
    r = kg_cli("link", "report", "--no-item", "office:mayor-of-nagasaki", root=project.root)
    assert r.code == 2 and "unrecognized arguments: --no-item" in r.err
    r = kg_cli("link", root=project.root)
    assert r.code == 2 and "the following arguments are required: TASK" in r.err
    r = kg_cli("link", "sugest", root=project.root)
    assert r.code == 2 and "invalid choice: 'sugest'" in r.err
    r = kg_cli("link", "accept", "person:david-levy", root=project.root)
    assert r.code == 2 and "wants RESOURCE=QID" in r.err


@pytest.mark.parametrize(("old", "new", "warning"), [
    (["--check"], ["check"], "'kg link --check' is now 'kg link check'"),
    (["--report", "--markdown"], ["report", "--markdown"], "is now 'kg link report'"),
    (["--suggest", "--no-item", "person:nobody-at-all", "--offline"],
     ["no-item", "person:nobody-at-all", "--offline"],
     "'kg link --suggest --no-item' is now 'kg link no-item'"),
    (["--suggest", "Nobody", "--offline", "--accept", "person:nobody-at-all=Q1"],
     ["accept", "person:nobody-at-all=Q1", "--offline"],
     "'kg link --suggest --accept' is now 'kg link accept'"),
])
def test_the_old_link_flags_still_work_for_a_release(old, new, warning, project: Project,
                                                     kg_cli) -> None:
    was, now = kg_cli("link", *old, root=project.root), kg_cli("link", *new, root=project.root)
    assert (was.code, was.out) == (now.code, now.out)
    first, rest = was.err.split("\n", 1)
    assert first.startswith("kg: warning: ") and warning in first
    assert first.endswith("the old flags go in the next release") and rest == now.err


# -- the HTTP client ------------------------------------------------------------


def test_client_identifies_itself_and_caches(httpserver, tmp_path: Path) -> None:
    seen = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("User-Agent", ""))
        return api_answer(request)

    httpserver.expect_request("/w/api.php").respond_with_handler(handler)
    client, _ = client_for(httpserver.url_for("/w/api.php"), tmp_path)
    first = client.search("David Levy")
    assert [h["id"] for h in first] == ["Q99900002", "Q99900003", "Q99900001"]
    assert client.search("David Levy") == first
    assert len(seen) == 1  # the second answer came from the cache
    assert seen[0].startswith(f"israel-japan-kg/{__version__} (https://w3id.org/israel-japan-kg")
    httpserver.clear()  # from here on the server answers nothing: offline must not ask it
    offline, _ = client_for(client.api, tmp_path, offline=True)
    assert offline.search("David Levy") == first
    with pytest.raises(KGError, match="offline, and Wikidata's answer"):
        offline.search("Someone Else")


def test_429_with_retry_after_is_honoured(httpserver, tmp_path: Path) -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "7"})
        return api_answer(request)

    httpserver.expect_request("/w/api.php").respond_with_handler(handler)
    client, slept = client_for(httpserver.url_for("/w/api.php"), tmp_path)
    assert client.search("David Levy")
    assert slept == [7.0] and len(calls) == 2


def test_maxlag_error_waits_and_retries(httpserver, tmp_path: Path) -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            body = {"error": {"code": "maxlag", "info": "Waiting for a database server"}}
            return Response(json.dumps(body), content_type="application/json",
                            headers={"Retry-After": "3"})
        return api_answer(request)

    httpserver.expect_request("/w/api.php").respond_with_handler(handler)
    client, slept = client_for(httpserver.url_for("/w/api.php"), tmp_path)
    assert client.search("David Levy") and slept == [3.0]


def test_too_long_a_wait_is_refused(httpserver, tmp_path: Path) -> None:
    httpserver.expect_request("/w/api.php").respond_with_data(
        "", status=503, headers={"Retry-After": "3600"})
    client, slept = client_for(httpserver.url_for("/w/api.php"), tmp_path)
    with pytest.raises(KGError, match="asked to wait 3600 s"):
        client.search("David Levy")
    assert slept == []


def test_timeouts_are_retried_with_backoff_then_fail(httpserver, tmp_path: Path) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return api_answer(request)

    httpserver.expect_request("/w/api.php").respond_with_handler(slow)
    client, slept = client_for(httpserver.url_for("/w/api.php"), tmp_path, timeout=0.1,
                               retries=2)
    with pytest.raises(KGError, match=r"after 3 attempts: no answer within 0\.1 s"):
        client.search("David Levy")
    assert slept == [1.0, 2.0]
    assert not list((tmp_path / "cache").glob("*.json"))


def test_connection_refused_is_a_clear_error(tmp_path: Path) -> None:
    client, slept = client_for("http://127.0.0.1:9/w/api.php", tmp_path, retries=1)
    with pytest.raises(KGError, match="could not be reached after 2 attempts: cannot connect"):
        client.entities(["Q1"])
    assert slept == [1.0]


def test_network_failure_in_the_cli_leaves_data_untouched(httpserver, project: Project,
                                                          kg_cli) -> None:
    httpserver.expect_request("/w/api.php").respond_with_data("broken", status=500)
    before = hashlib.sha256((project.data_dir / "wikidata.ttl").read_bytes()).hexdigest()
    r = kg_cli("link", "verify", "--api", httpserver.url_for("/w/api.php"), root=project.root)
    assert r.code == 2 and r.err == "kg: error: Wikidata answered HTTP 500 to wbgetentities\n"
    after = hashlib.sha256((project.data_dir / "wikidata.ttl").read_bytes()).hexdigest()
    assert before == after


# -- suggest, accept, verify ------------------------------------------------------


@pytest.fixture
def unlinked(scratch: Project) -> Project:
    """The scratch copy with David Levy unlinked again: the Wikidata-shaped fixtures
    (tests/data/wikidata/) were written for his namesakes, to exercise --suggest."""
    path = scratch.data_dir / "wikidata.ttl"
    text = path.read_text(encoding="utf-8")
    start = text.index("person:david-levy skos:exactMatch")
    end = text.index("\n\n", text.index("link:person-david-levy a ij:WikidataLink", start))
    path.write_text(text[:start] + (
        "link:person-david-levy a ij:WikidataLink ;\n"
        "    ij:linkSubject person:david-levy ;\n"
        "    ij:linkStatus ij:Unconfirmed ;\n"
        '    ij:evidence "Unlinked for a test of kg link --suggest."@en ;\n'
        '    dcterms:date "2026-11-26"^^xsd:date .') + text[end:], encoding="utf-8")
    return scratch


def test_suggest_ranks_the_namesake_that_fits(api, unlinked: Project, tmp_path: Path) -> None:
    client, _ = client_for(api, tmp_path)
    ranked = suggest(["David Levy"], client=client, project=unlinked)
    assert [s.candidate for s in ranked] == ["Q99900001", "Q99900002", "Q99900003"]
    best = ranked[0]
    assert "instance of Q5" in best.reasons and "country/citizenship Q801" in best.reasons
    assert ranked[1].score < best.score  # the American namesake: citizenship Q30, not Q801
    assert "not an instance of Q5" in ranked[2].reasons  # the family name


def test_suggest_then_accept_through_the_cli(api, unlinked: Project, kg_cli) -> None:
    scratch = unlinked
    r = kg_cli("link", "suggest", "David Levy", "--api", api, root=scratch.root)
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[1].startswith("person:david-levy") and "Q99900001" in lines[1]
    r = kg_cli("link", "accept", "person:david-levy=Q99900001", "--api", api, "--offline",
               root=scratch.root)
    assert r.code == 0, r.err
    state = read_state(scratch)
    rec = state.record_for("https://w3id.org/israel-japan-kg/id/person/david-levy")
    assert rec.status == "Confirmed" and rec.target.endswith("/Q99900001")
    assert "kg link accept" in rec.evidence
    assert kg_cli("link", "check", root=scratch.root).code == 0
    assert kg_cli("validate", root=scratch.root).code == 0


def test_accept_refuses_what_was_not_ranked_or_a_namesake(api, unlinked: Project,
                                                         kg_cli) -> None:
    scratch = unlinked
    r = kg_cli("link", "accept", "person:david-levy=Q42", "--api", api, root=scratch.root)
    assert r.code == 2 and "not a ranked candidate" in r.err
    with pytest.raises(KGError, match="namesake"):
        accept("https://w3id.org/israel-japan-kg/id/person/chaim-herzog", "Q983258",
                       evidence="x" * 30, checks="x", project=scratch)


def test_accept_takes_an_item_as_copied_and_refuses_a_non_id_before_asking(
        api, unlinked: Project, kg_cli) -> None:
    """An item as one copies it from Wikidata (its page's address, wd:Q…) is the item; a
    word that is no item ID is refused at once, where it was sent to Wikidata first (15 s
    of retries without a network) and then refused as 'not a ranked candidate' (s35-user)."""
    scratch = unlinked
    r = kg_cli("link", "accept", "person:david-levy=Levy", "--offline", root=scratch.root)
    assert r.code == 2 and r.err == ("kg: error: 'Levy' is not a Wikidata item ID "
                                     "(Q followed by digits, e.g. Q132345)\n"), r.err
    assert kg_cli("link", "suggest", "David Levy", "--api", api, root=scratch.root).code == 0
    r = kg_cli("link", "accept", "person:david-levy=https://www.wikidata.org/wiki/Q99900001",
               "--api", api, "--offline", root=scratch.root)
    assert r.code == 0, r.err
    assert r.err.startswith("linked person:david-levy to Q99900001 in "), r.err
    rec = read_state(scratch).record_for("https://w3id.org/israel-japan-kg/id/person/david-levy")
    assert rec.status == "Confirmed" and rec.target.endswith("/Q99900001")
    # and says so where one looks first: the help named only 'Q…' (s35-new)
    assert "q123, wd:Q123, its page's address" in " ".join(
        kg_cli("link", "accept", "--help", root=scratch.root).out.split())


@pytest.mark.parametrize(("args", "message"), [
    # a linked resource said 'no unlinked resource named <its full IRI>'
    (["suggest", "Shinzo Abe"],
     "already linked: person:shinzo-abe to Q132345 ('kg link verify' re-checks a link)"),
    (["accept", "person:shinzo-abe=Q132345"],
     "already linked: person:shinzo-abe to Q132345 ('kg link verify' re-checks a link)"),
    (["suggest", "Kabun Mutto"],
     "no unlinked resource named Kabun Mutto; did you mean Kabun Muto?"),
    # a misspelt prefixed name came back as its full IRI, with no hint (s35-new)
    (["accept", "person:kabun-mutto=Q1"],
     "no unlinked resource named person:kabun-mutto; did you mean person:kabun-muto?"),
])
def test_suggest_and_accept_say_why_a_name_has_nothing_to_suggest(args, message, project,
                                                                  kg_cli) -> None:
    r = kg_cli("link", *args, "--offline", root=project.root)
    assert r.code == 2 and r.err == f"kg: error: {message}\n", r.err


def test_suggest_takes_a_class_in_any_case(api, unlinked: Project, kg_cli) -> None:
    """--type person, as one types it, was 'unknown class 'person'' (s35-user)."""
    r = kg_cli("link", "suggest", "--type", "person", "--api", api, root=unlinked.root)
    assert r.code == 0, r.err
    assert any(line.startswith("person:david-levy") for line in r.out.splitlines()), r.out


def test_no_item_is_recorded_from_a_search_that_found_nothing(api, scratch: Project,
                                                              kg_cli) -> None:
    office = "office:japanese-consular-affairs-director-general"
    before = link_report(scratch)
    r = kg_cli("link", "no-item", office, "--api", api, root=scratch.root)
    assert r.code == 0, r.err
    assert "recorded that Wikidata has no item for " + office in r.err
    rec = read_state(scratch).record_for(expand(office))
    assert rec.status == "NoItem" and rec.target is None and not rec.candidates
    label = read_state(scratch).labels[expand(office)]
    assert f"'{label}' (en, 0 hit(s))" in rec.evidence and "returned no item" in rec.evidence
    assert kg_cli("link", "check", root=scratch.root).code == 0
    assert kg_cli("validate", root=scratch.root).code == 0
    # the resource leaves the linkable count and the list of what is left
    after = link_report(scratch)
    assert after.all.no_item == 1 and after.all.linkable == before.all.linkable - 1
    assert after.all.share > before.all.share
    assert all(name != office for name, _, _ in after.left)
    text = after.to_text()
    assert f"no Wikidata item (1):\n- {office}: Wikidata's search" in text


def test_no_item_is_refused_when_the_search_finds_a_fitting_item(api, unlinked: Project,
                                                                 kg_cli) -> None:
    path = unlinked.data_dir / "wikidata.ttl"
    before = path.read_bytes()
    # an Israeli politician named David Levy: he may well be the resource
    r = kg_cli("link", "no-item", "person:david-levy", "--api", api,
               root=unlinked.root)
    assert r.code == 2 and "may be person:david-levy" in r.err and "Q99900001" in r.out
    # a linked resource is never recorded as having no item
    r = kg_cli("link", "no-item", "person:shinzo-abe", "--api", api,
               root=unlinked.root)
    assert r.code == 2 and "is linked to http://www.wikidata.org/entity/Q132345" in r.err
    # a name that is no resource, and a resource that is not linkable: one line each
    for bad in ("person:nobody-at-all", "visit:1988-sousuke-uno"):
        r = kg_cli("link", "no-item", bad, "--api", api, root=unlinked.root)
        assert r.code == 2 and f"{bad} is not a linkable resource" in r.err, r.err
        assert "Traceback" not in r.err
    assert path.read_bytes() == before


def test_no_item_search_asks_in_every_language_of_the_labels(api, scratch: Project,
                                                             tmp_path: Path) -> None:
    client, _ = client_for(api, tmp_path)
    found = no_item_search(expand("relation:israel-japan"), client=client, project=scratch)
    assert [lang for lang, _, _ in found.searches] == ["en", "he", "ja"]
    # the Japanese label matched an item exactly: not a "no item" case, whatever its score
    assert [s.candidate for s in found.fitting] == ["Q99900003"]
    assert "the search matched one of our labels exactly" in found.fitting[0].reasons


def test_verify_reports_redirects_deletions_and_wrong_labels(api, scratch: Project,
                                                             tmp_path: Path, kg_cli) -> None:
    links = {"state:israel": "Q99900030", "person:shinzo-abe": "Q99900031",
             "place:tokyo": "Q99900033", "person:bill-clinton": "Q99900034"}
    blocks = [HEADER]
    for resource, item in links.items():
        slug = resource.replace(":", "-")
        blocks.append(f"{resource} skos:exactMatch wd:{item} .\nlink:{slug} a ij:WikidataLink ;\n"
                      f"    ij:linkSubject {resource} ; ij:linkStatus ij:Confirmed ;\n"
                      f"    ij:linkTarget wd:{item} ;\n"
                      f"    ij:evidence \"test fixture, not a real link\"@en .")
    (scratch.data_dir / "wikidata.ttl").write_text("\n\n".join(blocks) + "\n")
    client, _ = client_for(api, tmp_path)
    results = {r.resource.rsplit("/", 1)[1]: r.problems
               for r in verify(client=client, project=scratch)}
    assert results["israel"] == []
    assert results["shinzo-abe"] == ["the item redirects to Q99900032: link that instead"]
    assert results["tokyo"] == ["the item does not exist (deleted or never created)"]
    assert results["bill-clinton"] == ["its English label is 'Hillary Clinton', not 'Bill Clinton'"]
    r = kg_cli("link", "verify", "--api", api, root=scratch.root)
    assert r.code == 1 and r.out.splitlines()[-1] == "4 link(s) verified, 3 with problems"


# -- federated queries ------------------------------------------------------------


@pytest.mark.parametrize("engine_name", ["oxigraph", "rdflib"])
def test_federated_query_against_a_stand_in_endpoint(engine_name, httpserver, engines) -> None:
    wd = "http://www.wikidata.org/entity/"
    answer = {"head": {"vars": ["item", "born"]}, "results": {"bindings": [
        {"item": {"type": "uri", "value": wd + "Q132345"},
         "born": {"type": "literal", "value": "2000-01-01",
                  "datatype": "http://www.w3.org/2001/XMLSchema#date"}},
        {"item": {"type": "uri", "value": wd + "Q99999999"},
         "born": {"type": "literal", "value": "2000-01-02",
                  "datatype": "http://www.w3.org/2001/XMLSchema#date"}},
    ]}}
    asked = []

    def endpoint(request: Request) -> Response:
        asked.append(request.method)
        return Response(json.dumps(answer), content_type="application/sparql-results+json")

    httpserver.expect_request("/sparql").respond_with_handler(endpoint)
    with pytest.raises(KGError, match="--allow-network"):
        query("wikidata-people", engine=engines[engine_name])
    result = query("wikidata-people", engine=engines[engine_name], allow_network=True,
                   service_map={"https://query.wikidata.org/sparql": httpserver.url_for("/sparql")})
    rows = [(r[1].value, r[3].value) for r in result.rows]
    assert rows == [("Shinzo Abe", "2000-01-01")]  # joined with the local links
    assert asked


def test_network_queries_are_listed_as_such(project: Project, kg_cli) -> None:
    r = kg_cli("query", "wikidata-places", root=project.root)
    assert r.code == 2 and "--allow-network" in r.err


def test_the_share_linked_never_falls_below_the_readme(project) -> None:
    import re


    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"^\| all \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+)% \|$",
                       readme, re.M)
    assert stated, "README.md has no 'all' row of kg link report --markdown"
    report = link_report(project)
    # the README shows the share as the report prints it, rounded to a whole percent
    assert int(f"{report.all.share * 100:.0f}") >= int(stated.group(5))
    assert report.all.linked >= int(stated.group(1))
    table = report.to_text(markdown=True).split("\n\n")[0]
    assert table in readme, "README.md's link table is not kg link report --markdown's"


def test_the_readme_counts_the_link_records_as_the_report_does(project) -> None:
    """The bullets above the table give the same counts as its 'all' row: a record added
    without its bullet updated left 'unconfirmed (46)' over a table of 47."""
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    confirmed = re.search(r"^- \*\*confirmed\*\* \((\d+) today\)", readme, re.M)
    unconfirmed = re.search(r"^- \*\*unconfirmed\*\* \((\d+)\)", readme, re.M)
    no_item = re.search(r"^- \*\*no item\*\* \(([^)]*)\)", readme, re.M)
    assert confirmed and unconfirmed and no_item, "README.md's three kinds of link record"
    counts = link_report(project).all
    assert int(confirmed.group(1)) == counts.linked
    # a candidate is an unconfirmed record that names an ID, as the bullet says
    assert int(unconfirmed.group(1)) == counts.candidate + counts.unconfirmed
    assert no_item.group(1) == ("none yet" if counts.no_item == 0 else str(counts.no_item))


def test_the_commands_the_records_name_are_spelled_as_kg_takes_them(project) -> None:
    """kg link report prints each record's reason; a command it names must run as written,
    not in the spelling kg link only translates, with a warning, until the next release."""
    import re

    from kg.cli import build_parser

    link = build_parser("link").commands["link"]
    tasks = next(a for a in link._actions if a.dest == "task").choices
    text = (project.data_dir / "wikidata.ttl").read_text(encoding="utf-8")
    named = re.findall(r"`kg link ([^`]*)`", text)
    assert named
    wrong = sorted({n for n in named if n.split()[0] not in tasks})
    assert not wrong, f"data/wikidata.ttl names kg link {wrong}: not tasks of kg link"


def test_link_report_counts_every_record_once(project, kg_cli) -> None:
    from kg.wikidata.records import read_state
    from kg.wikidata.report import link_report

    report = link_report(project)
    assert report.all.total == len(read_state(project).records)
    assert len(report.left) == report.all.candidate + report.all.unconfirmed
    r = kg_cli("link", "report", root=project.root)
    assert r.code == 0 and "share linked" in r.out and f"left ({len(report.left)}):" in r.out
    r = kg_cli("link", "check", "--markdown", root=project.root)
    assert r.code == 2 and "unrecognized arguments: --markdown" in r.err


# -- kg link statements -------------------------------------------------------------

def _confirmed_items(project: Project) -> set[str]:
    state = read_state(project)
    return {qid(r.target) for r in state.records.values() if r.status == "Confirmed" and r.target}


def test_statements_are_quickstatements_with_their_reference(project, kg_cli) -> None:
    r = kg_cli("link", "statements", "--offline", root=project.root)
    assert r.code == 0 and "not checked against Wikidata" in r.err
    lines = r.out.splitlines()
    parsed = [quickstatements.parse_v1(line) for line in lines]  # every line, the grammar
    confirmed = _confirmed_items(project)
    candidates = {qid(c) for rec in read_state(project).records.values() for c in rec.candidates}
    article = "https://en.wikipedia.org/wiki/Israel%E2%80%93Japan_relations"
    for item, _prop, value, qualifiers, sources in parsed:
        assert item in confirmed  # only confirmed links, never a candidate
        items = {v for v in (value, *(v for _, v in qualifiers)) if v.startswith("Q")}
        assert items <= confirmed and not items & candidates
        assert [p for p, _ in sources] == ["S143", "S4656", "S813"]
        assert sources[0][1] == "Q328" and sources[1][1].startswith(f'"{article}')
        assert sources[2][1] == "+2026-11-26T00:00:00Z/11"  # data/sources.ttl: pav:retrievedOn
    assert "Q801\tP530\tQ17\tP580\t+1952-05-15T00:00:00Z/11\t" in r.out  # with its start
    assert "Q17\tP530\tQ801\tP580\t+1952-05-15T00:00:00Z/11\t" in r.out
    assert "Q11696\tP1001\tQ30" in r.out  # the office's state is in its name: the article's
    assert "\tP17\t" not in r.out  # every linked organisation's country is general knowledge
    # the summary: statements per property, and what was left out and why
    assert f"{len(lines)} statement(s): P39 " in r.err and "P530 2" in r.err
    assert "left out: 4 P17 value(s): flagged ij:fromGeneralKnowledge" in r.err


def test_the_csv_dialect_says_the_same(project, kg_cli, tmp_path) -> None:
    r = kg_cli("link", "statements", "--offline", "-f", "csv", "-o", str(tmp_path / "qs.csv"),
               root=project.root)
    assert r.code == 0 and r.out == "" and f"wrote {tmp_path / 'qs.csv'}" in r.err
    from kg.wikidata.statements import statements

    result = statements(project=project)
    rows = quickstatements.parse_csv((tmp_path / "qs.csv").read_text())
    assert rows == [quickstatements.parse_v1(line) for line in result.to_text().splitlines()]
    assert any(q for _, _, _, q, _ in rows)  # qualifiers come through the qal columns


def add_abe_tenure(scratch, inside: str = "", after: str = "") -> None:
    """A tenure of Shinzo Abe as Prime Minister of Japan, 2012-12 to 2020, in a scratch copy,
    with ``inside`` (more property lines) and then ``after`` (more statements)."""
    with (scratch.data_dir / "people.ttl").open("a", encoding="utf-8") as f:
        f.write(
            "\n<https://w3id.org/israel-japan-kg/id/tenure/test-abe> a ij:Tenure ;\n"
            "    ij:holder person:shinzo-abe ; ij:officeHeld office:prime-minister-of-japan ;\n"
            '    ij:startDate "2012-12"^^xsd:gYearMonth ; ij:endDate "2020"^^xsd:gYear ;\n'
            f"{inside}    prov:wasDerivedFrom section:history .\n{after}")


def test_the_readme_shows_the_first_five_statements(project) -> None:
    from kg.wikidata.statements import statements

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("The first five lines today:\n\n```\n", 1)[1].split("```", 1)[0]
    assert shown.splitlines() == statements(project=project).to_text().splitlines()[:5]


def test_the_readme_shows_the_current_summary(project) -> None:
    from kg.wikidata.statements import statements

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ kg link statements --offline > build/statements.tsv\n", 1)[1]
    first, shown = shown.split("```", 1)[0].split("\n", 1)  # offline: the first line says so
    assert first.startswith("not checked against Wikidata: offline, and Wikidata's answer")
    assert shown == statements(project=project).summary()


def test_inferred_and_general_knowledge_values_stay_out_of_the_statements(scratch) -> None:
    from kg.wikidata.statements import statements

    add_abe_tenure(scratch, inside="    ij:inferred ij:endDate ;\n",
                   after="office:president-of-the-united-states "
                         "ij:fromGeneralKnowledge ij:jurisdiction .\n")
    text = statements(project=scratch).to_text()
    assert "\tP1001\tQ30" not in text  # flagged: general knowledge
    abe = [line for line in text.splitlines() if line.startswith("Q132345\tP39\tQ274948")]
    assert len(abe) == 1 and "P580\t+2012-12" in abe[0] and "P582" not in abe[0]  # inferred end


def test_statements_keep_the_dates_precision(scratch) -> None:
    from kg.wikidata.statements import statements

    add_abe_tenure(scratch)
    lines = statements(project=scratch).to_text().splitlines()
    abe = [line for line in lines if line.startswith("Q132345\tP39\tQ274948")]
    assert abe == ["Q132345\tP39\tQ274948\tP580\t+2012-12-00T00:00:00Z/10\t"
                   "P582\t+2020-00-00T00:00:00Z/9\tS143\tQ328\tS4656\t"
                   '"https://en.wikipedia.org/wiki/Israel%E2%80%93Japan_relations#History"\t'
                   "S813\t+2026-11-26T00:00:00Z/11"]
    assert quickstatements.parse_v1(abe[0])[3] == (("P580", "+2012-12-00T00:00:00Z/10"),
                                                   ("P582", "+2020-00-00T00:00:00Z/9"))


def test_a_new_flag_declared_like_the_others_keeps_values_out(scratch) -> None:
    from kg.wikidata.statements import statements

    # a third kind of flag, declared as ij:inferred is, on the relation's start and a
    # jurisdiction: both leave the statements, and the summary says why
    with (scratch.data_dir / "relation.ttl").open("a", encoding="utf-8") as f:
        f.write("\n@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
                "@prefix office: <https://w3id.org/israel-japan-kg/id/office/> .\n"
                "ij:fromAnotherSource a owl:AnnotationProperty ; rdfs:range rdf:Property ;\n"
                '    rdfs:label "from another source"@en ; rdfs:comment "A test flag."@en .\n'
                "relation:israel-japan ij:fromAnotherSource ij:startDate .\n"
                "office:prime-minister-of-japan ij:fromAnotherSource ij:jurisdiction .\n")
    result = statements(project=scratch)
    text = result.to_text()
    assert "Q801\tP530\tQ17\tS143" in text and "\tP580\t+1952" not in text
    assert "Q274948\tP1001" not in text
    summary = result.summary()
    assert "left out: 1 P1001 value(s): flagged ij:fromAnotherSource" in summary
    assert "left out: 2 P580 value(s): qualifier flagged ij:fromAnotherSource" in summary


def test_without_a_retrieval_date_the_summary_says_so(scratch) -> None:
    from kg.wikidata.statements import statements

    sources = scratch.data_dir / "sources.ttl"
    text = sources.read_text()
    assert 'pav:retrievedOn "2026-11-26"^^xsd:date' in text
    text = text.replace(' ;\n    # the day the pinned text', ' .\n    # the day the pinned text')
    sources.write_text(text.replace('    pav:retrievedOn "2026-11-26"^^xsd:date .', ""))
    result = statements(project=scratch)
    assert "\tS813\t" not in result.to_text()
    assert "no retrieval date in the data" in result.summary()


SYNTHETIC_ARTICLE = ("Infobox\n- Founded: 1952\nHistory\nThe two   states\nopened relations. "
                     "Then more.\n")


def _cite(scratch, start: int, end: int, text: str) -> None:
    """A unit of the History section at [start, end) of SYNTHETIC_ARTICLE, with the
    fingerprint of ``text``, cited by Japan's diplomatic relation with Israel (a
    reification node with ij:statedIn, as issue 22 models citations)."""
    fingerprint = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
    places = scratch.data_dir / "places.ttl"  # the article's own unit of it steps aside
    places.write_text(places.read_text(encoding="utf-8").replace(
        "ij:diplomaticRelation state:israel {| ij:statedIn unit:lead-1 |}",
        "ij:diplomaticRelation state:israel"), encoding="utf-8")
    with (scratch.data_dir / "relation.ttl").open("a", encoding="utf-8") as f:
        f.write(
            "\n@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
            "<https://w3id.org/israel-japan-kg/unit/history-1>\n"
            "    dcterms:isPartOf section:history ;\n"
            f"    ij:startOffset {start} ; ij:endOffset {end} ;\n"
            f'    ij:fingerprint "{fingerprint}" .\n'
            "<https://w3id.org/israel-japan-kg/citation/test>\n"
            "    rdf:subject state:japan ; rdf:predicate ij:diplomaticRelation ;\n"
            "    rdf:object state:israel ;\n"
            "    ij:statedIn <https://w3id.org/israel-japan-kg/unit/history-1> .\n")


def test_a_cited_statement_names_its_sentences_section_and_quotes_it(scratch) -> None:
    from kg.wikidata.statements import statements

    start = SYNTHETIC_ARTICLE.index("The two")
    end = SYNTHETIC_ARTICLE.index(" Then")
    _cite(scratch, start, end, SYNTHETIC_ARTICLE[start:end])
    history = '"https://en.wikipedia.org/wiki/Israel%E2%80%93Japan_relations#History"'
    line = next(s.line() for s in statements(project=scratch).new
                if (s.item, s.prop) == ("Q17", "P530"))
    assert f"\tS4656\t{history}\t" in line and "S1683" not in line  # no article: no quote
    quoted = next(s.line() for s in statements(project=scratch, article=SYNTHETIC_ARTICLE).new
                  if (s.item, s.prop) == ("Q17", "P530"))
    assert quoted.endswith('\tS1683\ten:"The two states opened relations."')
    assert quickstatements.parse_v1(quoted)[4][-1][0] == "S1683"
    # another text of the article (the fingerprint differs): no quote rather than a wrong one
    other = SYNTHETIC_ARTICLE.replace("opened", "began")
    assert "S1683" not in next(s.line() for s in statements(project=scratch, article=other).new
                               if (s.item, s.prop) == ("Q17", "P530"))


def test_statements_say_when_the_article_given_is_not_the_pinned_text(project, kg_cli,
                                                                      tmp_path) -> None:
    """--article with another file (another revision, a wrong path's neighbour) gave no
    quote to any statement, exit 0, and said nothing (s35-user)."""
    other = tmp_path / "other.txt"
    other.write_text("Not the article at all.\n" * 400, encoding="utf-8")
    r = kg_cli("link", "statements", "--offline", "--article", str(other), root=project.root)
    assert r.code == 0 and "S1683" not in r.out
    n = len(r.out.splitlines())
    assert (f"\n{n} without a quote: the article given differs from the pinned text where "
            "their units are (kg article check FILE lists the changes)\n") in r.err, r.err
    r = kg_cli("link", "statements", "--offline", root=project.root)  # none asked: no word
    assert "without a quote" not in r.err


def test_the_grammar_refuses_what_quickstatements_would(project) -> None:
    for bad in ("Q1\tP2", "Q1\tP2\tQ3\tS143", 'Q1\tP2\t"a"b"', "X1\tP2\tQ3",
                "Q1\tP2\t+2020-05-00T00:00:00Z/11", "Q1\tP2\t+2020-00-00T00:00:00Z/10",
                "Q1\tP2\tQ3\tS1\tQ4\tP5\tQ6"):
        with pytest.raises(ValueError):
            quickstatements.parse_v1(bad)
    for bad in ("P1,qid\n", "qid,qal580,P39\nQ1,+2020-00-00T00:00:00Z/9,Q2\n",
                "qid,P39,s4656\nQ1,Q2,\"x\"\n", "qid,P39,S143\nQ1,,Q328\n"):
        with pytest.raises(ValueError):
            quickstatements.parse_csv(bad)


def test_statements_already_on_wikidata_are_left_out(httpserver, tmp_path, project) -> None:
    from kg.wikidata.statements import leave_out_present, statements

    def handler(request: Request) -> Response:
        ids = request.args["ids"].split("|")
        entities = {q: {"id": q, "claims": {}} for q in ids}
        entities["Q132345"]["claims"]["P39"] = [
            {"mainsnak": {"datavalue": {"value": {"id": "Q274948"}}}}]
        return Response(json.dumps({"entities": entities, "success": 1}),
                        content_type="application/json")

    httpserver.expect_request("/w/api.php").respond_with_handler(handler)
    client, _ = client_for(httpserver.url_for("/w/api.php"), tmp_path)
    result = leave_out_present(statements(project=project), client)
    assert [(s.item, s.prop, s.value) for s in result.present] == [("Q132345", "P39", "Q274948")]
    assert all(s.item != "Q132345" for s in result.new) and result.unchecked is None


def test_a_class_two_levels_under_a_linkable_one_is_linkable(scratch: Project) -> None:
    """read_state follows rdfs:subClassOf all the way up: an ambassador class under
    ij:Envoy, itself under ij:Person, makes its members people to link."""
    (scratch.ontology_dir / "extra.ttl").write_text(
        "@prefix ij: <https://w3id.org/israel-japan-kg/ontology#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'ij:TestAmbassador a owl:Class ; rdfs:label "Test ambassador"@en ;\n'
        "    rdfs:subClassOf ij:Envoy .\n", encoding="utf-8")
    (scratch.data_dir / "extra.ttl").write_text(
        "@prefix ij: <https://w3id.org/israel-japan-kg/ontology#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://w3id.org/israel-japan-kg/id/person/test-ambassador> a ij:TestAmbassador ;\n"
        '    rdfs:label "Test Ambassador"@en .\n', encoding="utf-8")
    state = read_state(scratch)
    iri = "https://w3id.org/israel-japan-kg/id/person/test-ambassador"
    assert {"TestAmbassador", "Envoy", "Person"} <= state.types[iri]
    assert iri in state.linkable()
