"""The first-hour flows in a real browser: the steps a new user takes, asserted in headless Chromium.

One server on the demo corpus (built first, as ``make run`` does). Screenshots of Search,
Scores and Map at 1280×800 are written to ``docs/`` with ``UPAIR_DOCS_SHOTS=1`` (``make screenshots``).
"""
from __future__ import annotations

import os
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browsing import MARKS, ROOT, chromium, demo_server, no_errors as _no_errors, settle as _settle, unfold_families

DOCS = ROOT / "docs"
ENCODERS = ("hog", "ahdh", "tfidf")

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "browser_flows_cache", ENCODERS)


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _k_value(page) -> str:
    return page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first.input_value()


def _scroll_top(page) -> float:
    return page.evaluate("document.querySelector('[data-testid=stMain]').scrollTop")


def _shot(page, name: str) -> None:
    if os.environ.get("UPAIR_DOCS_SHOTS", "0") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))


def _hit_keys(page) -> list[tuple[str, int, dict]]:
    """(encoder, rank, bounding box) of every 'Use as query' button of the image search."""
    out = []
    for el in page.locator("[data-testid=stElementContainer][class*='st-key-res-']").all():
        m = re.search(r"(?:^|\s)st-key-res-(\w+)-(\d+)-", el.get_attribute("class") or "")
        if m and el.locator("button").count():
            out.append((m.group(1), int(m.group(2)), el.bounding_box()))
    return out


# ------------------------------------------------------------------ 1. k stays 10 after "Other folder…"
def test_k_stays_after_other_folder_and_a_typed_path(server, browser, tmp_path):
    from PIL import Image, ImageDraw

    folder = tmp_path / "my figures"
    folder.mkdir()
    for i in range(4):
        im = Image.new("RGB", (120, 90), "white")
        ImageDraw.Draw(im).rectangle((10 + 8 * i, 10, 60 + 10 * i, 70), outline="black", width=3)
        im.save(folder / f"fig{i}.png")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server)
    _settle(page)
    assert _k_value(page) == "10"
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name="Other folder…").click()
    _settle(page)
    assert _k_value(page) == "10"
    assert page.get_by_text("Type the path of a folder").count() == 1  # the page says what to do, not blank
    box = page.get_by_label("Folder or spec", exact=True).and_(page.locator("input"))
    box.fill(str(folder))
    box.press("Enter")
    _settle(page)
    _no_errors(page)
    assert _k_value(page) == "10"
    assert page.locator("[data-testid=stMetricValue]").first.inner_text().strip() == "4"
    # a folder that does not exist says so
    box.fill(str(tmp_path / "nope"))
    box.press("Enter")
    _settle(page)
    assert "Folder not found" in page.locator("[data-testid=stAlertContentError]").first.inner_text()
    assert _k_value(page) == "10"
    # a path typed straight into the corpus box (its search field) is taken as the folder
    combo = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox] input").first
    combo.click()
    combo.fill(str(folder))
    combo.press("Enter")
    time.sleep(1)
    _settle(page)
    _no_errors(page)
    assert page.locator("[data-testid=stMetricValue]").first.inner_text().strip() == "4"
    assert _k_value(page) == "10"
    page.close()


# ------------------------------------------------------------------ 9. results an examiner can scan
def test_ten_hits_per_encoder_fit_a_1080p_screen(server, browser):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{server}/search?corpus=demo&q=demo-00-1")  # a shared link restores the search
    _settle(page)
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    _settle(page)
    unfold_families(page)  # ten rows per encoder, rank by rank
    _no_errors(page)
    visible: dict[str, int] = {}
    for enc, _rank, box in _hit_keys(page):
        if box and box["y"] >= 0 and box["y"] + box["height"] <= 1080:
            visible[enc] = visible.get(enc, 0) + 1
    assert set(visible) == set(ENCODERS) and min(visible.values()) >= 10, visible
    # rank rows are aligned across encoder columns
    tops: dict[int, set[float]] = {}
    for _enc, rank, box in _hit_keys(page):
        tops.setdefault(rank, set()).add(round(box["y"]))
    assert all(max(t) - min(t) <= 2 for t in tops.values()), tops
    # every score says what it is
    assert page.get_by_text(re.compile(r"#1 · cosine \d\.\d{3}")).count() == 3
    page.close()


def test_use_as_query_scrolls_up_url_and_back_restore(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server}/search?corpus=demo&q=demo-00-1")
    _settle(page)
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    _settle(page)
    _shot(page, "search.png")
    hits = _hit_keys(page)
    enc, rank, _ = max(hits, key=lambda h: (h[1], h[0]))
    target = page.locator(f"[class*='st-key-res-{enc}-{rank}-']").first
    fid = re.search(rf"st-key-res-{enc}-{rank}-(\S+)", target.get_attribute("class")).group(1)
    target.scroll_into_view_if_needed()
    assert _scroll_top(page) > 200
    target.locator("button").click()
    time.sleep(1)
    _settle(page)
    assert _scroll_top(page) < 5  # back at the top, where the new query is
    assert parse_qs(urlparse(page.url).query)["q"] == [fid]  # (ws=, k=, enc= ride along: the workspace)
    crumbs = [c.inner_text().strip() for c in page.locator("[data-testid=stElementContainer][class*='st-key-crumb-'] button").all()]
    crumbs = list(dict.fromkeys(crumbs))  # a rerun may briefly keep the old elements beside the new ones
    assert len(crumbs) == 2 and len(set(crumbs)) == 2 and crumbs[1].startswith("▶")
    page.go_back()
    _settle(page)
    time.sleep(0.5)
    _settle(page)
    assert parse_qs(urlparse(page.url).query)["q"] == ["demo-00-1"]
    assert page.locator("[data-testid=stMain]").get_by_text("PANEL FASTENING DEVICE HAVING A LEAF SPRING").count() >= 1
    page.close()


# ------------------------------------------------------------------ 8. why two systems disagree
def test_disagreement_row_opens_the_drilldown(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server}/scores")
    _settle(page)
    page.get_by_text("Results per axis").first.wait_for(timeout=240_000)
    _settle(page)
    _no_errors(page)
    _shot(page, "scores.png")
    before = page.locator(".st-key-drill_q input").input_value()
    grid = page.locator(".st-key-cmp_disagree")
    grid.scroll_into_view_if_needed()
    first_title = grid.locator("[role=gridcell], td").nth(3).inner_text().strip()  # columns A, B, A − B, query
    assert first_title and first_title[:40] not in before
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)  # the first row's selection box
    time.sleep(1)
    _settle(page)
    after = page.locator(".st-key-drill_q input").input_value()
    assert first_title[:40] in after, (first_title, after)  # that query is open in the drill-down
    heading = page.locator("#per-query")
    hb = heading.bounding_box()
    assert hb is not None and 0 <= hb["y"] < 800  # scrolled to the drill-down
    side = page.locator("[data-testid=stMain] img[src^='data:image/png']")
    assert side.count() >= 4  # both systems' top-k as images
    assert page.locator(".upair-badge").count() >= 6  # with V/S/P badges
    page.close()


# ------------------------------------------------------------------ 10. the map
def test_map_star_legend_and_colour_kept(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{server}/search?corpus=demo&q=demo-00-1")
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    _settle(page)
    page.get_by_role("link", name="Map").first.click()
    _settle(page)
    page.wait_for_selector("canvas", timeout=120_000)
    _settle(page)
    _no_errors(page)
    deadline = time.monotonic() + 60
    notes: list[str] = []
    while time.monotonic() < deadline and not notes:
        notes = page.evaluate("[...document.querySelectorAll('.annotation-text')].map(t => t.textContent)")
        time.sleep(0.5)
    if not notes:
        page.screenshot(path=str(ROOT / "tests" / "screenshots" / "map-no-star.png"))
    assert notes and all(n == "★ query: XX6967409A1" for n in notes), notes  # the star is named, on both maps
    assert page.get_by_text("G · Physics").count() >= 1
    _shot(page, "map.png")
    page.locator(".st-key-map_colour").click()
    page.get_by_role("option", name="Patent").click()
    _settle(page)
    page.get_by_role("link", name="Search").first.click()
    _settle(page)
    page.get_by_role("link", name="Map").first.click()
    _settle(page)
    assert page.locator(".st-key-map_colour input").input_value() == "Patent"
    page.close()
