"""The query page in a real headless Chromium (Debian's chromium + chromium-driver).

Skipped, with the reason, where those are not installed; `.ci/run` installs them.
"""

from __future__ import annotations

import pytest

from kg.project import Project

from .conftest import BROWSER_GROUP, open_page, run_text, running_server

pytestmark = BROWSER_GROUP


def test_run_a_saved_query_and_follow_links(browser, site: str, project: Project) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select

    wait = open_page(browser, site)
    Select(browser.find_element(By.ID, "saved")).select_by_value("residents")
    assert "citizens" in browser.find_element(By.ID, "description").text.lower()
    browser.find_element(By.ID, "run").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "4 rows"))
    table = browser.find_element(By.ID, "results").text
    assert "1156" in table and "589" in table and "708" in table and "604" in table
    shots = project.build_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shots / "query-page.png"))

    Select(browser.find_element(By.ID, "saved")).select_by_value("visits-to")
    field = browser.find_element(By.ID, "param-state")
    field.clear()
    field.send_keys("Japan")
    browser.find_element(By.ID, "run").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "11 rows"))

    link = browser.find_element(By.CSS_SELECTOR, 'a[title="visit:2014-benjamin-netanyahu"]')
    assert link.text == "Benjamin Netanyahu visits Japan, 2014-05"  # IRIs read by label
    link.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "Benjamin Netanyahu visits"))
    browser.find_element(By.LINK_TEXT, "Prime Minister of Israel").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "title"), "Prime Minister of Israel"))
    assert browser.current_url.endswith("/id/office/prime-minister-of-israel")
    browser.save_screenshot(str(shots / "resource-page.png"))


def test_errors_are_shown_as_text(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = run_text(browser, site, 'SELECT * WHERE { ?s ?p "<img src=x onerror=alert(1)>" ')
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Error 400"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#status img")

    wait = run_text(browser, site, "SELECT ?v WHERE {\n  ?v a stat:Visit }")  # a slip
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Error 400"))
    shown = browser.find_element(By.ID, "status").text.splitlines()
    assert "line 2, column 8" in shown[0] and "did you mean state:?" in shown[0]
    assert shown[1].strip() == "?v a stat:Visit }"
    assert shown[2].strip() == "^" and shown[2].index("^") == shown[1].index("stat:")  # under it


def test_an_edited_saved_query_keeps_its_parameters(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select

    wait = open_page(browser, site)
    Select(browser.find_element(By.ID, "saved")).select_by_value("visits-to")
    field = browser.find_element(By.ID, "param-state")
    field.clear()
    field.send_keys("Israel")
    browser.find_element(By.ID, "query").send_keys("\nLIMIT 100")  # the natural edit
    browser.find_element(By.ID, "run").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "16 rows"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#results tr td:first-child a")
    assert rows and {r.get_attribute("title") for r in rows} == {"state:israel"}  # the form's
    assert {r.text for r in rows} == {"Israel"}

    Select(browser.find_element(By.ID, "saved")).select_by_value("residents")
    assert browser.find_element(By.ID, "results").text == ""  # no stale answer on screen
    assert browser.find_element(By.ID, "status").text == ""


def test_construct_answers_show_as_triples_with_graph_downloads(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    wait = run_text(browser, site, "DESCRIBE <https://w3id.org/israel-japan-kg/id/state/iran>")
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "triples"))
    table = browser.find_element(By.ID, "results").text
    assert "subject" in table and "Iran" in table and "rdf:type" in table
    assert browser.find_element(By.CSS_SELECTOR, 'a[title="state:iran"]').text == "Iran"
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#download-links a")]
    assert links == ["Turtle", "JSON-LD", "N-Triples", "RDF/XML"]


def test_shareable_addresses_and_the_keyboard(browser, site: str) -> None:
    from urllib.parse import parse_qs, urlparse

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(site + "/?saved=visits-to&state=Israel")  # a link someone sent
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "16 rows"))
    assert browser.find_element(By.ID, "param-state").get_attribute("value") == "Israel"

    box = browser.find_element(By.ID, "query")
    box.send_keys(Keys.CONTROL, Keys.END)
    box.send_keys("\nLIMIT 3")
    box.send_keys(Keys.CONTROL, Keys.ENTER)  # runs, as in the Wikidata Query Service
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "3 rows"))
    sent = parse_qs(urlparse(browser.current_url).query)  # the address bar follows
    assert sent["saved"] == ["visits-to"] and sent["state"] == ["Israel"]
    assert sent["query"][0].endswith("LIMIT 3")
    browser.get(browser.current_url)  # and opening it again gives the same answer
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "3 rows"))
    cells = browser.find_elements(By.CSS_SELECTOR, "#results td:first-child a")
    assert {a.get_attribute("title") for a in cells} == {"state:israel"}


def test_on_a_phone_nothing_scrolls_sideways_and_columns_sort(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select

    browser.set_window_size(390, 844)
    try:
        wait = open_page(browser, site)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        Select(browser.find_element(By.ID, "saved")).select_by_value("visits-per-decade")
        browser.find_element(By.ID, "run").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows"))
        top = browser.execute_script("return document.getElementById('status')"
                                     ".getBoundingClientRect().top")
        assert 0 <= top < 844  # the answer was scrolled into view
        bars = browser.find_elements(By.CSS_SELECTOR, "#chart svg rect")  # counts at a glance
        rows = browser.find_elements(By.CSS_SELECTOR, "#results tr")[1:]
        assert len(bars) == len(rows) > 0
        numbers = browser.find_elements(By.CSS_SELECTOR, "#results td.num")
        assert numbers and numbers[0].value_of_css_property("text-align") == "right"
        column = len(browser.find_element(By.CSS_SELECTOR, "#results tr").find_elements(
            By.TAG_NAME, "th")) - 1
        browser.find_elements(By.CSS_SELECTOR, "#results th button")[column].click()
        cells = browser.find_elements(By.CSS_SELECTOR, f"#results tr td:nth-child({column + 1})")
        values = [float(c.text) for c in cells if c.text]
        assert values == sorted(values)
    finally:
        browser.set_window_size(1280, 1400)


def test_the_sparql_box_colours_and_completes(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec

    wait = open_page(browser, site)
    box = browser.find_element(By.ID, "query")
    box.clear()
    box.send_keys("SELECT ?v WHERE { ?v a ij:Vis")
    wait.until(lambda d: d.find_element(By.ID, "completions").is_displayed())
    offered = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#completions li")]
    assert offered and offered[0].startswith("ij:Visit")
    box.send_keys(Keys.ARROW_DOWN, Keys.TAB)  # the first offer, highlighted, then taken
    assert box.get_attribute("value") == "SELECT ?v WHERE { ?v a ij:Visit"
    assert not browser.find_element(By.ID, "completions").is_displayed()

    box.send_keys(" ; ij:fromState state:")  # a state by its label, picked with the arrows
    wait.until(lambda d: d.find_element(By.ID, "completions").is_displayed())
    options = browser.find_elements(By.CSS_SELECTOR, "#completions li")
    japan = next(i for i, li in enumerate(options) if li.text.startswith("state:japan"))
    box.send_keys(*[Keys.ARROW_DOWN] * (japan + 1), Keys.ENTER)
    assert box.get_attribute("value").endswith("ij:fromState state:japan")
    box.send_keys(" } # foo:bar")
    colours = browser.find_element(By.ID, "query-colours")
    kinds = {s.text: s.get_attribute("class")
             for s in colours.find_elements(By.TAG_NAME, "span")}
    assert kinds["SELECT"] == "k" and kinds["?v"] == "v" and kinds["ij:Visit"] == "p"
    assert kinds["# foo:bar"] == "c"  # a comment is not a prefixed name
    assert colours.text.rstrip("\n") == box.get_attribute("value")  # the copy is exact

    box.send_keys("\nFILTER(wrong:x)")  # an undeclared prefix is marked where it is typed
    bad = colours.find_element(By.CSS_SELECTOR, "span.bad")
    assert bad.text == "wrong:x" and "unknown prefix" in bad.get_attribute("title")
    box.send_keys(Keys.BACK_SPACE * len("FILTER(wrong:x)"))
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows"))
    assert "16 rows" in browser.find_element(By.ID, "status").text  # visits from Japan


def test_screenshots_at_both_sizes(browser, site: str, project: Project) -> None:
    """The pictures people look at: build/screenshots/query-page-{1366,390}.png, an answer
    with its chart; docs/query-page.png in the README is a copy of the first."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    shots = project.build_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        for width, height in ((1366, 900), (390, 844)):
            browser.set_window_size(width, height)
            browser.get(site + "/?saved=visits-per-decade")
            WebDriverWait(browser, 20).until(
                ec.text_to_be_present_in_element((By.ID, "status"), "rows"))
            assert browser.find_elements(By.CSS_SELECTOR, "#chart svg rect")
            browser.execute_script(  # the end of the query, the chart and the table
                "const s = document.getElementById('status').getBoundingClientRect().top;"
                "window.scrollTo(0, window.scrollY + s - arguments[0]);", height * 0.45)
            path = shots / f"query-page-{width}.png"
            assert browser.save_screenshot(str(path))
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        browser.set_window_size(1280, 1400)
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    assert "](docs/query-page.png)" in readme and (project.root / "docs/query-page.png").is_file()


def test_dated_rows_are_drawn_on_a_time_line(browser, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(site + "/?saved=visits-to&state=Israel")
    WebDriverWait(browser, 20).until(ec.text_to_be_present_in_element((By.ID, "status"), "16 rows"))
    marks = browser.find_elements(By.CSS_SELECTOR, "#chart svg.dated a")
    assert len(marks) == 16 and not browser.find_elements(By.CSS_SELECTOR, "#chart rect")
    names = [m.get_attribute("aria-label") for m in marks]
    assert "1988: Sousuke Uno visits Israel, 1988" in names  # the date, then the row by label
    assert all(m.get_dom_attribute("href").startswith("/id/visit/") for m in marks)
    ticks = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#chart svg.dated text")]
    assert ticks[0] <= "1990" and ticks[-1] >= "2010"


def test_a_long_answer_comes_in_pages_not_a_refusal(browser, project: Project) -> None:
    """With a row limit of 10, the 27 visits come as pages of 10 that say which rows they
    are, with Next and Previous, instead of a 413."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    with running_server(project.root, "--max-results", "10") as site:
        wait = WebDriverWait(browser, 20)
        browser.get(site + "/?saved=visits")
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows 1–10"))
        first = [a.get_attribute("title") for a in
                 browser.find_elements(By.CSS_SELECTOR, "#results td:first-child a")]
        assert len(first) == 10 and first[0] == "visit:1985-yitzhak-shamir"
        pager = browser.find_element(By.ID, "pager")
        pager.find_element(By.XPATH, "//button[text()='Next page']").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows 11–20"))
        pager.find_element(By.XPATH, "//button[text()='Next page']").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows 21–27"))
        assert not browser.find_elements(By.XPATH, "//div[@id='pager']/button[text()='Next page']")
        pager.find_element(By.XPATH, "//button[text()='Previous page']").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows 11–20"))


# -- only safe links, and the pages under their Content-Security-Policy ------------------

ALL_HREFS = """return [...document.querySelectorAll('[href], [src], [action], [data]')]
  .flatMap((e) => ['href', 'xlink:href', 'src', 'action', 'data'].filter((n) => e.hasAttribute(n))
    .map((n) => e.getAttribute(n)));"""


def test_links_js_agrees_with_the_server(browser, site: str) -> None:
    """static/links.js's safeHref gives, on every case, what kg/links.py gives."""
    import json

    from .conftest import SAFE_HREF_CASES as CASES

    open_page(browser, site)
    got = browser.execute_script(
        "return arguments[0].map((iri) => KGLinks.safeHref(iri));", [c[0] for c in CASES])
    wrong = [(iri, g, want) for (iri, want), g in zip(CASES, got, strict=True) if g != want]
    assert not wrong, json.dumps(wrong, ensure_ascii=False)


CRAFTED = {
    "javascript, beside literals that look like links": (
        "SELECT ?x ?y { VALUES (?x ?y) { (<javascript:alert(document.domain)> "
        '"javascript:alert(1)") (<javascript:alert(2)> "https://example.org/") } }'),
    "mixed case, vbscript, data, file, mailto, urn": (
        "SELECT ?x ?y { VALUES (?x ?y) { (<JaVaScRiPt:alert(1)> <vbscript:msgbox(1)>) "
        "(<data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==> <file:///etc/passwd>) "
        "(<mailto:a@example.org> <urn:isbn:0451450523>) (<https://example.org/fine> 1) } }"),
    "a graph answer": (
        "CONSTRUCT { <javascript:alert(1)> <javascript:alert(2)> <javascript:alert(3)> } "
        "WHERE {}"),
    "dated rows drawn on the time line": (
        "SELECT ?x ?d { VALUES (?x ?d) { (<javascript:alert(1)> '2001-01-01'^^xsd:date) "
        "(<javascript:alert(2)> '2002-02-02'^^xsd:date) } }"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_a_crafted_link_shows_its_terms_as_text(browser, site: str, name: str) -> None:
    """A link someone sent, /?query=…, runs on opening: no term it answers becomes a link
    that is not a path of this site or an http(s) URL."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    from .conftest import allowed

    browser.get(site + "/?query=" + quote(CRAFTED[name]))
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "body")
                                     .get_attribute("data-ready") == "yes")
    status = browser.find_element(By.ID, "status").text
    assert "row" in status or "triple" in status, status
    table = browser.find_element(By.ID, "results").text
    assert "javascript:alert" in table.lower() or "example.org" in table  # shown, as text
    hrefs = browser.execute_script(ALL_HREFS)
    assert hrefs and [h for h in hrefs if not allowed(h)] == []
    if "fine" in CRAFTED[name]:  # and a web address is still a link
        assert "https://example.org/fine" in hrefs


def test_the_pages_work_under_their_policy(browser, site: str) -> None:
    """Every page carries the policy, and the browser reports no violation of it: answers,
    their charts, the timeline and completion all work without inline script or style."""
    import httpx
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get_log("browser")  # what earlier tests left

    def violations() -> list[str]:
        return [e["message"] for e in browser.get_log("browser")
                if "Content Security Policy" in e["message"] or "Trusted Type" in e["message"]]

    pages = ["/", "/id/person/shinzo-abe", "/search?q=Abe", "/ontology", "/timeline.svg",
             "/reconcile/preview?id=person/shinzo-abe"]
    for path in pages:
        assert "script-src 'self'" in httpx.get(site + path).headers["content-security-policy"]

    browser.get(site + "/?saved=visits-to&state=Israel")  # a saved query, run: the time line
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "16 rows"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart svg.dated a")) == 16
    marks = browser.find_elements(By.CSS_SELECTOR, "#timeline svg.kg-timeline a")
    assert len(marks) > 30  # the page's own timeline, inline
    tip = marks[0].find_element(By.CSS_SELECTOR, "text.tip")
    assert not tip.is_displayed()
    ActionChains(browser).move_to_element(marks[0].find_element(By.TAG_NAME, "circle")).perform()
    wait.until(lambda d: tip.is_displayed())  # the stylesheet's hover rule
    browser.get(site + "/?saved=visits-per-decade")  # bars
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "rows"))
    assert browser.find_elements(By.CSS_SELECTOR, "#chart svg rect")
    box = browser.find_element(By.ID, "query")  # completion
    box.clear()
    box.send_keys("SELECT ?v WHERE { ?v a ij:Vis")
    wait.until(lambda d: d.find_element(By.ID, "completions").is_displayed())
    assert violations() == []

    for path, ready in (("/id/person/shinzo-abe", "title"), ("/search?q=Abe", "title"),
                        ("/ontology", "Visit")):
        browser.get(site + path)
        wait.until(lambda d, r=ready: d.find_elements(By.ID, r))
    browser.get(site + "/timeline.svg")  # alone, styled by the site's stylesheet
    mark = browser.find_element(By.CSS_SELECTOR, "a")
    tip = mark.find_element(By.CSS_SELECTOR, "text.tip")
    assert not tip.is_displayed()
    ActionChains(browser).move_to_element(mark.find_element(By.TAG_NAME, "circle")).perform()
    wait.until(lambda d: tip.is_displayed())
    browser.get(site + "/reconcile/preview?id=person/shinzo-abe")
    assert browser.find_element(By.TAG_NAME, "h1").value_of_css_property("font-size") == "16px"
    assert violations() == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_footer_lines_up_with_the_page(browser, site: str, width: int) -> None:
    """The licence line ran from the window's very edge, left of the page's column above
    it, on every page (s36-newcomer)."""
    browser.set_window_size(width, 900)
    try:
        browser.get(site + "/search?q=1952")
        left = browser.execute_script(
            "const at = (s) => { const e = document.querySelector(s);"
            " return e.getBoundingClientRect().left"
            " + parseFloat(getComputedStyle(e).paddingLeft); };"
            "return [at('main'), at('footer')];")
        assert abs(left[0] - left[1]) < 1, left
    finally:
        browser.set_window_size(1280, 1400)
