"""Pictures on the map (spread_sample), judged pairs as lines, and selections written as a folder corpus."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.map_overlays import FILL, judged_pairs, segments, spread_sample


def _brute_spread(xy, box, across):
    """Per occupied cell of side max-extent/across: the point nearest the cell centre (lower row on ties)."""
    if box is None:
        ok = [p for p in xy if math.isfinite(p[0]) and math.isfinite(p[1])]
        x0, x1 = min(p[0] for p in ok), max(p[0] for p in ok)
        y0, y1 = min(p[1] for p in ok), max(p[1] for p in ok)
    else:
        x0, x1, y0, y1 = box
    side = max(x1 - x0, y1 - y0) / across
    best = {}
    for r, (x, y) in enumerate(xy):
        if not (math.isfinite(x) and math.isfinite(y)) or not (x0 <= x <= x1 and y0 <= y <= y1):
            continue
        c = (math.floor((x - x0) / side), math.floor((y - y0) / side))
        d = math.hypot(x - (c[0] + 0.5) * side - x0, y - (c[1] + 0.5) * side - y0)
        if c not in best or (d, r) < best[c]:
            best[c] = (d, r)
    return sorted(r for _, r in best.values()), side


def _overlap(p, q, side) -> bool:
    return max(abs(p[0] - q[0]), abs(p[1] - q[1])) < side * FILL


@pytest.mark.parametrize("across", [1, 4, 12])
def test_spread_sample_takes_cell_representatives_whose_pictures_do_not_overlap(across):
    rng = np.random.default_rng(across)
    xy = rng.uniform(-1, 1, size=(600, 2))
    xy[::50] = np.nan  # points without a place are never drawn
    rows, side = spread_sample(xy, across=across, cap=10_000)
    offered, wside = _brute_spread(xy.tolist(), None, across)
    assert abs(side - wside) < 1e-12
    assert set(rows.tolist()) <= set(offered) and len(rows) >= min(len(offered), 1)
    pts = xy.tolist()
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            assert not _overlap(pts[a], pts[b], side)
    # maximal: every representative left out would overlap one taken
    for r in set(offered) - set(rows.tolist()):
        assert any(_overlap(pts[r], pts[t], side) for t in rows)
    if across >= 4:
        assert len(rows) >= 0.4 * len(offered)


def test_spread_sample_respects_the_box_and_the_cap():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 1, size=(5_000, 2))
    box = (-0.5, 0.1, 0.2, 0.9)
    rows, side = spread_sample(xy, box, across=10)
    assert set(rows.tolist()) <= set(_brute_spread(xy.tolist(), box, 10)[0]) and len(rows) > 20
    inside = xy[rows]
    assert np.all((inside[:, 0] >= -0.5) & (inside[:, 0] <= 0.1) & (inside[:, 1] >= 0.2) & (inside[:, 1] <= 0.9))
    rows, _ = spread_sample(xy, across=40, cap=150)  # 1,600 cells, capped
    assert len(rows) == 150
    # the cap keeps the cells nearest the middle, so the sample covers the centre, not one corner
    assert abs(np.median(xy[rows], axis=0)).max() < 0.15


def test_spread_sample_edge_cases():
    assert spread_sample(np.zeros((0, 2)))[0].tolist() == []
    assert spread_sample(np.full((3, 2), np.nan))[0].tolist() == []
    assert spread_sample(np.zeros((4, 2)))[0].tolist() == [0]  # all at one place: one picture
    assert spread_sample(np.random.default_rng(1).normal(size=(9, 2)), cap=0)[0].tolist() == []
    for bad in (dict(across=0), dict(across=True), dict(cap=-1)):
        with pytest.raises(ValueError):
            spread_sample(np.zeros((2, 2)), **bad)


def test_judged_pairs_and_segments(upair_samples):
    from core import load_corpus

    corpus = load_corpus(f"upair:{upair_samples}")
    for axis in ("visual", "semantic", "part_whole"):
        rel = judged_pairs(corpus, axis, True)
        non = judged_pairs(corpus, axis, False)
        qrels = corpus.benchmark.qrels[axis]
        assert sorted(rel) == sorted((q, d) for q, docs in qrels.items() for d, r in docs.items() if r > 0)
        assert sorted(non) == sorted((q, d) for q, docs in qrels.items() for d, r in docs.items() if r <= 0)
    with pytest.raises(ValueError, match="axes: visual"):
        judged_pairs(corpus, "colour")
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, np.nan]])
    xs, ys, n = segments([("a", "b"), ("a", "c"), ("a", "zz")], {"a": 0, "b": 1, "c": 2}, xy)
    assert n == 1 and xs == [0.0, 1.0, None] and ys == [0.0, 1.0, None]


def test_selection_written_as_a_folder_corpus_keeps_ids_and_metadata(cache, upair_samples):
    from core import load_corpus
    from core.subsets import write_subset

    corpus = load_corpus(f"upair:{upair_samples}")
    ids = [f.id for f in corpus.figures[:4]]
    dest = write_subset(corpus, ids, "my selection")
    assert dest.parent == cache / "subsets" and dest.name.startswith("my-selection-")
    sub = load_corpus(f"folder:{dest}")
    assert [f.id for f in sub.figures] == ids
    for f in sub.figures:
        orig = corpus.by_id[f.id]
        assert (f.title, f.description, f.labels, f.patent) == (orig.title, orig.description, orig.labels, orig.patent)
        assert f.path.read_bytes() == orig.path.read_bytes()
    assert write_subset(corpus, ids, "my selection") == dest  # the same selection: the same folder
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")]  # no temporary left
    with pytest.raises(ValueError, match="not figures of"):
        write_subset(corpus, ["nope"])
    with pytest.raises(ValueError, match="empty"):
        write_subset(corpus, [])
    with pytest.raises(ValueError, match="letters or digits"):
        write_subset(corpus, ids, "../..")
