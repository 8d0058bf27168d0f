"""Former home of the evaluation; kept so ``from core.evaluate import ...`` still works.

Everything lives in ``core.evaluation`` now (fusion, pairs, runs, run files, caches,
significance, ``evaluate``).
"""
from __future__ import annotations

import numpy as np

from .evaluation import *  # noqa: F401,F403 - the public names, re-exported
from .evaluation import __all__ as _public
from .evaluation import RESULT_CACHE, Pairs, axis_order, segment_minmax

__all__ = list(_public)

#: Former name of ``core.evaluation.axis_order``.
_axis_order = axis_order


def _segment_minmax(scores: np.ndarray, pairs: Pairs) -> np.ndarray:
    """Former signature of ``core.evaluation.segment_minmax`` (takes the ``Pairs`` table)."""
    return segment_minmax(scores, pairs.offsets)


#: Former in-memory result memo; ``core.evaluation.RESULT_CACHE`` (``.clear()`` empties it).
_RESULT_MEMO = RESULT_CACHE
