"""Benchmark evaluation as the official UPAIR evaluation does it, with trec_eval-equal metrics.

Protocol
--------
* Every benchmark query ranks **its own candidate list** (``Corpus.candidates_for``; the
  whole corpus minus the query when the benchmark gives none) by cosine similarity of
  L2-normalised embeddings (a dot product), computed for all query×candidate pairs at
  once from the cached embeddings (nothing is re-encoded).
* Runs of an encoder with an image tower: ``image``; ``image+desc`` / ``image+labels`` =
  late fusion ``minmax(image) + w * minmax(text)``, min-max taken per query over its
  candidates (a constant list becomes zeros), where the text score is the cosine of the
  query's and the candidate's embeddings of the same text field. CLIP models use their own
  text tower; training-free visual encoders (hog, ahdh) use TF-IDF (``tfidf``).
  Text-only encoders (tfidf) give ``desc`` and ``labels`` runs (text-only ranking), and
  a CLIP model gives them too when asked for explicitly.
* Scores are rounded to 8 decimals — the precision of the TREC run files — before ranking,
  so trec_eval on the written run files reproduces every number exactly.
* Metrics per judgement axis (``core.metrics``): default AP, nDCG@10, RR, R@1, equal to
  trec_eval (ties: score desc, docid desc; unjudged = non-relevant; a judged query that
  is missing from the run scores 0; a query whose judgements on an axis are all 0 is
  kept and scores 0, as pytrec_eval does).

Results (per-query values of every (encoder, run)) are cached as JSON under
``cache_dir()/eval`` keyed by the embeddings' keys, the candidate lists, the qrels
content, the fusion weight (fused runs only) and the measures. Un-fused score arrays are
memoised per corpus, so a new fusion weight only re-fuses and re-scores.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from . import config
from .corpora.base import AXES, Benchmark, Corpus
from .embed import EncoderUnavailable, Embeddings, Progress, build_embeddings, require
from .metrics import (
    DEFAULT_MEASURES,
    MEASURE_LABELS,
    QrelsStats,
    compute_with_ir_measures,
    canonical,
    metrics_sorted,
    parse_measure,
    qrels_stats,
    system_label,
    trec_order,
)
from .metrics import significance as _significance
from .qrels import rank_docs, write_qrels, write_run
from .store import atomic_write_json, key_of, load_json

log = logging.getLogger(__name__)

__all__ = [
    "RUNS", "DEFAULT_RUNS", "DEFAULT_MEASURES", "SCORE_DECIMALS", "EvalResult",
    "evaluate", "run_scores", "rank_candidates", "minmax", "fuse", "significance",
    "system_label",
]

#: Every run name an encoder can have.
RUNS: tuple[str, ...] = ("image", "image+desc", "image+labels", "desc", "labels")
#: The runs evaluated by default (as published: image, and image fused 1:1 with a text field).
DEFAULT_RUNS: tuple[str, ...] = ("image", "image+desc", "image+labels")
#: Decimals kept of every score (the precision written to TREC run files).
SCORE_DECIMALS = 8
#: Bump when anything changes the cached results.
PROTOCOL_VERSION = 1
#: The text encoder fused with visual encoders that have no text tower.
FUSION_TEXT_ENCODER = "tfidf"


# --------------------------------------------------------------------------- pure pieces
def minmax(scores):
    """Min-max normalise one query's scores to [0, 1]; a constant list becomes zeros.

    Accepts an array-like (returns float64 array) or ``{docid: score}`` (returns a dict).
    """
    if isinstance(scores, Mapping):
        keys = list(scores)
        vals = minmax(np.fromiter((float(scores[k]) for k in keys), dtype=np.float64, count=len(keys)))
        return dict(zip(keys, vals.tolist()))
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s.copy()
    lo, hi = float(s.min()), float(s.max())
    if not hi > lo:
        return np.zeros_like(s)
    return (s - lo) / (hi - lo)


def fuse(image_scores, text_scores, weight: float = 1.0):
    """Late fusion of one query: ``minmax(image) + weight * minmax(text)``.

    Arrays must be aligned; dicts are fused on the image dict's docids (a docid missing
    from the text dict gets text score 0 before normalisation).
    """
    if isinstance(image_scores, Mapping):
        keys = list(image_scores)
        img = np.fromiter((float(image_scores[k]) for k in keys), dtype=np.float64, count=len(keys))
        txt = np.fromiter((float(text_scores.get(k, 0.0)) for k in keys), dtype=np.float64, count=len(keys))
        return dict(zip(keys, fuse(img, txt, weight).tolist()))
    img = np.asarray(image_scores, dtype=np.float64)
    txt = np.asarray(text_scores, dtype=np.float64)
    if img.shape != txt.shape:
        raise ValueError(f"image and text scores differ in shape: {img.shape} vs {txt.shape}")
    return minmax(img) + float(weight) * minmax(txt)


def rank_candidates(query_vector: np.ndarray, candidate_vectors: np.ndarray,
                    candidate_ids: Sequence[str]) -> list[tuple[str, float]]:
    """Rank candidates by cosine similarity to the query (vectors L2-normalised).

    Returns ``[(docid, score)]`` in trec_eval order (score desc, then docid desc).
    """
    q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    c = np.asarray(candidate_vectors, dtype=np.float32).reshape(len(candidate_ids), -1)
    scores = np.round((c @ q).astype(np.float64), SCORE_DECIMALS)
    return rank_docs(dict(zip(candidate_ids, scores.tolist())))


# --------------------------------------------------------------------------- pairs
@dataclass(frozen=True, eq=False)
class Pairs:
    """Every (query, candidate) pair of a benchmark, flat, grouped by query."""

    qids: tuple[str, ...]  # benchmark queries present in the corpus, in order
    qrow: np.ndarray  # (nq,) corpus row of each query
    offsets: np.ndarray  # (nq + 1,) pairs of query i are offsets[i]:offsets[i+1]
    qof: np.ndarray  # (n,) query index of each pair
    cand: np.ndarray  # (n,) corpus row of each candidate
    doc_code: np.ndarray  # (n,) rank of the candidate id in sorted id order (for ties)
    key: str  # content address: corpus fingerprint + candidate lists

    def __len__(self) -> int:
        return len(self.cand)


def _memo(corpus: Corpus) -> dict:
    """Per-corpus-object memo (lives and dies with the corpus)."""
    d = corpus.__dict__
    if "_eval_memo" not in d:
        with _LOCK:
            d.setdefault("_eval_memo", {})
    return d["_eval_memo"]


_LOCK = threading.RLock()


def _benchmark(corpus: Corpus) -> Benchmark:
    b = corpus.benchmark
    if b is None:
        raise ValueError(
            f"corpus {corpus.name} has no benchmark (no queries and relevance judgements); "
            "evaluation needs a UPAIR-layout corpus (upair:<folder>) or the demo"
        )
    if not b.qrels:
        raise ValueError(f"corpus {corpus.name} has queries but no relevance judgements (qrels_<axis>.txt)")
    return b


def pairs_of(corpus: Corpus) -> Pairs:
    """The benchmark's query×candidate pairs (memoised per corpus)."""
    memo = _memo(corpus)
    if "pairs" in memo:
        return memo["pairs"]
    bench = _benchmark(corpus)
    pos = corpus.position
    qids, qrow, lens, cands = [], [], [], []
    h = hashlib.sha256(corpus.fingerprint.encode())
    for q in bench.queries:
        if q not in pos:
            continue
        cs = corpus.candidates_for(q)
        qids.append(q)
        qrow.append(pos[q])
        lens.append(len(cs))
        cands.extend(pos[c] for c in cs)
        h.update(("\x1e" + q + "\x1f" + "\x1f".join(cs)).encode("utf-8", "surrogatepass"))
    order = sorted(range(len(corpus.figures)), key=lambda i: corpus.figures[i].id)
    code = np.empty(len(order), dtype=np.int64)
    code[np.asarray(order, dtype=np.int64)] = np.arange(len(order))
    cand = np.asarray(cands, dtype=np.int64)
    lens_a = np.asarray(lens, dtype=np.int64)
    pairs = Pairs(
        qids=tuple(qids), qrow=np.asarray(qrow, dtype=np.int64),
        offsets=np.concatenate([[0], np.cumsum(lens_a)]).astype(np.int64),
        qof=np.repeat(np.arange(len(qids), dtype=np.int64), lens_a), cand=cand,
        doc_code=code[cand] if len(cand) else np.zeros(0, dtype=np.int64), key=h.hexdigest()[:24],
    )
    memo["pairs"] = pairs
    return pairs


def _qrels_digest(corpus: Corpus) -> str:
    memo = _memo(corpus)
    if "qrels_digest" not in memo:
        q = _benchmark(corpus).qrels
        memo["qrels_digest"] = key_of({a: {k: dict(v) for k, v in q[a].items()} for a in q})
    return memo["qrels_digest"]


@dataclass(frozen=True, eq=False)
class _AxisData:
    stats: QrelsStats
    qmap: np.ndarray  # benchmark query index -> index in stats (-1 when not judged on the axis)
    rel: np.ndarray  # (n pairs,) judgement of each pair on this axis (0 when unjudged)


def _axis_data(corpus: Corpus, axis: str) -> _AxisData:
    memo = _memo(corpus)
    key = ("axis", axis)
    if key not in memo:
        pairs = pairs_of(corpus)
        qrels = _benchmark(corpus).qrels[axis]
        stats = qrels_stats(qrels)
        qmap = np.asarray([stats.index.get(q, -1) for q in pairs.qids], dtype=np.int64)
        ids = [f.id for f in corpus.figures]
        rel = np.zeros(len(pairs), dtype=np.float64)
        for i, q in enumerate(pairs.qids):
            judged = qrels.get(q)
            if not judged:
                continue
            a, b = pairs.offsets[i], pairs.offsets[i + 1]
            rel[a:b] = [judged.get(ids[c], 0) for c in pairs.cand[a:b]]
        memo[key] = _AxisData(stats=stats, qmap=qmap, rel=rel)
    return memo[key]


def _axis_order(axes: Iterable[str]) -> list[str]:
    """Axes in display order (AXES first, then any other, sorted)."""
    present = list(axes)
    return [a for a in AXES if a in present] + sorted(a for a in present if a not in AXES)


# --------------------------------------------------------------------------- scores
def _embeddings(corpus: Corpus, spec: str, what: str, progress: Progress | None = None,
                show_bar: bool = False) -> Embeddings:
    """Embeddings via ``build_embeddings`` (only missing items are encoded), memoised."""
    memo = _memo(corpus)
    key = ("emb", str(config.cache_dir()), spec, what)
    if key not in memo:
        memo[key] = build_embeddings(corpus, spec, what, progress=progress, show_bar=show_bar)
    return memo[key]


def _pair_cosines(pairs: Pairs, emb: Embeddings, chunk_elems: int = 1 << 23) -> np.ndarray:
    v = emb.vectors
    n = len(pairs)
    out = np.empty(n, dtype=np.float64)
    step = max(1, chunk_elems // max(1, v.shape[1]))
    qrows = pairs.qrow[pairs.qof] if n else np.zeros(0, dtype=np.int64)
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = np.einsum("ij,ij->i", v[qrows[a:b]], v[pairs.cand[a:b]])
    return out


def raw_scores(corpus: Corpus, spec: str, what: str, progress: Progress | None = None,
               show_bar: bool = False) -> np.ndarray:
    """Un-fused cosine of every pair (order of ``pairs_of(corpus)``), memoised per corpus."""
    emb = _embeddings(corpus, spec, what, progress, show_bar)
    memo = _memo(corpus)
    key = ("raw", emb.key)
    if key not in memo:
        memo[key] = _pair_cosines(pairs_of(corpus), emb)
    return memo[key]


def _segment_minmax(scores: np.ndarray, pairs: Pairs) -> np.ndarray:
    """Per-query min-max normalisation of flat pair scores (constant query → zeros)."""
    nq = len(pairs.qids)
    if len(scores) == 0:
        return scores.astype(np.float64)
    lens = np.diff(pairs.offsets)
    nonempty = np.flatnonzero(lens > 0)
    starts = pairs.offsets[:-1][nonempty]
    lo = np.zeros(nq)
    hi = np.zeros(nq)
    lo[nonempty] = np.minimum.reduceat(scores, starts)
    hi[nonempty] = np.maximum.reduceat(scores, starts)
    lo_p, span_p = lo[pairs.qof], (hi - lo)[pairs.qof]
    return np.where(span_p > 0, (scores - lo_p) / np.where(span_p > 0, span_p, 1.0), 0.0)


@dataclass(frozen=True)
class RunPlan:
    """Where a run's scores come from: an image source and/or a text source (spec, field)."""

    encoder: str
    run: str
    image: tuple[str, str] | None
    text: tuple[str, str] | None

    @property
    def fused(self) -> bool:
        return self.image is not None and self.text is not None


def plan_run(spec: str, run: str) -> RunPlan:
    """How ``run`` is computed for encoder ``spec``; ValueError when it cannot be."""
    if run not in RUNS:
        raise ValueError(f"unknown run {run!r}; choose from {', '.join(RUNS)}")
    enc = require(spec)
    field_ = run.split("+", 1)[1] if "+" in run else (run if run != "image" else None)
    wants_image = run.startswith("image")
    if wants_image and not enc.has_images:
        raise ValueError(f"{spec} is text-only; it has no {run!r} run (its runs are desc and labels)")
    if field_ is None:
        return RunPlan(spec, run, (spec, "image"), None)
    if enc.has_texts:
        text = (spec, field_)
    elif wants_image:
        try:
            require(FUSION_TEXT_ENCODER)
        except EncoderUnavailable as exc:
            raise ValueError(f"{run} for {spec} needs the {FUSION_TEXT_ENCODER} text encoder: {exc}") from exc
        text = (FUSION_TEXT_ENCODER, field_)
    else:
        raise ValueError(f"{spec} has no text tower; it has no {run!r} run (fused runs use {FUSION_TEXT_ENCODER})")
    return RunPlan(spec, run, (spec, "image") if wants_image else None, text)


def _run_array(corpus: Corpus, plan: RunPlan, fusion_weight: float, progress: Progress | None = None,
               show_bar: bool = False) -> np.ndarray:
    """Scores of every pair for one run (rounded to SCORE_DECIMALS)."""
    img = raw_scores(corpus, *plan.image, progress, show_bar) if plan.image else None
    txt = raw_scores(corpus, *plan.text, progress, show_bar) if plan.text else None
    if img is not None and txt is not None:
        memo = _memo(corpus)
        pairs = pairs_of(corpus)
        kimg, ktxt = ("mm", *plan.image), ("mm", *plan.text)
        if kimg not in memo or memo[kimg][0] is not img:
            memo[kimg] = (img, _segment_minmax(img, pairs))
        if ktxt not in memo or memo[ktxt][0] is not txt:
            memo[ktxt] = (txt, _segment_minmax(txt, pairs))
        s = memo[kimg][1] + float(fusion_weight) * memo[ktxt][1]
    else:
        s = img if img is not None else txt
    return np.round(s, SCORE_DECIMALS)


def _to_dict(pairs: Pairs, corpus: Corpus, scores: np.ndarray) -> dict[str, dict[str, float]]:
    ids = [f.id for f in corpus.figures]
    vals = scores.tolist()
    out: dict[str, dict[str, float]] = {}
    for i, q in enumerate(pairs.qids):
        a, b = int(pairs.offsets[i]), int(pairs.offsets[i + 1])
        out[q] = {ids[c]: vals[j] for j, c in zip(range(a, b), pairs.cand[a:b].tolist())}
    return out


def run_scores(corpus: Corpus, spec: str, run: str = "image", fusion_weight: float = 1.0,
               progress: Progress | None = None) -> dict[str, dict[str, float]]:
    """``{qid: {docid: score}}`` of one run over every benchmark query's candidate list.

    Raises EncoderUnavailable / ValueError when the encoder or the run is not possible.
    """
    plan = plan_run(spec, run)
    return _to_dict(pairs_of(corpus), corpus, _run_array(corpus, plan, fusion_weight, progress))


# --------------------------------------------------------------------------- evaluation
def _score_run(corpus: Corpus, scores: np.ndarray, measures: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """``{axis: {measure: {qid: value}}}`` of one run's flat scores."""
    pairs = pairs_of(corpus)
    order = trec_order(pairs.qof, pairs.doc_code, scores) if len(pairs) else np.zeros(0, dtype=np.int64)
    q_sorted_bench = pairs.qof[order]
    native = [m for m in measures if parse_measure(m).native]
    other = [m for m in measures if not parse_measure(m).native]
    run_dict = None
    out: dict[str, dict[str, dict[str, float]]] = {}
    bench = _benchmark(corpus)
    for axis in _axis_order(bench.qrels):
        ad = _axis_data(corpus, axis)
        res: dict[str, dict[str, float]] = {}
        if native:
            q_ax = ad.qmap[q_sorted_bench]
            keep = q_ax >= 0
            vals = metrics_sorted(ad.stats, q_ax[keep], ad.rel[order][keep], native)
            for m in native:
                res[m] = dict(zip(ad.stats.qids, vals[m].tolist()))
        if other:
            if run_dict is None:
                run_dict = _to_dict(pairs, corpus, scores)
            res.update(compute_with_ir_measures(run_dict, bench.qrels[axis], other))
        out[axis] = {m: res[m] for m in measures}
    return out


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Evaluation of several encoders' runs on a benchmark.

    ``table``: tidy means (encoder, run, axis, metric, value); ``per_query``: (encoder,
    run, axis, metric, qid, value); ``run_files``: (encoder, run) → TREC run file (when an
    output folder was given); ``skipped``: (encoder, reason) for encoders / runs that
    could not be evaluated.
    """

    table: "pd.DataFrame"  # noqa: F821
    per_query: "pd.DataFrame"  # noqa: F821
    run_files: dict[tuple[str, str], Path] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fusion_weight: float = 1.0
    metrics: tuple[str, ...] = DEFAULT_MEASURES

    def pivot(self, axis: str):
        """Means on one axis: rows (encoder, run), columns metrics (in requested order)."""
        t = self.table[self.table["axis"] == axis]
        p = t.pivot_table(index=["encoder", "run"], columns="metric", values="value", sort=False)
        return p[[m for m in self.metrics if m in p.columns]]

    def significance(self, against="best", metric: str = "AP", test: str = "randomization", **kw):
        """Paired significance tests on this result's per-query values (see ``significance``)."""
        return significance(self.per_query, against=against, metric=metric, test=test, **kw)


_RESULT_MEMO: "OrderedDict[str, dict]" = OrderedDict()
_RESULT_MEMO_MAX = 256


def _cache_path(key: str) -> Path:
    return config.cache_dir() / "eval" / f"{key}.json"


def _load_cached(key: str) -> dict | None:
    """A cached result: from memory (per cache folder), else from its JSON file."""
    mkey = f"{config.cache_dir()}|{key}"
    with _LOCK:
        if mkey in _RESULT_MEMO:
            _RESULT_MEMO.move_to_end(mkey)
            return _RESULT_MEMO[mkey]
    data = load_json(_cache_path(key))
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("values"), dict):
        return None
    _remember(key, data)
    return data


def _remember(key: str, data: dict) -> None:
    mkey = f"{config.cache_dir()}|{key}"
    with _LOCK:
        _RESULT_MEMO[mkey] = data
        _RESULT_MEMO.move_to_end(mkey)
        while len(_RESULT_MEMO) > _RESULT_MEMO_MAX:
            _RESULT_MEMO.popitem(last=False)


def slug(spec: str) -> str:
    """A file-name-safe short name of an encoder spec (checkpoint paths shortened to stems)."""
    parts = spec.split(":", 2)
    short = spec
    if len(parts) == 3 and ("/" in parts[2] or "\\" in parts[2]):
        short = f"{parts[0]}:{parts[1]}:{Path(parts[2]).stem}"
    s = re.sub(r"[^A-Za-z0-9._+-]+", "_", short).strip("_") or "encoder"
    if short != spec or len(s) > 80:
        s = f"{s[:72]}-{key_of(spec)[:6]}"
    return s


def _plans(spec: str, runs: Sequence[str]) -> tuple[list[RunPlan], list[str]]:
    """The runs of ``spec`` among ``runs`` and the reasons of those that are impossible."""
    enc = require(spec)  # EncoderUnavailable / ValueError propagate
    wanted = list(runs)
    if not enc.has_images:  # text-only: its runs are the text fields of the requested runs
        wanted = list(dict.fromkeys(r.split("+", 1)[1] if r.startswith("image+") else r
                                    for r in runs if r != "image"))
        if not wanted:
            return [], [f"{spec} is text-only; request runs desc/labels (or image+desc/image+labels)"]
    plans, reasons = [], []
    for r in wanted:
        try:
            plans.append(plan_run(spec, r))
        except (ValueError, EncoderUnavailable) as exc:
            reasons.append(f"run {r}: {exc}")
    return plans, reasons


def evaluate(corpus: Corpus, encoders: Iterable[str], runs: Sequence[str] = DEFAULT_RUNS,
             metrics: Sequence[str] = DEFAULT_MEASURES, fusion_weight: float = 1.0,
             out_dir: Path | str | None = None, progress: Progress | None = None,
             show_bar: bool = False) -> EvalResult:
    """Evaluate every encoder's runs on the corpus's benchmark (see the module docstring).

    Unavailable encoders and impossible runs are skipped and listed in ``skipped``. With
    ``out_dir`` the TREC run files, the qrels of each axis, ``results.csv`` and
    ``per_query.csv`` are written there. Raises ValueError for a corpus without a
    benchmark, an unknown run or an unknown measure.
    """
    import pandas as pd

    bench = _benchmark(corpus)
    if isinstance(encoders, str):
        encoders = [e.strip() for e in encoders.split(",") if e.strip()]
    measures = tuple(dict.fromkeys(canonical(m) for m in metrics))
    if not measures:
        raise ValueError("no metrics requested")
    runs = tuple(dict.fromkeys(r.strip() for r in runs))
    bad = [r for r in runs if r not in RUNS]
    if bad:
        raise ValueError(f"unknown run(s) {', '.join(bad)}; choose from {', '.join(RUNS)}")
    weight = float(fusion_weight)
    out = Path(out_dir) if out_dir is not None else None
    pairs = pairs_of(corpus)
    qdigest = _qrels_digest(corpus)

    skipped: list[tuple[str, str]] = []
    run_files: dict[tuple[str, str], Path] = {}
    frames: list[pd.DataFrame] = []
    for spec in dict.fromkeys(encoders):
        try:
            plans, reasons = _plans(spec, runs)
        except (EncoderUnavailable, ValueError, ImportError) as exc:
            skipped.append((spec, str(exc)))
            continue
        skipped.extend((spec, r) for r in reasons)
        for plan in plans:
            t0 = time.perf_counter()
            try:
                sources = [s for s in (plan.image, plan.text) if s]
                embs = [_embeddings(corpus, s, w, progress, show_bar) for s, w in sources]
            except (EncoderUnavailable, ValueError, RuntimeError, OSError, ImportError) as exc:
                log.warning("skipping %s %s: %s", spec, plan.run, exc)
                skipped.append((spec, f"run {plan.run}: {exc}"))
                continue
            key = key_of("eval", PROTOCOL_VERSION, [e.key for e in embs], [list(s) for s in sources],
                         pairs.key, qdigest, weight if plan.fused else None, list(measures))
            data = _load_cached(key)
            scores = None
            if data is None:
                scores = _run_array(corpus, plan, weight, progress, show_bar)
                data = {"key": key, "encoder": spec, "run": plan.run, "fusion_weight": weight if plan.fused else None,
                        "measures": list(measures), "values": _score_run(corpus, scores, measures)}
                try:
                    atomic_write_json(_cache_path(key), data)
                except OSError as exc:  # a read-only cache must not stop the evaluation
                    log.warning("could not cache evaluation result: %s", exc)
                _remember(key, data)
            if out is not None:
                if scores is None:
                    scores = _run_array(corpus, plan, weight, progress, show_bar)
                path = out / f"{slug(spec)}.{plan.run}.run"
                write_run(path, _to_dict(pairs, corpus, scores), f"{slug(spec)}.{plan.run}")
                run_files[(spec, plan.run)] = path
            frames.append(_frame(spec, plan.run, data["values"], measures))
            log.info("evaluated %s %s in %.2fs", spec, plan.run, time.perf_counter() - t0)

    cols = ["encoder", "run", "axis", "metric", "qid", "value"]
    per_query = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    per_query = per_query[cols]
    if len(per_query):
        table = (per_query.groupby(["encoder", "run", "axis", "metric"], sort=False)["value"].mean()
                 .reset_index())
    else:
        table = pd.DataFrame(columns=["encoder", "run", "axis", "metric", "value"])
    result = EvalResult(table=table, per_query=per_query, run_files=run_files, skipped=skipped,
                        fusion_weight=weight, metrics=measures)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for axis, q in bench.qrels.items():
            write_qrels(out / f"qrels_{axis}.txt", q)
        table.to_csv(out / "results.csv", index=False)
        per_query.to_csv(out / "per_query.csv", index=False)
    return result


def _frame(spec: str, run: str, values: Mapping[str, Mapping[str, Mapping[str, float]]],
           measures: Sequence[str]):
    """Rows of one run in a canonical order: axes as in AXES, measures as requested, qids sorted
    (the same whether the values were just computed or read back from the JSON cache)."""
    import pandas as pd

    axes, mets, qids, vals = [], [], [], []
    for axis in _axis_order(values):
        for m in measures:
            by_q = values[axis][m]
            keys = sorted(by_q)
            n = len(keys)
            axes.append(np.full(n, axis, dtype=object))
            mets.append(np.full(n, m, dtype=object))
            qids.append(np.asarray(keys, dtype=object))
            vals.append(np.fromiter((by_q[k] for k in keys), dtype=np.float64, count=n))
    cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dtype=dt))  # noqa: E731
    n_total = sum(len(v) for v in vals)
    return pd.DataFrame({
        "encoder": np.full(n_total, spec, dtype=object), "run": np.full(n_total, run, dtype=object),
        "axis": cat(axes, object), "metric": cat(mets, object), "qid": cat(qids, object),
        "value": cat(vals, np.float64),
    })


# --------------------------------------------------------------------------- significance
def significance(per_query, against="best", metric: str = "AP", test: str = "randomization",
                 axes: Sequence[str] | None = None, alpha: float = 0.05, n_permutations: int = 10_000,
                 seed: int = 0, cache: bool = True):
    """Paired significance tests between systems (``core.metrics.significance``), cached.

    The result is cached under ``cache_dir()/eval`` keyed by the per-query values involved
    and every parameter, so repeating a comparison is instant.
    """
    import pandas as pd

    kw = dict(against=against, metric=metric, test=test, axes=axes, alpha=alpha,
              n_permutations=n_permutations, seed=seed)
    if not cache:
        return _significance(per_query, **kw)
    m = canonical(metric)
    sub = per_query[per_query["metric"] == m].sort_values(["encoder", "run", "axis", "qid"], kind="mergesort")
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(sub[["encoder", "run", "axis", "qid", "value"]], index=False).to_numpy().tobytes())
    against_key = "best" if against == "best" else [[a if isinstance(a, str) else list(a),
                                                     b if isinstance(b, str) else list(b)] for a, b in against]
    key = key_of("sig", PROTOCOL_VERSION, h.hexdigest(), against_key, m, test,
                 list(axes) if axes is not None else None, alpha, n_permutations, seed)
    path = config.cache_dir() / "eval" / f"sig-{key}.json"
    data = load_json(path)
    cols = ["axis", "metric", "test", "system_a", "system_b", "encoder_a", "run_a", "encoder_b", "run_b",
            "mean_a", "mean_b", "diff", "better", "n", "p", "p_holm", "significant"]
    if isinstance(data, dict) and data.get("key") == key:
        return pd.DataFrame(data["rows"], columns=cols)
    df = _significance(per_query, **kw)
    rows = json.loads(df.to_json(orient="records"))
    try:
        atomic_write_json(path, {"key": key, "rows": rows})
    except OSError as exc:
        log.warning("could not cache significance result: %s", exc)
    return df
