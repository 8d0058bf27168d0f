"""Commands ``info``, ``build``, ``search``, ``download-upair`` and ``fetch-weights``."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ..corpora import load_corpus
from ..encoders import DOWNLOADABLE, compute_device, expand_specs, get_encoder, known_encoders
from ..figures import ImageError
from .common import add_corpus_arg, parse_encoders, table
from .values import nonempty, positive_int, ray_address


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
    _print_unreadable(corpus)
    rows = []
    from ..adapt.health import health_by_spec

    adapted = health_by_spec()
    for spec in known_encoders():
        try:
            av = get_encoder(spec).availability()
        except ValueError as exc:  # a bad spec in $UPAIR_ENCODERS: say so, list the rest
            rows.append([spec, "invalid", f"{exc} (listed in UPAIR_ENCODERS; everything else works)"])
            continue
        h = adapted.get(spec)
        flag = f"DEGENERATE adapted model, never selected by default: {'; '.join(h.problems)}. " \
            if h and h.degenerate else ""
        rows.append([spec, "available" if av.ok else "unavailable",
                     flag + av.reason + (f" — fix: {av.fix}" if av.fix else "")])
    print()
    print(table(rows, ["encoder", "status", "note"]))
    try:
        device = f"{compute_device()} (torch encoders; UPAIR_DEVICE overrides)"
    except ValueError as exc:  # UPAIR_DEVICE asks for a GPU that is not there
        device = f"unusable — {exc}"
    print(f"\ndevice   {device}")
    from ..config import env_report

    print()
    print(table(env_report(), ["variable", "value", "source", "meaning"]))
    return 0


#: ``info`` decodes every figure to name the unreadable ones up to this many figures
#: (remembered per corpus content); larger corpora are checked as they are built.
INFO_CHECK_MAX = 50_000


def _print_unreadable(corpus) -> None:
    if len(corpus) > INFO_CHECK_MAX or any(f.member for f in corpus.figures[:1]):
        print(f"images   not checked here ({len(corpus)} figures); `build` names any unreadable one")
        return
    from ..integrity import unreadable_figures

    bad = unreadable_figures(corpus)
    for msg in list(bad.values())[:10]:
        print(f"unreadable  {msg} — left out of indices, maps and evaluation")
    if len(bad) > 10:
        print(f"unreadable  ... and {len(bad) - 10} more")


def cmd_build(args) -> int:
    from ..search import build

    encoders = parse_encoders(args.encoders)
    corpus = load_corpus(args.corpus)
    if getattr(args, "engine", None):
        from ..engine import EngineOptions, run_build

        def report(r) -> None:
            print(f"encoded  {r.spec} with {r.engine}: {len(r.units_encoded)} of {r.units} unit(s), "
                  f"{r.items_encoded} item(s); {r.units_cached} unit(s) already cached")
            other = [p for p in r.problems if not p.startswith("figure ")]  # figures: named once below
            for p in other[:10]:
                print(f"problem  {p}")

        options = EngineOptions(address=args.address, workers=args.workers)
        out = run_build(corpus, encoders, args.engine, options, args.index, on_report=report)
    else:
        out = build(corpus, encoders, index_kind=args.index)
    named: set[str] = set()
    for spec, res in out.items():
        if isinstance(res, str):
            print(f"skipped  {spec}: {res}")
            continue
        emb = res.embeddings
        print(f"ready    {spec}: {len(emb.ids) - len(emb.excluded)} x {emb.dim}, index {res.spec.kind}"
              + (f" ({len(emb.excluded)} unreadable figure(s) left out)" if emb.excluded else ""))
        for fid, msg in zip(emb.excluded, emb.problems):
            if fid not in named:  # each unreadable figure named once, whatever the encoders
                named.add(fid)
                print(f"unreadable  {msg}")
    if not any(not isinstance(r, str) for r in out.values()):
        print("error: no index was built (every encoder was skipped)", file=sys.stderr)
        return 2
    if not args.no_hashes:
        _build_hashes(corpus)
    return 0


def _build_hashes(corpus) -> None:
    """Every figure's perceptual hash (the Search page folds a family's copies with them), computed
    now and kept in the cache, so no search pays for hashing its hits on first sight."""
    from tqdm.auto import tqdm

    from ..families import corpus_hashes

    t0 = time.perf_counter()
    ids = [f.id for f in corpus.figures]
    step = max(1000, len(ids) // 20)  # the cache file is rewritten per chunk: ~20 writes at most
    hashes: dict[str, int] = {}
    with tqdm(total=len(ids), desc="Hashing figures", unit="fig", leave=False) as bar:
        for start in range(0, len(ids), step):
            hashes.update(corpus_hashes(corpus, ids[start:start + step]))
            bar.update(len(ids[start:start + step]))
    print(f"ready    family hashes: {len(hashes)} figure(s) ({time.perf_counter() - t0:.1f} s)")


def cmd_search(args) -> int:
    from ..search import search

    encoders = parse_encoders(args.encoders)
    corpus = load_corpus(args.corpus)
    query = args.query
    if query not in corpus.by_id and not Path(query).is_file():
        raise ImageError(f"{query} is neither a figure id of {corpus.name} nor an image file")
    results = search(corpus, query, encoders, k=args.k, index_kind=args.index)
    for spec, res in results.items():
        print(f"\n== {spec}")
        if res.error:
            print(f"   ({res.error})")
            continue
        if not res.neighbours:
            print("   (no neighbours: the corpus holds no other readable figure)")
            continue
        rows = []
        for n in res.neighbours:
            f = corpus.by_id[n.id]
            rows.append([n.rank, f"{n.score:.4f}", n.id[:40], f.patent, f.title[:50]])
        print(table(rows, ["rank", "score", "id", "patent", "title"]))
    if not any(r.neighbours for r in results.values()):
        print("\nerror: no encoder returned neighbours", file=sys.stderr)
        return 2
    return 0


def cmd_download(args) -> int:
    from ..download import download_upair

    if args.zip:
        if not Path(args.zip).expanduser().is_file():
            raise ValueError(f"--zip {args.zip}: no such file; name the upair.zip you downloaded")
        root = download_upair(Path(args.dest) if args.dest else None, url=args.zip)
    else:
        root = download_upair(Path(args.dest) if args.dest else None)
    print(f"UPAIR ready at {root}\nuse it with:  python -m core info --corpus upair:{root}")
    return 0


def cmd_fetch_weights(args) -> int:
    rc = 0
    for spec in expand_specs([args.encoder]):
        enc = get_encoder(spec)
        if DOWNLOADABLE in enc.capabilities:
            try:
                print(f"{spec}: downloaded to {enc.download()}")
            except (RuntimeError, ValueError, OSError) as exc:
                print(f"{spec}: {exc}")
                rc = 2
            continue
        av = enc.availability()
        if av.ok:
            print(f"{spec}: ready, nothing to fetch")
        else:
            print(f"{spec}: cannot be downloaded: {av.reason}. Fix: {av.fix}")
            rc = 2
    return rc


def register(sub) -> None:
    """Add this module's sub-commands to ``sub``."""
    sp = sub.add_parser("info", help="describe a corpus and the encoders")
    add_corpus_arg(sp)
    sp.set_defaults(fn=cmd_info)

    sp = sub.add_parser("build", help="encode a corpus and build its indices")
    add_corpus_arg(sp)
    sp.add_argument("--encoders", help="comma-separated specs (default: every available encoder)")
    sp.add_argument("--index", default="auto", choices=["auto", "flat", "hnsw", "ivf", "ivfpq"])
    sp.add_argument("--engine", choices=["local", "ray"],
                    help="encode unit by unit (shards) in this process, or on a Ray cluster (default: plain local build)")
    sp.add_argument("--address", type=ray_address, help="Ray cluster: auto | ray://host:10001 (default: a private local Ray)")
    sp.add_argument("--workers", type=positive_int, help="Ray actors (default: one per GPU, else per CPU)")
    sp.add_argument("--no-hashes", action="store_true",
                    help="skip the figures' perceptual hashes (else computed now; the Search page then hashes "
                         "its hits on first sight)")
    sp.set_defaults(fn=cmd_build)

    sp = sub.add_parser("search", help="nearest figures to an image, per encoder")
    sp.add_argument("query", type=nonempty, help="an image path, or a figure id of the corpus")
    add_corpus_arg(sp)
    sp.add_argument("--encoders")
    sp.add_argument("-k", type=positive_int, default=10, help="results per encoder (at least 1; default 10)")
    sp.add_argument("--index", default="auto", choices=["auto", "flat", "hnsw", "ivf", "ivfpq"])
    sp.set_defaults(fn=cmd_search)

    sp = sub.add_parser("download-upair", help="download and unpack the UPAIR archive (needs internet)")
    sp.add_argument("--dest", type=nonempty, help="folder (default: cache/upair)")
    sp.add_argument("--zip", type=nonempty, metavar="FILE",
                    help="unpack this upair.zip (downloaded by hand) instead of downloading; it is left in place")
    sp.set_defaults(fn=cmd_download)

    sp = sub.add_parser("fetch-weights", help="download an encoder's weights (or a preset's) into the cache")
    sp.add_argument("encoder", type=nonempty, help="a spec or preset, e.g. clip:ViT-B-16:laion400m_e32, timm:<model>, upair-sampling")
    sp.set_defaults(fn=cmd_fetch_weights)
