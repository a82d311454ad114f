"""The home page's timeline in a real browser (issue 25): eras drawn as bands, labels that
never overlap (the boxes the browser draws), the vertical layout on a phone, and the
keyboard: a skip link first, one Tab stop for the timeline, arrow keys inside it."""

from __future__ import annotations

import itertools

import pytest

from kg.timeline import timeline_eras, timeline_svg

from .conftest import BROWSER_GROUP, open_page

pytestmark = BROWSER_GROUP

#: the boxes of every label of the timeline the page shows (the other layout is hidden)
LABEL_BOXES = """return [...document.querySelectorAll('#timeline svg text:not(.tip)')]
  .filter((t) => t.getClientRects().length)
  .map((t) => { const r = t.getBoundingClientRect();
                return [t.textContent, r.left, r.top, r.right, r.bottom]; });"""


def overlapping(boxes: list) -> list[tuple[str, str]]:
    """Pairs of labels whose drawn boxes overlap (by more than a rounding half pixel)."""
    return [(a[0], b[0]) for a, b in itertools.combinations(boxes, 2)
            if min(a[3], b[3]) - max(a[1], b[1]) > 0.5 and min(a[4], b[4]) - max(a[2], b[2]) > 0.5]


@pytest.mark.parametrize(("width", "layout"), [(1366, "horizontal"), (390, "vertical")])
def test_labels_never_overlap_and_the_layout_fits_the_screen(
    browser, site: str, ox_engine, width: int, layout: str
) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(width, 900)
    try:
        open_page(browser, site)
        shown = [s.get_attribute("data-layout") for s in
                 browser.find_elements(By.CSS_SELECTOR, "#timeline svg.kg-timeline")
                 if s.is_displayed()]
        assert shown == [layout]  # the phone's own layout under 40em
        boxes = browser.execute_script(LABEL_BOXES)
        texts = [b[0] for b in boxes]
        eras = timeline_eras(ox_engine)
        joined = "".join(texts).replace(" ", "")  # a wrapped label's lines join without one
        assert len(eras) >= 4 and all(e.label.replace(" ", "") in joined for e in eras)
        assert "Japan recognises Israel" in texts and "Visa Exemption Arrangements" in texts
        assert overlapping(boxes) == []
        svg = browser.find_element(By.CSS_SELECTOR, f"#timeline svg[data-layout={layout}]")
        assert len(svg.find_elements(By.CSS_SELECTOR, "rect.era-band")) == len(eras)
        size = svg.rect
        assert size["x"] >= 0 and size["x"] + size["width"] <= width  # nothing off screen
        if layout == "vertical":  # readable: labels as large as the page's small print
            heights = [b[4] - b[2] for b in boxes if b[0] == "Visa Exemption Arrangements"]
            assert heights and heights[0] >= 10
    finally:
        browser.set_window_size(1280, 1400)


def test_one_tab_stop_for_the_timeline_and_arrows_inside(browser, site: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, site)
    svg = browser.find_element(By.CSS_SELECTOR, "#timeline svg[data-layout=horizontal]")
    assert svg.get_attribute("role") == "group"  # links inside: not an image
    links = svg.find_elements(By.CSS_SELECTOR, "a")
    assert len(links) > 30

    def focused():
        return browser.switch_to.active_element

    ActionChains(browser).send_keys(Keys.TAB).perform()  # a page just opened
    skip = focused()
    assert skip.text == "Skip to the query" and skip.is_displayed()
    stops, in_timeline = [], 0
    for _ in range(40):  # bounded: the saved-query menu comes within a few stops
        ActionChains(browser).send_keys(Keys.TAB).perform()
        element = focused()
        if element.get_attribute("id") == "saved":
            break
        stops.append(element.tag_name)
        in_timeline += browser.execute_script(
            "return !!arguments[0].closest('#timeline')", element)
    else:
        pytest.fail(f"no saved-query menu after 40 Tab presses: {stops}")
    assert in_timeline == 1, stops
    assert len(stops) <= 12, stops  # the header's links, the timeline, its list

    browser.execute_script("arguments[0].focus()", links[0])
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    assert focused() == links[1] and links[1].get_attribute("tabindex") == "0"
    assert links[0].get_attribute("tabindex") == "-1"  # the roving stop moved
    ActionChains(browser).send_keys(Keys.END).perform()
    assert focused() == links[-1]
    ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
    assert focused() == links[-2]

    open_page(browser, site)  # the skip link takes the keyboard to the query
    ActionChains(browser).send_keys(Keys.TAB, Keys.ENTER, Keys.TAB).perform()
    assert focused().get_attribute("id") == "saved"


def test_both_layouts_are_deterministic_and_name_their_eras(ox_engine) -> None:
    for layout in ("horizontal", "vertical"):
        svg = timeline_svg(ox_engine, layout=layout)
        assert svg == timeline_svg(ox_engine, layout=layout)
        assert 'role="group"' in svg and 'role="img"' not in svg
        assert svg.count('class="era-band"') == len(timeline_eras(ox_engine))
        assert "Relations at legation level" in svg and "1952-05-15 – 1963" in svg
        assert "– 1990 (until the 1990s)" in svg  # an open start, as the article gives it


def test_estimated_label_boxes_never_overlap(ox_engine) -> None:
    """Without a browser: the boxes the layout reserves for its labels (the width estimated
    per character, as kg.timeline does, a line's height its font size) never overlap, and
    stay inside the picture."""
    import re
    import xml.etree.ElementTree as ET

    from kg.timeline import text_width

    ns = "{http://www.w3.org/2000/svg}"
    for layout in ("horizontal", "vertical"):
        root = ET.fromstring(timeline_svg(ox_engine, layout=layout))
        width = float(root.get("viewBox").split()[2])
        boxes = []
        for t in root.iter(ns + "text"):
            if t.get("class") not in ("milestone", "era"):
                continue
            size = float(t.get("font-size", "12"))
            lines = [s.text for s in t.iter(ns + "tspan")] or [t.text]
            w = max(text_width(line, size) for line in lines)
            x, y = float(t.get("x")), float(t.get("y"))
            x0 = x - w if t.get("text-anchor") == "end" else x
            bottom = y + (size + 3) * (len(lines) - 1)
            boxes.append(("".join(lines), x0, y - size, x0 + w, bottom))
        assert len(boxes) >= 13 + 4, layout  # every milestone and every era
        assert all(b[1] >= 0 and b[3] <= width for b in boxes), layout
        assert overlapping(boxes) == [], layout
        assert not re.search(r"rotate\(", ET.tostring(root, encoding="unicode"))  # level text


def test_home_page_screenshots_at_both_widths(browser, site: str, project) -> None:
    """build/screenshots/home-{1366,390}.png: the top of the home page, the timeline in
    each layout; the README shows copies of both (docs/home-*.png), of those widths."""
    import struct

    shots = project.build_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    try:
        for width, height in ((1366, 900), (390, 844)):
            browser.set_window_size(width, height)
            open_page(browser, site)
            path = shots / f"home-{width}.png"
            assert browser.save_screenshot(str(path))
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            shown = project.root / "docs" / f"home-{width}.png"
            assert f"](docs/home-{width}.png)" in readme and shown.is_file()
            png = shown.read_bytes()
            assert png[12:16] == b"IHDR" and struct.unpack(">I", png[16:20])[0] == width
    finally:
        browser.set_window_size(1280, 1400)
