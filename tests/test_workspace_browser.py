"""The examiner's workspace in a real headless Chromium: star a hit, write a note, set k and
the encoders, upload a figure, press reload → all there; SIGKILL the server right after
shortlist edits were shown, restart it → every acknowledged entry is there."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from core.examiner import workspace as ws
from tests.browsing import (MARKS, ROOT, SHOTS, STREAMLIT_FLAGS, chromium, free_port, no_errors, seed_built_demo,
                            settle)

pytestmark = MARKS
ENCODERS = ("hog", "ahdh")


def _serve(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
                             *STREAMLIT_FLAGS], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("streamlit server did not come up")


def _saved(env: dict, wid: str):
    from core import config

    with config.use_cache(env["UPAIR_CACHE"]):
        return ws.load("demo", wid)


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = {**os.environ, "UPAIR_CACHE": str(tmp_path_factory.mktemp("workspace_browser_cache"))}
    seed_built_demo(Path(e["UPAIR_CACHE"]), tmp_path_factory, ENCODERS)
    return e


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _stars(page, spec: str = "hog"):
    return page.locator(f"[data-testid=stElementContainer][class*='st-key-ex-star-res-{spec}-'] button")


def _star(page, n: int) -> str:
    """Star the n-th hit of the hog column; wait until the page shows it starred (acknowledged)."""
    el = page.locator(f"[data-testid=stElementContainer][class*='st-key-ex-star-res-hog-{n}-']").first
    fid = next(c for c in el.get_attribute("class").split() if c.startswith("st-key-ex-star-res-hog-"))
    fid = fid[len(f"st-key-ex-star-res-hog-{n}-"):]
    el.locator("button").first.click()
    page.locator(f"[class*='st-key-ex-star-res-hog-{n}-'] button", has_text="★").first.wait_for(timeout=60_000)
    return fid


def _drawing() -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("L", (300, 220), 255)
    d = ImageDraw.Draw(im)
    d.rectangle((40, 40, 260, 180), outline=0, width=4)
    d.line((40, 40, 260, 180), fill=0, width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_reload_keeps_star_note_encoders_k_and_upload(env, browser, tmp_path):
    proc, url = _serve(env)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/search?corpus=demo")
        settle(page)
        up = tmp_path / "my-bracket.png"
        up.write_bytes(_drawing())
        page.locator("[data-testid=stFileUploader] input[type=file]").first.set_input_files(str(up))
        settle(page)
        _stars(page).first.wait_for(timeout=120_000)
        fid = _star(page, 1)
        settle(page)
        page.get_by_role("tab", name="Shortlist & report").click()
        note = page.get_by_placeholder("Note on this hit").first
        note.fill("claim 1: same bracket")
        note.press("Enter")
        settle(page)
        slider = page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first
        slider.focus()
        for _ in range(3):
            slider.press("ArrowLeft")
            time.sleep(0.3)
        settle(page)
        page.locator("[data-testid=stSidebar] .react-aria-ComboBox button[aria-label='Remove TF-IDF']").first.click()
        settle(page)
        no_errors(page)
        params = parse_qs(urlparse(page.url).query)
        assert params["k"] == ["7"], page.url
        enc_before = params["enc"][0].split(",")
        assert enc_before == ["hog", "ahdh"] and params["q"][0].startswith("upload:")
        wid = params["ws"][0]

        page.reload()
        settle(page)
        no_errors(page)
        assert parse_qs(urlparse(page.url).query)["ws"] == [wid]
        assert page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first \
            .input_value() == "7"
        tags = page.locator("[data-testid=stSidebar] .react-aria-ComboBox [data-tag]")
        assert sorted(tags.all_inner_texts()) == ["AHDH", "HOG"]
        assert page.get_by_text("my-bracket.png").count() >= 1  # the uploaded query is back
        assert page.get_by_role("tab", name="Shortlist & report (1)").count() == 1
        page.get_by_role("tab", name="Shortlist & report (1)").click()
        assert page.get_by_placeholder("Note on this hit").first.input_value() == "claim 1: same bracket"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "workspace-after-reload.png"), full_page=True)
        saved = _saved(env, wid)
        assert [i["figure"] for i in saved.shortlist["items"]] == [fid] and saved.k == 7
        page.close()
    finally:
        _stop(proc)


def test_sigkill_while_editing_the_shortlist_loses_no_acknowledged_entry(env, browser):
    proc, url = _serve(env)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{url}/search?corpus=demo&q=demo-05-1")
        settle(page)
        _stars(page).first.wait_for(timeout=120_000)
        starred = [_star(page, n) for n in (1, 2, 3, 4)]  # each shown as ★ before the next click
        wid = parse_qs(urlparse(page.url).query)["ws"][0]
        link = page.url
    finally:
        _stop(proc, signal.SIGKILL)  # no shutdown handler runs
    saved = _saved(env, wid)
    assert [i["figure"] for i in saved.shortlist["items"]] == starred
    proc, url = _serve(env)
    try:
        page.goto(url + "/search?" + urlparse(link).query)
        settle(page)
        no_errors(page)
        page.get_by_role("tab", name=f"Shortlist & report ({len(starred)})").wait_for(timeout=120_000)
        assert _stars(page).filter(has_text="★").count() >= len(starred)  # each shown starred again
        page.close()
    finally:
        _stop(proc)
