"""Command line: ``python -m core info|build|search|evaluate|map|download-upair|fetch-weights``."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .corpora import DatasetError, load_corpus
from .encoders import default_encoders, get_encoder, known_encoders
from .figures import ImageError


def _encoders(arg: str | None) -> list[str]:
    if not arg:
        return default_encoders()
    specs = [s.strip() for s in arg.split(",") if s.strip()]
    for s in specs:
        get_encoder(s)  # ValueError lists valid names
    return specs


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def cmd_info(args) -> int:
    corpus = load_corpus(args.corpus)
    print(f"corpus   {corpus.name}  ({corpus.kind}{', synthetic' if corpus.synthetic else ''})")
    print(f"figures  {len(corpus)}   patents {len({f.patent for f in corpus.figures})}   "
          f"sections {''.join(corpus.sections) or '-'}")
    if corpus.benchmark:
        b = corpus.benchmark
        print(f"queries  {len(b.queries)}   judged axes {', '.join(b.qrels) or '-'}")
    for w in corpus.warnings[:10]:
        print(f"warning  {w}")
    if len(corpus.warnings) > 10:
        print(f"warning  ... and {len(corpus.warnings) - 10} more skipped records")
    rows = []
    for spec in known_encoders():
        av = get_encoder(spec).availability()
        rows.append([spec, "available" if av.ok else "unavailable", av.reason + (f" — fix: {av.fix}" if av.fix else "")])
    print()
    print(_table(rows, ["encoder", "status", "note"]))
    return 0


def cmd_build(args) -> int:
    from .search import build

    corpus = load_corpus(args.corpus)
    out = build(corpus, _encoders(args.encoders), index_kind=args.index)
    for spec, res in out.items():
        if isinstance(res, str):
            print(f"skipped  {spec}: {res}")
        else:
            print(f"ready    {spec}: {len(res.embeddings.ids)} x {res.embeddings.dim}, index {res.spec.kind}")
    return 0


def cmd_search(args) -> int:
    from .search import search

    corpus = load_corpus(args.corpus)
    query = args.query
    if query not in corpus.by_id and not Path(query).is_file():
        raise ImageError(f"{query} is neither a figure id of {corpus.name} nor an image file")
    results = search(corpus, query, _encoders(args.encoders), k=args.k, index_kind=args.index)
    for spec, res in results.items():
        print(f"\n== {spec}")
        if res.error:
            print(f"   ({res.error})")
            continue
        rows = []
        for n in res.neighbours:
            f = corpus.by_id[n.id]
            rows.append([n.rank, f"{n.score:.4f}", n.id[:40], f.patent, f.title[:50]])
        print(_table(rows, ["rank", "score", "id", "patent", "title"]))
    return 0


def cmd_download(args) -> int:
    from .download import download_upair

    root = download_upair(Path(args.dest) if args.dest else None)
    print(f"UPAIR ready at {root}\nuse it with:  python -m core info --corpus upair:{root}")
    return 0


def cmd_fetch_weights(args) -> int:
    enc = get_encoder(args.encoder)
    if not hasattr(enc, "download"):
        print(f"{args.encoder} needs no weights")
        return 0
    print(f"downloaded to {enc.download()}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core", description="UPAIR Explorer core tools")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    def corpus_arg(sp):
        sp.add_argument("--corpus", default="demo",
                        help="demo | upair:DIR | query-patents:DIR | folder:DIR | DIR (default: demo)")

    sp = sub.add_parser("info", help="describe a corpus and the encoders")
    corpus_arg(sp)
    sp.set_defaults(fn=cmd_info)

    sp = sub.add_parser("build", help="encode a corpus and build its indices")
    corpus_arg(sp)
    sp.add_argument("--encoders", help="comma-separated specs (default: every available encoder)")
    sp.add_argument("--index", default="auto", choices=["auto", "flat", "hnsw", "ivf"])
    sp.set_defaults(fn=cmd_build)

    sp = sub.add_parser("search", help="nearest figures to an image, per encoder")
    sp.add_argument("query", help="an image path, or a figure id of the corpus")
    corpus_arg(sp)
    sp.add_argument("--encoders")
    sp.add_argument("-k", type=int, default=10)
    sp.add_argument("--index", default="auto", choices=["auto", "flat", "hnsw", "ivf"])
    sp.set_defaults(fn=cmd_search)

    sp = sub.add_parser("download-upair", help="download and unpack the UPAIR archive (needs internet)")
    sp.add_argument("--dest", help="folder (default: cache/upair)")
    sp.set_defaults(fn=cmd_download)

    sp = sub.add_parser("fetch-weights", help="download an open_clip checkpoint into the cache")
    sp.add_argument("encoder", help="e.g. clip:ViT-B-16:laion400m_e32")
    sp.set_defaults(fn=cmd_fetch_weights)

    from .evaluate import add_cli

    add_cli(sub, corpus_arg, _encoders, _table)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.fn(args)
    except (DatasetError, ImageError, ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; what was already encoded is kept in the cache", file=sys.stderr)
        return 130
