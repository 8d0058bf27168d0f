"""An upload over the limit in a real browser: Streamlit refuses it in the browser (it never
reaches the app), so the uploader's own message must be readable, not hidden behind a hover."""
from __future__ import annotations

import os
import time

from PIL import Image

from tests.browsing import MARKS, SHOTS, chromium, settle, streamlit_server

pytestmark = MARKS


def test_an_upload_over_the_limit_says_so_in_full(tmp_path):
    from core import config

    figs = tmp_path / "figs"
    figs.mkdir()
    for i, colour in enumerate(("red", "green", "blue")):
        im = Image.new("RGB", (64, 64), "white")
        im.paste(colour, (4 + 8 * i, 8, 30 + 8 * i, 50))
        im.save(figs / f"f{i}.png")
    small = tmp_path / "small.png"
    im = Image.new("RGB", (64, 64), "white")
    im.paste("black", (10, 10, 40, 50))
    im.save(small)
    big = tmp_path / "huge.png"
    big.write_bytes(small.read_bytes() + b"\0" * ((config.MAX_UPLOAD_MB + 1) * 1024 * 1024))
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path / "cache")}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(env) as url, chromium() as browser:
        for width, height in ((1280, 800), (1920, 1080)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{url}/search?corpus=folder:{figs}")
            settle(page)
            page.locator("input[type=file]").first.set_input_files(str(small))
            settle(page)
            page.get_by_text("New query: upload a figure, pick one, or describe it").click()
            time.sleep(1)
            page.locator("input[type=file]").first.set_input_files(str(big))
            settle(page)
            alert = page.locator("[data-testid=stFileChip][aria-invalid=true] span[role=alert]").first
            assert f"must be {config.MAX_UPLOAD_MB:.1f}MB or smaller" in alert.inner_text()
            box = alert.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 8, box  # shown, not only on hover
            page.screenshot(path=str(SHOTS / f"upload-over-limit-{width}.png"), full_page=False)
            page.close()
