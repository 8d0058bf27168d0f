"""Honest waits (``dashboard.components.waiting``): a first map fit and a first encoding run as
background jobs; the page returns at once with a progress bar and the line that the user may
leave, two sessions share one job, and the page shows the result once the job is done (or one
line when it failed). The fit and the encoding are held on a gate, so "still running" is a fact,
not a race; UMAP is replaced by the PCA layout (no 15 s import)."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import embed, maps
from dashboard import jobs
from tests.test_app import tiny_clip_listed  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture
def drawings(tmp_path) -> str:
    """12 small generated drawings as a folder corpus."""
    from PIL import Image, ImageDraw

    root = tmp_path / "figs"
    root.mkdir()
    for i in range(12):
        im = Image.new("RGB", (64, 64), "white")
        ImageDraw.Draw(im).ellipse([4 + i, 4, 30 + 2 * i, 40], outline="black", width=2)
        im.save(root / f"f{i:02d}.png")
    return f"folder:{root}"


def _app(spec: str, page: str, encoders=("hog",)) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    if spec.startswith("folder:"):
        at.session_state["corpus_pick"] = "custom"
        at.session_state["corpus_custom"] = spec
    else:
        at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = list(encoders)
    at.run()
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _progress(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def _wait_job(prefix: str, timeout: float = 60.0) -> jobs.Job:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [j for j in jobs.running() if j.key.startswith(prefix)]
        if not found:
            return None
        time.sleep(0.05)
    raise AssertionError(f"{prefix} job still running")


def test_map_page_returns_at_once_with_progress_then_shows_the_map(cache, drawings, monkeypatch):
    gate, fits = threading.Event(), []

    def slow_layout(v, p):
        fits.append(len(v))
        assert gate.wait(60)
        return maps._pca_layout(np.asarray(v, dtype=np.float64))

    monkeypatch.setattr(maps, "_umap_layout", slow_layout)
    first = _app(drawings, "search")  # WAIT_S is the suite's: the index is built in this run
    monkeypatch.setattr(jobs, "WAIT_S", 0.0)
    t0 = time.monotonic()
    first.switch_page("../pages/map.py").run()
    assert time.monotonic() - t0 < 30 and not first.exception and not first.error
    bars = _progress(first)
    assert len(bars) == 1 and "HOG map of 12 figures" in bars[0] and "no fit measured" in bars[0], bars
    assert any("other pages" in c.value for c in first.caption)
    assert not first.get("plotly_chart")
    second = _app(drawings, "map")  # another session asking for the same map: the same job
    assert len(_progress(second)) == 1 and fits == [12]
    assert len([j for j in jobs.running() if j.key.startswith(f"map:{drawings}:")]) == 1
    gate.set()
    _wait_job(f"map:{drawings}:")
    for at in (first, second):
        at.run()
        assert not at.exception and not at.error and not _progress(at)
        assert at.get("plotly_chart")
    assert fits == [12]  # one fit for both sessions, and the map is read from the cache after


def test_a_failed_map_fit_is_one_line(cache, drawings, monkeypatch):
    def broken(v, p):
        raise RuntimeError("the reducer ran out of memory\nTraceback detail")

    monkeypatch.setattr(maps, "_umap_layout", broken)
    at = _app(drawings, "map")
    assert not at.exception and len(at.error) == 1
    assert at.error[0].value == "The HOG map could not be computed: the reducer ran out of memory"


def test_first_encoding_runs_in_the_background_with_progress_then_search_works(cache, drawings, monkeypatch):
    gate, real = threading.Event(), embed.build_embeddings

    def slow_build(corpus, spec, what="image", progress=None, show_bar=True):
        if progress:
            progress(3, 12, "HOG · image")
        assert gate.wait(60)
        return real(corpus, spec, what, progress=progress, show_bar=show_bar)

    monkeypatch.setattr(embed, "build_embeddings", slow_build)
    monkeypatch.setattr(jobs, "WAIT_S", 0.0)
    at = _app(drawings, "search")
    end = time.monotonic() + 30
    while not any("3/12" in t for t in _progress(at)) and time.monotonic() < end:
        time.sleep(0.05)  # the job reports its first step in its own thread
        at.run()
    bars = _progress(at)
    assert len(bars) == 1 and bars[0].startswith("Encoding HOG · image: 3/12 images"), bars
    assert any("other pages" in c.value for c in at.caption) and not at.error
    gate.set()
    _wait_job(f"index:{drawings}:")
    at.run()
    assert not at.exception and not at.error and not _progress(at)
    from dashboard import services

    assert services.index_loaded(drawings, "hog")  # loaded from the vectors the job cached
    at.run()
    assert not _progress(at) and not at.exception and not at.error


def _ended(job: jobs.Job) -> jobs.Job:
    assert job.wait(10)
    return job


def test_settle_takes_a_finished_job_and_does_not_wait_again_for_a_long_one(monkeypatch):
    from dashboard.components import waiting

    assert waiting.settle(None) is None
    done = _ended(jobs.start("t:settle-done", "done", lambda p: 1))
    assert waiting.settle(done) is None and jobs.get("t:settle-done") is None  # taken: forgotten
    gate = threading.Event()
    long = jobs.start("t:settle-long", "long", lambda p: gate.wait(10))
    monkeypatch.setattr(jobs, "WAIT_S", 0.3)
    t0 = time.monotonic()
    assert waiting.settle(long) == "running" and 0.2 < time.monotonic() - t0 < 5
    time.sleep(0.3)
    t0 = time.monotonic()
    assert waiting.settle(long) == "running" and time.monotonic() - t0 < 0.1  # ran past WAIT_S: no second wait
    gate.set()
    assert long.wait(10) and waiting.settle(long) is None


def test_a_failure_is_one_line_without_server_paths_in_served_mode(monkeypatch):
    from dashboard import serve
    from dashboard.components import waiting

    def boom(p):
        raise OSError("cannot read /srv/upair/secret-room/figs/f01.png\nsecond line")

    job = _ended(jobs.start("t:settle-fail", "fail", boom))
    assert waiting.error_line(job) == "cannot read /srv/upair/secret-room/figs/f01.png"
    monkeypatch.setattr(serve, "served", lambda: True)
    line = waiting.error_line(job)
    assert "/srv" not in line and "secret-room" not in line and line.startswith("cannot read"), line
    assert waiting.settle(job) == line and jobs.get("t:settle-fail") is None  # forgotten: the next visit retries


@pytest.mark.slow
def test_the_joint_map_waits_in_the_background_too(cache, upair_samples, tiny_clip_listed, monkeypatch):
    monkeypatch.setattr(maps, "_umap_layout", lambda v, p: maps._pca_layout(np.asarray(v, dtype=np.float64)))
    gate, real = threading.Event(), maps.joint_coords

    def slow_joint(image, text, params=maps.MapParams(), progress=None):
        assert gate.wait(60)
        return real(image, text, params, progress)

    monkeypatch.setattr(maps, "joint_coords", slow_joint)
    at = _app(f"upair:{upair_samples}", "search", encoders=[tiny_clip_listed])
    monkeypatch.setattr(jobs, "WAIT_S", 0.0)
    at.switch_page("../pages/map.py").run()
    end = time.monotonic() + 60
    while not (at.get("plotly_chart") and any("joint" in t for t in _progress(at))) and time.monotonic() < end:
        time.sleep(0.1)  # the encoder's own map is fitted in the background as well (PCA here: at once)
        at.run()
    assert not at.exception and not at.error
    assert [t for t in _progress(at) if "joint" in t] and len(at.get("plotly_chart")) == 1  # its own map only
    gate.set()
    _wait_job("map:joint:")
    at.run()
    assert not at.exception and not at.error and not _progress(at)
    assert [c for c in at.get("plotly_chart") if "figure image" in c.proto.spec]
