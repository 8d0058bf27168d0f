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
DOCS = ROOT / "docs"


def shot(page, name: str, docs: bool = False) -> Path:
    """Screenshot ``page`` as tests/screenshots/<name>.png; with ``docs`` and UPAIR_DOCS_SHOTS=1
    (``make screenshots``) also as docs/<name>.png, the README's pictures."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    try:  # pictures arrive after the page's text (media files): wait for them, not for ever
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=15_000)
    except Exception:  # noqa: BLE001 - a picture that never loads is for the test's own checks to find
        pass
    page.screenshot(path=str(path))
    if docs and os.environ.get("UPAIR_DOCS_SHOTS", "0") == "1":
        page.screenshot(path=str(DOCS / f"{name}.png"))
    return path


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
    """Run the app (or ``command``, which gets the port appended) until the block ends; yields its URL.
    A free port is picked unless one is given; a server that exits at once (its port was taken in
    the meantime, e.g. by a parallel test) is started again on another port."""
    for attempt in range(3 if port is None else 1):
        p = port or free_port()
        argv = [*command, str(p)] if command else \
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(p), *STREAMLIT_FLAGS]
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{p}"
        if _healthy(proc, url):
            break
        exited = proc.poll() is not None
        _stop(proc)
        err = proc.stderr.read().decode()[-2000:] if exited else "(no answer in 90 s)"
        if attempt == 2 or port is not None or not exited:
            pytest.fail("streamlit server did not come up: " + err)
    try:
        yield url
    finally:
        _stop(proc)


def _healthy(proc: subprocess.Popen, url: str, within_s: float = 90) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(0.5)
    return False


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


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


def built_demo_cache(tmp_path_factory, encoders: Sequence[str]) -> Path:
    """A cache holding the demo corpus and its indices for ``encoders``, built by ``build_demo``
    once per test run (shared by the xdist workers). Copy it (``seed_built_demo``); never use it."""
    from tests.conftest import seed_demo, session_dir, session_lock

    tpl = session_dir(tmp_path_factory) / ("upair-built-demo-" + "-".join(sorted(encoders)))
    with session_lock(tpl.with_suffix(".lock")):
        if not (tpl / "complete").is_file():
            shutil.rmtree(tpl, ignore_errors=True)
            (tpl / "cache").mkdir(parents=True)
            seed_demo(tpl / "cache", tmp_path_factory)
            build_demo({**os.environ, "UPAIR_CACHE": str(tpl / "cache")}, encoders)
            (tpl / "complete").touch()
    return tpl / "cache"


def seed_built_demo(cache: Path, tmp_path_factory, encoders: Sequence[str]) -> Path:
    """Fill ``cache`` with what ``build_demo(encoders)`` makes there (the demo corpus, its vectors
    and indices), copied from one build per test run: the copy is loaded and checked as any
    cached build is (the cache is content-addressed, so the copy is what a build here would make)."""
    shutil.copytree(built_demo_cache(tmp_path_factory, encoders), cache, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("locks"))
    return cache


def demo_server(tmp_path_factory, name: str, encoders: Sequence[str]) -> Iterator[str]:
    """Generator body of a module-scoped ``server`` fixture: the demo built (``seed_built_demo``)
    in a fresh cache of its own, then served."""
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path_factory.mktemp(name))}
    seed_built_demo(Path(env["UPAIR_CACHE"]), tmp_path_factory, encoders)
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
    switch = page.get_by_role("switch", name="Fold family copies").first
    switch.wait_for(timeout=60_000)  # the results may still be drawing: never skip the switch for that
    if switch.is_checked():
        switch.locator("xpath=ancestor::label[1]").click()  # the input itself sits under the drawn switch
        deadline = time.monotonic() + 60
        while switch.is_checked() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not switch.is_checked(), "the 'Fold family copies' switch stayed on"
        settle(page)
