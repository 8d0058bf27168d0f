"""Commands ``judge-import``, ``judge-export`` and ``judge-agreement`` (relevance judgements)."""
from __future__ import annotations

import math
import os

from ..corpora import load_corpus
from ..corpora.base import AXES
from .common import add_corpus_arg, table
from .values import existing_dir, nonempty


def cmd_import(args) -> int:
    from ..annotation.judgements import JudgementStore
    from ..annotation.judgements_check import check_qrels, read_checked_dir
    from ..annotation.judgements_sets import import_set, provenance, undo_import

    corpus = load_corpus(args.corpus)
    store = JudgementStore(corpus.name)
    if args.undo:
        b = undo_import(store, args.set)
        print(f"undid the import of {b.source} ({b.lines} lines) into set {b.set!r}; {store.journal(b.set).path} "
              "is as it was before it")
        return 0
    if args.qrels:
        qrels, source = read_checked_dir(args.qrels, corpus), str(args.qrels)
    elif corpus.benchmark is not None and corpus.benchmark.qrels:
        qrels, source = check_qrels(corpus.benchmark.qrels, corpus, f"{corpus.name} qrels"), f"{corpus.name} qrels"
    else:
        raise ValueError(f"{corpus.name} has no qrels of its own; pass --qrels DIR with qrels_<axis>.txt files")
    b = import_set(store, args.set, qrels, source, add=args.add, by=os.environ.get("USER", ""))
    print(f"imported {b.lines} judged pairs from {b.source} into judgement set {b.set!r} "
          f"({store.journal(b.set).path}); undo with: judge-import --corpus {args.corpus} --set {b.set!r} --undo")
    for line in provenance(store, b.set).lines():
        print("  " + line)
    return 0


def cmd_export(args) -> int:
    from ..annotation.agreement import judgement_set
    from ..annotation.judgements import JudgementStore
    from ..annotation.judgements_qrels import export_qrels, export_upair
    from ..outdir import check_output

    check_output(args.out, "judge-export --upair" if args.upair else "judge-export")
    corpus = load_corpus(args.corpus)
    qrels = judgement_set(args.set, JudgementStore(corpus.name), corpus)
    if args.upair:
        out = export_upair(corpus, qrels, args.out)
        print(f"UPAIR-layout folder written to {out} (load it with --corpus upair:{out})")
    else:
        for p in export_qrels(qrels, args.out):
            print(f"wrote {p}")
    n = {a: sum(len(d) for d in qrels.get(a, {}).values()) for a in AXES}
    print("judged pairs per axis: " + ", ".join(f"{a} {n[a]}" for a in AXES))
    return 0


def _fmt(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.3f}"


def cmd_agreement(args) -> int:
    from ..annotation.agreement import krippendorff_alpha, pairwise
    from ..annotation.judgements import JudgementStore

    corpus = load_corpus(args.corpus)
    people = JudgementStore(corpus.name).all_judgements()
    if len(people) < 2:
        print(f"agreement needs two annotators; {corpus.name} has {len(people)} ({', '.join(people) or 'none'})")
        return 1
    rows = []
    for axis in AXES:
        rows.append([axis, "all", "", _fmt(krippendorff_alpha(people, axis)), "", ""])
        for pa in pairwise(people, axis):
            rows.append([axis, f"{pa.a} / {pa.b}", str(pa.n), "", _fmt(pa.kappa), _fmt(pa.observed)])
    print(table(rows, ["axis", "annotators", "pairs", "alpha", "kappa", "agreement"]))
    return 0


def register(sub) -> None:
    """Add this module's sub-commands to ``sub``."""
    sp = sub.add_parser("judge-import", help="import TREC qrels (grades 0/1, ids of the corpus) as a new judgement set")
    add_corpus_arg(sp)
    sp.add_argument("--set", "--annotator", dest="set", type=nonempty, required=True,
                    help="name of the new judgement set, e.g. upair (an existing name needs --add)")
    sp.add_argument("--qrels", type=existing_dir, help="folder with qrels_<axis>.txt (default: the corpus's own qrels)")
    sp.add_argument("--add", action="store_true", help="add to the set of that name when it exists")
    sp.add_argument("--undo", action="store_true", help="undo the latest import into --set (byte for byte)")
    sp.set_defaults(fn=cmd_import)

    sp = sub.add_parser("judge-export", help="export a judgement set as TREC qrels or a UPAIR-layout folder")
    add_corpus_arg(sp)
    sp.add_argument("--set", type=nonempty, default="majority", help="official | annotator:NAME | majority | adjudicated")
    sp.add_argument("--out", type=nonempty, required=True, help="folder to write (new, empty, or an earlier export)")
    sp.add_argument("--upair", action="store_true", help="write metadata.json, test/images and test/qrels_*")
    sp.set_defaults(fn=cmd_export)

    sp = sub.add_parser("judge-agreement", help="Cohen's kappa per annotator pair and Krippendorff's alpha per axis")
    add_corpus_arg(sp)
    sp.set_defaults(fn=cmd_agreement)
