"""Where two figures agree, in a real headless Chromium on the demo: the Explain button of a hit
shows its heatmap, and part-level search of a region lists figures with the matching box;
screenshots at 1280x800 and 1920x1080 (tests/screenshots/explain-*.png)."""
from __future__ import annotations

import pytest

from tests.browsing import MARKS, SHOTS, chromium, demo_server, no_errors, settle, shot

pytestmark = MARKS
URL = "/search?corpus=demo&q=demo-47-1&enc=hog,ahdh&k=5"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "explain_browser_cache", ("hog", "ahdh"))


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_explain_a_hit_and_search_a_part(server, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    w, h = size
    with chromium() as browser:
        page = browser.new_page(viewport={"width": w, "height": h})
        page.goto(server + URL + "&region=0.05,0.05,0.55,0.55")
        settle(page)
        page.get_by_role("button", name="Explain").first.click()
        page.get_by_text("best found at").first.wait_for(timeout=120_000)
        settle(page)
        no_errors(page)
        page.get_by_text("best found at").first.scroll_into_view_if_needed()
        shot(page, f"explain-hit-{w}", docs=True)
        assert page.get_by_text("No heatmap: AHDH").count() == 0  # only the HOG hit was opened
        page.get_by_text("inside other figures (part-level search)").first.click()
        settle(page)
        build = page.get_by_role("button", name="Build the part index")
        if build.count():
            build.first.click()
            settle(page)
        hits = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="box x ")
        hits.first.wait_for(timeout=240_000)
        settle(page)
        no_errors(page)
        hits.first.scroll_into_view_if_needed()
        shot(page, f"explain-parts-{w}", docs=True)
        assert hits.count() == 5  # k part-level hits for HOG (AHDH has no map)
