"""``python -m core numerals``: read the reference numerals of a corpus's drawings (cached,
resumable) and name each from the figure's description; ``--show ID`` prints one figure."""
from __future__ import annotations

import sys

from ..corpora import load_corpus
from .common import add_corpus_arg, table
from .values import nonempty


def cmd_numerals(args) -> int:
    from ..numerals import ENGINES, EngineUnavailable, build_numerals

    if args.engine not in ENGINES:
        raise ValueError(f"--engine {args.engine!r} is not an OCR engine; engines: {', '.join(ENGINES)}")
    corpus = load_corpus(args.corpus)
    ids = None
    if args.show:
        if args.show not in corpus.by_id:
            raise ValueError(f"--show {args.show!r} is not a figure id of {corpus.name}")
        ids = [args.show]

    def progress(i: int, n: int) -> None:
        if sys.stderr.isatty() and (i == n or i % 10 == 0):
            print(f"\r{i}/{n} figures", end="\n" if i == n else "", file=sys.stderr)

    try:
        build = build_numerals(corpus, args.engine, ids=ids, progress=progress)
    except EngineUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.show:
        fn = build.figures[args.show]
        if fn.error:
            print(f"unreadable: {fn.error}")
        print(table([[n.text, n.key, ",".join(map(str, n.box)), f"{n.conf:.0f}", n.label or "—"] for n in fn.numerals],
                    ["read", "numeral", "box", "conf", "part"]) if fn.numerals else "no numerals read")
        print("named in the description: " + (", ".join(f"{k}: {v}" for k, v in fn.names.items()) or "none"))
        return 0
    s = build.summary()
    print(f"corpus {corpus.name} · engine {args.engine}")
    print(table([[k, str(v)] for k, v in s.items()], ["", "count"]))
    return 0


def register(sub) -> None:
    from ..numerals import DEFAULT_ENGINE

    sp = sub.add_parser("numerals", help="read reference numerals in the drawings (OCR) and name their parts")
    add_corpus_arg(sp)
    sp.add_argument("--engine", default=DEFAULT_ENGINE, help=f"OCR engine (default {DEFAULT_ENGINE}; also rapidocr if installed)")
    sp.add_argument("--show", type=nonempty, help="print one figure's numerals, boxes and names")
    sp.set_defaults(fn=cmd_numerals)
