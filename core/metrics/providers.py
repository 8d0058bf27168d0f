"""Measure providers tried in order, as ir_measures' FallbackProvider: numpy first, ir_measures for the rest."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from .measures import (
    DEFAULT_MEASURES,
    MeasureSpec,
    canonical,
    compute_with_ir_measures,
    flatten_run,
    metrics_sorted,
    parse_measure,
    qrels_stats,
    split_native,
    trec_order,
)

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]


class MeasureProvider:
    """One way to compute measures: which it supports, whether it can run here, and how."""

    name: str = ""
    #: What to do when ``is_available()`` is False.
    install: str = ""

    def supports(self, spec: MeasureSpec) -> bool:
        """Whether this provider computes the parsed measure ``spec``."""
        raise NotImplementedError

    def is_available(self) -> bool:
        """Whether the provider's libraries are importable here."""
        return True

    def compute(self, run: Run, qrels: Qrels, names: Sequence[str]) -> dict[str, dict[str, float]]:
        """Per-query values ``{measure: {qid: value}}`` of canonical measure ``names``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<measure provider {self.name}>"


class NativeProvider(MeasureProvider):
    """The numpy measures of this module (see the module docstring for the list)."""

    name = "native"

    def supports(self, spec: MeasureSpec) -> bool:
        return spec.native

    def compute(self, run: Run, qrels: Qrels, names: Sequence[str]) -> dict[str, dict[str, float]]:
        stats = qrels_stats(qrels)
        here, slow = split_native(stats, names)
        out = compute_with_ir_measures(run, qrels, slow) if slow else {}
        if here:
            qidx, docs, scores, rels, judged_mask = flatten_run(run, stats)
            order = trec_order(qidx, docs, scores) if len(qidx) else np.zeros(0, dtype=np.int64)
            vals = metrics_sorted(stats, qidx[order], rels[order], here, judged_mask[order])
            out.update({m: dict(zip(stats.qids, vals[m].tolist())) for m in here})
        return {m: out[m] for m in names}


class IrMeasuresProvider(MeasureProvider):
    """Every measure ir_measures knows, computed by ir_measures (pytrec_eval and friends)."""

    name = "ir_measures"
    install = "pip install ir_measures"

    def supports(self, spec: MeasureSpec) -> bool:
        return True  # parse_measure only accepts names ir_measures knows

    def is_available(self) -> bool:
        import importlib.util

        return importlib.util.find_spec("ir_measures") is not None

    def compute(self, run: Run, qrels: Qrels, names: Sequence[str]) -> dict[str, dict[str, float]]:
        return compute_with_ir_measures(run, qrels, names)


NATIVE = NativeProvider()
IR_MEASURES = IrMeasuresProvider()
#: Providers in the order they are tried; the first that supports a measure and is available computes it.
PROVIDERS: tuple[MeasureProvider, ...] = (NATIVE, IR_MEASURES)


def provider_for(name: str, providers: Sequence[MeasureProvider] = PROVIDERS) -> MeasureProvider:
    """The first provider that supports measure ``name`` and is available here."""
    spec = parse_measure(name)
    missing = []
    for provider in providers:
        if provider.supports(spec):
            if provider.is_available():
                return provider
            missing.append(f"{provider.name} ({provider.install})" if provider.install else provider.name)
    hint = f"; install one of: {', '.join(missing)}" if missing else ""
    raise ValueError(f"no measure provider computes {spec.name}{hint}")


def plan_measures(names: Iterable[str], providers: Sequence[MeasureProvider] = PROVIDERS
                  ) -> list[tuple[MeasureProvider, list[str]]]:
    """Canonical ``names`` grouped by the provider that computes them (providers in try order)."""
    groups: dict[int, list[str]] = {}
    for m in dict.fromkeys(canonical(n) for n in names):
        groups.setdefault(providers.index(provider_for(m, providers)), []).append(m)
    return [(providers[i], groups[i]) for i in sorted(groups)]


def compute(run: Run, qrels: Qrels, measures: Iterable[str] = DEFAULT_MEASURES,
            providers: Sequence[MeasureProvider] = PROVIDERS) -> dict[str, dict[str, float]]:
    """Per-query values ``{measure: {qid: value}}`` of ``run`` against ``qrels``.

    Equal to pytrec_eval / trec_eval (see the module docstring for the conventions);
    measure keys are the canonical ir_measures names, in the order asked.
    """
    names = list(dict.fromkeys(canonical(m) for m in measures))
    result: dict[str, dict[str, float]] = {}
    for provider, group in plan_measures(names, providers):
        result.update(provider.compute(run, qrels, group))
    return {m: result[m] for m in names}
