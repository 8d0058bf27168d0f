"""Before and after: an adapted model against the model it started from, on a benchmark.

Per axis and run, each measure for both models, their difference, and a paired test
(randomization or t, Holm-corrected over every comparison made) on the per-query values of
``core.evaluation``; plus the benchmark patents the model saw in training (which would make
its scores optimistic), and the joint image/text embeddings for the before/after maps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..corpora.base import Corpus
from .pairs import benchmark_patents
from .provenance import AdaptedModel

__all__ = ["BeforeAfter", "before_after", "leaked_patents", "comparison_runs"]


@dataclass(frozen=True)
class BeforeAfter:
    """``table``: axis, run, metric, before, after, diff, p, p_holm, significant (one row each)."""

    before: str  # encoder spec of the starting model
    after: str  # encoder spec of the adapted model
    table: "pd.DataFrame" = field(repr=False)  # noqa: F821
    test: str = "randomization"
    protocol: str = ""
    skipped: tuple[tuple[str, str], ...] = ()


def leaked_patents(corpus: Corpus, model: AdaptedModel) -> list[str]:
    """Benchmark patents of ``corpus`` that ``model`` trained or validated on (should be none)."""
    seen = set(model.provenance.get("seen_patents", []))
    return sorted(benchmark_patents(corpus) & seen)


def comparison_runs(model: AdaptedModel) -> tuple[str, ...]:
    """The runs worth comparing: image alone, and image fused with the text it was trained on."""
    return ("image", f"image+{model.provenance.get('text_field', 'desc')}")


def before_after(corpus: Corpus, model: AdaptedModel, runs: Sequence[str] | None = None,
                 test: str = "randomization", protocol: str | None = None,
                 fusion_weight: float = 1.0) -> BeforeAfter:
    """Score the starting model and the adapted one on ``corpus``'s benchmark, side by side.

    ValueError when the model started from random weights (nothing to compare with) or the
    corpus has no benchmark.
    """
    import pandas as pd

    from ..evaluation import evaluate, significance

    if not model.init_spec:
        raise ValueError(f"{model.name} started from random weights; there is no 'before' model to compare with")
    runs = tuple(runs or comparison_runs(model))
    before, after = model.init_spec, model.spec
    res = evaluate(corpus, [before, after], runs=runs, fusion_weight=fusion_weight, protocol=protocol)
    t = res.table
    wide = (t.pivot_table(index=["axis", "run", "metric"], columns="encoder", values="value", sort=False)
            .reset_index())
    if before not in wide.columns or after not in wide.columns:
        return BeforeAfter(before, after, pd.DataFrame(), test, res.protocol, tuple(res.skipped))
    wide = wide.rename(columns={before: "before", after: "after"})[["axis", "run", "metric", "before", "after"]]
    wide["diff"] = wide["after"] - wide["before"]
    rows = []
    for metric in dict.fromkeys(wide["metric"]):
        sig = significance(res.per_query, against=[((after, r), (before, r)) for r in runs], metric=metric, test=test)
        for s in sig.itertuples():
            rows.append({"axis": s.axis, "run": s.run_a, "metric": metric, "p": s.p, "p_holm": s.p_holm,
                         "significant": bool(s.significant)})
    sig_df = pd.DataFrame(rows, columns=["axis", "run", "metric", "p", "p_holm", "significant"])
    table = wide.merge(sig_df, on=["axis", "run", "metric"], how="left")
    return BeforeAfter(before, after, table, test, res.protocol, tuple(res.skipped))
