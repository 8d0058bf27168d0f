"""Paired bootstrap confidence intervals over queries, for every metric of every system.

Method (stated everywhere the numbers are shown): on each axis the evaluated queries are
resampled with replacement ``resamples`` times (default ``DEFAULT_RESAMPLES`` = 1,000) from a
``numpy.random.default_rng(seed)`` generator; *the same* resampled query sets are used for
every system and every metric of that axis, so intervals are paired. Each resample's
statistic is the mean over its queries; the interval is the percentile interval
(``alpha/2`` and ``1 - alpha/2`` quantiles, linear interpolation). The difference of a system
to the best system of its (axis, metric) — best = highest mean, first listed on a tie — is
bootstrapped on the same resamples (``mean(best) - mean(system)`` per resample).

The resampled indices are drawn as ``scipy.stats.bootstrap`` draws them (one
``rng.integers(0, n, (resamples, n))`` call), so with the same seed, resamples and
``method="percentile"`` (``paired=True`` for the difference) the intervals equal scipy's
(tests/test_bootstrap.py checks this to 1e-12). Systems are paired by qid (inner join on the
axis); a system lacking a query of the axis is left out of that axis's intervals.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: Resamples used when none are asked for (``evaluate --bootstrap``, the Scores page).
DEFAULT_RESAMPLES = 1000
#: Fewest resamples accepted (fewer make percentile intervals meaningless).
MIN_RESAMPLES = 100
DEFAULT_CONFIDENCE = 0.95

#: Columns of a ``bootstrap_intervals`` frame, in order.
BOOTSTRAP_COLUMNS: tuple[str, ...] = (
    "encoder", "run", "axis", "metric", "mean", "ci_low", "ci_high", "best_encoder", "best_run",
    "diff_to_best", "diff_low", "diff_high", "n", "resamples", "seed", "confidence")

_CHUNK_VALUES = 4_000_000  # floats gathered at once (S systems x chunk x n queries)


def check_resamples(resamples: int, where: str = "resamples") -> int:
    """``resamples`` as an int >= ``MIN_RESAMPLES``; ValueError naming ``where`` otherwise."""
    try:
        n = int(resamples)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a whole number of resamples, got {resamples!r}") from None
    if n != resamples or n < MIN_RESAMPLES:
        raise ValueError(f"{where}: at least {MIN_RESAMPLES} resamples (got {resamples!r})")
    return n


def resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n)`` query indices drawn with replacement, as scipy's bootstrap draws them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, (resamples, n), dtype=np.int64)


def resampled_means(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``(S, B)`` means of ``values`` ``(S, n)`` over each resample of ``idx`` ``(B, n)``."""
    values = np.asarray(values, dtype=np.float64)
    s, n = values.shape
    b = len(idx)
    out = np.empty((s, b))
    step = max(1, _CHUNK_VALUES // max(1, s * n))
    for lo in range(0, b, step):
        out[:, lo:lo + step] = values[:, idx[lo:lo + step]].mean(axis=-1)
    return out


def percentile_interval(dist: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds along the last axis (linear interpolation, as scipy)."""
    alpha = (1.0 - confidence) / 2.0
    q = np.quantile(dist, [alpha, 1.0 - alpha], axis=-1)
    return q[0], q[1]


def bootstrap_intervals(per_query, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                        confidence: float = DEFAULT_CONFIDENCE, metrics: Sequence[str] | None = None):
    """Paired bootstrap intervals of every (system, axis, metric) of ``per_query``.

    ``per_query`` has columns encoder, run, axis, metric, qid, value (``EvalResult.per_query``).
    Returns a frame with ``BOOTSTRAP_COLUMNS``: the mean and its interval, the best system of
    the (axis, metric), the difference best − system and its interval (0 for the best itself).
    ``metrics`` limits the rows computed to those metrics; queries are still paired over every
    metric of ``per_query`` and resampled with the same indices, so a metric's rows are the same
    whether or not the others are asked for.
    """
    import pandas as pd

    resamples = check_resamples(resamples)
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence: expected a level between 0 and 1, got {confidence!r}")
    cols = list(BOOTSTRAP_COLUMNS)
    df = per_query
    wanted = None if metrics is None else set(metrics)
    if df.empty or (wanted is not None and not wanted & set(df["metric"])):
        return pd.DataFrame(columns=cols)
    rows = []
    for axis, ga in df.groupby("axis", sort=False):
        systems, metric_names, qids, cube = _axis_cube(ga)
        if not qids:
            continue
        idx = resample_indices(len(qids), resamples, seed)
        for mi, m in enumerate(metric_names):
            if wanted is not None and m not in wanted:
                continue
            v = cube[mi]
            means = v.mean(axis=1)
            dist = resampled_means(v, idx)
            lo, hi = percentile_interval(dist, confidence)
            best = int(np.argmax(means))  # first of the highest means
            ddist = dist[best][None, :] - dist
            dlo, dhi = percentile_interval(ddist, confidence)
            for i, (enc, run) in enumerate(systems):
                rows.append({"encoder": enc, "run": run, "axis": axis, "metric": m, "mean": float(means[i]),
                             "ci_low": float(lo[i]), "ci_high": float(hi[i]),
                             "best_encoder": systems[best][0], "best_run": systems[best][1],
                             "diff_to_best": float(means[best] - means[i]),
                             "diff_low": float(dlo[i]), "diff_high": float(dhi[i]), "n": len(qids),
                             "resamples": resamples, "seed": int(seed), "confidence": float(confidence)})
    return pd.DataFrame(rows, columns=cols)


def _axis_cube(ga) -> tuple[list[tuple[str, str]], list[str], list[str], np.ndarray]:
    """One axis's rows as (systems, metrics, qids, values ``(metrics, systems, qids)``): systems and
    metrics in order of first appearance, and only the queries (sorted) that every system has a
    value (not NaN) for on every metric — the pairing by qid (plain numpy: a pandas pivot of
    this cost most of a Scores-page rerun)."""
    enc, run = ga["encoder"].tolist(), ga["run"].tolist()
    met, qid = ga["metric"].tolist(), ga["qid"].tolist()
    systems = list(dict.fromkeys(zip(enc, run)))
    metric_names = list(dict.fromkeys(met))
    all_q = sorted(set(qid))
    s_of = {x: i for i, x in enumerate(systems)}
    m_of = {x: i for i, x in enumerate(metric_names)}
    q_of = {x: i for i, x in enumerate(all_q)}
    cube = np.full((len(metric_names), len(systems), len(all_q)), np.nan)
    cube[[m_of[m] for m in met], [s_of[x] for x in zip(enc, run)], [q_of[q] for q in qid]] = \
        ga["value"].to_numpy(dtype=np.float64)
    keep = ~np.isnan(cube).any(axis=(0, 1))
    return systems, metric_names, [q for q, k in zip(all_q, keep) if k], cube[:, :, keep]


def method_note(resamples: int, seed: int, confidence: float = DEFAULT_CONFIDENCE) -> str:
    """One line stating how the intervals were computed (shown beside them)."""
    return (f"{confidence:.0%} paired bootstrap percentile intervals over queries: {resamples:,} resamples, "
            f"seed {seed}, the same resampled queries for every system of an axis")
