"""The Judge page in headless Chromium, driven by the keyboard; the journal is checked on disk."""
from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
import urllib.request

import pytest

from core.annotation.judgements import JudgementStore
from tests.browsing import MARKS, SHOTS, chromium, streamlit_server

pytestmark = [*MARKS, pytest.mark.shared]


@pytest.fixture
def server(tmp_path, upair_samples):
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path / "cache"), "UPAIR_JUDGEMENTS": str(tmp_path / "judgements")}
    with streamlit_server(env) as url:
        yield url, tmp_path / "judgements"


def _caption(page) -> str:
    loc = page.locator("[data-testid=stCaptionContainer]", has_text=re.compile(r"^Pair \d+ of \d+"))
    loc.first.wait_for(timeout=60_000)
    return loc.first.inner_text()


def _wait_caption(page, prefix: str) -> str:
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        try:
            text = _caption(page)
        except Exception:  # the element is being replaced by a rerun
            text = ""
        if text.startswith(prefix):
            return text
        time.sleep(0.25)
    raise AssertionError(f"expected a caption starting {prefix!r}, last seen {text!r}")


def _idle(page) -> None:
    """Wait until Streamlit is not running the script (its status widget is gone)."""
    deadline = time.monotonic() + 60
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        quiet = 0 if page.locator("[data-testid=stStatusWidget]").count() else quiet + 1
        time.sleep(0.2)


def _press(page, key: str) -> None:
    _idle(page)
    page.keyboard.press(key)
    time.sleep(0.3)
    _idle(page)


def test_judge_with_the_keyboard(server, upair_samples):
    url, jdir = server
    spec = f"upair:{upair_samples}"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 1200})
        page.goto(f"{url}/judge?corpus={urllib.parse.quote(spec, safe='')}")
        box = page.get_by_label("Your name").last
        box.wait_for(timeout=120_000)
        box.fill("sue")  # 's' and 'u' are shortcuts: typing a name must not fire them
        box.press("Enter")
        _wait_caption(page, "Pair 1 of 5")
        _idle(page)
        page.locator("h1").first.click()  # focus leaves the text box
        for key in ("1", "5", "9"):  # visual yes, semantic no, part-whole unsure -> next pair
            _press(page, key)
        _wait_caption(page, "Pair 2 of 5")
        _press(page, "s")  # skip
        _wait_caption(page, "Pair 3 of 5")
        _press(page, "u")  # undo the skip: back on pair 2
        _wait_caption(page, "Pair 2 of 5")
        _press(page, "ArrowLeft")
        assert "Visual: Yes · Semantic: No · Part-whole: Unsure" in _wait_caption(page, "Pair 1 of 5")
        _press(page, "ArrowRight")
        for key in ("2", "4"):  # two of three keys: nothing is stored until the third
            _press(page, key)
        _wait_caption(page, "Pair 2 of 5")
        _press(page, "7")
        _wait_caption(page, "Pair 3 of 5")
        time.sleep(1)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "judge.png"))
        assert page.locator("[data-testid=stException]").count() == 0
    journal = JudgementStore(spec, root=jdir).journal("sue")
    lines = [json.loads(x) for x in journal.path.read_text().splitlines()]
    assert len(lines) == 1 + 1 + 1 + 1  # one whole judgement, the skip, its undo, one more judgement
    assert lines[2]["undo"] == lines[1]["id"] and lines[1]["skip"]
    state = list(journal.judgements().values())
    assert [j.axes for j in state] == [{"visual": 1, "semantic": 0, "part_whole": None},
                                       {"visual": 0, "semantic": 1, "part_whole": 1}]
