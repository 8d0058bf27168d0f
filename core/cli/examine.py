"""``python -m core examine``: prior-art search for an examiner (region, several figures, patents,
earlier art, citations) with an optional CSV shortlist and offline HTML report."""
from __future__ import annotations

import sys
from pathlib import Path

from ..corpora import load_corpus
from ..figures import ImageError
from .common import add_corpus_arg, parse_encoders, table
from ..store import atomic_write_text
from .values import citations_file, cpc_filter, iso_date, nonempty, output_file, positive_int, region_box


def _region(box):
    from ..examiner import Region

    return Region(*box) if box else None


def _part(corpus, source: str, region=None):
    from ..examiner import QueryPart

    if source in corpus.by_id:
        return QueryPart(figure=source, region=region, name=source)
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"{source} is neither a figure id of {corpus.name} nor an image file")
    return QueryPart(image=path.read_bytes(), name=path.name, region=region)


def cmd_examine(args) -> int:
    from ..examiner import (NO_CLASSES, NO_DATES, ExaminerQuery, class_depth, report_filters, Shortlist, ShortlistItem, citation_recall, corpus_citations,
                            group_by_patent, has_dates, parse_citations, query_priority, render_report,
                            search_query)

    if args.explain:
        from ..explain.outputs import COMMAND
        from ..outdir import check_output

        check_output(args.explain, COMMAND, "--explain")  # refused now, before any search
    if args.numerals:
        from ..numerals import ENGINES

        if args.numerals not in ENGINES:  # refused now, before any search
            raise ValueError(f"--numerals {args.numerals!r} is not an OCR engine; engines: {', '.join(ENGINES)}")
    corpus = load_corpus(args.corpus)
    encoders = parse_encoders(args.encoders)
    parts = (_part(corpus, args.query, _region(args.region)),) + tuple(_part(corpus, s) for s in args.also or [])
    query = ExaminerQuery(parts, args.combine)
    own_figs = [p.figure for p in parts if p.figure]
    before = ""
    if args.earlier:
        if not has_dates(corpus):
            print(NO_DATES, file=sys.stderr)
        else:
            before = args.priority or query_priority(corpus, own_figs)
            if not before:
                raise ValueError("--earlier needs the query's priority date: give --priority YYYY-MM-DD")
    elif args.priority:
        print("note: --priority is used only with --earlier", file=sys.stderr)
    classes = args.cpc or ()
    if classes and not class_depth(corpus):
        print(NO_CLASSES, file=sys.stderr)
        classes = ()
    res = search_query(corpus, query, encoders, k=args.k, before=before, classes=classes)
    print(f"query: {' + '.join(p.label for p in parts)} · {res.description}"
          + (f" · priority before {before} ({res.excluded} figures left out)" if before else "")
          + (f" · CPC {', '.join(classes)} ({res.off_class} figures outside)" if classes else ""))
    own = sorted({corpus.by_id[f].patent for f in own_figs if corpus.by_id[f].patent} | set(args.patent or []))
    groups = group_by_patent(corpus, res.results, exclude_patents=own)
    rows = [[g.patent or g.key, g.section, g.priority_date or "—", f"{g.n_hits}/{g.total_figures}",
             *[g.best_rank.get(s, "—") for s in encoders], g.title[:44]] for g in groups]
    print(table(rows, ["patent", "CPC", "priority", "figures", *encoders, "title"]))
    for spec, r in res.results.items():
        if r.error:
            print(f"no hits   {spec}: {r.error}")
    cits, where = corpus_citations(corpus)
    if args.citations:
        cits, where = parse_citations(Path(args.citations).read_bytes(), args.citations), args.citations
    checks = {}
    if cits and own:
        checks = citation_recall(corpus, own, res.results, cits, args.k)
        first = next(iter(checks.values()))
        print(f"\ncitations ({where}): {len(first.cited)} cited, {len(first.in_corpus)} in this corpus")
        print(table([[s, f"{len(c.found)}/{len(c.in_corpus)}", "—" if c.recall is None else f"{c.recall:.3f}",
                      ", ".join(f"{p}@{r}" for p, r in c.found.items())] for s, c in checks.items()],
                    ["encoder", "found", f"recall@{args.k}", "found (rank)"]))
    sl = Shortlist(corpus.name)
    for g in groups[: args.shortlist]:
        sl = sl.add(ShortlistItem.from_results(corpus, g.best_figure, res.results))
    if args.csv:
        atomic_write_text(args.csv, sl.to_csv())
        print(f"\nshortlist ({len(sl.items)} best patents' best figures) → {args.csv}")
    if args.report:
        atomic_write_text(args.report, render_report(corpus, query, sl, groups, encoders, checks,
                                                     filters=report_filters(before, classes)))
        print(f"report → {args.report}")
    if args.families:
        _family_lines(corpus, res.results)
    if args.numerals:
        _numeral_lines(corpus, [item.figure for item in sl.items], args.numerals)
    if args.parts:
        _part_search(corpus, parts[0], encoders, args.k)
    if args.explain:
        from ..explain.outputs import write_explanations

        write_explanations(args.explain, corpus, parts[0].full_image(corpus), parts[0].region, res.results,
                           args.explain_top)
        print(f"explanations (top {args.explain_top} per encoder: heatmap + match box) → {args.explain}")
    return 0 if any(r.neighbours for r in res.results.values()) else 2


def _family_lines(corpus, results) -> None:
    """Each encoder's hits that are copies of a better-ranked hit (the Search page's folding:
    cropped pHash within the bit distance and that encoder's cosine at least its threshold)."""
    from ..families import MAX_HASH_BITS, MIN_COSINE, corpus_hashes, families, vectors_of
    from ..search import get_index

    print(f"\nfamily copies among the hits (pHash within {MAX_HASH_BITS} bits and cosine ≥ {MIN_COSINE:.2f})")
    for spec, r in results.items():
        ids = r.ids
        # the encoder's own vectors (on disk already: the search built them)
        vectors = vectors_of(get_index(corpus, spec, show_bar=False).embeddings, ids) if ids else {}
        fams = [f for f in families(ids, corpus_hashes(corpus, ids), vectors) if f.copies]
        rank = {fid: i + 1 for i, fid in enumerate(ids)}
        print(f"{spec}: " + ("; ".join(f"{f.lead}@{rank[f.lead]} ≈ " + ", ".join(f"{c}@{rank[c]}" for c in f.copies)
                                      for f in fams) or "none"))


def _numeral_lines(corpus, ids: list[str], engine: str) -> None:
    """The reference numerals read in the shortlisted figures, each named from the description."""
    from ..numerals import EngineUnavailable, build_numerals

    print(f"\nreference numerals of the shortlisted figures ({engine})")
    try:
        build = build_numerals(corpus, engine, ids=ids)
    except EngineUnavailable as exc:
        print(f"no numerals: {exc}")
        return
    rows = []
    for fid in ids:
        fn = build.figures[fid]
        read = ", ".join(n.text for n in fn.numerals) or "—"
        parts = ", ".join(f"{k} {v}" for k, v in fn.parts()) or ("unreadable" if fn.error else "—")
        rows.append([fid, read, parts[:70]])
    print(table(rows, ["figure", "numerals read", "parts named"]))


def _part_search(corpus, part, encoders, k: int) -> None:
    """Part-level search: the query (its region, if any) found inside every figure, with the box."""
    from ..embed import EncoderUnavailable
    from ..explain import NoSpatialMap, build_part_index, search_parts
    from ..explain.outputs import part_rows

    image = part.full_image(corpus)
    image = part.region.crop(image) if part.region is not None else image
    print(f"\npart-level search: {part.label} found inside figures (best window per figure)")
    for spec in encoders:
        try:
            index = build_part_index(corpus, spec)
        except (NoSpatialMap, EncoderUnavailable) as exc:
            print(f"no parts  {spec}: {exc}")
            continue
        hits = search_parts(index, image, k=k, exclude=(part.figure,) if part.figure else ())
        print(f"{spec} ({index.computed} figures computed, {len(index.ids) - index.computed} cached)")
        print(table(part_rows(corpus, hits), ["rank", "figure", "patent", "cosine", "box", "size"]))


def register(sub) -> None:
    sp = sub.add_parser("examine", help="prior-art search: region, several figures, patents, earlier art, citations")
    sp.add_argument("query", type=nonempty, help="an image path, or a figure id of the corpus")
    add_corpus_arg(sp)
    sp.add_argument("--encoders")
    sp.add_argument("-k", type=positive_int, default=10, help="results per encoder (default 10)")
    sp.add_argument("--region", type=region_box, help="search a box of the query figure: x0,y0,x1,y1 as fractions (0..1)")
    sp.add_argument("--also", type=nonempty, action="append", help="another figure (id or image) searched with the query; repeatable")
    sp.add_argument("--combine", choices=["mean", "rrf"], default="mean",
                    help="several figures: mean of normalised vectors (default) or reciprocal-rank fusion")
    sp.add_argument("--earlier", action="store_true", help="only figures with a priority date before the query's")
    sp.add_argument("--priority", type=iso_date, help="the query's priority date (YYYY-MM-DD or YYYYMMDD), for an uploaded image")
    sp.add_argument("--cpc", type=cpc_filter, help="only figures in these CPC classes, comma-separated, at any depth "
                    "(A, A01, A01D, A01D34, A01D34/73); combines with --earlier")
    sp.add_argument("--patent", type=nonempty, action="append", help="the query's own patent number (excluded; its citations used)")
    sp.add_argument("--citations", type=citations_file, help="citations file: JSON {citing: [cited, ...]} or CSV citing,cited")
    sp.add_argument("--shortlist", type=positive_int, default=5, help="best patents put into the CSV / report")
    sp.add_argument("--csv", type=output_file, help="write the shortlist as CSV here")
    sp.add_argument("--report", type=output_file, help="write a self-contained HTML report here")
    sp.add_argument("--parts", action="store_true",
                    help="also part-level search: the query (or its --region) found inside every figure, with the box")
    sp.add_argument("--explain", type=nonempty, metavar="DIR",
                    help="write a heatmap + match-box PNG for the top hits of each encoder into this new folder")
    sp.add_argument("--families", action="store_true",
                    help="list each encoder's hits that are near-identical copies (family members, re-scans) of a better hit")
    sp.add_argument("--numerals", nargs="?", const="tesseract", metavar="ENGINE",
                    help="read the reference numerals of the shortlisted figures (OCR; default engine tesseract) "
                         "and name each part from the description")
    sp.add_argument("--explain-top", type=positive_int, default=3, help="hits per encoder explained (default 3)")
    sp.set_defaults(fn=cmd_examine)
