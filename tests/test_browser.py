"""A real browser: start the server, open every page in headless Chromium, look for errors.

Screenshots land in tests/screenshots/ (git-ignored) so a person can look at them.
"""
from __future__ import annotations

import pytest

from tests.browsing import MARKS, SHOTS, chromium, demo_server, no_errors, settle, unfold_families

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from demo_server(tmp_path_factory, "browser_cache", ("hog", "ahdh", "tfidf"))


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.mark.parametrize("path,title,expect", [
    ("", "Corpus", "Search with this"),
    ("search", "Search", "Upload a figure"),
    ("scores", "Scores", "Results per axis"),
    ("map", "Map", "figures on each map"),
])
def test_page_renders_without_errors(server, browser, path, title, expect):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(f"{server}/{path}")
    settle(page)
    page.get_by_text(expect).first.wait_for(timeout=120_000)
    settle(page)
    no_errors(page)
    assert page.locator("h1").first.inner_text().strip() == title
    assert "synthetic" in page.content().lower()  # the demo is labelled as synthetic
    page.screenshot(path=str(SHOTS / f"{path or 'corpus'}.png"))
    page.close()


def test_click_figure_then_browse_by_similarity(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(server)
    settle(page)
    page.get_by_role("button", name="Search with this").first.click()
    settle(page)
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    unfold_families(page)  # the demo draws one template in several patents: folding would merge them
    no_errors(page)
    n_before = page.get_by_role("button", name="Use as query").count()
    assert n_before == 30  # 10 neighbours x 3 encoders
    page.screenshot(path=str(SHOTS / "search-results.png"))
    page.get_by_role("button", name="Use as query").first.click()
    settle(page)
    no_errors(page)
    assert page.get_by_text("Query trail").count() == 1
    page.close()
