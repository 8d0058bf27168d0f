"""The shortlist with its X / Y / A categories and the CPC class filter, in a real headless Chromium
at 1280x800 and 1920x1080 (screenshots under tests/screenshots/)."""
from __future__ import annotations

import time

import pytest

from tests.browsing import MARKS, SHOTS, chromium, demo_server, no_errors, settle

pytestmark = MARKS
SIZES = [(1280, 800), (1920, 1080)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "classes_browser_cache", ("hog", "ahdh"))


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.mark.parametrize("width,height", SIZES)
def test_shortlist_categories_and_class_filter(server, browser, width, height):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{server}/search?corpus=demo&q=demo-05-1")
    settle(page)
    stars = "[data-testid=stElementContainer][class*='st-key-ex-star-res-hog-{n}-'] button"
    page.locator(stars.format(n=1)).first.wait_for(timeout=120_000)
    for n in (1, 2, 3):
        page.locator(stars.format(n=n)).first.click()
        page.locator(stars.format(n=n), has_text="★").first.wait_for(timeout=60_000)
        settle(page)
    field = page.get_by_role("textbox", name="Only CPC classes")
    field.fill("B, F")
    field.press("Enter")
    time.sleep(2)
    settle(page)
    no_errors(page)
    assert page.get_by_text("only CPC B, F").count() >= 1
    page.screenshot(path=str(SHOTS / f"examiner-cpc-{width}.png"))
    page.get_by_role("tab", name="Shortlist & report").click()
    settle(page)
    for i, name in enumerate(("X", "Y")):  # button group 0 is the results' Compact / Cards view
        page.locator("[data-testid=stButtonGroup]").nth(i + 1).locator("button", has_text=name).first.click()
        settle(page)
        page.get_by_role("tab", name="Shortlist & report").click()
    no_errors(page)
    page.get_by_text("Examiner's notes").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"examiner-shortlist-{width}.png"))
    assert page.locator("[class*='st-key-ex-cat-']").count() == 3
    page.close()
