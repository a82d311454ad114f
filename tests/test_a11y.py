"""axe-core in the browser on every kind of page, at a desktop and a phone width: no critical
or serious violation (issue 25).

axe-core is vendored (tests/vendor/axe-core, see tests/vendor/README.md): it installs with
the repository. The browser and the server of every module that drives the browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import BROWSER_GROUP

pytestmark = BROWSER_GROUP

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

#: every kind of page, and what shows it is ready
PAGES = {
    "home": ("/", "body[data-ready='yes']"),
    "a saved query's answer": ("/?saved=visits-to&state=Israel", "#results td"),
    "an entity": ("/id/person/shinzo-abe", "#title"),
    "the relation": ("/id/relation/israel-japan", "#title"),
    "search": ("/search?q=1952", "ul.near li"),
    "the ontology": ("/ontology", "#Visit"),
    "not found": ("/id/person/nobody", "#title"),
}

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then((r) => done(r.violations.map((v) => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
})))).catch((e) => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));
"""


def violations(browser, url: str, ready: str) -> list[dict]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready))
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    browser.set_script_timeout(30)
    return browser.execute_async_script(RUN_AXE)


@pytest.mark.parametrize("width", [1366, 390])
def test_no_serious_accessibility_violation(browser, site: str, width: int) -> None:
    browser.set_window_size(width, 900)
    try:
        found = {}
        for name, (path, ready) in PAGES.items():
            bad = [v for v in violations(browser, site + path, ready)
                   if v["impact"] in ("critical", "serious")]
            if bad:
                found[name] = bad
    finally:
        browser.set_window_size(1280, 1400)
    assert found == {}, found
