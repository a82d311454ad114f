"""The query page as researchers share it (issue 25): history, Share, downloads that open,
links that say what is wrong, the lint beside the answer, completion by position.

Uses the ``browser`` and ``site`` fixtures of tests/conftest.py (one browser and one server
for every module that drives the browser); skipped where headless Chromium is not installed."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest

from .conftest import BROWSER_GROUP, open_page, run_text, running_server

pytestmark = BROWSER_GROUP

STATUS = "status"


def edited_visits_to() -> str:
    """visits-to with its state written into the pattern: ?state still selected, unbound."""
    from kg.queries import find_query

    text = find_query("visits-to").text
    assert "ij:toState ?state" in text
    return text.replace("ij:toState ?state", "ij:toState state:israel")


def status_has(text: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    return ec.text_to_be_present_in_element((By.ID, STATUS), text)


def box_value(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "query").get_attribute("value")


def test_back_and_forward_step_through_queries_and_answers(browser, site: str) -> None:
    from selenium.webdriver.common.by import By

    first = "SELECT ?v WHERE { ?v a ij:Visit } LIMIT 2"
    second = "SELECT ?s WHERE { ?s a ij:State } LIMIT 3"
    wait = run_text(browser, site, first)
    wait.until(status_has("2 rows"))
    box = browser.find_element(By.ID, "query")
    box.clear()
    box.send_keys(second)
    browser.find_element(By.ID, "run").click()
    wait.until(status_has("3 rows"))
    browser.back()
    wait.until(status_has("2 rows"))
    assert box_value(browser) == first
    assert len(browser.find_elements(By.CSS_SELECTOR, "#results tr")) == 3
    browser.forward()
    wait.until(status_has("3 rows"))
    assert box_value(browser) == second
    browser.back()
    wait.until(status_has("2 rows"))
    browser.back()  # the page as first opened: no answer, and its own text
    wait.until(lambda d: d.find_element(By.ID, "results").text == "")
    assert box_value(browser).startswith("SELECT ?s ?p ?o WHERE")
    assert not browser.find_element(By.ID, "downloads").is_displayed()


def test_share_gives_a_link_that_reopens_the_query_and_its_answer(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    wait = open_page(browser, site)
    Select(browser.find_element(By.ID, "saved")).select_by_value("visits-to")
    field = browser.find_element(By.ID, "param-state")
    field.clear()
    field.send_keys("Israel")
    browser.find_element(By.ID, "run").click()
    wait.until(status_has("16 rows"))
    browser.find_element(By.ID, "share").click()
    shown = browser.find_element(By.ID, "share-link")
    wait.until(lambda d: shown.is_displayed() and shown.get_attribute("value"))
    link = shown.get_attribute("value")
    assert shown.get_attribute("readonly") is not None
    sent = parse_qs(urlparse(link).query)
    assert sent == {"saved": ["visits-to"], "state": ["Israel"]}
    browser.switch_to.new_window("tab")  # a new page
    try:
        browser.get(link)
        wait.until(status_has("16 rows"))
        assert browser.find_element(By.ID, "param-state").get_attribute("value") == "Israel"
        cells = browser.find_elements(By.CSS_SELECTOR, "#results td:first-child a")
        assert {a.get_attribute("title") for a in cells} == {"state:israel"}
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])


@pytest.mark.parametrize("query,names", [
    ("SELECT ?v WHERE { ?v a ij:Visit } LIMIT 2",
     {"json": ("query.json", "application/sparql-results+json"),
      "xml": ("query.xml", "application/sparql-results+xml"),
      "csv": ("query.csv", "text/csv"), "tsv": ("query.tsv", "text/tab-separated-values")}),
    ("DESCRIBE person:shinzo-abe",
     {"turtle": ("describe-shinzo-abe.ttl", "text/turtle"),
      "jsonld": ("describe-shinzo-abe.jsonld", "application/ld+json"),
      "nt": ("describe-shinzo-abe.nt", "application/n-triples"),
      "rdfxml": ("describe-shinzo-abe.rdf", "application/rdf+xml")}),
])
def test_each_download_has_its_extension_and_type(browser, site: str, query: str,
                                                  names: dict) -> None:
    from selenium.webdriver.common.by import By

    wait = run_text(browser, site, query)
    wait.until(lambda d: "row" in d.find_element(By.ID, STATUS).text
               or "triple" in d.find_element(By.ID, STATUS).text)
    links = browser.find_elements(By.CSS_SELECTOR, "#download-links a")
    assert {a.get_attribute("data-format") for a in links} == set(names)
    for a in links:
        name, media = names[a.get_attribute("data-format")]
        r = httpx.get(a.get_attribute("href"))
        assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media
        assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
        ext = name.rsplit(".", 1)[1]
        assert a.get_attribute("download").endswith("." + ext)  # the link's own name


def test_copy_as_tsv_gives_the_table(browser, site: str) -> None:
    from selenium.webdriver.common.by import By

    wait = run_text(browser, site, "SELECT ?v ?d WHERE { ?v a ij:Visit ; ij:date ?d } "
                                   "ORDER BY ?d LIMIT 2")
    wait.until(status_has("2 rows"))
    tsv = browser.execute_script("return tableAsTsv();")
    lines = tsv.rstrip("\n").split("\n")
    assert lines[0] == "v\td" and len(lines) == 3
    assert lines[1].startswith("https://w3id.org/israel-japan-kg/id/visit/1985")
    assert browser.find_element(By.ID, "copy-tsv").text == "Copy as TSV"


@pytest.mark.parametrize("address,words", [
    ("/?saved=nosuch", ["saved query named “nosuch”", "there is none"]),
    ("/?saved=visits-to&stat=Israel", ["“stat”", "it takes: state"]),
    ("/?saved=visits-to&state=Atlantis", ["Error 400", "Atlantis"]),
    # names every object has by inheritance: the page stopped with a TypeError, blank
    ("/?saved=__proto__", ["saved query named “__proto__”", "there is none"]),
    ("/?saved=constructor&query=ASK{}", ["saved query named “constructor”", "there is none"]),
    ("/?saved=toString", ["saved query named “toString”", "there is none"]),
])
def test_a_link_that_names_nothing_says_so(browser, site: str, address: str,
                                          words: list[str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(site + address)
    WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes"
        and d.find_element(By.ID, STATUS).text not in ("", "Running…"))
    shown = browser.find_element(By.ID, STATUS)
    assert all(w in shown.text for w in words), shown.text
    assert shown.get_attribute("class") == "error"


def test_the_lint_shows_beside_the_answer(browser, site: str) -> None:
    from selenium.webdriver.common.by import By

    from .test_querylint import CASES

    every = ("SELECT ?v ?x WHERE { ?v ij:dat ?d ; ij:DatePrecision ?e . ?w rdf:type ij:date . "
             "?u a ij:Vist }")  # each slip of the lint's cases at once
    wait = run_text(browser, site, every)
    wait.until(status_has("0 rows"))
    said = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#warnings li")]
    for case, (_, words) in CASES.items():
        assert any(all(w in line for w in words) for line in said), (case, said)
    wait = run_text(browser, site, "SELECT ?v WHERE { ?v a ij:Visit } LIMIT 1")
    wait.until(status_has("1 row"))
    assert browser.find_elements(By.CSS_SELECTOR, "#warnings li") == []  # not stale


def test_an_edited_parameter_never_shows_the_forms_value(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(site + "/?saved=visits-to&state=Japan&query=" + quote(edited_visits_to()))
    WebDriverWait(browser, 20).until(status_has("16 rows"))  # the visits to Israel
    states = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#results td:first-child")]
    assert states and set(states) == {""}  # the state column is empty: never "Japan"
    said = " ".join(li.text for li in browser.find_elements(By.CSS_SELECTOR, "#warnings li"))
    assert "parameter state (Japan) is not used" in said and "dropped" in said
    note = browser.find_element(By.ID, "note-state").text
    assert "dropped" in note


def test_typing_over_a_saved_query_makes_it_ones_own(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    wait = open_page(browser, site)
    Select(browser.find_element(By.ID, "saved")).select_by_value("visits-to")
    box = browser.find_element(By.ID, "query")
    box.clear()
    box.send_keys("SELECT ?v WHERE { ?v a ij:Visit } LIMIT 2")
    browser.find_element(By.ID, "run").click()
    wait.until(status_has("2 rows"))
    sent = parse_qs(urlparse(browser.current_url).query)
    assert sent == {"query": ["SELECT ?v WHERE { ?v a ij:Visit } LIMIT 2"]}
    assert browser.find_element(By.ID, "saved").get_attribute("value") == ""


def test_completion_offers_what_fits_and_tab_takes_only_a_highlighted_offer(
        browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    wait = open_page(browser, site)
    box = browser.find_element(By.ID, "query")
    box.clear()
    box.send_keys("SELECT ?s WHERE { ?s ij:da")
    wait.until(lambda d: d.find_element(By.ID, "completions").is_displayed())
    offered = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#completions li")]
    assert offered and all(" property" in o for o in offered), offered  # kind shown
    assert not any(o.startswith("ij:DatePrecision") for o in offered)
    box.send_keys(Keys.TAB)  # nothing highlighted: nothing taken
    assert box_value(browser) == "SELECT ?s WHERE { ?s ij:da"
    box.click()
    box.send_keys(Keys.END, "te ?d . ?x a ij:Da")
    wait.until(lambda d: d.find_element(By.ID, "completions").is_displayed())
    offered = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#completions li")]
    assert offered and all(" class" in o for o in offered), offered
    box.send_keys(Keys.ARROW_DOWN, Keys.TAB)  # highlighted, then taken
    assert box_value(browser).endswith("?x a " + offered[0].split()[0])


def test_a_free_query_pages_and_stale_controls_go(browser, project) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    with running_server(project.root, "--max-results", "10") as url:
        browser.get(url + "/?query=" + quote("SELECT ?v WHERE { ?v a ij:Visit } ORDER BY ?v"))
        wait = WebDriverWait(browser, 20)
        wait.until(status_has("rows 1–10"))  # not "Error 413"
        assert browser.find_elements(By.XPATH, "//div[@id='pager']/button[text()='Next page']")
        box = browser.find_element(By.ID, "query")
        box.clear()
        box.send_keys("SELECT * WHERE { ?visit a ij:Visit ; ij:date ?date } LIMIT 1")
        browser.find_element(By.ID, "run").click()
        wait.until(status_has("1 row"))
        assert browser.find_elements(By.CSS_SELECTOR, "#pager button") == []
        heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#results th")]
        assert heads == ["visit", "date"]  # SELECT *: the pattern's order


def test_triple_terms_show_as_text(browser, site: str) -> None:
    """RDF 1.2 triple terms (``<<( s p o )>>``): a SELECT's showed "[object Object]", and a
    CONSTRUCT's N-Triples stopped the page's reader, which left "Running…" for good."""
    from selenium.webdriver.common.by import By

    wait = run_text(browser, site, 'SELECT ?t WHERE { BIND(<<( <http://a.example/s> '
                                   '<http://a.example/p> "o"@en )>> AS ?t) }')
    wait.until(status_has("1 row"))
    shown = browser.find_element(By.CSS_SELECTOR, "#results td").text
    assert shown == '<<( <http://a.example/s> <http://a.example/p> "o"@en )>>'
    assert not browser.find_elements(By.CSS_SELECTOR, "#results td a")
    wait = run_text(browser, site, "CONSTRUCT { <http://a.example/s> <http://a.example/says> "
                                   "<<( ?v a ij:Visit )>> } WHERE { ?v a ij:Visit } LIMIT 1")
    wait.until(status_has("1 triple"))
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#results td")]
    assert cells[2].startswith("<<( <https://w3id.org/israel-japan-kg/id/visit/") and \
        cells[2].endswith("<https://w3id.org/israel-japan-kg/ontology#Visit> )>>")
