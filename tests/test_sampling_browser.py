"""The Sample page in real headless Chromium: band charts drawn, cards shown, redraw; screenshot."""
from __future__ import annotations

from tests.browsing import MARKS, SHOTS, settle as _settle
from tests.test_browser import browser, server  # noqa: F401 - fixtures

pytestmark = MARKS


def test_sample_page_draws_and_redraws(server, browser):  # noqa: F811 - pytest fixtures
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(server + "/sample", timeout=120_000)
    _settle(page, 300)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator(".js-plotly-plot").count() == 5  # one band chart per index of the default config
    assert page.get_by_text("Σ ").count() > 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert page.get_by_text("Best match and the top band").count() == 1
    assert page.get_by_text("where it fell").count() >= 1
    for w, h in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(800)
        page.screenshot(path=str(SHOTS / f"sample-{w}.png"))
        page.get_by_text("Best match and the top band").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / f"sample-best-{w}.png"))
    page.set_viewport_size({"width": 1500, "height": 2600})  # the app scrolls inside: a tall window shows all
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / "sample.png"))
    seed = page.get_by_label("Seed")
    assert seed.input_value() == "1"
    page.get_by_role("button", name="Redraw").click()
    _settle(page, 300)
    assert seed.input_value() == "2"
    assert page.locator("[data-testid=stException]").count() == 0
    page.get_by_role("tab", name="Easy negative").click()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "sample-negatives.png"))
    page.close()
