"""Shared fixtures: an isolated cache per test, the shared UPAIR data, a tiny CLIP model."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("UPAIR_SHARED", ROOT.parent / "shared" / "data")).resolve()

TINY_CLIP = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (still runs in CI)")
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")
    config.addinivalue_line("markers", "shared: needs ../shared/data (skipped on a fresh clone)")
    config.addinivalue_line("markers", "xdist_group(name): run on one pytest-xdist worker with the group's other tests")


@contextlib.contextmanager
def session_lock(path: Path):
    """An exclusive lock on ``path`` (a file), so xdist workers make a shared thing once."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def session_dir(factory) -> Path:
    """A folder of this test run that every pytest-xdist worker shares: the controller's base
    temp (a worker's own base temp is a folder inside it), or pytest's base temp when run alone."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def demo_template(factory) -> Path:
    """The demo corpus drawn once per test run (on first use; once for all xdist workers)."""
    from core.corpora import demo

    shared = session_dir(factory) / "upair-demo-template"
    root = shared / "corpus"
    with session_lock(shared.parent / "upair-demo-template.lock"):
        if not (root / "figures.json").is_file():
            root.parent.mkdir(parents=True, exist_ok=True)
            demo.generate_demo(root, demo.DEMO_SEED)  # atomic: drawn beside it, then renamed
    return root


def seed_demo(cache_dir: Path, factory) -> Path:
    """Copy the session's demo corpus into ``cache_dir`` where ``core`` looks for it (what a
    fresh cache would draw; the copy is checked against its checksums as any cached demo is)."""
    import shutil

    from core.corpora import demo

    root = Path(cache_dir) / f"demo-v{demo.DEMO_VERSION}-seed{demo.DEMO_SEED}"
    if not root.exists():
        shutil.copytree(demo_template(factory), root)
    return root


@pytest.fixture
def cache(tmp_path, monkeypatch, tmp_path_factory) -> Path:
    """An empty cache directory used by everything the test builds.

    The demo corpus a test asks for is copied in from one drawn once per session (drawing it
    takes ~10 s; dozens of tests use it on an empty cache), so the test still finds it in its
    own cache as a fresh cache would have it. The copy is checked as any cached demo is (a
    damaged file is redrawn for real); a test that replaces the drawing code gets real drawing.
    """
    d = tmp_path / "cache"
    d.mkdir()
    monkeypatch.setenv("UPAIR_CACHE", str(d))
    from core.corpora import demo

    real_root, real_generate, real_render = demo.demo_root, demo.generate_demo, demo.render_figure

    def demo_root(seed: int = demo.DEMO_SEED) -> Path:
        untouched = demo.generate_demo is real_generate and demo.render_figure is real_render
        if seed == demo.DEMO_SEED and untouched and os.environ.get("UPAIR_CACHE") == str(d):
            seed_demo(d, tmp_path_factory)
        return real_root(seed)

    monkeypatch.setattr(demo, "demo_root", demo_root)
    return d


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs the shared UPAIR data at {path} (present in CI; absent on a fresh clone)")
    return path


@pytest.fixture
def upair_samples() -> Path:
    """``../shared/data/upair-samples`` (skips with a reason when absent)."""
    return _need(SHARED / "upair-samples")


@pytest.fixture
def query_patents() -> Path:
    """``../shared/data/query-patents`` (skips with a reason when absent)."""
    return _need(SHARED / "query-patents")


@pytest.fixture(scope="session")
def tiny_clip_arch(tmp_path_factory) -> str:
    """Register a tiny open_clip architecture (64-d, 2-layer ViT at 64 px) and return its name."""
    import open_clip

    d = tmp_path_factory.mktemp("tiny_clip_cfg")
    (d / "TinyCLIP-Test.json").write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(d)
    return "TinyCLIP-Test"


@pytest.fixture(scope="session")
def tiny_clip_checkpoint(tiny_clip_arch, tmp_path_factory) -> Path:
    """A randomly initialised tiny CLIP saved as a raw state_dict checkpoint file."""
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model(tiny_clip_arch, pretrained=None)
    path = tmp_path_factory.mktemp("tiny_clip_ckpt") / "tiny.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(autouse=True)
def no_background_warming(monkeypatch):
    """Pages warm no caches in the background (``UPAIR_PREFETCH``): a test sees only the work it
    asked for; the tests of warming itself turn it back on."""
    monkeypatch.setenv("UPAIR_PREFETCH", "0")


@pytest.fixture(autouse=True)
def pages_wait_for_jobs(monkeypatch):
    """A page waits for the background job it starts (a first map, a first encoding) long enough
    that AppTests of its results need not poll; tests of the waiting itself set ``WAIT_S = 0``."""
    from dashboard import jobs

    monkeypatch.setattr(jobs, "WAIT_S", 300.0)


@pytest.fixture
def fresh_streamlit_caches():
    """Streamlit caches are process-wide; an app test starts from empty ones."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield


# ---- parallel runs (`make test` runs `pytest -n 2 --dist loadgroup`, pytest-xdist) ------------
# A test using a module- or class-scoped fixture (a demo served by Streamlit, a built index)
# runs on the same worker as the rest of its module, so the fixture is made once; every other
# test is scheduled on its own. Groups given explicitly (``xdist_group``) are kept.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}) or {}
        if any(d.scope in ("module", "class", "package") for ds in defs.values() for d in ds):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


# ---- test durations: every run writes them, and long unmarked tests are named --------------
# Written to $UPAIR_TEST_DURATIONS or .pytest_cache/upair-durations.json (setup + call +
# teardown per test, seconds), so a CI run of `make test` leaves the numbers behind.
SLOW_LIMIT_S = 20.0
_DURATIONS: dict[str, dict] = {}


def pytest_runtest_logreport(report):
    entry = _DURATIONS.setdefault(report.nodeid, {"seconds": 0.0, "slow": False, "outcome": "passed"})
    entry["seconds"] += float(getattr(report, "duration", 0.0) or 0.0)
    if report.outcome != "passed":
        entry["outcome"] = report.outcome
    if "slow" in getattr(report, "keywords", {}):
        entry["slow"] = True


def pytest_sessionfinish(session, exitstatus):
    if not _DURATIONS or hasattr(session.config, "workerinput"):
        return
    path = Path(os.environ.get("UPAIR_TEST_DURATIONS", ROOT / ".pytest_cache" / "upair-durations.json"))
    old = {}
    try:
        old = json.loads(path.read_text())["tests"]
    except (OSError, ValueError, KeyError, TypeError):
        old = {}
    old.update(_DURATIONS)  # a partial run (one file) refreshes its own tests, keeps the rest
    data = {"tests": dict(sorted(old.items(), key=lambda kv: -kv[1]["seconds"]))}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass


def pytest_terminal_summary(terminalreporter):
    long = sorted(((e["seconds"], n) for n, e in _DURATIONS.items()
                   if e["seconds"] > SLOW_LIMIT_S and not e["slow"]), reverse=True)
    if long:
        terminalreporter.write_sep("-", f"tests over {SLOW_LIMIT_S:.0f} s not marked slow")
        for s, n in long:
            terminalreporter.write_line(f"{s:8.1f} s  {n}")
