"""Pool bias: is a comparison fair to systems that did not build the judged pool?

* ``sampling_encoders(corpus)`` — the encoders the pool was sampled with, and where that
  came from: the ``run.json`` of a ``python -m core sample`` output (the pool folder's parent,
  proved by its ``.upair-output.json`` manifest) lists every index's encoder; a UPAIR-layout
  corpus without one was built by the reference sampler, whose indices are the
  ``upair-sampling`` preset (``core.annotation.sampling.REFERENCE_INDICES``); otherwise
  nothing is known and the user states them.
* ``unjudged_top_k(rankings, qrels, k)`` — per system and axis, the mean share of its top k
  that has no judgement on that axis (and on any axis).
* ``rank_flips(table)`` — every pair of systems that a plain measure and its condensed or
  incompleteness-aware counterpart (``PLAIN_VS_CONDENSED``) order differently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ..qrels import top_docs

Qrels = Mapping[str, Mapping[str, Mapping[str, int]]]

#: Plain measure → its condensed-list counterparts (unjudged documents removed first). On a fully
#: judged ranking they are equal, so a flip means unjudged hits decide the order. (bpref and
#: infAP are not here: they differ from AP by construction, even with complete judgements.)
PLAIN_VS_CONDENSED: dict[str, tuple[str, ...]] = {
    "AP": ("AP(judged_only=True)",),
    "nDCG@10": ("nDCG(judged_only=True)@10",),
}
#: Two means closer than this do not order two systems.
ORDER_TOL = 1e-9


@dataclass(frozen=True)
class SamplingSource:
    """The encoders a pool was sampled with and how that is known (``source`` is shown)."""

    encoders: tuple[str, ...]
    source: str
    known: bool = True


def base_spec(spec: str) -> str:
    """An encoder spec without its ``@protocol`` suffix (``hog@upair`` → ``hog``)."""
    s = str(spec).strip()
    head, sep, tail = s.rpartition("@")
    return head if sep and tail and "/" not in tail and ":" not in tail else s


def _sample_run_json(root: Path) -> Path | None:
    from ..outdir import MANIFEST

    for folder in (root, root.parent):
        run_json, manifest = folder / "run.json", folder / MANIFEST
        if not (run_json.is_file() and manifest.is_file()):
            continue
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(m, dict) and m.get("command") == "sample" and "run.json" in (m.get("files") or {}):
            return run_json
    return None


def sampling_encoders(corpus) -> SamplingSource:
    """The encoders ``corpus``'s pool was sampled with (see the module docstring)."""
    root = Path(getattr(corpus, "root", "") or ".")
    run_json = _sample_run_json(root)
    if run_json is not None:
        try:
            info = json.loads(run_json.read_text(encoding="utf-8"))
            indices = info["config"]["indices"]
            encs = tuple(dict.fromkeys(str(v["encoder"]) for v in indices.values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return SamplingSource((), f"{run_json}: unreadable sampling config ({exc}); state the encoders",
                                  known=False)
        return SamplingSource(encs, f"{run_json} (written by `python -m core sample`)")
    if getattr(corpus, "kind", "") == "upair" and not getattr(corpus, "synthetic", False):
        from .sampling.config import REFERENCE_INDICES

        encs = tuple(dict.fromkeys(e for e, _ in REFERENCE_INDICES.values()))
        return SamplingSource(encs, "UPAIR's reference sampler (its indices: PatentNet, ResNeXt-101, "
                                    "CLIP ViT-H-14-378, PaECTER texts)")
    return SamplingSource((), "not recorded for this corpus; state the encoders the pool was sampled with",
                          known=False)


def in_pool(spec: str, pool_encoders: Sequence[str]) -> bool:
    """Whether encoder ``spec`` is one the pool was sampled with (protocol suffixes ignored)."""
    return base_spec(spec) in {base_spec(e) for e in pool_encoders}


def unjudged_top_k(rankings: Mapping[str, Mapping[str, Mapping[str, float]]], qrels: Qrels, k: int = 10):
    """Per system and axis (and ``any``): the mean over the axis's queries of the share of the
    system's top ``k`` (trec_eval order) without a judgement on that axis (``any``: on no axis).

    ``rankings`` is ``{system: {qid: {docid: score}}}``; a query the system does not rank
    counts as 0 unjudged. Returns a frame: system, axis, unjudged (share), unjudged_hits, queries.
    """
    import pandas as pd

    if k < 1:
        raise ValueError(f"k: expected a positive cut-off, got {k!r}")
    axes = list(qrels)
    any_judged: dict[str, set[str]] = {}
    for per_q in qrels.values():
        for q, docs in per_q.items():
            any_judged.setdefault(q, set()).update(docs)
    judged_on = {axis: {q: set(d) for q, d in qrels[axis].items()} for axis in axes}  # once, not per system
    judged_on["any"] = any_judged
    rows = []
    for system, per_q in rankings.items():
        tops = {q: [d for d, _ in top_docs(docs, k)] for q, docs in per_q.items()}
        for axis in [*axes, "any"]:
            judged = judged_on[axis]
            shares, hits = [], 0
            for q in judged:
                top = tops.get(q, [])
                u = sum(1 for d in top if d not in judged[q])
                hits += u
                shares.append(u / len(top) if top else 0.0)
            rows.append({"system": system, "axis": axis, "unjudged": sum(shares) / len(shares) if shares else 0.0,
                         "unjudged_hits": hits, "queries": len(shares)})
    return pd.DataFrame(rows, columns=["system", "axis", "unjudged", "unjudged_hits", "queries"])


def _sign(x: float) -> int:
    return 0 if abs(x) <= ORDER_TOL else (1 if x > 0 else -1)


def rank_flips(table, pairs: Mapping[str, Sequence[str]] = PLAIN_VS_CONDENSED):
    """Every (axis, plain, other, A, B) where ``plain`` and ``other`` order systems A and B
    oppositely (one says A > B, the other A < B; a tie in either orders nothing).

    ``table`` has columns encoder, run, axis, metric, value (``EvalResult.table``). Returns a
    frame: axis, plain, other, encoder_a, run_a, encoder_b, run_b, plain_a, plain_b, other_a, other_b.
    """
    import pandas as pd

    cols = ["axis", "plain", "other", "encoder_a", "run_a", "encoder_b", "run_b",
            "plain_a", "plain_b", "other_a", "other_b"]
    rows = []
    for axis, g in table.groupby("axis", sort=False):
        vals = {(r.encoder, r.run, r.metric): float(r.value) for r in g.itertuples()}
        systems = list(dict.fromkeys(zip(g["encoder"], g["run"])))
        for plain, others in pairs.items():
            for other in others:
                for i, a in enumerate(systems):
                    for b in systems[i + 1:]:
                        keys = [(*a, plain), (*b, plain), (*a, other), (*b, other)]
                        if not all(key in vals for key in keys):
                            continue
                        pa, pb, oa, ob = (vals[key] for key in keys)
                        if _sign(pa - pb) * _sign(oa - ob) < 0:
                            rows.append({"axis": axis, "plain": plain, "other": other, "encoder_a": a[0],
                                         "run_a": a[1], "encoder_b": b[0], "run_b": b[1], "plain_a": pa,
                                         "plain_b": pb, "other_a": oa, "other_b": ob})
    return pd.DataFrame(rows, columns=cols)
