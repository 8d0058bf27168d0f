"""Can this comparison be trusted? The pool-bias report of an evaluation, and its text form.

``pool_bias(corpus, result)`` ranks every evaluated (encoder, run) again (``run_scores``,
from the cached embeddings) and measures, per axis, how much of its top k is unjudged
(``core.annotation.bias.unjudged_top_k``), marks the systems whose encoder sampled the pool
(``sampling_encoders``: the sample run's ``run.json``, the UPAIR reference sampler, or what
the caller states), and lists the system pairs whose order a plain measure and its condensed
counterpart disagree on (``rank_flips``; needs the incomplete measures in the result).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..annotation.bias import SamplingSource, in_pool, rank_flips, sampling_encoders, unjudged_top_k
from ..metrics import MEASURE_LABELS, system_label

__all__ = ["PoolBias", "pool_bias", "format_pool_bias", "format_intervals"]


@dataclass(frozen=True, eq=False)
class PoolBias:
    """``frame``: encoder, run, system, in_pool, axis, unjudged, unjudged_hits, queries;
    ``flips``: ``rank_flips`` rows; ``source``: where the pool's encoders came from; ``k``."""

    frame: "pd.DataFrame"  # noqa: F821
    flips: "pd.DataFrame"  # noqa: F821
    source: SamplingSource
    k: int


def pool_bias(corpus, result, qrels: Mapping | None = None, pool_encoders: Sequence[str] | None = None,
              k: int = 10, rankings: Mapping | None = None) -> PoolBias:
    """The pool-bias report of ``result`` (an ``EvalResult`` of ``corpus``).

    ``qrels`` (``{axis: {qid: {docid: rel}}}``) defaults to the benchmark's; ``pool_encoders``
    states the sampling encoders (overrides what is recorded); ``rankings``
    (``{(encoder, run): {qid: {docid: score}}}``) skips ranking again.
    """
    import pandas as pd

    from .pairs import benchmark_of
    from .runs import run_scores

    judged = benchmark_of(corpus).qrels if qrels is None else qrels
    source = (SamplingSource(tuple(pool_encoders), "stated by the user") if pool_encoders
              else sampling_encoders(corpus))
    systems = list(dict.fromkeys(zip(result.table["encoder"], result.table["run"])))
    if rankings is None:
        rankings = {}
        for enc, run in systems:
            rankings[(enc, run)] = run_scores(corpus, enc, run, result.fusion_weight, protocol=result.protocol)
    ranked = [s for s in systems if s in rankings]
    cols = ["encoder", "run", "system", "in_pool", "axis", "unjudged", "unjudged_hits", "queries"]
    frame = pd.DataFrame(columns=cols)
    if ranked:  # one frame for every system at once (a frame per system cost ~30 ms each on a rerun)
        f = unjudged_top_k({s: rankings[s] for s in ranked}, judged, k)
        who = f["system"].tolist()
        frame = pd.DataFrame({"encoder": [s[0] for s in who], "run": [s[1] for s in who],
                              "system": [system_label(*s) for s in who],
                              "in_pool": [in_pool(s[0], source.encoders) for s in who],
                              **{c: f[c].tolist() for c in cols[4:]}}, columns=cols)
    return PoolBias(frame=frame, flips=rank_flips(result.table), source=source, k=k)


def _table(rows, header) -> str:
    """Rows as an aligned plain-text table under ``header`` (as the CLI prints tables)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def format_pool_bias(pb: PoolBias) -> str:
    """The report as text: one row per system (unjudged share of its top k per axis), then the flips."""
    label = (f"sampled with: {', '.join(pb.source.encoders)} ({pb.source.source})" if pb.source.known
             else f"sampled with: unknown ({pb.source.source}; pass --pool-encoders)")
    lines = [f"pool bias: share of each system's top {pb.k} that is unjudged, per axis", label]
    if pb.frame.empty:
        return "\n".join(lines)
    axes = list(dict.fromkeys(pb.frame["axis"]))
    rows = []
    for (enc, run), g in pb.frame.groupby(["encoder", "run"], sort=False):
        by = dict(zip(g["axis"], g["unjudged"]))
        pooled = "yes" if g["in_pool"].iloc[0] else ("no" if pb.source.known else "?")
        rows.append([enc, run, pooled, *(f"{by.get(a, 0.0):.1%}" for a in axes)])
    lines.append(_table(rows, ["encoder", "run", "sampled pool", *(f"unjudged {a}" for a in axes)]))
    pooled = pb.frame[pb.frame["in_pool"] & (pb.frame["axis"] == "any")]["unjudged"]
    others = pb.frame[~pb.frame["in_pool"].astype(bool) & (pb.frame["axis"] == "any")]["unjudged"]
    if pb.source.known and len(pooled) and len(others):
        lines.append(f"mean unjudged (any axis): sampling systems {pooled.mean():.1%}, others {others.mean():.1%}")
    lines.append(format_flips(pb.flips))
    return "\n".join(lines)


def format_flips(flips) -> str:
    """One warning line per pair of systems that a plain and a condensed measure order oppositely."""
    if flips is None or flips.empty:
        return "plain and condensed measures rank every pair of systems the same way"
    out = [f"WARNING: plain and condensed measures rank {len(flips)} pair(s) of systems differently "
           "(unjudged hits may decide these comparisons):"]
    for r in flips.itertuples():
        pl, ot = MEASURE_LABELS.get(r.plain, r.plain), MEASURE_LABELS.get(r.other, r.other)
        out.append(f"  {r.axis}: {system_label(r.encoder_a, r.run_a)} vs {system_label(r.encoder_b, r.run_b)}: "
                   f"{pl} {r.plain_a:.4f} vs {r.plain_b:.4f}, {ot} {r.other_a:.4f} vs {r.other_b:.4f}")
    return "\n".join(out)


def format_intervals(iv, metrics: Sequence[str]) -> str:
    """Per axis: each system's interval of every metric, then best − system and its interval on the first."""
    from ..metrics.bootstrap import method_note

    if iv is None or iv.empty:
        return ""
    r0 = iv.iloc[0]
    blocks = [method_note(int(r0["resamples"]), int(r0["seed"]), float(r0["confidence"]))]
    first = metrics[0] if metrics else iv["metric"].iloc[0]
    for axis, g in iv.groupby("axis", sort=False):
        mets = [m for m in metrics if m in set(g["metric"])]
        rows = []
        for (enc, run), s in g.groupby(["encoder", "run"], sort=False):
            by = {r.metric: r for r in s.itertuples()}
            d = by.get(first)
            diff = ("best" if d is not None and (enc, run) == (d.best_encoder, d.best_run)
                    else f"{d.diff_to_best:+.4f} ({d.diff_low:+.3f}–{d.diff_high:+.3f})" if d is not None else "")
            rows.append([enc, run, *(f"{by[m].ci_low:.3f}–{by[m].ci_high:.3f}" for m in mets), diff])
        header = ["encoder", "run", *(MEASURE_LABELS.get(m, m) for m in mets),
                  f"best − system ({MEASURE_LABELS.get(first, first)})"]
        blocks.append(f"== {axis} (CI, n = {int(g['n'].iloc[0])})\n" + _table(rows, header))
    return "\n\n".join(blocks)
