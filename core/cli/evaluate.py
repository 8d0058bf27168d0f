"""Command ``evaluate``: the UPAIR protocol per axis, TREC runs and result tables."""
from __future__ import annotations

import sys
from pathlib import Path

from ..corpora import load_corpus
from ..evaluation import DEFAULT_MEASURES, DEFAULT_RUNS, MEASURE_LABELS, RUNS, EvalResult, axis_order
from ..metrics import INCOMPLETE_MEASURES, canonical
from ..protocols import protocol_names
from .common import add_corpus_arg, csv_names, parse_encoders, table
from ..metrics.bootstrap import DEFAULT_RESAMPLES, MIN_RESAMPLES
from .values import finite_float, measure_names, nonempty, nonneg_int


def bootstrap_resamples(text: str) -> int:
    """``--bootstrap``: 0 (no intervals) or a whole number of resamples >= MIN_RESAMPLES."""
    import argparse

    n = nonneg_int(text)
    if 0 < n < MIN_RESAMPLES:
        raise argparse.ArgumentTypeError(f"expected 0 (none) or at least {MIN_RESAMPLES} resamples, got {text!r}")
    return n


def measure_names_checked(text: str) -> list[str]:
    """``--metrics`` parsed (its default string too) by the one measure parser, naming the flag."""
    import argparse

    try:
        return measure_names(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"--metrics {exc}") from None


def format_tables(result: EvalResult) -> str:
    """The result as one text table per axis (rows encoder/run, columns metrics)."""
    blocks = []
    for axis in axis_order(dict.fromkeys(result.table["axis"])):
        p = result.pivot(axis)
        rows = [[enc, run, *(f"{p.loc[(enc, run), m]:.4f}" for m in p.columns)] for enc, run in p.index]
        header = ["encoder", "run", *(MEASURE_LABELS.get(m, m) for m in p.columns)]
        blocks.append(f"== {axis}\n" + table(rows, header))
    return "\n\n".join(blocks)


def cmd_evaluate(args) -> int:
    """``python -m core evaluate``: score the runs, print one table per axis, write run files."""
    from ..evaluation import evaluate
    from ..outdir import check_output
    from ..protocols import default_protocol_for, get_protocol

    if args.out:
        check_output(args.out, "evaluate")
    encoders = parse_encoders(args.encoders)
    runs = csv_names(args.runs, "--runs")
    metrics = measure_names_checked(args.metrics)
    if args.incomplete:
        metrics = list(dict.fromkeys([*metrics, *INCOMPLETE_MEASURES]))
    corpus = load_corpus(args.corpus)
    protocol = get_protocol(args.protocol or default_protocol_for(corpus))
    result = evaluate(corpus, encoders, runs=runs, metrics=metrics, fusion_weight=args.weight,
                      out_dir=args.out, show_bar=True, protocol=protocol.name, bootstrap=args.bootstrap,
                      bootstrap_seed=args.bootstrap_seed)
    n_q = result.per_query["qid"].nunique() if len(result.per_query) else 0
    print(f"corpus {corpus.name} · {n_q} queries · fusion weight {result.fusion_weight:g}")
    print(f"protocol {protocol.name}: {protocol.summary}\n")
    if len(result.table):
        print(format_tables(result))
    for spec, reason in result.skipped:
        print(f"skipped  {spec}: {reason}")
    _print_problems(result, protocol.name)
    if not len(result.table):
        print("error: nothing was evaluated (see the skipped lines above)", file=sys.stderr)
        return 2
    if args.significance != "none" and len(result.table):
        sig = result.significance(metric=metrics[0], test=args.significance)
        if len(sig):
            rows = [[r.axis, r.system_a, r.system_b, f"{r.diff:+.4f}", f"{r.p:.4f}", f"{r.p_holm:.4f}",
                     "yes" if r.significant else "no"] for r in sig.itertuples()]
            print(f"\nsignificance ({args.significance}, {canonical(metrics[0])}, best vs others, Holm):")
            print(table(rows, ["axis", "best", "other", "diff", "p", "p (Holm)", "sig. 0.05"]))
    if result.intervals is not None and len(result.intervals):
        from ..evaluation.report import format_intervals

        print("\n" + format_intervals(result.intervals, list(result.metrics)))
    if args.pool_bias or args.pool_encoders:
        from ..evaluation.report import format_pool_bias, pool_bias

        pool = csv_names(args.pool_encoders, "--pool-encoders") if args.pool_encoders else None
        print("\n" + format_pool_bias(pool_bias(corpus, result, pool_encoders=pool)))
    elif args.incomplete:
        from ..annotation.bias import rank_flips
        from ..evaluation.report import format_flips

        print("\n" + format_flips(rank_flips(result.table)))
    if args.out:
        print(f"\nrun files, qrels, results.csv, per_query.csv and problems.csv written to {Path(args.out).resolve()}")
    if result.problems and not args.allow_problems:
        print(f"error: the loader found {len(result.problems)} problem(s) in {corpus.name} (listed above) that "
              "change these numbers; fix the files, or pass --allow-problems to accept them (exit 0)", file=sys.stderr)
        return PROBLEMS_EXIT
    return 0


#: Exit status of ``evaluate`` when the tables were computed but the loader reported problems.
PROBLEMS_EXIT = 3
#: Problems printed in full; the rest are counted (all are in problems.csv with --out).
PROBLEMS_SHOWN = 20


def _print_problems(result, protocol: str) -> None:
    from ..evaluation import UPAIR_OFFICIAL_NOTE

    if not result.problems:
        return
    print(f"\nproblems found by the loader ({len(result.problems)}), each may change the numbers above:")
    for p in result.problems[:PROBLEMS_SHOWN]:
        print(f"problem  {p.message}")
    if len(result.problems) > PROBLEMS_SHOWN:
        print(f"problem  ... and {len(result.problems) - PROBLEMS_SHOWN} more (all in problems.csv with --out)")
    if protocol == "upair":
        print(f"note     under --protocol upair: {UPAIR_OFFICIAL_NOTE}")


def register(sub) -> None:
    """Add ``evaluate`` to ``sub``."""
    sp = sub.add_parser("evaluate", help="evaluate encoders on a benchmark (MAP, nDCG@10, MRR, Recall@1 per axis)")
    add_corpus_arg(sp)
    sp.add_argument("--encoders", help="comma-separated specs (default: every available encoder)")
    sp.add_argument("--runs", default=",".join(DEFAULT_RUNS),
                    help=f"comma-separated, from {', '.join(RUNS)} (default: %(default)s)")
    sp.add_argument("--metrics", default=",".join(DEFAULT_MEASURES),
                    help="comma-separated ir_measures names (default: %(default)s)")
    sp.add_argument("--incomplete", action="store_true",
                    help="also report the measures for incomplete judgements: bpref, infAP, condensed MAP and "
                         "condensed nDCG@10 (unjudged documents removed before scoring)")
    sp.add_argument("--bootstrap", type=bootstrap_resamples, default=DEFAULT_RESAMPLES, metavar="N",
                    help="paired bootstrap over queries with N resamples (>= 100, or 0 for none): 95%% percentile "
                         "intervals of every metric and of the difference to the best system, printed and in "
                         "results.csv (default: %(default)s)")
    sp.add_argument("--bootstrap-seed", type=nonneg_int, default=0, help="seed of the bootstrap (default 0)")
    sp.add_argument("--pool-bias", action="store_true",
                    help="report, per system and axis, the share of its top 10 that is unjudged, which systems "
                         "sampled the pool (from the sample run's run.json, the UPAIR reference sampler, or "
                         "--pool-encoders), and pairs that plain and condensed measures rank differently")
    sp.add_argument("--pool-encoders", help="comma-separated encoder specs the pool was sampled with "
                                            "(implies --pool-bias; overrides what the pool records)")
    sp.add_argument("--weight", type=finite_float, default=1.0,
                    help="text weight w in image + w*text fusion, a finite number (default 1)")
    sp.add_argument("--out", type=nonempty, help="folder for TREC run files, qrels and results CSVs")
    sp.add_argument("--protocol", choices=protocol_names(), default=None,
                    help="preprocessing and text cleaning: upair = the official evaluation/run.py exactly "
                         "(default for UPAIR-layout corpora), clean = this project's (default otherwise)")
    sp.add_argument("--allow-problems", action="store_true",
                    help="exit 0 even when the loader reported problems (bad qrels lines, unknown ids, ...); "
                         "they are still printed and written to problems.csv")
    sp.add_argument("--significance", default="none", choices=["none", "randomization", "t"],
                    help="test the best system of each axis against the others (first metric)")
    sp.set_defaults(fn=cmd_evaluate)
