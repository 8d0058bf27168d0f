"""What every real-browser test shares: a Streamlit server on a free port, headless Chromium,
and waiting for a page to finish rendering. Debian's ``chromium`` is used (never ``playwright install``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu"]
#: ``pytestmark`` of a browser test module.
MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium on the PATH (apt-get install -y chromium)"),
]
STREAMLIT_FLAGS = ["--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
                   "--browser.gatherUsageStats", "false"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo(env: dict, encoders: Sequence[str]) -> None:
    """Build the demo corpus and its indices in ``env``'s cache, as ``make run`` does."""
    subprocess.run([sys.executable, "-m", "core", "build", "--corpus", "demo", "--encoders", ",".join(encoders)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)


@contextlib.contextmanager
def streamlit_server(env: dict, command: Sequence[str] | None = None, port: int | None = None) -> Iterator[str]:
    """Run the app (or ``command``, which gets the port appended) until the block ends; yields its URL."""
    port = port or free_port()
    argv = [*command, str(port)] if command else \
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port), *STREAMLIT_FLAGS]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
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
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium (playwright ``Browser``) until the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def demo_server(tmp_path_factory, name: str, encoders: Sequence[str]) -> Iterator[str]:
    """Generator body of a module-scoped ``server`` fixture: demo built in a fresh cache, then served."""
    from tests.conftest import seed_demo

    env = {**os.environ, "UPAIR_CACHE": str(tmp_path_factory.mktemp(name))}
    seed_demo(Path(env["UPAIR_CACHE"]), tmp_path_factory)  # drawn once per session; encoded and indexed here
    build_demo(env, encoders)
    with streamlit_server(env) as url:
        yield url


def settle(page, timeout_s: float = 240) -> None:
    """Wait until Streamlit has finished running the script (no running indicator for 2 s)."""
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


def no_errors(page) -> None:
    """No exception and no error alert is rendered on ``page``."""
    for sel in ("[data-testid=stException]", "[data-testid=stAlertContentError]"):
        assert page.locator(sel).count() == 0, page.locator(sel).first.inner_text()


def unfold_families(page) -> None:
    """Turn the Search page's "Fold family copies" switch off (on by default), so every hit has
    its own row: for tests that count hits or compare them rank by rank."""
    switch = page.get_by_role("switch", name="Fold family copies")
    if switch.count() and switch.first.is_checked():
        page.get_by_text("Fold family copies").first.click()
        settle(page)
