"""Agreement between annotators per axis, majority and adjudicated judgement sets.

Cohen's kappa comes from scikit-learn (``cohen_kappa_score``) over the pairs two annotators
both answered yes/no on an axis; Krippendorff's alpha (nominal) from ``krippendorff`` over
every annotator, missing answers as NaN. Unsure and skipped answers count as missing. An
adjudicator's decisions are journalled under ``ADJUDICATOR`` like any judgement and
override the majority in the ``adjudicated`` set.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..corpora.base import AXES, Corpus
from .judgements import ADJUDICATOR, JudgementStore, Pair, PairJudgement
from .judgements_qrels import to_qrels

Judged = Mapping[Pair, PairJudgement]
Qrels = dict[str, dict[str, dict[str, int]]]


def answers(judgements: Judged, axis: str) -> dict[Pair, int]:
    """Yes/no answers of one annotator on an axis (unsure, unanswered, skipped left out)."""
    return {p: int(j.axes[axis]) for p, j in judgements.items()
            if not j.skip and j.axes.get(axis) is not None}


@dataclass(frozen=True)
class PairAgreement:
    """Cohen's kappa of two annotators on one axis, with the 2×2 confusion table."""

    axis: str
    a: str
    b: str
    n: int  # pairs both answered yes/no
    kappa: float  # NaN when undefined (no shared pairs, or both constant and equal)
    confusion: tuple[tuple[int, int], tuple[int, int]]  # rows: a = 0/1, columns: b = 0/1

    @property
    def observed(self) -> float:
        """Share of shared pairs with equal answers (NaN without shared pairs)."""
        (n00, _), (_, n11) = self.confusion
        return (n00 + n11) / self.n if self.n else math.nan


def confusion(a: Mapping[Pair, int], b: Mapping[Pair, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """2×2 counts over pairs both answered: ``[[a0b0, a0b1], [a1b0, a1b1]]``."""
    m = [[0, 0], [0, 0]]
    for p in a.keys() & b.keys():
        m[a[p]][b[p]] += 1
    return (m[0][0], m[0][1]), (m[1][0], m[1][1])


def cohen_kappa(a: Mapping[Pair, int], b: Mapping[Pair, int]) -> float:
    """scikit-learn's Cohen's kappa over the pairs both answered; NaN when undefined."""
    from sklearn.metrics import cohen_kappa_score

    shared = sorted(a.keys() & b.keys())
    if not shared:
        return math.nan
    ya, yb = [a[p] for p in shared], [b[p] for p in shared]
    if len(set(ya) | set(yb)) == 1:
        return math.nan  # both constant and equal: chance agreement is 1, kappa is 0/0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohen_kappa_score(ya, yb, labels=[0, 1]))


def krippendorff_alpha(by_annotator: Mapping[str, Judged], axis: str) -> float:
    """Krippendorff's alpha (nominal) over every annotator; NaN with fewer than two values
    on any pair or no variation at all."""
    import krippendorff

    ans = {name: answers(j, axis) for name, j in by_annotator.items()}
    items = sorted({p for a in ans.values() for p in a})
    if len(ans) < 2 or not items:
        return math.nan
    data = np.full((len(ans), len(items)), np.nan)
    col = {p: i for i, p in enumerate(items)}
    for r, a in enumerate(ans.values()):
        for p, v in a.items():
            data[r, col[p]] = v
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    values = data[:, pairable]
    if not pairable.any() or len(np.unique(values[~np.isnan(values)])) < 2:
        return math.nan
    return float(krippendorff.alpha(reliability_data=values, level_of_measurement="nominal"))


def pairwise(by_annotator: Mapping[str, Judged], axis: str) -> list[PairAgreement]:
    """Kappa and confusion for every pair of annotators on one axis."""
    ans = {name: answers(j, axis) for name, j in by_annotator.items()}
    out = []
    for a, b in itertools.combinations(sorted(ans), 2):
        m = confusion(ans[a], ans[b])
        out.append(PairAgreement(axis, a, b, sum(map(sum, m)), cohen_kappa(ans[a], ans[b]), m))
    return out


def majority(by_annotator: Mapping[str, Judged], axis: str) -> dict[Pair, int]:
    """The strict majority answer per pair on an axis; ties are left out (to adjudicate)."""
    votes: dict[Pair, list[int]] = {}
    for j in by_annotator.values():
        for p, v in answers(j, axis).items():
            votes.setdefault(p, []).append(v)
    out = {}
    for p, vs in votes.items():
        yes = sum(vs)
        if 2 * yes != len(vs):
            out[p] = int(2 * yes > len(vs))
    return out


@dataclass(frozen=True)
class Disagreement:
    """A pair whose yes/no answers differ on an axis, with the adjudicated answer if any."""

    query: str
    candidate: str
    axis: str
    votes: Mapping[str, int]
    adjudicated: int | None = None


def disagreements(by_annotator: Mapping[str, Judged], adjudicated: Judged | None = None) -> list[Disagreement]:
    """Every (pair, axis) where annotators gave different yes/no answers, sorted by query."""
    adj = adjudicated or {}
    out = []
    for axis in AXES:
        ans = {name: answers(j, axis) for name, j in by_annotator.items()}
        pairs = sorted({p for a in ans.values() for p in a})
        for p in pairs:
            votes = {name: a[p] for name, a in ans.items() if p in a}
            if len(set(votes.values())) > 1:
                decided = adj.get(p)
                value = None if decided is None or decided.skip else decided.axes.get(axis)
                out.append(Disagreement(p[0], p[1], axis, votes, value))
    return out


def _as_qrels(per_axis: Mapping[str, Mapping[Pair, int]]) -> Qrels:
    out: Qrels = {a: {} for a in AXES}
    for axis, ans in per_axis.items():
        for (q, c), v in ans.items():
            out[axis].setdefault(q, {})[c] = v
    return out


def judgement_sets(store: JudgementStore, corpus: Corpus | None = None) -> list[str]:
    """Names of the judgement sets there are: ``official`` (the corpus's qrels), ``annotator:<name>``,
    ``majority`` and ``adjudicated`` (when someone judged)."""
    names = ["official"] if corpus is not None and corpus.benchmark is not None and corpus.benchmark.qrels else []
    people = [n for n in store.annotators() if n != ADJUDICATOR]
    names += [f"annotator:{n}" for n in people]
    if people:
        names += ["majority", "adjudicated"]
    return names


def judgement_set(name: str, store: JudgementStore, corpus: Corpus | None = None) -> Qrels:
    """TREC qrels ``{axis: {qid: {docid: 0/1}}}`` of a judgement set named as in ``judgement_sets``."""
    if name == "official":
        if corpus is None or corpus.benchmark is None:
            raise ValueError("the 'official' set needs a corpus with a benchmark")
        return {a: {q: dict(d) for q, d in corpus.benchmark.qrels.get(a, {}).items()} for a in AXES}
    if name.startswith("annotator:"):
        who = name.split(":", 1)[1]
        if who not in store.annotators():
            raise ValueError(f"no judgements by {who!r}; annotators: {', '.join(store.annotators()) or 'none yet'}")
        return to_qrels(store.journal(who).judgements())
    if name in ("majority", "adjudicated"):
        people = store.all_judgements()
        per_axis = {a: majority(people, a) for a in AXES}
        if name == "adjudicated" and ADJUDICATOR in store.annotators():
            for axis, ans in answers_by_axis(store.journal(ADJUDICATOR).judgements()).items():
                per_axis[axis].update(ans)
        return _as_qrels(per_axis)
    raise ValueError(f"unknown judgement set {name!r}; use official, annotator:<name>, majority or adjudicated")


def answers_by_axis(judgements: Judged) -> dict[str, dict[Pair, int]]:
    """``answers`` for every axis."""
    return {a: answers(judgements, a) for a in AXES}
