"""Priority / publication dates and citations of the demo's fake patents.

Drawn from their own random stream (``[seed, 31]``), so adding them changed no drawing and no
judgement. A patent cites up to ``MAX_CITED`` earlier patents (earlier priority date) that share
a part design or its function, those sharing the most part designs first.
"""
from __future__ import annotations

import datetime as _dt
from typing import Sequence

import numpy as np

MAX_CITED = 5
_EPOCH = _dt.date(1990, 1, 1)


def assign_dates(inventions: Sequence, seed: int) -> None:
    """Set ``priority_date`` and ``publication_date`` (ISO strings) on every invention."""
    rng = np.random.default_rng([seed, 31])
    for inv in inventions:
        priority = _EPOCH + _dt.timedelta(days=int(rng.integers(0, 30 * 365)))
        publication = priority + _dt.timedelta(days=540 + int(rng.integers(0, 240)))
        inv.priority_date = priority.isoformat()
        inv.publication_date = publication.isoformat()


def demo_citations(inventions: Sequence) -> dict[str, list[str]]:
    """Patent → the earlier patents it cites (deterministic, no randomness)."""
    out: dict[str, list[str]] = {}
    for inv in inventions:
        keys = {d.key for d in inv.parts}
        scored = []
        for other in inventions:
            if other.priority_date >= inv.priority_date:
                continue
            shared = len(keys & {d.key for d in other.parts})
            same_function = other.function == inv.function
            if shared or same_function:
                scored.append((-shared, -int(same_function), other.priority_date, other.patent))
        out[inv.patent] = [s[3] for s in sorted(scored)[:MAX_CITED]]
    return out
