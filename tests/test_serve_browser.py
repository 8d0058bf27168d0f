"""Two real browsers (headless Chromium contexts) on one served app: neither sees the other's upload,
query, shortlist or sign-in; a link to a corpus outside the allow-list is refused."""
from __future__ import annotations

import os

import pytest
from PIL import Image, ImageDraw

from dashboard import serve
from tests.browsing import MARKS, SHOTS, chromium, settle, streamlit_server

pytestmark = MARKS
PHRASE = "a room of examiners"


@pytest.fixture(scope="module")
def served_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve_browser")
    figs = root / "figs"
    figs.mkdir()
    for i in range(8):
        im = Image.new("L", (160, 160), 255)
        ImageDraw.Draw(im).rectangle((10 + 6 * i, 20, 120, 140 - 5 * i), outline=0, width=3)
        im.save(figs / f"fig{i}.png")
    secrets = root / "secrets.toml"
    secrets.write_text(f'[upair.annotators]\nalice = "{serve.hash_passphrase(PHRASE)}"\n')
    env = {**os.environ, "UPAIR_CACHE": str(root / "cache"), "UPAIR_SERVE": "1", "UPAIR_SECRETS": str(secrets),
           "UPAIR_CORPORA": f"Tiny figures=folder:{figs}", "UPAIR_ENCODERS": "", "UPAIR_JUDGEMENTS": str(root / "j")}
    with streamlit_server(env) as url:
        yield url, figs


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _upload(page, path) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))
    settle(page)


def test_two_browsers_do_not_see_each_others_work(served_url, browser, tmp_path):
    url, figs = served_url
    drawing = tmp_path / "examiner-a.png"
    im = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(im).ellipse((20, 30, 180, 170), outline=0, width=4)
    im.save(drawing)
    a = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    b = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    a.goto(f"{url}/search")
    settle(a)
    _upload(a, drawing)
    assert "upload%3A" in a.url or "upload:" in a.url  # A's query is the upload
    a.locator("button:has-text('☆')").first.click()
    settle(a)
    assert a.locator("button:has-text('★')").count() >= 1
    b.goto(f"{url}/search")
    settle(b)
    body = b.locator("[data-testid=stMain]").inner_text()
    assert "examiner-a.png" not in body and "★" not in body
    assert "Upload a figure, pick one" in body  # B has no query of its own yet
    assert "upload" not in b.url
    # a link to a folder outside the allow-list
    b.goto(f"{url}/?corpus=folder:/etc")
    settle(b)
    assert "does not serve" in b.locator("[data-testid=stSidebar]").inner_text()
    assert "/etc" not in b.locator("[data-testid=stMain]").inner_text()
    assert b.locator("text=Other folder").count() == 0
    # A signs in on the Judge page; B is still asked to sign in
    a.goto(f"{url}/judge")
    settle(a)
    a.get_by_label("Your name").fill("alice")
    a.get_by_label("Passphrase").fill(PHRASE)
    a.get_by_role("button", name="Sign in").click()
    a.get_by_text("Signed in as").wait_for(timeout=90_000)  # the rerun may start late on a loaded machine
    settle(a)
    assert "Signed in as alice" in a.locator("[data-testid=stSidebar]").inner_text()
    b.goto(f"{url}/judge")
    settle(b)
    assert "Signed in" not in b.locator("[data-testid=stSidebar]").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    a.screenshot(path=str(SHOTS / "serve-judge-signed-in-1280.png"))
    b.set_viewport_size({"width": 1920, "height": 1080})
    b.screenshot(path=str(SHOTS / "serve-judge-sign-in-1920.png"))
    for page in (a, b):
        assert page.locator("[data-testid=stException]").count() == 0
        page.context.close()
