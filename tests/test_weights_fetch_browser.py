"""In a real browser: the sidebar follows the background fetch of the baseline CLIP (progress in
MB of the total, then "Use CLIP ViT-B-16" without a reload), and says in one line how to fetch
it later when there is no network. The hub is a stand-in on 127.0.0.1; screenshots at 1280x800."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.browsing import MARKS, ROOT, SHOTS, chromium, seed_built_demo, settle, shot, streamlit_server
from tests.test_weights_fetch import _Hub

pytestmark = MARKS


def _demo_env(tmp_path_factory, name: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OFFLINE", "HF_HUB_OFFLINE")}
    env = {**env, "UPAIR_CACHE": str(tmp_path_factory.mktemp(name)), "HF_HUB_DISABLE_TELEMETRY": "1", **extra}
    seed_built_demo(Path(env["UPAIR_CACHE"]), tmp_path_factory, ["hog"])
    return env


def _start_fetch(env) -> str:
    r = subprocess.run([sys.executable, "-m", "core", "fetch", "clip-baseline", "--background"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _sidebar_text(page) -> str:
    return page.locator("[data-testid=stSidebar]").inner_text()


def test_the_sidebar_follows_the_fetch_and_offers_the_baseline(tmp_path_factory):
    gate = threading.Event()
    handler = type("GatedHub", (_Hub,), {"gate": gate})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = _demo_env(tmp_path_factory, "fetch-ui", HF_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}")
        assert "fetching in the background" in _start_fetch(env)
        with streamlit_server(env) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            settle(page)
            progress = page.get_by_text("Downloading CLIP ViT-B-16:")
            progress.wait_for(timeout=30_000)
            assert "of 3.1 MB" in _sidebar_text(page)
            page.get_by_text("Filter by title").wait_for(timeout=60_000)  # the page itself is not held up
            settle(page)
            progress.scroll_into_view_if_needed()
            SHOTS.mkdir(exist_ok=True)
            shot(page, "fetch-progress-1280", docs=True)
            page.set_viewport_size({"width": 1920, "height": 1080})
            settle(page)
            shot(page, "fetch-progress-1920", docs=True)
            page.set_viewport_size({"width": 1280, "height": 800})
            gate.set()  # the rest of the file comes; the fragment notices without a reload
            use = page.get_by_role("button", name="Use CLIP ViT-B-16")
            use.wait_for(timeout=30_000)
            settle(page)
            use.scroll_into_view_if_needed()
            shot(page, "fetch-ready-1280", docs=True)
            assert "Downloading" not in _sidebar_text(page)
            use.click()
            picker = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect]").first
            deadline = time.monotonic() + 60
            while "CLIP ViT-B-16" not in picker.inner_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert "CLIP ViT-B-16" in picker.inner_text()  # now a chip of the encoder picker
            settle(page)
            shot(page, "fetch-used-1280")
    finally:
        gate.set()
        server.shutdown()
        server.server_close()


def test_offline_is_one_line_in_the_sidebar(tmp_path_factory):
    env = _demo_env(tmp_path_factory, "fetch-offline", OFFLINE="1")
    assert _start_fetch(env).startswith("CLIP needs the network once")
    with streamlit_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        settle(page)
        note = page.get_by_text("CLIP needs the network once")
        note.wait_for(timeout=30_000)
        note.scroll_into_view_if_needed()
        page.get_by_role("heading", name="Corpus").first.wait_for(timeout=60_000)  # the page beside the note
        settle(page)
        SHOTS.mkdir(exist_ok=True)
        shot(page, "fetch-offline-1280", docs=True)
        page.set_viewport_size({"width": 1920, "height": 1080})
        settle(page)
        shot(page, "fetch-offline-1920", docs=True)
        assert "make fetch" in note.inner_text() and "when online" in note.inner_text()
