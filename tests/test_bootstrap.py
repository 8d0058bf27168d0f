"""Paired bootstrap intervals (core.metrics.bootstrap) against scipy.stats.bootstrap on the same
data, seed and resamples (percentile method; paired=True for the difference to the best)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.metrics.bootstrap import BOOTSTRAP_COLUMNS, bootstrap_intervals, check_resamples

TOL = 1e-12  # same resampled indices; only the order of float additions may differ


def _per_query(seed=3, nq=40):
    rng = np.random.default_rng(seed)
    rows = []
    base = {"A": 0.55, "B": 0.45, "C": 0.5}
    for axis in ("visual", "semantic"):
        for enc, mu in base.items():
            for m in ("AP", "nDCG@10"):
                vals = np.clip(rng.normal(mu, 0.25, nq), 0, 1)
                rows += [{"encoder": enc, "run": "image", "axis": axis, "metric": m, "qid": f"q{i:02d}",
                          "value": float(v)} for i, v in enumerate(vals)]
    return pd.DataFrame(rows)


def _vals(pq, enc, axis, m):
    s = pq[(pq["encoder"] == enc) & (pq["axis"] == axis) & (pq["metric"] == m)].sort_values("qid")
    return s["value"].to_numpy()


def test_intervals_equal_scipy_percentile_bootstrap():
    pq = _per_query()
    out = bootstrap_intervals(pq, resamples=1000, seed=7)
    assert list(out.columns) == list(BOOTSTRAP_COLUMNS) and len(out) == 3 * 2 * 2
    for r in out.itertuples():
        x = _vals(pq, r.encoder, r.axis, r.metric)
        ref = stats.bootstrap((x,), np.mean, n_resamples=1000, method="percentile", vectorized=True,
                              confidence_level=0.95, rng=np.random.default_rng(7))
        assert r.mean == pytest.approx(x.mean(), abs=TOL)
        assert r.ci_low == pytest.approx(ref.confidence_interval.low, abs=TOL)
        assert r.ci_high == pytest.approx(ref.confidence_interval.high, abs=TOL)
        assert r.ci_low <= r.mean <= r.ci_high


def test_difference_to_best_equals_scipy_paired_bootstrap():
    pq = _per_query()
    out = bootstrap_intervals(pq, resamples=2000, seed=11, confidence=0.9)
    checked = 0
    for r in out.itertuples():
        best = _vals(pq, r.best_encoder, r.axis, r.metric)
        x = _vals(pq, r.encoder, r.axis, r.metric)
        assert best.mean() >= x.mean()
        if r.encoder == r.best_encoder:
            assert r.diff_to_best == 0 and r.diff_low == 0 and r.diff_high == 0
            continue
        ref = stats.bootstrap((best, x), lambda a, b, axis: a.mean(axis) - b.mean(axis), paired=True,
                              vectorized=True, n_resamples=2000, method="percentile", confidence_level=0.9,
                              rng=np.random.default_rng(11))
        assert r.diff_to_best == pytest.approx(best.mean() - x.mean(), abs=TOL)
        assert r.diff_low == pytest.approx(ref.confidence_interval.low, abs=TOL)
        assert r.diff_high == pytest.approx(ref.confidence_interval.high, abs=TOL)
        checked += 1
    assert checked == 2 * 2 * 2


def test_pairing_drops_queries_a_system_lacks_and_seed_reproduces():
    pq = _per_query(nq=12)
    pq = pq[~((pq["encoder"] == "C") & (pq["qid"] == "q03") & (pq["axis"] == "visual"))]
    out = bootstrap_intervals(pq, resamples=100, seed=0)
    assert set(out[out["axis"] == "visual"]["n"]) == {11}
    assert set(out[out["axis"] == "semantic"]["n"]) == {12}
    again = bootstrap_intervals(pq, resamples=100, seed=0)
    pd.testing.assert_frame_equal(out, again)
    assert not out.equals(bootstrap_intervals(pq, resamples=100, seed=1))


def test_constant_values_give_a_point_interval_and_bad_arguments_fail():
    pq = pd.DataFrame([{"encoder": e, "run": "image", "axis": "visual", "metric": "AP", "qid": f"q{i}",
                        "value": 0.5} for e in ("A", "B") for i in range(5)])
    out = bootstrap_intervals(pq, resamples=100)
    assert (out["ci_low"] == 0.5).all() and (out["ci_high"] == 0.5).all() and (out["diff_high"] == 0).all()
    assert bootstrap_intervals(pq.iloc[:0], resamples=100).empty
    with pytest.raises(ValueError, match="at least 100"):
        check_resamples(99)
    with pytest.raises(ValueError, match="whole number"):
        check_resamples("many")
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_intervals(pq, resamples=100, confidence=1.0)


def test_scores_page_csv_carries_the_intervals():
    import io

    from pages.scores_widgets import results_csv

    pq = _per_query(nq=10).replace({"encoder": {"A": "hog", "B": "ahdh", "C": "tfidf"}})
    table = pq.groupby(["encoder", "run", "axis", "metric"], sort=False)["value"].mean().reset_index()
    iv = bootstrap_intervals(pq, resamples=100, seed=2)
    df = pd.read_csv(io.BytesIO(results_csv(table, None, corpus="demo", protocol="clean", weight=1.0, test="t",
                                            n_by_axis={"visual": 10, "semantic": 10}, intervals=iv)))
    assert len(df) == len(table)
    merged = df.merge(iv, on=["encoder", "run", "axis"], suffixes=("", "_iv"))
    merged = merged[merged["measure"].map({"MAP": "AP", "nDCG@10": "nDCG@10"}) == merged["metric"]]
    assert len(merged) == len(table)
    assert np.allclose(merged["ci_low"], merged["ci_low_iv"]) and np.allclose(merged["diff_high"], merged["diff_high_iv"])
    assert set(df["ci_resamples"]) == {100} and set(df["ci_seed"]) == {2}


def test_intervals_of_one_metric_equal_its_rows_of_all_metrics():
    """Asking for one metric computes only its rows, and they equal that metric's rows of the full
    call (queries paired over every metric, the same resampled indices), also when another metric
    is missing a query (that query is left out of both)."""
    pq = _per_query()
    drop = pq[(pq["metric"] == pq["metric"].iloc[-1]) & (pq["qid"] == pq["qid"].iloc[0])].index
    for frame in (pq, pq.drop(index=drop)):
        full = bootstrap_intervals(frame, resamples=200, seed=3)
        for m in frame["metric"].unique():
            one = bootstrap_intervals(frame, resamples=200, seed=3, metrics=(m,))
            assert set(one["metric"]) == {m}
            pd.testing.assert_frame_equal(one.reset_index(drop=True),
                                          full[full["metric"] == m].reset_index(drop=True))
    assert bootstrap_intervals(pq, resamples=100, metrics=("no such metric",)).empty
