"""Examiner search in a real headless Chromium: a box dragged with the mouse on the query figure
searches that region; a map point shows its thumbnail under the mouse and a click makes it the query."""
from __future__ import annotations

import time

import pytest

from tests.browsing import MARKS, SHOTS, chromium, demo_server, settle as _settle

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "examiner_browser_cache", ("hog", "ahdh"))


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _no_errors(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, \
        page.locator("[data-testid=stException]").first.inner_text()


def _first_results(page) -> list[str]:
    return [t.strip() for t in page.locator(".upair-line").all_inner_texts()][:6]


def test_drag_a_box_on_the_query_figure_searches_that_region(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1500})
    page.goto(f"{server}/search?corpus=demo&q=demo-03-1")
    _settle(page)
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    before = page.get_by_role("button", name="Use as query").count()
    page.get_by_text("Search a region of the query figure").first.click()
    frame_el = page.locator("iframe[title*='cropper']").first
    frame_el.wait_for(state="visible", timeout=60_000)
    canvas = page.frame_locator("iframe[title*='cropper']").locator("canvas").last
    canvas.wait_for(timeout=60_000)
    time.sleep(1.5)
    box = canvas.bounding_box()
    # grab the box's bottom-right corner (the default box spans 20–80 %) and drag it up-left
    x0, y0 = box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.8
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 - 40, y0 - 40, steps=6)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=6)
    page.mouse.up()
    page.get_by_text("Searched region ·").first.wait_for(timeout=120_000)
    _settle(page)
    _no_errors(page)
    caption = page.get_by_text("Searched region ·").first.inner_text()
    assert "x " in caption and "y " in caption
    # TF-IDF (on by default) reads text, which a region has not; the two image encoders list k hits again
    assert page.get_by_role("button", name="Use as query").count() == before * 2 // 3
    assert page.get_by_text("a region of a figure has no text of its own").count() == 1
    assert page.get_by_role("button", name="Search the whole figure").count() == 1
    page.screenshot(path=str(SHOTS / "search-region.png"), full_page=True)
    page.close()


_POINT_JS = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const tr = gd._fullData.find(t => t.customdata && t.customdata.length && t.visible !== false);
    if (!tr) continue;
    const fl = gd._fullLayout, r = gd.getBoundingClientRect();
    const i = Math.floor(tr.customdata.length / 2);
    return [r.left + fl._size.l + fl.xaxis.l2p(tr.x[i]), r.top + fl._size.t + fl.yaxis.l2p(tr.y[i]),
            tr.customdata[i][0]];
  }
  return null;
}"""


def test_map_hover_shows_thumbnail_and_click_makes_the_query(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.goto(f"{server}/map?corpus=demo")
    _settle(page)
    page.locator(".js-plotly-plot canvas").first.wait_for(timeout=240_000)
    _settle(page)
    time.sleep(2)
    x, y, fid = page.evaluate(_POINT_JS)
    tip = page.locator("#upair-hover-thumb")
    for dx in (0, 1, -1, 2):
        page.mouse.move(x + dx, y)
        time.sleep(0.4)
        if tip.count() and tip.is_visible():
            break
    assert tip.is_visible()
    assert tip.locator("img").get_attribute("alt") == fid
    assert tip.locator("img").get_attribute("src").startswith("data:image/png;base64,")
    page.screenshot(path=str(SHOTS / "map-hover.png"))
    page.mouse.click(x, y)
    page.get_by_text("Now the query:").first.wait_for(timeout=60_000)
    _settle(page)
    _no_errors(page)
    page.close()
