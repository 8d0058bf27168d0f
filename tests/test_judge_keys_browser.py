"""Keyboard judging in headless Chromium: keys typed at 100 ms and at random 50–400 ms intervals
(seeded), with Undo in the middle, reach the journal exactly, key for key; a SIGKILLed server keeps
every echoed judgement; two tabs as two annotators and as one annotator lose nothing."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core import load_corpus
from core.annotation.judgements import JudgementStore
from core.annotation.judgements_events import pair_id
from core.annotation.judgements_queue import blind_order
from core.annotation.pooling import benchmark_pool
from tests.browsing import MARKS, ROOT, SHOTS, STREAMLIT_FLAGS, chromium, free_port

pytestmark = MARKS
VIEW = {"width": 1280, "height": 800}
AXES = ("visual", "semantic", "part_whole")
KEYVAL = {"visual": {"1": 1, "2": 0, "3": None}, "semantic": {"4": 1, "5": 0, "6": None},
          "part_whole": {"7": 1, "8": 0, "9": None}}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    env = {**os.environ, "UPAIR_CACHE": str(root / "cache"), "UPAIR_JUDGEMENTS": str(root / "judgements"),
           "UPAIR_ENCODERS": "hog"}
    subprocess.run([sys.executable, "-c", "from core import load_corpus; load_corpus('demo')"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=300)
    return env


class Server:
    """``streamlit run`` as a child that a test may SIGKILL and start again on the same port."""

    def __init__(self, env):
        self.env, self.port, self.proc = env, free_port(), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        argv = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(self.port),
                *STREAMLIT_FLAGS]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).status == 200:
                    return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("streamlit did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)


@pytest.fixture
def server(env):
    s = Server(env).start()
    yield s
    s.kill()


def _open(browser, server, annotator: str):
    page = browser.new_page(**({"viewport": VIEW} if hasattr(browser, "new_context") else {}))
    page.goto(f"{server.url}/judge?corpus=demo")
    box = page.get_by_label("Your name").last
    box.wait_for(timeout=120_000)
    box.fill(annotator)
    box.press("Enter")
    page.locator("[data-testid=stCaptionContainer]", has_text=re.compile(r"^Pair \d+ of")).first.wait_for(
        timeout=120_000)
    page.frame_locator("iframe[title*=keyjudge]").locator("#bar").wait_for(timeout=60_000)
    time.sleep(1.0)
    page.locator("h1").first.click()  # focus leaves the name box
    return page


def _typed_sequence(n_pairs: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice("123"), rng.choice("456"), rng.choice("789")] for _ in range(n_pairs)]


def _type(page, keys: list[str], gaps) -> None:
    for k in keys:
        page.keyboard.press(k)
        time.sleep(next(gaps))


def _settled(page, timeout: float = 90) -> None:
    """Wait until the browser has no judgement waiting for the server."""
    frame = page.frame_locator("iframe[title*=keyjudge]")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if "waiting" not in frame.locator("#state").inner_text(timeout=2000):
                time.sleep(0.5)
                if "waiting" not in frame.locator("#state").inner_text(timeout=2000):
                    return
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError("judgements still waiting for the server")


def _expected_axes(seq: list[list[str]]) -> list[dict]:
    out = []
    for keys in seq:
        axes = {}
        for k in keys:
            for axis, m in KEYVAL.items():
                if k in m:
                    axes[axis] = m[k]
        out.append(axes)
    return out


def _journal_lines(env, annotator):
    j = JudgementStore("demo", root=Path(env["UPAIR_JUDGEMENTS"])).journal(annotator)
    return j, [json.loads(x) for x in j.path.read_text().splitlines()] if j.path.exists() else []


def _order(annotator):
    corpus = load_corpus("demo")
    return blind_order(benchmark_pool(corpus).pairs, annotator, "benchmark")


@pytest.mark.parametrize("mode", ["fixed100", "random"])
def test_keys_reach_the_journal_exactly(server, env, mode):
    annotator = f"typist-{mode}"
    seq = _typed_sequence(20, seed=7 if mode == "random" else 3)
    rng = random.Random(11)
    gaps = iter(lambda: 0.1 if mode == "fixed100" else rng.uniform(0.05, 0.4), None)
    with chromium() as browser:
        page = _open(browser, server, annotator)
        # pairs 1-10, Undo (withdraws pair 10), pair 10 again with other keys, then pairs 11-20
        _type(page, [k for keys in seq[:10] for k in keys], gaps)
        _type(page, ["u"], gaps)
        redo = ["3", "6", "9"]
        _type(page, redo + [k for keys in seq[10:] for k in keys], gaps)
        _settled(page)
        page.wait_for_timeout(1000)
        assert page.locator("[data-testid=stException]").count() == 0
        echoed = page.locator("[data-testid=stCaptionContainer]", has_text="Stored:").first.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"judge-keys-{mode}.png"))
    order = _order(annotator)
    journal, lines = _journal_lines(env, annotator)
    judgements = [r for r in lines if "undo" not in r]
    expect = _expected_axes(seq[:10]) + _expected_axes([redo]) + _expected_axes(seq[10:])
    pairs = order[:10] + [order[9]] + order[10:20]
    assert [(r["query"], r["candidate"]) for r in judgements] == [tuple(p) for p in pairs]
    assert [r["axes"] for r in judgements] == expect  # key for key
    undos = [i for i, r in enumerate(lines) if "undo" in r]
    assert undos == [10] and lines[10]["undo"] == lines[9]["id"]
    state = journal.judgements()
    assert [state[p].axes for p in order[:20]] == _expected_axes(seq[:9]) + _expected_axes([redo]) + \
        _expected_axes(seq[10:])
    assert echoed.startswith(f"Stored: #20 {pair_id(order[19])[:6]} ")  # the last stored judgement is echoed


def test_sigkill_keeps_every_echoed_judgement(env):
    annotator = "killed"
    srv = Server(env)
    srv.start()
    seq = _typed_sequence(8, seed=5)
    try:
        with chromium() as browser:
            page = _open(browser, srv, annotator)
            _type(page, [k for keys in seq for k in keys], iter(lambda: 0.08, None))
            time.sleep(1.5)
            echoed = page.locator("[data-testid=stCaptionContainer]", has_text="Stored:").first.inner_text()
            srv.kill()  # SIGKILL while judging, keys perhaps still in flight
        acked = [int(m) for m in re.findall(r"#(\d+)", echoed)]
        srv.start()  # the journal after a restart
        _, lines = _journal_lines(env, annotator)
        order = _order(annotator)
        stored = {(r["query"], r["candidate"]): r["axes"] for r in lines}
        assert acked and all(tuple(order[i - 1]) in stored for i in acked)
        assert [stored[tuple(p)] for p in order[:max(acked)]] == _expected_axes(seq[:max(acked)])
    finally:
        srv.kill()


def test_two_tabs_two_annotators_and_one_annotator(server, env):
    seq_a, seq_b = _typed_sequence(5, 1), _typed_sequence(5, 2)
    with chromium() as browser:
        ctx1, ctx2 = browser.new_context(viewport=VIEW), browser.new_context(viewport=VIEW)
        a, b = _open(ctx1, server, "ann-a"), _open(ctx2, server, "ann-b")
        for ka, kb in zip([k for s in seq_a for k in s], [k for s in seq_b for k in s]):
            a.keyboard.press(ka)
            b.keyboard.press(kb)
            time.sleep(0.1)
        _settled(a)
        _settled(b)
        # the same annotator in two tabs: both append, the later line of a pair wins, history shows both
        ctx3, ctx4 = browser.new_context(viewport=VIEW), browser.new_context(viewport=VIEW)
        c, d = _open(ctx3, server, "same"), _open(ctx4, server, "same")
        for k in "159":
            c.keyboard.press(k)
            time.sleep(0.1)
        _settled(c)
        for k in "268":
            d.keyboard.press(k)
            time.sleep(0.1)
        _settled(d)
    for name, seq in (("ann-a", seq_a), ("ann-b", seq_b)):
        order = _order(name)
        j, _ = _journal_lines(env, name)
        got = j.judgements()
        assert [got[p].axes for p in order[:5]] == _expected_axes(seq)
    order = _order("same")
    j, lines = _journal_lines(env, "same")
    assert [r["axes"] for r in lines] == [{"visual": 1, "semantic": 0, "part_whole": None},
                                          {"visual": 0, "semantic": None, "part_whole": 0}]
    assert all((r["query"], r["candidate"]) == tuple(order[0]) for r in lines)
    assert j.judgements()[order[0]].axes == {"visual": 0, "semantic": None, "part_whole": 0}  # the later wins
    assert len({r["tab"] for r in lines}) == 2  # each line names the tab it was typed in
