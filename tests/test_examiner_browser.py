"""Examiner search in a real headless Chromium: a box dragged with the mouse on the query figure
searches that region; a map point shows its thumbnail under the mouse and a click makes it the query."""
from __future__ import annotations

import time

import pytest

from tests.browsing import MARKS, SHOTS, chromium, demo_server, settle as _settle, unfold_families

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


def _hit_rows(page, spec: str) -> int:
    """Result rows the encoder ``spec`` lists (each row's action bar is keyed ``acts-<grid>-<spec>-<rank>``)."""
    return page.locator(f"[class*='st-key-acts-'][class*='-{spec}-']").count()


def _first_results(page) -> list[str]:
    return [t.strip() for t in page.locator(".upair-line").all_inner_texts()][:6]


def test_drag_a_box_on_the_query_figure_searches_that_region(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1500})
    page.goto(f"{server}/search?corpus=demo&q=demo-03-1")
    _settle(page)
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    unfold_families(page)  # one row per hit: folding family copies changes the counts per query
    page.get_by_text("Search a region of the query figure").first.click()
    # the visible cropper (a rerun can leave a zero-height one of the previous run in the page a moment)
    frame_el = page.locator("iframe[title*='cropper']").filter(visible=True).first
    frame_el.wait_for(state="visible", timeout=60_000)
    canvas = frame_el.content_frame.locator("canvas").last
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
    after = {spec: _hit_rows(page, spec) for spec in ("hog", "ahdh", "tfidf")}
    assert after == {"hog": 10, "ahdh": 10, "tfidf": 0}, after  # k = 10 (the address's k)
    assert page.get_by_text("a region of a figure has no text of its own").count() == 1
    assert page.get_by_role("button", name="Search the whole figure").count() == 1
    page.screenshot(path=str(SHOTS / "search-region.png"), full_page=True)
    page.close()


_POINT_JS = """() => {
  // the point farthest (in pixels) from every other point, so the mouse meets it and no neighbour
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const tr = gd._fullData.find(t => t.customdata && t.customdata.length && t.visible !== false);
    if (!tr) continue;
    const fl = gd._fullLayout, r = gd.getBoundingClientRect();
    const px = tr.x.map(v => r.left + fl._size.l + fl.xaxis.l2p(v));
    const py = tr.y.map(v => r.top + fl._size.t + fl.yaxis.l2p(v));
    const ox = [], oy = [], self = [];  // every drawn point of every trace (another trace's can be on top)
    for (const t of gd._fullData) {
      if (t.visible === false || !t.x || !t.y) continue;
      for (let j = 0; j < t.x.length; j++) {
        if (t.x[j] == null || t.y[j] == null) continue;
        ox.push(r.left + fl._size.l + fl.xaxis.l2p(t.x[j])); oy.push(r.top + fl._size.t + fl.yaxis.l2p(t.y[j]));
        self.push(t === tr ? j : -1);
      }
    }
    let best = -1, bestGap = -1;
    for (let i = 0; i < px.length; i++) {
      if (px[i] < r.left + fl._size.l + 10 || px[i] > r.left + fl._size.l + fl._size.w - 10) continue;
      if (py[i] < r.top + fl._size.t + 10 || py[i] > r.top + fl._size.t + fl._size.h - 10) continue;
      let gap = Infinity;
      for (let j = 0; j < ox.length; j++) {
        if (self[j] !== i) gap = Math.min(gap, Math.hypot(px[i] - ox[j], py[i] - oy[j]));  // a copy on it: gap 0
      }
      if (gap > bestGap) { bestGap = gap; best = i; }
    }
    if (best >= 0) return [px[best], py[best], tr.customdata[best][0]];
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
    deadline = time.monotonic() + 20  # the chart answers the mouse once plotly has bound it (late under load)
    while time.monotonic() < deadline:
        for dx in (0, 1, -1, 2):
            page.mouse.move(x + dx, y)
            time.sleep(0.4)
            if tip.count() and tip.is_visible():
                break
        else:
            page.mouse.move(x - 30, y - 30)  # leave and come back
            continue
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
