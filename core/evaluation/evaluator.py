"""``evaluate``: every encoder's runs on a benchmark, per axis, under one evaluation protocol."""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..corpora.base import AXES, Corpus
from ..embed import EncoderUnavailable, Progress, require
from ..outdir import open_output
from ..metrics import (DEFAULT_MEASURES, IR_MEASURES, NATIVE, canonical, metrics_sorted, plan_measures,
                       split_native, trec_order)
from ..protocols import default_protocol_for, get_protocol
from ..qrels import write_qrels
from ..store import key_of
from .cache import RESULT_CACHE
from .problems import axis_problem_counts, loader_problems, problems_frame
from .pairs import axis_order, benchmark_of, pairs_to_dict, qrels_digest
from .runfiles import run_tag, write_run_file
from .runs import RUNS, DEFAULT_RUNS, RunPlan, axis_data, embeddings, pairs_of, plan_run, run_array, slug
from .significance import significance

log = logging.getLogger(__name__)

__all__ = ["EvalResult", "evaluate", "RESULTS_VERSION"]

#: Bump when anything changes the cached results (2: scores no longer rounded; protocols).
RESULTS_VERSION = 2


@dataclass(frozen=True, eq=False)
class EvalResult:
    """Evaluation of several encoders' runs on a benchmark under one protocol.

    ``table``: tidy means (encoder, run, axis, metric, value); ``per_query``: (encoder,
    run, axis, metric, qid, value); ``run_files``: (encoder, run) → TREC run file (when an
    output folder was given); ``skipped``: (encoder, reason) for encoders / runs that
    could not be evaluated; ``protocol``: the ``core.protocols`` name every number follows;
    ``problems``: what the corpus loader found wrong (``core.evaluation.problems``), each of
    which may have changed a number.
    """

    table: "pd.DataFrame"  # noqa: F821
    per_query: "pd.DataFrame"  # noqa: F821
    run_files: dict[tuple[str, str], Path] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    fusion_weight: float = 1.0
    metrics: tuple[str, ...] = DEFAULT_MEASURES
    protocol: str = "clean"
    problems: tuple = ()
    #: Paired bootstrap intervals (``core.metrics.bootstrap``) when asked for, else None.
    intervals: "pd.DataFrame | None" = None  # noqa: F821

    def pivot(self, axis: str):
        """Means on one axis: rows (encoder, run), columns metrics (in requested order)."""
        t = self.table[self.table["axis"] == axis]
        p = t.pivot_table(index=["encoder", "run"], columns="metric", values="value", sort=False)
        return p[[m for m in self.metrics if m in p.columns]]

    def significance(self, against="best", metric: str = "AP", test: str = "randomization", **kw):
        """Paired significance tests on this result's per-query values (see ``significance``)."""
        return significance(self.per_query, against=against, metric=metric, test=test, **kw)


def _score_run(corpus: Corpus, scores: np.ndarray, measures: Sequence[str], qrels=None,
               qdigest: str | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """``{axis: {measure: {qid: value}}}`` of one run's flat scores.

    Measures go through ``core.metrics.plan_measures``: the native group is computed on the
    pair table directly (one sort for every axis), any other provider on the run as a dict.
    """
    pairs = pairs_of(corpus)
    order = trec_order(pairs.qof, pairs.doc_code, scores) if len(pairs) else np.zeros(0, dtype=np.int64)
    q_sorted = pairs.qof[order]
    groups = plan_measures(measures)
    run_dict = None
    judged = benchmark_of(corpus).qrels if qrels is None else qrels
    out: dict[str, dict[str, dict[str, float]]] = {}
    for axis in axis_order(judged):
        ad = axis_data(corpus, axis, qrels, qdigest)
        res: dict[str, dict[str, float]] = {}
        for provider, names in groups:
            if provider is NATIVE:
                names, slow = split_native(ad.stats, names)
                q_ax = ad.qmap[q_sorted]
                keep = q_ax >= 0
                vals = metrics_sorted(ad.stats, q_ax[keep], ad.rel[order][keep], names, ad.judged[order][keep])
                res.update({m: dict(zip(ad.stats.qids, vals[m].tolist())) for m in names})
                provider, names = IR_MEASURES, slow
            if names:
                if run_dict is None:
                    run_dict = pairs_to_dict(pairs, corpus, scores)
                res.update(provider.compute(run_dict, judged[axis], names))
        out[axis] = {m: res[m] for m in measures}
    return out


def _plans(spec: str, runs: Sequence[str], protocol: str) -> tuple[list[RunPlan], list[str]]:
    """The runs of ``spec`` among ``runs`` and the reasons of those that are impossible."""
    from .runs import protocol_spec

    enc = require(protocol_spec(spec, protocol))  # EncoderUnavailable / ValueError propagate
    wanted = list(runs)
    if not enc.has_images:  # text-only: its runs are the text fields of the requested runs
        wanted = list(dict.fromkeys(r.split("+", 1)[1] if r.startswith("image+") else r
                                    for r in runs if r != "image"))
        if not wanted:
            return [], [f"{spec} is text-only; request runs desc/labels (or image+desc/image+labels)"]
    plans, reasons = [], []
    for r in wanted:
        try:
            plans.append(plan_run(spec, r, protocol))
        except (ValueError, EncoderUnavailable) as exc:
            reasons.append(f"run {r}: {exc}")
    return plans, reasons


def _check_args(corpus, encoders, runs, metrics, protocol, own_qrels: bool = True):
    benchmark_of(corpus, need_qrels=own_qrels)
    if isinstance(encoders, str):
        encoders = [e.strip() for e in encoders.split(",") if e.strip()]
    measures = tuple(dict.fromkeys(canonical(m) for m in metrics))
    if not measures:
        raise ValueError("no metrics requested")
    runs = tuple(dict.fromkeys(r.strip() for r in runs))
    if not runs:
        raise ValueError(f"no runs requested; choose from {', '.join(RUNS)}")
    bad = [r for r in runs if r not in RUNS]
    if bad:
        raise ValueError(f"unknown run(s) {', '.join(bad)}; choose from {', '.join(RUNS)}")
    proto = get_protocol(protocol or default_protocol_for(corpus))
    return list(dict.fromkeys(encoders)), runs, measures, proto


def _evaluate_plan(corpus: Corpus, plan: RunPlan, measures, weight: float, qdigest: str, progress, show_bar,
                   out: Path | None, qrels=None):
    """(values, run file or None) of one run; raises what building its embeddings raises."""
    embs = [embeddings(corpus, s, w, progress, show_bar) for s, w in plan.sources]
    pairs = pairs_of(corpus)
    proto = get_protocol(plan.protocol)
    key = key_of("eval", RESULTS_VERSION, proto.key, [e.key for e in embs], [list(s) for s in plan.sources],
                 pairs.key, qdigest, weight if plan.fused else None, list(measures))
    data = RESULT_CACHE.get(key, valid=lambda d: isinstance(d.get("values"), dict))
    scores = None
    if data is None:
        scores = run_array(corpus, plan, weight, progress, show_bar)
        data = {"key": key, "encoder": plan.encoder, "run": plan.run, "protocol": proto.name,
                "fusion_weight": weight if plan.fused else None, "measures": list(measures),
                "values": _score_run(corpus, scores, measures, qrels, qdigest)}
        RESULT_CACHE.put(key, data)
    path = None
    if out is not None:
        if scores is None:
            scores = run_array(corpus, plan, weight, progress, show_bar)
        path = write_run_file(out.file(f"{slug(plan.encoder)}.{plan.run}.run"), pairs_to_dict(pairs, corpus, scores),
                              run_tag(slug(plan.encoder), plan.run, proto.name))
    return data["values"], path


def evaluate(corpus: Corpus, encoders: Iterable[str], runs: Sequence[str] = DEFAULT_RUNS,
             metrics: Sequence[str] = DEFAULT_MEASURES, fusion_weight: float = 1.0,
             out_dir: Path | str | None = None, progress: Progress | None = None,
             show_bar: bool = False, protocol: str | None = None,
             qrels: Mapping[str, Mapping[str, Mapping[str, int]]] | None = None,
             bootstrap: int = 0, bootstrap_seed: int = 0) -> EvalResult:
    """Evaluate every encoder's runs on the corpus's benchmark under ``protocol``.

    ``protocol`` (``core.protocols``) defaults to ``upair`` for UPAIR-layout corpora and
    ``clean`` otherwise. Unavailable encoders and impossible runs are skipped and listed in
    ``skipped``. With ``out_dir`` the TREC run files, the qrels of each axis,
    ``results.csv`` and ``per_query.csv`` (both with a ``protocol`` column) are written
    there. ``qrels`` (``{axis: {qid: {docid: rel}}}``, e.g. a judgement set of
    ``core.annotation``) replaces the benchmark's judgements; its digest is part of the
    cache key. Raises ValueError for a corpus without a benchmark, an unknown run, measure
    or protocol. ``out_dir`` must be new, empty or an earlier ``evaluate``'s output folder
    (``core.outdir``); an earlier run's files that this run does not write again are removed.
    ``bootstrap`` > 0 adds paired bootstrap intervals with that many resamples (seed
    ``bootstrap_seed``; ``core.metrics.bootstrap``) as ``intervals`` and as CI columns of
    ``results.csv``; the values themselves are unchanged.
    """
    from ..metrics.bootstrap import check_resamples

    _import_in_background(("pandas",))  # needed only for the tables at the end: loaded while encoding
    if bootstrap:
        check_resamples(bootstrap, "bootstrap")
    encoders, runs, measures, proto = _check_args(corpus, encoders, runs, metrics, protocol, qrels is None)
    weight = float(fusion_weight)
    if not np.isfinite(weight):
        raise ValueError(f"the fusion weight must be a finite number (got {fusion_weight!r})")
    from ..integrity import drop_unreadable

    problems = loader_problems(corpus)
    decoded = _decoded_by_encoders(corpus, encoders, runs, proto.name, progress, show_bar)
    corpus, unreadable = drop_unreadable(corpus, decoded)  # never scored as blank pictures; reported below
    if unreadable and qrels is not None:
        qrels = {a: {q: {d: r for d, r in docs.items() if d not in unreadable}
                     for q, docs in qr.items() if q not in unreadable} for a, qr in qrels.items()}
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open_output(out_dir, "evaluate")) if out_dir is not None else None
        return _evaluate_all(corpus, encoders, runs, measures, proto, weight, qrels, unreadable, out, progress,
                             show_bar, problems, (int(bootstrap), int(bootstrap_seed)))


def _import_in_background(names: Sequence[str]) -> None:
    """Import the libraries ``names`` in a daemon thread (those not yet imported), so that a fresh
    evaluation's encoding does not wait for them; a later ``import`` in this thread waits for the
    same module lock, so nothing is imported twice or seen half-initialised."""
    import importlib
    import sys
    import threading

    missing = [n for n in names if n not in sys.modules]
    if missing:
        threading.Thread(target=lambda: [importlib.import_module(n) for n in missing], daemon=True,
                         name="upair-imports").start()


def _decoded_by_encoders(corpus: Corpus, encoders, runs, protocol: str, progress, show_bar) -> frozenset[str]:
    """Ids whose image the requested image encoders read without error, found by building their
    image embeddings of the whole corpus (the one decode of a fresh run; the vectors are cached
    by content, so scoring reuses them). The integrity check then opens only the other figures.
    Nothing is built when the corpus's check is already remembered; failures are left to the
    scoring loop, which reports them."""
    from ..integrity import known_unreadable

    if known_unreadable(corpus) is not None:
        return frozenset()
    decoded: set[str] = set()
    for spec in encoders:
        try:
            plans, _ = _plans(spec, runs, protocol)
        except (EncoderUnavailable, ValueError, ImportError):
            continue
        for source in dict.fromkeys(p.image for p in plans if p.image is not None):
            try:
                emb = embeddings(corpus, *source, progress, show_bar)
            except (EncoderUnavailable, ValueError, RuntimeError, OSError, ImportError):
                continue
            decoded.update(set(emb.ids) - set(emb.excluded))
    return frozenset(decoded)


def _evaluate_all(corpus, encoders, runs, measures, proto, weight, qrels, unreadable, out, progress, show_bar,
                  problems=(), bootstrap=(0, 0)):
    qdigest = qrels_digest(corpus, qrels)
    skipped: list[tuple[str, str]] = []
    if unreadable:
        first = next(iter(unreadable.values()))
        skipped.append((f"{len(unreadable)} unreadable figure(s)",
                        f"left out of every candidate list and judgement (e.g. {first})"))
    run_files: dict[tuple[str, str], Path] = {}
    frames: list[dict[str, np.ndarray]] = []  # column blocks of each run (``_frame``)
    for spec in encoders:
        try:
            plans, reasons = _plans(spec, runs, proto.name)
        except (EncoderUnavailable, ValueError, ImportError) as exc:
            skipped.append((spec, str(exc)))
            continue
        skipped.extend((spec, r) for r in reasons)
        for plan in plans:
            t0 = time.perf_counter()
            try:
                values, path = _evaluate_plan(corpus, plan, measures, weight, qdigest, progress, show_bar, out,
                                              qrels)
            except (EncoderUnavailable, ValueError, RuntimeError, OSError, ImportError) as exc:
                log.warning("skipping %s %s: %s", spec, plan.run, exc)
                skipped.append((spec, f"run {plan.run}: {exc}"))
                continue
            if path is not None:
                run_files[(spec, plan.run)] = path
            frames.append(_frame(spec, plan.run, values, measures))
            log.info("evaluated %s %s (%s) in %.2fs", spec, plan.run, proto.name, time.perf_counter() - t0)
    result = replace(_result(frames, run_files, skipped, weight, measures, proto.name), problems=tuple(problems))
    if bootstrap[0] and len(result.per_query):
        from ..metrics.bootstrap import bootstrap_intervals

        result = replace(result, intervals=bootstrap_intervals(result.per_query, bootstrap[0], bootstrap[1]))
    if out is not None:
        _write_outputs(out, corpus, result, qrels)
    return result


def _result(frames, run_files, skipped, weight, measures, protocol) -> EvalResult:
    """The result of the runs' column blocks (``_frame``): per-query values and their means, each
    frame built once (a re-scoring's cost is mostly building these)."""
    import pandas as pd

    cols = ["encoder", "run", "axis", "metric", "qid", "value"]
    cat = (lambda k, dt: np.concatenate([f[k] for f in frames]) if frames else np.zeros(0, dtype=dt))  # noqa: E731
    per_query = pd.DataFrame({c: cat(c, np.float64 if c == "value" else object) for c in cols})
    means = {c: cat(f"mean_{c}", np.float64 if c == "value" else object) for c in ("encoder", "run", "axis",
                                                                                 "metric", "value")}
    table = pd.DataFrame({c: means[c] for c in ("encoder", "run", "axis", "metric", "value")})
    return EvalResult(table=table, per_query=per_query, run_files=run_files, skipped=skipped,
                      fusion_weight=weight, metrics=measures, protocol=protocol)


def _write_outputs(out, corpus: Corpus, result: EvalResult, qrels=None) -> None:
    """qrels per axis, results.csv and per_query.csv (the protocol as first column) into the
    claimed output folder ``out`` (``core.outdir.OutputFolder``; a path is claimed here)."""
    if isinstance(out, (str, Path)):
        with open_output(out, "evaluate") as folder:
            return _write_outputs(folder, corpus, result, qrels)
    for axis, q in (benchmark_of(corpus).qrels if qrels is None else qrels).items():
        write_qrels(out.file(f"qrels_{axis}.txt"), q)
    from ..textio import frame_csv  # formula cells neutralised

    counts = axis_problem_counts(result.problems, AXES)
    table = result.table.assign(protocol=result.protocol,
                                problems=[counts.get(a, 0) for a in result.table["axis"]])
    table = table[["protocol", *result.table.columns, "problems"]]
    if result.intervals is not None and len(result.intervals):
        table = _with_intervals(table, result.intervals)
    out.write_text("results.csv", frame_csv(table, index=False))
    out.write_text("problems.csv", frame_csv(problems_frame(result.problems), index=False))
    out.write_text("per_query.csv", frame_csv(result.per_query.assign(protocol=result.protocol)[
        ["protocol", *result.per_query.columns]], index=False))


#: Bootstrap columns appended to results.csv (``ci_`` = the mean's interval, ``diff_`` = best − system).
CI_COLUMNS = ("ci_low", "ci_high", "best_system", "diff_to_best", "diff_low", "diff_high", "ci_resamples",
              "ci_seed", "ci_confidence")


def _with_intervals(table, intervals):
    """``table`` (one row per encoder, run, axis, metric) with the bootstrap columns merged in."""
    from ..metrics import system_label

    iv = intervals.assign(best_system=[system_label(e, r) for e, r in zip(intervals["best_encoder"],
                                                                          intervals["best_run"])])
    iv = iv.rename(columns={"resamples": "ci_resamples", "seed": "ci_seed", "confidence": "ci_confidence"})
    keep = ["encoder", "run", "axis", "metric", *CI_COLUMNS]
    return table.merge(iv[keep], on=["encoder", "run", "axis", "metric"], how="left", sort=False)


def _frame(spec: str, run: str, values: Mapping[str, Mapping[str, Mapping[str, float]]],
           measures: Sequence[str]) -> dict[str, np.ndarray]:
    """Column blocks of one run in a canonical order: axes as in AXES, measures as requested, qids
    sorted (the same whether the values were just computed or read back from the JSON cache),
    plus ``mean_*`` columns: one row per (axis, measure) with the mean over its queries (blocks
    of no query have none, as a group-by would give)."""
    axes, mets, qids, vals = [], [], [], []
    m_axes, m_mets, m_vals = [], [], []
    for axis in axis_order(values):
        for m in measures:
            by_q = values[axis][m]
            keys = sorted(by_q)
            n = len(keys)
            v = np.fromiter((by_q[k] for k in keys), dtype=np.float64, count=n)
            axes.append(np.full(n, axis, dtype=object))
            mets.append(np.full(n, m, dtype=object))
            qids.append(np.asarray(keys, dtype=object))
            vals.append(v)
            if n:
                m_axes.append(axis)
                m_mets.append(m)
                m_vals.append(float(np.mean(v)))
    cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dtype=dt))  # noqa: E731
    n_total = sum(len(v) for v in vals)
    return {
        "encoder": np.full(n_total, spec, dtype=object), "run": np.full(n_total, run, dtype=object),
        "axis": cat(axes, object), "metric": cat(mets, object), "qid": cat(qids, object),
        "value": cat(vals, np.float64),
        "mean_encoder": np.full(len(m_vals), spec, dtype=object), "mean_run": np.full(len(m_vals), run, dtype=object),
        "mean_axis": np.asarray(m_axes, dtype=object), "mean_metric": np.asarray(m_mets, dtype=object),
        "mean_value": np.asarray(m_vals, dtype=np.float64),
    }
