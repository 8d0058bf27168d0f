"""SIGKILL of the served app with several people in their browsers: every answer the page
acknowledged (its rerun finished) is in the annotator's journal after a restart, the annotator
resumes after it, and an examiner's starred hit (the saved shortlist of their workspace) is there
when their browser loads the same link again. Three annotators and one examiner (not ten
sessions) to keep the test short on a small machine."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from dashboard import serve
from tests.browsing import MARKS, ROOT, STREAMLIT_FLAGS, chromium, free_port, settle

pytestmark = MARKS
ANNOTATORS = ("alice", "bob", "carol")


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


def _sign_in(page, url: str, name: str) -> None:
    page.goto(f"{url}/judge")
    settle(page)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Passphrase").fill(name + " passphrase")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=90_000)
    settle(page)


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
    proc = _start(env, port)
    try:
        with chromium() as browser:
            pages = [browser.new_context(viewport={"width": 1280, "height": 800}).new_page() for _ in ANNOTATORS]
            for page, name in zip(pages, ANNOTATORS):
                _sign_in(page, url, name)
            examiner = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            first = load_corpus(spec).figures[0].id
            examiner.goto(f"{url}/search?q={first}")
            settle(examiner)
            examiner.locator("button:has-text('☆')").first.click()
            examiner.locator("button:has-text('★')").first.wait_for(timeout=90_000)
            settle(examiner)  # acknowledged: the star is drawn, so the workspace was saved before it
            link = examiner.url
            assert "ws=" in link
            for page in pages:  # every annotator answers the three axes of their first pair (keys 1, 4, 7)
                for key in ("1", "4", "7"):
                    page.keyboard.press(key)
                    settle(page)  # the rerun after the answer finished: the page acknowledged it
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proc = _start(env, port)
            again = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            _sign_in(again, url, "alice")
            assert again.locator("[data-testid=stException]").count() == 0
            back = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            back.goto(link)  # a new browser with the examiner's link (their workspace id)
            settle(back)
            back.locator("button:has-text('★')").first.wait_for(timeout=90_000)  # the shortlist survived
    finally:
        proc.kill()
        proc.wait(timeout=30)
    monkeypatch.setenv("UPAIR_JUDGEMENTS", env["UPAIR_JUDGEMENTS"])
    store = JudgementStore(load_corpus(spec).name)
    for name in ANNOTATORS:
        done = [j for j in store.journal(name).judgements().values() if not j.skip]
        assert len(done) == 1, (name, done)
        assert dict(done[0].axes) == {"visual": 1, "semantic": 1, "part_whole": 1}, (name, done[0].axes)
