"""Honest waits on the Sample and Models pages (``dashboard.components.waiting``): a pool's first draw
(which encodes the corpus once per index) and the Models page's "Check embeddings" run as background
jobs; the page returns at once with a progress bar and the line that the user may leave, two sessions
share one job, the result is drawn once the job is done, and a failure is one line. The work is held
on a gate, so "still running" is a fact, not a race."""
from __future__ import annotations

import threading
import time

import pytest

from core import embed
from dashboard import jobs
from tests.test_waiting_app import _app, _progress, drawings  # noqa: F401 - drawings is a fixture

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def _until(check, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _idle(prefix: str) -> bool:
    return not [j for j in jobs.running() if j.key.startswith(prefix)]


@pytest.mark.slow  # about 20 s on a loaded 2-core machine: the demo's first real draw, drawn once
def test_sample_draw_runs_in_the_background_with_progress_then_shows_the_pool(cache, monkeypatch):
    from dashboard.services import sampling

    gate, calls, real = threading.Event(), [], sampling.sample_pools

    def slow(*a, progress=None, **kw):
        calls.append(1)
        if progress:
            progress(1, 4, "index image (hog · image)")
        assert gate.wait(60)
        return real(*a, progress=progress, **kw)

    monkeypatch.setattr(sampling, "sample_pools", slow)
    monkeypatch.setattr(jobs, "WAIT_S", 0.0)
    first = _app("demo", "sample")
    _until(lambda: jobs.get(next(j.key for j in jobs.running() if j.key.startswith("sample:"))).done == 1)
    first.run()
    assert not first.exception and not first.error
    bars = _progress(first)
    assert len(bars) == 1 and "Drawing the pool" in bars[0] and "reading index image (hog · image) (1 of 4 done)" in bars[0], bars
    assert any("other pages" in c.value for c in first.caption)
    assert not first.dataframe  # no pool yet
    second = _app("demo", "sample")  # another session asking for the same draw: the same job
    assert len(_progress(second)) == 1 and calls == [1]
    assert len([j for j in jobs.running() if j.key.startswith("sample:")]) == 1
    gate.set()
    _until(lambda: _idle("sample:"))
    for at in (first, second):
        at.run()
        assert not at.exception and not at.error and not _progress(at)
        assert at.dataframe and at.get("plotly_chart")
    assert calls == [1]  # one draw for both sessions, kept in memory after


def test_a_failed_draw_is_one_line(cache, monkeypatch):
    from dashboard.services import sampling

    def broken(*a, **kw):
        raise RuntimeError("the index ran out of memory\nTraceback detail")

    monkeypatch.setattr(sampling, "sample_pools", broken)
    at = _app("demo", "sample")
    assert not at.exception and len(at.error) == 1
    assert at.error[0].value == "the index ran out of memory"
    assert not at.dataframe


def _fake_model() -> str:
    from core.adapt import provenance as prov

    prov.weights_dir().mkdir(parents=True)
    prov.weights_path("flat").write_bytes(b"x")
    prov.write_sidecar("flat", {"arch": "ViT-B-16", "kept_val": {"val_loss": 1.0}, "val_pairs": 100,
                                "hyperparameters": {"batch_size": 32}})
    return prov.list_adapted()[0].spec


def test_check_embeddings_encodes_in_the_background_and_two_sessions_share_it(cache, drawings, monkeypatch):
    from dashboard import services
    from dashboard.services import encoders

    spec = _fake_model()
    gate, builds, loads = threading.Event(), [], []

    def slow_build(corpus, s, what="image", progress=None, show_bar=True):
        builds.append(s)
        if progress:
            progress(3, 12, "flat · image")
        assert gate.wait(60)

    def fake_index(corpus_spec, s):
        loads.append(s)
        encoders._loaded().add((corpus_spec, s))

    monkeypatch.setattr(embed, "build_embeddings", slow_build)
    monkeypatch.setattr(services, "index", fake_index)
    monkeypatch.setattr(jobs, "WAIT_S", 0.0)
    sessions = [_app(drawings, "models") for _ in range(2)]
    for at in sessions:
        at.button(key="models_health_flat").click().run()
        assert not at.exception and not at.error
    _until(lambda: jobs.get(encoders.index_key(drawings, spec)).done == 3)
    for at in sessions:
        at.run()
        bars = _progress(at)
        assert len(bars) == 1 and "3/12" in bars[0], bars
        assert any("other pages" in c.value for c in at.caption)
    assert builds == [spec]  # one encoding for both sessions
    gate.set()
    _until(lambda: _idle(f"index:{drawings}:"))
    for at in sessions:
        at.run()
        assert not at.exception and not at.error and not _progress(at)
    assert builds == [spec] and loads == [spec, spec]
    sessions[0].run()  # the check is done: the page no longer asks for it
    assert not _progress(sessions[0]) and loads == [spec, spec]


def test_a_failed_check_is_one_line(cache, drawings, monkeypatch):
    _fake_model()

    def broken(corpus, s, what="image", progress=None, show_bar=True):
        raise RuntimeError("the weights are not a checkpoint\nTraceback detail")

    monkeypatch.setattr(embed, "build_embeddings", broken)
    at = _app(drawings, "models")
    at.button(key="models_health_flat").click().run()
    assert not at.exception and len(at.error) == 1, [e.value for e in at.error]
    assert at.error[0].value == "flat could not encode this corpus: the weights are not a checkpoint"
    at.run()  # tried once: the next run does not try again unasked
    assert not at.error


def _export_page():
    from tests.test_sampling_app import _sample_page

    return _sample_page("demo")


@pytest.mark.slow  # the demo's draw of every query, once
def test_export_runs_in_the_background_survives_a_page_switch_and_offers_the_folder(cache, monkeypatch):
    """'Draw all queries and export' returns at once with a progress bar and the line that the user
    may leave; another page and back shows the same job's progress; once done, the zip, the folder
    and 'Open as corpus' (equal to core's draw of every query)."""
    from core import load_corpus
    from core.annotation.sampling import resolve_queries
    from dashboard.services import sampling

    at = _export_page()  # the pool of one query drawn (WAIT_S is the suite's: the page waits for it)
    gate, calls, real = threading.Event(), [], sampling.export_zip

    def slow(*a, **kw):
        calls.append(1)
        a[4](2, 5, "query q-2")  # the progress callback the job hands on
        assert gate.wait(60)
        return real(*a, **kw)

    monkeypatch.setattr(sampling, "export_zip", slow)
    monkeypatch.setattr(jobs, "WAIT_S", 0.0)
    at.button(key="sample_export").click().run()
    assert not at.exception and not at.error
    _until(lambda: calls == [1])
    at.run()
    bars = _progress(at)
    assert len(bars) == 1 and "Drawing all" in bars[0] and "query q-2 (2 of 5)" in bars[0], bars
    assert any("other pages" in c.value for c in at.caption)
    assert not [b for b in at.get("download_button")]
    at.switch_page("../pages/overview.py").run()  # leave …
    assert not at.exception
    at.switch_page("../pages/sample.py").run()  # … and come back: still the same job
    assert len(_progress(at)) == 1 and calls == [1]
    gate.set()
    _until(lambda: _idle("export:"))
    at.run()
    assert not at.exception and not at.error and not _progress(at)
    assert [b for b in at.get("download_button") if b.proto.label == "Download pools (.zip)"]
    out = sampling.exported(*at.session_state["_sample_export_asked"])[1]
    pool = load_corpus(f"upair:{out / 'pool'}")
    assert len(pool.benchmark.queries) == len(resolve_queries(load_corpus("demo")))
    assert any(f"upair:{out}/pool" in c.value for c in at.caption)
    at.button(key="sample_open_pool").click().run()
    assert at.session_state["_corpus_active"] == f"upair:{out / 'pool'}"
    assert calls == [1]


def test_a_failed_export_is_one_line_and_the_button_is_back(cache, monkeypatch):
    from dashboard.services import sampling

    at = _export_page()

    def broken(*a, **kw):
        raise OSError("No space left on device: '/cache/sampling/x'\nTraceback detail")

    monkeypatch.setattr(sampling, "export_zip", broken)
    at.button(key="sample_export").click().run()
    assert not at.exception and len(at.error) == 1, [e.value for e in at.error]
    assert at.error[0].value.startswith("No space left on device") and "\n" not in at.error[0].value
    assert not _progress(at)
    at.run()  # shown once; the next run is the plain button again
    assert not at.error and at.button(key="sample_export")
