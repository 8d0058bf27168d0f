"""The sidebar shows the background fetch of the baseline CLIP: progress (MB of total) while it
downloads, "Use CLIP ViT-B-16" when it has arrived (adding it to the encoders), and the one line
saying how to fetch it later when there was no network; nothing when no fetch was started, and
nothing in served mode. The status files are written as the fetch writes them."""
from __future__ import annotations

import fcntl
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import weights_fetch as wf

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
BASE = wf.FETCHES["clip-baseline"]
NOTE = "CLIP needs the network once: run `make fetch` (or"


def _app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog"]
    return at.run()


def _captions(at) -> list[str]:
    return [c.value for c in at.sidebar.caption]


@pytest.mark.parametrize("state", ["offline", "failed"])
def test_no_network_is_one_line_saying_how_to_fetch_later(cache, state):
    wf._write(wf.FetchStatus("clip-baseline", state, message="cannot reach http://127.0.0.1:9 (connection refused)",
                             updated=time.time()))
    at = _app()
    assert not at.exception, at.exception
    lines = [c for c in _captions(at) if "needs the network once" in c]
    assert len(lines) == 1 and lines[0].startswith(NOTE) and "-m core fetch clip-baseline) when online" in lines[0]
    assert not [b for b in at.button if b.key == "use_baseline_clip"] and not at.get("progress")


def test_progress_shows_megabytes_of_the_total_while_fetching(cache):
    _, lock, _ = wf._paths("clip-baseline")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as held:  # the fetch process holds its lock while it runs
        fcntl.flock(held, fcntl.LOCK_EX)
        wf._write(wf.FetchStatus("clip-baseline", "fetching", 120_400_000, 598_600_000, pid=1, updated=time.time()))
        at = _app()
    assert not at.exception, at.exception
    texts = [p.proto.text for p in at.get("progress")]
    assert texts == ["Downloading CLIP ViT-B-16: 120.4 of 598.6 MB"], texts
    assert not [c for c in _captions(at) if "needs the network once" in c]


def test_ready_offers_the_baseline_and_adds_it_to_the_encoders(cache, monkeypatch):
    from core.encoders.base import Availability
    from core.encoders.clip import ClipEncoder

    snap = cache / "open_clip" / f"models--{BASE.repo.replace('/', '--')}" / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (snap / BASE.files[0]).write_bytes(b"fake weights")
    wf._write(wf.FetchStatus("clip-baseline", "ready", 12, 12, updated=time.time()))
    # CLIP availability would import torch to read the fake file's tag table; the weights are "here"
    monkeypatch.setattr(ClipEncoder, "availability",
                        lambda self: Availability(self.spec == BASE.spec, "not here", ""))
    at = _app()
    assert not at.exception, at.exception
    button = at.button(key="use_baseline_clip")
    assert button.label == "Use CLIP ViT-B-16"
    button.click().run()
    assert not at.exception, at.exception
    assert BASE.spec in at.session_state["encoders"] and "hog" in at.session_state["encoders"]
    assert not [b for b in at.button if b.key == "use_baseline_clip"]


def test_nothing_without_a_fetch_and_nothing_in_served_mode(cache, monkeypatch):
    at = _app()
    assert not at.exception and not at.get("progress")
    assert not [c for c in _captions(at) if "needs the network once" in c]
    wf._write(wf.FetchStatus("clip-baseline", "failed", message="x", updated=time.time()))
    from dashboard import serve

    monkeypatch.setattr(serve, "served", lambda: True)  # served mode never shows (nor starts) a fetch
    at = _app()
    assert not at.exception, at.exception
    assert not [c for c in _captions(at) if "needs the network once" in c]
