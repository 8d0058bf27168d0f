"""The Search page's numeral overlay and family folding in headless Chromium at 1280x800 and
1920x1080: hovering a numeral shows its part; screenshots under tests/screenshots/."""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse

import pytest

from tests.browsing import MARKS, ROOT, SHOTS, chromium, no_errors, settle, shot, streamlit_server
from tests.numeral_figures import FIGURES  # noqa: F401  (the drawings the corpus holds)
from tests.test_numerals import TESSERACT
from tests.test_search_numerals_app import _corpus

pytestmark = MARKS + [pytest.mark.skipif(bool(TESSERACT), reason=f"needs Tesseract: {TESSERACT}")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    spec = _corpus(tmp_path_factory.mktemp("numeral-figs") / "figs")
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path_factory.mktemp("numeral-cache"))}
    subprocess.run([sys.executable, "-m", "core", "build", "--corpus", spec], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=600)  # the sidebar's default encoders, as `make run` does
    with streamlit_server(env) as url:
        yield url, spec


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_hover_names_a_numeral(server, size):
    url, spec = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        page = b.new_page(viewport={"width": size[0], "height": size[1]})
        page.goto(f"{url}/search?" + urllib.parse.urlencode({"corpus": spec, "q": "other0"}))
        page.get_by_text("Fold family copies").wait_for(timeout=240_000)
        settle(page)
        page.get_by_text("Reference numerals", exact=True).click()
        settle(page)
        page.get_by_role("textbox", name="Find a part in the hits").fill("spring")
        page.keyboard.press("Enter")
        settle(page)
        no_errors(page)
        chart = page.locator(".st-key-numerals-fig1")  # the best hit with numerals (frame 20, rollers 22a, spring 24)
        chart.scroll_into_view_if_needed()
        settle(page)
        shot(page, f"numerals-{size[0]}", docs=True)
        assert page.locator("[data-testid=stPlotlyChart]").count() >= 3
        assert page.get_by_text("+2 family figures").count() >= 1
        # hover each marker of the first chart until plotly's tooltip names a part
        names = set()
        for pt in chart.locator(".scatterlayer path.point").all():
            box = pt.bounding_box()  # plotly hovers by mouse position over its drag layer
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(400)
            names.add(" ".join(chart.locator(".hoverlayer").text_content().split()))
        assert {"20: frame", "22a: roller", "24: spring"} <= names, names
        shot(page, f"numerals-hover-{size[0]}", docs=True)
