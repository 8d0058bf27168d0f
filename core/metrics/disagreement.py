"""Where systems disagree: across judgement axes per query, and figure by figure in one query.

* ``axis_disagreements(per_query, a, b)`` — queries on which system A beats system B on one
  axis and loses to it on another (e.g. visual up, semantic down), with the per-axis
  differences, sorted by the gap (largest win minus largest loss).
* ``rank_gaps(scores_a, scores_b, relevant)`` — the relevant figures of one query that one
  system ranks much higher than the other, with both ranks (trec_eval order: score
  descending, ties by docid descending).
"""
from __future__ import annotations

from typing import Iterable, Mapping

from ..qrels import rank_docs

#: Two values closer than this are a tie (neither system wins).
TIE_TOL = 1e-9


def axis_disagreements(per_query, a: tuple[str, str], b: tuple[str, str], metric: str = "AP",
                       axes: Iterable[str] | None = None, tol: float = TIE_TOL):
    """Queries where A − B is > ``tol`` on some axis and < −``tol`` on another.

    ``per_query``: columns encoder, run, axis, metric, qid, value. Returns a frame indexed by
    qid with one column per axis (A − B on that axis; NaN where the query has no judgements
    on it), ``up`` (the axis A wins most), ``down`` (the axis A loses most) and ``gap``
    (difference on ``up`` minus difference on ``down``), sorted by ``gap`` descending, ties
    by qid.
    """
    import pandas as pd

    sel = per_query[per_query["metric"] == metric]
    axis_list = list(axes) if axes is not None else list(dict.fromkeys(sel["axis"]))

    def values(s):
        v = sel[(sel["encoder"] == s[0]) & (sel["run"] == s[1])]
        return v.pivot_table(index="qid", columns="axis", values="value")

    diff = values(a).sub(values(b)).reindex(columns=axis_list)
    diff = diff.dropna(how="all")
    cols = [*axis_list, "up", "down", "gap"]
    if diff.empty or len(axis_list) < 2:
        return pd.DataFrame(columns=cols)
    hi, lo = diff.max(axis=1, skipna=True), diff.min(axis=1, skipna=True)
    keep = (hi > tol) & (lo < -tol)
    d = diff[keep]
    if d.empty:
        return pd.DataFrame(columns=cols)
    out = d.assign(up=d.idxmax(axis=1, skipna=True), down=d.idxmin(axis=1, skipna=True), gap=hi[keep] - lo[keep])
    out = out.reset_index().sort_values(["gap", "qid"], ascending=[False, True], kind="mergesort").set_index("qid")
    return out[cols]


def rank_gaps(scores_a: Mapping[str, float], scores_b: Mapping[str, float], relevant: Iterable[str],
              min_gap: int = 1, n: int = 8) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """The relevant documents one system ranks much higher than the other.

    Returns ``(a_higher, b_higher)``: lists of ``(docid, rank under A, rank under B)`` where
    the other system's rank is at least ``min_gap`` worse, the largest gap first (ties by the
    better rank, then docid), at most ``n`` each. A document one system does not rank gets
    rank ``len(list) + 1`` there.
    """
    ra = {d: i + 1 for i, (d, _) in enumerate(rank_docs(scores_a))}
    rb = {d: i + 1 for i, (d, _) in enumerate(rank_docs(scores_b))}
    miss_a, miss_b = len(ra) + 1, len(rb) + 1
    a_higher, b_higher = [], []
    for d in dict.fromkeys(relevant):
        if d not in ra and d not in rb:
            continue
        x, y = ra.get(d, miss_a), rb.get(d, miss_b)
        if y - x >= min_gap:
            a_higher.append((d, x, y))
        elif x - y >= min_gap:
            b_higher.append((d, x, y))
    a_higher.sort(key=lambda t: (-(t[2] - t[1]), t[1], t[0]))
    b_higher.sort(key=lambda t: (-(t[1] - t[2]), t[2], t[0]))
    return a_higher[:n], b_higher[:n]
