"""Axis disagreement and rank gaps (core.metrics.disagreement) against brute force."""
from __future__ import annotations

import itertools
import random

import numpy as np
import pandas as pd
import pytest

from core.metrics.disagreement import axis_disagreements, rank_gaps

AXES = ("visual", "semantic", "partwhole")


def _pq(seed=2, nq=30):
    rng = random.Random(seed)
    rows = []
    for enc in ("A", "B"):
        for ax in AXES:
            for i in range(nq):
                v = rng.choice([0.0, 0.25, 0.5, 1.0, rng.random()])
                rows.append({"encoder": enc, "run": "image", "axis": ax, "metric": "AP", "qid": f"q{i:02d}",
                             "value": v})
    return pd.DataFrame(rows)


def test_axis_disagreements_equal_brute_force():
    pq = _pq()
    out = axis_disagreements(pq, ("A", "image"), ("B", "image"))
    v = {(r.encoder, r.axis, r.qid): r.value for r in pq.itertuples()}
    expect = {}
    for q in sorted(set(pq["qid"])):
        d = {ax: v[("A", ax, q)] - v[("B", ax, q)] for ax in AXES}
        if max(d.values()) > 1e-9 and min(d.values()) < -1e-9:
            expect[q] = (max(d, key=d.get), min(d, key=d.get), max(d.values()) - min(d.values()))
    assert set(out.index) == set(expect) and len(expect) > 3
    for q, (up, down, gap) in expect.items():
        assert out.loc[q, "gap"] == pytest.approx(gap, abs=1e-12)
        assert out.loc[q, up] == pytest.approx(max(out.loc[q, list(AXES)]))
        assert out.loc[q, down] == pytest.approx(min(out.loc[q, list(AXES)]))
    assert list(out["gap"]) == sorted(out["gap"], reverse=True)
    # symmetric: B vs A has the same queries, up and down swapped
    rev = axis_disagreements(pq, ("B", "image"), ("A", "image"))
    assert set(rev.index) == set(out.index)
    assert all(rev.loc[q, "up"] == out.loc[q, "down"] for q in out.index if
               len(set(np.round(out.loc[q, list(AXES)].astype(float), 12))) == 3)


def test_no_disagreement_when_one_system_dominates():
    pq = _pq()
    pq.loc[pq["encoder"] == "A", "value"] = 1.0
    pq.loc[pq["encoder"] == "B", "value"] = 0.0
    assert axis_disagreements(pq, ("A", "image"), ("B", "image")).empty


def test_rank_gaps_equal_brute_force():
    rng = random.Random(9)
    docs = [f"d{i:02d}" for i in range(40)]
    sa = {d: round(rng.random(), 2) for d in docs}
    sb = {d: round(rng.random(), 2) for d in docs}
    rel = rng.sample(docs, 12)
    a_hi, b_hi = rank_gaps(sa, sb, rel, min_gap=5, n=100)
    order = lambda s: [d for d, _ in sorted(s.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]  # noqa: E731
    ra = {d: i + 1 for i, d in enumerate(order(sa))}
    rb = {d: i + 1 for i, d in enumerate(order(sb))}
    assert {d for d, _, _ in a_hi} == {d for d in rel if rb[d] - ra[d] >= 5}
    assert {d for d, _, _ in b_hi} == {d for d in rel if ra[d] - rb[d] >= 5}
    assert all((x, y) == (ra[d], rb[d]) for d, x, y in itertools.chain(a_hi, b_hi))
    gaps = [y - x for _, x, y in a_hi]
    assert gaps == sorted(gaps, reverse=True)
    assert len(rank_gaps(sa, sb, rel, min_gap=1, n=3)[0]) <= 3
    assert rank_gaps(sa, sa, rel) == ([], [])
