"""SIGKILL of the served app with ten people in their browsers — five annotators judging, five
examiners who starred a hit — ten Chromium contexts (cookies, storage and Streamlit session each
their own) in one Chromium, the cheap way to have ten real browsers. After the kill and a restart
on the same port, every answer a page acknowledged (it moved on to the next pair, so the server had
stored it) is in its annotator's journal, and every examiner's starred hit (the saved shortlist of
their workspace) is there. The annotators' SAME pages reconnect by themselves (Streamlit's client
retries its websocket; the page stays as it was until the next action, which runs in a new server
session): the next click asks for the passphrase again (a sign-in lives in the server's session
state, which the kill took) and the annotator resumes at the next pair. The examiners reload their
address (its ``ws=``) and see their star again, read back from disk. The ten sessions are driven
side by side — every page is sent its action first, then all are waited for — so the test costs
about what one slow session does, not ten."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from dashboard import serve
from tests.browsing import MARKS, ROOT, STREAMLIT_FLAGS, chromium, free_port

pytestmark = MARKS
ANNOTATORS = ("alice", "bob", "carol", "dave", "erin")
EXAMINERS = 5
# Ten Chromium renderers on two cores spend ~30 s (quiet) on their first paint, the server ~7 s of
# CPU: a CI machine busy with the other worker's tests has needed more than 120 s (2026-12-03).
WAIT_MS = 360_000


def _wait(locator, page, what: str) -> None:
    """Wait for ``locator``; on a timeout fail saying what the page showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.wait_for(timeout=WAIT_MS)
    except PlaywrightTimeout:
        pytest.fail(f"{what}: not there after {WAIT_MS // 1000} s; {page.url} showed:\n"
                    + page.inner_text("body", timeout=10_000)[-1500:])


def _start(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
                             *STREAMLIT_FLAGS], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail("the served app did not come up")


def _send_sign_in(page, name: str) -> None:
    """The Judge page's passphrase form filled and sent (the caller waits for it)."""
    _wait(page.get_by_label("Your name"), page, f"{name}'s sign-in form")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Passphrase").fill(name + " passphrase")
    page.get_by_role("button", name="Sign in").click()


def _at_pair(page, n: int) -> None:
    """Wait until the Judge page shows pair ``n`` of its queue (auto-advance: pair n - 1 was stored)."""
    _wait(page.get_by_text(f"Pair {n} of "), page, f"pair {n} on the Judge page")


def test_sigkill_keeps_every_acknowledged_judgement(upair_samples, tmp_path, monkeypatch):
    from core import load_corpus
    from core.annotation.judgements import JudgementStore

    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[upair.annotators]\n" + "".join(
        f'{n} = "{serve.hash_passphrase(n + " passphrase")}"\n' for n in ANNOTATORS))
    spec = f"upair:{upair_samples}"
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path / "cache"), "UPAIR_JUDGEMENTS": str(tmp_path / "judgements"),
           "UPAIR_SERVE": "1", "UPAIR_SECRETS": str(secrets), "UPAIR_CORPORA": spec, "UPAIR_ENCODERS": ""}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    figures = [f.id for f in load_corpus(spec).figures[:EXAMINERS]]
    proc = _start(env, port)
    try:
        with chromium() as browser:
            def new_page():
                page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                page.set_default_timeout(WAIT_MS)
                return page

            judges = [new_page() for _ in ANNOTATORS]
            examiners = [new_page() for _ in figures]
            for page in judges:
                page.goto(f"{url}/judge")
            for page, fig in zip(examiners, figures):
                page.goto(f"{url}/search?q={fig}")
            for page, name in zip(judges, ANNOTATORS):
                _send_sign_in(page, name)
            for page in examiners:
                star = page.locator("button:has-text('☆')").first
                _wait(star, page, "the examiner's first hit (☆)")
                star.click()
            for page in judges:  # every annotator answers the three axes of their first pair (keys 1, 4, 7)
                _at_pair(page, 1)
                page.frame_locator("iframe[title*=keyjudge]").locator("#bar").wait_for()  # the key catcher is in place
                for key in ("1", "4", "7"):
                    page.keyboard.press(key)
            for page in examiners:  # acknowledged: the star is drawn, so the workspace was saved before it
                _wait(page.locator("button:has-text('★')").first, page, "the examiner's starred hit (★)")
            for page in judges:
                _at_pair(page, 2)  # acknowledged: the page moved on, so the server stored pair 1
            links = [page.url for page in examiners]
            assert all("ws=" in link for link in links) and len(set(links)) == EXAMINERS
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proc = _start(env, port)
            for page in judges:  # the same page, reconnected: the next action meets a new, signed-out session
                page.get_by_role("button", name="Next").click()
            for page in examiners:  # the same address again: the star comes from the saved workspace
                page.reload()
            for page, name in zip(judges, ANNOTATORS):
                _send_sign_in(page, name)
            for page in examiners:
                _wait(page.locator("button:has-text('★')").first, page, "the examiner's starred hit (★)")
            for page in judges:
                _at_pair(page, 2)  # resumed after the stored answer
            assert [page.url for page in examiners] == links
            for page in judges + examiners:
                assert page.locator("[data-testid=stException]").count() == 0
    finally:
        proc.kill()
        proc.wait(timeout=30)
    monkeypatch.setenv("UPAIR_JUDGEMENTS", env["UPAIR_JUDGEMENTS"])
    store = JudgementStore(load_corpus(spec).name)
    assert store.annotators() == sorted(ANNOTATORS)
    for name in ANNOTATORS:
        done = [j for j in store.journal(name).judgements().values() if not j.skip]
        assert len(done) == 1, (name, done)
        assert dict(done[0].axes) == {"visual": 1, "semantic": 1, "part_whole": 1}, (name, done[0].axes)
