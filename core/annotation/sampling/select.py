"""The reference's three selection steps: merge per-index bands, deduplicate, cited candidates.

All randomness goes through the ``random.Random`` passed in, and every set is sorted before
it is sampled from, so a seed gives the same draw on any Python version (the reference calls
``random.sample`` on a set, which Python ≥ 3.11 refuses and older versions order by hash).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Generic, Mapping, Sequence, TypeVar

import numpy as np

T = TypeVar("T")

#: Merge cases, in the reference's order of preference.
ALL = "all-index intersection"
PARTIAL = "intersection + description ∩ visual"
UNION = "union of samples per index"


@dataclass(frozen=True)
class Merged:
    """Merged candidates of one group: figure → summed score, the case, and who contributed."""

    scores: dict[str, float]
    case: str
    contributors: dict[str, tuple[str, ...]]  # figure → indices whose score was summed


def merge(per_index: Mapping[str, Mapping[str, float]], description: str | None, visual: str | None,
          rng: random.Random, min_intersection: int = 5, union_cap: int = 1000) -> Merged:
    """Combine the in-band candidates of every index as the reference does.

    At least ``min_intersection`` figures in every index's band: those, scores summed over all
    indices. Fewer but some: those, plus the description ∩ visual figures carrying only their
    description score. None: per index a random sample of at most ``union_cap`` of its band,
    scores summed where samples meet.
    """
    names = list(per_index)
    sets = [set(per_index[n]) for n in names]
    common = set.intersection(*sets) if sets else set()
    scores: dict[str, float] = {}
    contrib: dict[str, list[str]] = {}

    def add(fid: str, name: str) -> None:
        scores[fid] = scores.get(fid, 0.0) + per_index[name][fid]
        contrib.setdefault(fid, []).append(name)

    if common:
        for fid in sorted(common):
            for name in names:
                add(fid, name)
        case = ALL
        if len(common) < min_intersection:
            case = PARTIAL
            pair = set()
            if description and visual:
                pair = set(per_index.get(description, {})) & set(per_index.get(visual, {}))
            for fid in sorted(pair - common):
                add(fid, description)
    else:
        case = UNION
        for name in names:
            pool = sorted(per_index[name])
            for fid in rng.sample(pool, min(union_cap, len(pool))):
                add(fid, name)
    return Merged({k: round(v, 6) for k, v in scores.items()}, case,
                  {k: tuple(v) for k, v in contrib.items()})


@dataclass(frozen=True)
class Dropped(Generic[T]):
    """A candidate dropped as a near-duplicate of ``of`` (cosine on the dedup index): ``candidate``
    is its figure id where ``deduplicate`` drops it, the scored ``Candidate`` in a draw."""

    candidate: T
    of: str
    cosine: float

    @property
    def id(self) -> str:
        """The dropped figure's id."""
        return self.candidate if isinstance(self.candidate, str) else self.candidate.id


@dataclass(frozen=True)
class Deduped:
    kept: tuple[str, ...]
    dropped: tuple[Dropped[str], ...]


def deduplicate(pool: Sequence[str], n: int, vector: Callable[[str], np.ndarray], rng: random.Random,
                threshold: float = 0.90, seeds: Sequence[str] = (), factor: int = 2) -> Deduped:
    """Draw up to ``n`` figures from ``pool`` at random, dropping any whose cosine to a figure
    already kept (or to a ``seeds`` figure) is ≥ ``threshold``.

    As the reference: rounds of ``factor`` × (still needed) random draws from what is left,
    each examined in order. A dropped figure leaves the pool (the reference leaves it in, and
    can loop forever once only duplicates remain; a duplicate never becomes unique later).
    """
    seed_ids = list(seeds)
    left = sorted(set(pool) - set(seed_ids))
    kept: list[str] = []
    owners: list[str] = list(seed_ids)
    mat = [np.asarray(vector(s), dtype=np.float32) for s in seed_ids]
    dropped: list[Dropped[str]] = []
    while len(kept) < n and left:
        draw = rng.sample(left, min(len(left), (n - len(kept)) * factor))
        gone: set[str] = set()
        for fid in draw:
            v = np.asarray(vector(fid), dtype=np.float32)
            if mat:
                sims = np.stack(mat) @ v
                j = int(np.argmax(sims))
                if sims[j] >= threshold:
                    dropped.append(Dropped(fid, owners[j], round(float(sims[j]), 6)))
                    gone.add(fid)
                    continue
            kept.append(fid)
            owners.append(fid)
            mat.append(v)
            gone.add(fid)
            if len(kept) >= n:
                break
        left = [f for f in left if f not in gone]
    return Deduped(tuple(kept), tuple(dropped))


def cited_pool(ranked: Sequence[str], patent_of: Mapping[str, str], cited: set[str],
               top_k: int | None = None) -> list[str]:
    """Figures among the first ``top_k`` of ``ranked`` (all when None) whose patent is cited."""
    head = ranked if top_k is None else ranked[:top_k]
    return [fid for fid in head if patent_of.get(fid) in cited]
