"""Paired significance tests between evaluated systems, cached on disk."""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Sequence

from ..metrics import SIGNIFICANCE_COLUMNS, canonical, compare_systems
from ..store import key_of
from .cache import RESULT_CACHE

log = logging.getLogger(__name__)

__all__ = ["significance", "SIGNIFICANCE_VERSION"]

#: Bump when anything changes cached significance tables.
SIGNIFICANCE_VERSION = 1


def significance(per_query, against="best", metric: str = "AP", test: str = "randomization",
                 axes: Sequence[str] | None = None, alpha: float = 0.05, n_permutations: int = 10_000,
                 seed: int = 0, cache: bool = True):
    """Paired significance tests between systems (``core.metrics.compare_systems``), cached.

    The result is cached under ``cache_dir()/eval`` keyed by the per-query values involved
    and every parameter, so repeating a comparison is instant.
    """
    import pandas as pd

    kw = dict(against=against, metric=metric, test=test, axes=axes, alpha=alpha,
              n_permutations=n_permutations, seed=seed)
    if not cache:
        return compare_systems(per_query, **kw)
    m = canonical(metric)
    sub = per_query[per_query["metric"] == m].sort_values(["encoder", "run", "axis", "qid"], kind="mergesort")
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(sub[["encoder", "run", "axis", "qid", "value"]], index=False)
             .to_numpy().tobytes())
    against_key = "best" if against == "best" else [[a if isinstance(a, str) else list(a),
                                                     b if isinstance(b, str) else list(b)] for a, b in against]
    key = "sig-" + key_of("sig", SIGNIFICANCE_VERSION, h.hexdigest(), against_key, m, test,
                          list(axes) if axes is not None else None, alpha, n_permutations, seed)
    cols = list(SIGNIFICANCE_COLUMNS)
    data = RESULT_CACHE.get(key, valid=lambda d: isinstance(d.get("rows"), list))
    if data is not None:
        return pd.DataFrame(data["rows"], columns=cols)
    df = compare_systems(per_query, **kw)
    RESULT_CACHE.put(key, {"key": key, "rows": json.loads(df.to_json(orient="records"))})
    return df
