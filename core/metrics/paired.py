"""Paired significance tests between systems (randomization / t) with Holm-Bonferroni correction."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .measures import canonical


def randomization_test(a: np.ndarray, b: np.ndarray, n_permutations: int = 10_000,
                       seed: int = 0) -> float:
    """Two-sided paired randomization (sign-flip permutation) test of mean(a - b) = 0.

    p = (1 + #{permutations with |mean| >= observed}) / (1 + n_permutations); identical
    inputs give p = 1.
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = len(d)
    if n == 0:
        return 1.0
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, min(n_permutations, 2_000_000 // max(n, 1)))
    done = 0
    while done < n_permutations:
        m = min(chunk, n_permutations - done)
        signs = rng.integers(0, 2, size=(m, n), dtype=np.int8) * 2 - 1
        means = np.abs(signs.astype(np.float64) @ d) / n
        hits += int(np.count_nonzero(means >= observed - tol))
        done += m
    return (hits + 1) / (n_permutations + 1)


def t_test(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value (scipy); 1 for identical inputs, 0 for a constant shift."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = a - b
    if len(d) == 0 or np.all(np.abs(d - d[0]) <= 1e-15):
        # zero variance of the differences: no evidence when they are all 0 (or n < 2),
        # certainty when every query moves by the same non-zero amount
        return 0.0 if len(d) >= 2 and abs(d[0]) > 1e-15 else 1.0
    p = float(stats.ttest_rel(a, b).pvalue)
    return 1.0 if math.isnan(p) else p


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given; each >= its raw p, <= 1)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out


def system_label(encoder: str, run: str) -> str:
    """How a system (encoder + run) is named in significance tables."""
    return f"{encoder} · {run}"


def _resolve_system(item, systems: list[tuple[str, str]]) -> tuple[str, str]:
    if isinstance(item, (tuple, list)) and len(item) == 2 and tuple(item) in systems:
        return tuple(item)  # type: ignore[return-value]
    if isinstance(item, str):
        for s in systems:
            if item == system_label(*s):
                return s
        matches = [s for s in systems if s[0] == item]
        if len(matches) == 1:
            return matches[0]
    raise ValueError(f"unknown system {item!r}; known: {[system_label(*s) for s in systems]}")


#: Columns of a ``compare_systems`` table, in order.
SIGNIFICANCE_COLUMNS: tuple[str, ...] = (
    "axis", "metric", "test", "system_a", "system_b", "encoder_a", "run_a", "encoder_b", "run_b",
    "mean_a", "mean_b", "diff", "better", "n", "p", "p_holm", "significant")


def compare_systems(per_query, against="best", metric: str = "AP", test: str = "randomization",
                    axes: Sequence[str] | None = None, alpha: float = 0.05,
                    n_permutations: int = 10_000, seed: int = 0):
    """Paired significance tests between systems (encoder + run) on per-query scores.

    ``per_query`` has columns encoder, run, axis, metric, qid, value. ``against="best"``
    compares, on each axis, the system with the highest mean ``metric`` with every other
    system; otherwise ``against`` is a list of ``(system_a, system_b)`` pairs, a system
    being ``(encoder, run)``, its label ``"encoder · run"``, or an encoder with one run.
    ``test`` is "randomization" (two-sided sign-flip permutation test, seeded) or "t"
    (paired t-test). Holm-Bonferroni correction is applied across *all* comparisons made
    by the call (every axis together). Queries are paired by qid (inner join).

    Returns a DataFrame: axis, metric, test, system_a, system_b, encoder_a, run_a,
    encoder_b, run_b, mean_a, mean_b, diff (a - b), better, n, p, p_holm, significant.
    """
    import pandas as pd

    if test not in ("randomization", "t"):
        raise ValueError("test must be 'randomization' or 't'")
    metric = canonical(metric)
    df = per_query[per_query["metric"] == metric]
    cols = list(SIGNIFICANCE_COLUMNS)
    if df.empty:
        return pd.DataFrame(columns=cols)
    axis_list = list(axes) if axes is not None else list(dict.fromkeys(df["axis"]))
    systems = list(dict.fromkeys(zip(df["encoder"], df["run"])))
    series: dict[tuple[str, str, str], pd.Series] = {}
    for (enc, run, ax), g in df.groupby(["encoder", "run", "axis"], sort=False):
        series[(enc, run, ax)] = pd.Series(g["value"].to_numpy(dtype=np.float64), index=g["qid"].astype(str))

    comparisons: list[tuple[str, tuple[str, str], tuple[str, str]]] = []
    for ax in axis_list:
        present = [s for s in systems if (s[0], s[1], ax) in series]
        if against == "best":
            if len(present) < 2:
                continue
            means = {s: series[(s[0], s[1], ax)].mean() for s in present}
            best = max(present, key=lambda s: (means[s], -present.index(s)))
            comparisons += [(ax, best, s) for s in present if s != best]
        else:
            for a, b in against:
                sa, sb = _resolve_system(a, systems), _resolve_system(b, systems)
                if (sa[0], sa[1], ax) in series and (sb[0], sb[1], ax) in series:
                    comparisons.append((ax, sa, sb))

    rows = []
    for ax, sa, sb in comparisons:
        a = series[(sa[0], sa[1], ax)]
        b = series[(sb[0], sb[1], ax)]
        common = a.index.intersection(b.index)
        va, vb = a.loc[common].to_numpy(), b.loc[common].to_numpy()
        p = (randomization_test(va, vb, n_permutations, seed) if test == "randomization" else t_test(va, vb))
        ma, mb = (float(va.mean()), float(vb.mean())) if len(common) else (0.0, 0.0)
        diff = ma - mb
        better = system_label(*sa) if diff > 1e-12 else system_label(*sb) if diff < -1e-12 else "tie"
        rows.append({"axis": ax, "metric": metric, "test": test,
                     "system_a": system_label(*sa), "system_b": system_label(*sb),
                     "encoder_a": sa[0], "run_a": sa[1], "encoder_b": sb[0], "run_b": sb[1],
                     "mean_a": ma, "mean_b": mb, "diff": diff, "better": better, "n": int(len(common)),
                     "p": float(p)})
    out = pd.DataFrame(rows, columns=[c for c in cols if c not in ("p_holm", "significant")])
    out["p_holm"] = holm(out["p"].to_numpy()) if len(out) else []
    out["significant"] = out["p_holm"] < alpha
    return out[cols]
