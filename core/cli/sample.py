"""Command ``sample``: draw UPAIR-style candidate pools for queries from a collection."""
from __future__ import annotations

from pathlib import Path

from ..corpora import load_corpus
from .common import CORPUS_HELP, table
from .values import citations_file, existing_file, int_value, nonempty, nonneg_int


def cmd_sample(args) -> int:
    """``python -m core sample``: draw, write the pools, print a per-group summary."""
    from ..annotation.sampling import (
        METHODS, find_citations, load_config, resolve_queries, sample_pools, summary, write_run,
    )
    from ..annotation.sampling.config import with_protocol
    from ..annotation.sampling.options import parse_assignments
    from ..annotation.sampling.sampler import MissingCitations, SamplingUnavailable, check_encoders
    from ..outdir import check_output

    check_output(args.out, "sample")
    config = load_config(args.config)
    if args.protocol or args.option:
        config = with_protocol(config, args.protocol, parse_assignments(args.option or []))
    print(f"config   {config.source}")
    diff = config.options.differences()
    print(f"protocol {config.protocol}: " + (", ".join(diff) + " (differ from the reference)" if diff
                                             else "every option as the reference"))
    for note in config.notes:
        print(f"note     {note}")
    problems = check_encoders(config)
    if problems:
        print("error: cannot sample; these encoders are unavailable:")
        for p in problems:
            print(f"  - {p}")
        return 3
    collection = load_corpus(args.corpus)
    qcorpus = collection if args.queries == args.corpus else load_corpus(args.queries)
    queries = resolve_queries(qcorpus)
    if args.limit:
        queries = queries[: args.limit]
    citations, where = find_citations(config, qcorpus, collection, explicit=args.citations)
    print(f"corpus   {collection.name} · {len(collection)} figures")
    print(f"queries  {qcorpus.name} · {len(queries)} queries")
    print(f"cited    {where}")
    print(f"method   {args.method}: {METHODS[args.method]}")
    try:
        run = sample_pools(collection, queries, config, seed=args.seed, method=args.method, citations=citations)
    except SamplingUnavailable as exc:
        print(f"error: {exc}")
        return 3
    except MissingCitations as exc:
        print(f"error: {exc}")
        return 2
    out = write_run(run, args.out)
    rows = []
    for name, s in summary(run).items():
        if name == "cited":
            rows.append([name, str(s["kept"]), "-", "-", f"{s['queries_with_cited']} queries with cited figures"])
            continue
        cases = ", ".join(f"{k}: {v}" for k, v in sorted(s["cases"].items()))
        rows.append([name, str(s["kept"]), str(s["shortfall"]), str(s["queries_short"]), cases])
    print()
    print(table(rows, ["group", "kept", "shortfall", "queries short", "merge cases (queries)"]))
    where = Path(out).resolve()
    print(f"\npools written to {where} (pool/ reads as a corpus: --corpus upair:{where / 'pool'})")
    return 0


def register(sub) -> None:
    """Add ``sample`` to ``sub``."""
    from ..annotation.sampling.config import METHODS

    sp = sub.add_parser("sample", help="draw UPAIR-style candidate pools (percentile bands, merge, dedup, cited)")
    sp.add_argument("--corpus", type=nonempty, default="demo", help=f"the collection to draw from: {CORPUS_HELP}")
    sp.add_argument("--queries", type=nonempty, default="demo", help="query figures: a corpus spec or folder (its benchmark "
                    "queries, else every figure; default: demo)")
    sp.add_argument("--config", type=existing_file, help="sampling config YAML (the reference's config.yaml loads as it is; "
                    "default: TF-IDF title/desc/labels + HOG + AHDH)")
    sp.add_argument("--seed", type=int_value, default=0, help="random seed (same seed, same pools; default 0)")
    sp.add_argument("--method", default="upair", choices=list(METHODS),
                    help="upair: deduplicate as the reference; strict: also across groups (default upair)")
    from ..annotation.sampling.options import OPTIONS, SAMPLING_PROTOCOLS

    sp.add_argument("--protocol", choices=list(SAMPLING_PROTOCOLS),
                    help="sampling protocol: upair (every choice as the reference, faiss scores; default unless "
                         "the config names one), fast-scores (numpy scores), clean (this project's choices)")
    sp.add_argument("--option", action="append", metavar="NAME=VALUE",
                    help="override one sampling option (repeatable): "
                         + "; ".join(f"{k}: {'|'.join(v)}" for k, v in OPTIONS.items()))
    sp.add_argument("--citations", type=citations_file, help="citations_data.json (default: the config's, else one at a corpus root)")
    sp.add_argument("--limit", type=nonneg_int, default=0, help="only the first N queries (0, the default: all)")
    sp.add_argument("--out", type=nonempty, required=True, help="output folder (candidates/, trace/, pool/, run.json)")
    sp.set_defaults(fn=cmd_sample)
