"""A real browser: start the server, open every page in headless Chromium, look for errors.

Screenshots land in tests/screenshots/ (git-ignored) so a person can look at them.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium on the PATH (apt-get install -y chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cache = tmp_path_factory.mktemp("browser_cache")
    port = _free_port()
    env = {**os.environ, "UPAIR_CACHE": str(cache)}
    # build the demo and its indices first, as `make run` does
    subprocess.run([sys.executable, "-m", "core", "build", "--corpus", "demo", "--encoders", "hog,ahdh,tfidf"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit server did not come up: " + proc.stderr.read().decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS[1:], headless=True)
        yield b
        b.close()


def _settle(page, timeout_s: float = 240) -> None:
    """Wait until Streamlit has finished running the script (no running indicator)."""
    page.wait_for_selector("[data-testid=stSidebar]", timeout=60_000)
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while time.monotonic() < deadline:
        running = page.locator("[data-testid=stStatusWidget]").count() > 0 or \
            page.locator("[data-testid=stSpinner]").count() > 0
        quiet = 0 if running else quiet + 1
        if quiet >= 4:
            return
        time.sleep(0.5)
    raise AssertionError("page did not finish rendering")


def _no_errors(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, page.locator("[data-testid=stException]").first.inner_text()
    assert page.locator("[data-testid=stAlertContentError]").count() == 0, \
        page.locator("[data-testid=stAlertContentError]").first.inner_text()


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
    _settle(page)
    page.get_by_text(expect).first.wait_for(timeout=120_000)
    _settle(page)
    _no_errors(page)
    assert page.locator("h1").first.inner_text().strip() == title
    assert "synthetic" in page.content().lower()  # the demo is labelled as synthetic
    page.screenshot(path=str(SHOTS / f"{path or 'corpus'}.png"))
    page.close()


def test_click_figure_then_browse_by_similarity(server, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(server)
    _settle(page)
    page.get_by_role("button", name="Search with this").first.click()
    _settle(page)
    page.get_by_role("button", name="Use as query").first.wait_for(timeout=120_000)
    _no_errors(page)
    n_before = page.get_by_role("button", name="Use as query").count()
    assert n_before == 30  # 10 neighbours x 3 encoders
    page.screenshot(path=str(SHOTS / "search-results.png"))
    page.get_by_role("button", name="Use as query").first.click()
    _settle(page)
    _no_errors(page)
    assert page.get_by_text("Query trail").count() == 1
    page.close()
