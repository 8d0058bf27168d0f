"""The embedded demo corpus: size, determinism, ground truth, image look, caching, atomicity."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.corpora import demo
from core.corpora.base import AXES
from core.qrels import read_qrels


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """One generated demo corpus (default seed) shared by the read-only tests: the session's
    own drawing (``generate_demo``, see tests/conftest.py), never modified."""
    from tests.conftest import demo_template

    return demo_template(tmp_path_factory)


@pytest.fixture(scope="module")
def corpus(demo_dir):
    return demo.load_demo(demo_dir)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_size_and_records(corpus, demo_dir):
    figs = corpus.figures
    assert corpus.name == "demo" and corpus.kind == "demo" and corpus.synthetic
    assert len(figs) >= 300
    assert len({f.patent for f in figs}) >= 40
    assert len(corpus.sections) >= 6
    assert len(corpus.benchmark.queries) >= 30
    assert corpus.benchmark.candidates == {}
    assert len({f.id for f in figs}) == len(figs)
    for f in figs:
        assert f.title and f.description and f.labels, f.id
        assert f.source == "demo"
        assert f.path.is_file() and f.path.parent == demo_dir / "test" / "images"
        assert f.patent.startswith("XX") and f.patent[2:9].isdigit()
        assert f.section in "ABCDEFGH" and f.section
        assert f.description.startswith("FIG. ")
    # figures.json order is the corpus order, with a section on every record
    records = json.loads((demo_dir / "figures.json").read_text())
    assert [r["hashcode"] for r in records] == [f.id for f in figs]
    assert all(r["section"] for r in records)
    assert "synthetic" in (demo_dir / "README.txt").read_text().lower()


def test_views_families_and_functions(demo_dir):
    records = json.loads((demo_dir / "figures.json").read_text())
    views = {r["demo"]["view"] for r in records}
    assert {"full", "section", "exploded", "detail", "alternative"} <= views
    inv = {}
    for r in records:
        inv[r["demo"]["invention"]] = (r["demo"]["outline_family"], r["demo"]["function"])
    families = {}
    functions = {}
    for i, (fam, fun) in inv.items():
        families.setdefault(fam, set()).add(i)
        functions.setdefault(fun, set()).add(i)
    assert all(len(v) >= 2 for v in families.values()) and all(len(v) >= 2 for v in functions.values())
    # visual and semantic partitions differ
    assert {frozenset(v) for v in families.values()} != {frozenset(v) for v in functions.values()}
    per_invention = [sum(1 for r in records if r["demo"]["invention"] == i) for i in inv]
    assert 7 <= min(per_invention) and max(per_invention) <= 8


def test_qrels_exhaustive_and_sensible(corpus, demo_dir):
    ids = [f.id for f in corpus.figures]
    queries = corpus.benchmark.queries
    tables = {}
    for axis in AXES:
        path = demo_dir / "test" / f"qrels_{axis}.txt"
        assert corpus.benchmark.qrels_files[axis] == str(path)
        qrels, problems = read_qrels(path)
        assert not problems
        assert set(qrels) == set(queries)
        for q in queries:
            # every other figure is judged, 0 or 1
            assert set(qrels[q]) == set(ids) - {q}
            assert set(qrels[q].values()) <= {0, 1}
        tables[axis] = qrels
        assert qrels == corpus.benchmark.qrels[axis]
    for q in queries:
        assert sum(tables["visual"][q].values()) >= 1, q
        assert sum(tables["semantic"][q].values()) >= 1, q
        assert sum(tables["part_whole"][q].values()) >= 1, q
    flat = {a: {(q, d): r for q in queries for d, r in tables[a][q].items()} for a in AXES}
    assert flat["visual"] != flat["semantic"] != flat["part_whole"] != flat["visual"]
    # metadata.json: every relevant figure is a candidate, plus some non-relevant ones
    meta = json.loads((demo_dir / "metadata.json").read_text())
    assert set(meta) == set(queries)
    for q, entry in meta.items():
        assert entry["query"]["hashcode"] == q
        cands = {c["hashcode"] for c in entry["candidates"]}
        relevant = {d for a in AXES for d, r in tables[a][q].items() if r}
        assert relevant <= cands and q not in cands
        assert 10 <= len(cands - relevant) <= demo.N_NONRELEVANT
        for rec in [entry["query"], *entry["candidates"]]:
            assert {"hashcode", "patent", "title", "description", "component_labels", "section"} <= set(rec)


def test_ground_truth_rules(corpus, demo_dir):
    """Judgements follow the documented generation rules."""
    records = {r["hashcode"]: r["demo"] for r in json.loads((demo_dir / "figures.json").read_text())}
    for q in corpus.benchmark.queries:
        qd = records[q]
        for d, rel in corpus.benchmark.qrels["semantic"][q].items():
            assert rel == int(records[d]["function"] == qd["function"])
        for d, rel in corpus.benchmark.qrels["visual"][q].items():
            if rel and qd["view"] != "detail":
                assert records[d]["outline_family"] == qd["outline_family"] and records[d]["view"] != "detail"
        for d, rel in corpus.benchmark.qrels["part_whole"][q].items():
            if rel:
                assert (qd["view"] == "detail") != (records[d]["view"] == "detail")


@pytest.mark.slow  # draws the demo corpus twice more (~50 s on a loaded machine)
def test_deterministic_and_seed_dependent(demo_dir, tmp_path):
    again = demo.generate_demo(tmp_path / "again", seed=demo.DEMO_SEED)
    a, b = _files(demo_dir), _files(again)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    other = demo.generate_demo(tmp_path / "other", seed=demo.DEMO_SEED + 1)
    c = _files(other)
    images_a = {v for k, v in a.items() if k.endswith(".png")}
    images_c = {v for k, v in c.items() if k.endswith(".png")}
    assert len(images_a & images_c) < len(images_a) // 2


def test_images_look_like_line_drawings(corpus):
    for f in corpus.figures:
        with Image.open(f.path) as im:
            assert im.mode in ("L", "1")
            assert max(im.size) == 512 and min(im.size) >= 300
            assert not im.info.get("dpi") and "tIME" not in im.info
            arr = np.asarray(im.convert("L"))
        dark = float((arr < 128).mean())
        assert 0.01 <= dark <= 0.30, (f.id, dark)
        assert arr[0, :].min() == 255 and arr[-1, :].min() == 255  # white border rows


def test_load_demo_generates_once_into_cache(cache, monkeypatch):
    c1 = demo.load_demo()
    root = cache / f"demo-v{demo.DEMO_VERSION}-seed{demo.DEMO_SEED}"
    assert c1.root == root and (root / "figures.json").is_file()
    mtime = (root / "figures.json").stat().st_mtime_ns

    def boom(*a, **k):
        raise AssertionError("demo regenerated although cached")

    monkeypatch.setattr(demo, "generate_demo", boom)
    c2 = demo.load_demo()
    assert (root / "figures.json").stat().st_mtime_ns == mtime
    assert [f.id for f in c2.figures] == [f.id for f in c1.figures]
    assert c2.fingerprint == c1.fingerprint
    # no temporary folders left beside it
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = demo.render_figure

    def flaky(inv, fp):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(inv, fp)

    monkeypatch.setattr(demo, "render_figure", flaky)
    dest = tmp_path / "corpus"
    with pytest.raises(KeyboardInterrupt):
        demo.generate_demo(dest)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []
