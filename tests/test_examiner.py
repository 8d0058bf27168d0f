"""Examiner search (core.examiner): regions, several figures, patents, dates, citations, shortlist, report.

Every expectation is recomputed independently here (numpy over the stored vectors, plain loops
over the result lists and the citations file), never read back from the code under test.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from core import load_corpus
from core.examiner import (NO_DATES, ExaminerQuery, QueryPart, Region, Shortlist, ShortlistItem, citation_recall,
                           cited_by, corpus_citations, group_by_patent, has_dates, parse_citations, patent_base,
                           query_priority, render_report, search_query)
from core.examiner.query import RRF_DEPTH, RRF_K
from core.figures import open_image
from core.search import get_index, search

ENCODERS = ["hog", "ahdh"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo corpus generated once into a module cache (with hog / ahdh indices)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("examiner_cache")))
    corpus = load_corpus("demo")
    indices = {s: get_index(corpus, s, show_bar=False) for s in ENCODERS}
    yield corpus, indices
    mp.undo()


def _brute(index, vec: np.ndarray, exclude: set[str]) -> list[tuple[str, float]]:
    vecs = index.embeddings.vectors.astype(np.float64)
    sims = vecs @ vec.astype(np.float64).reshape(-1)
    order = sorted(range(len(sims)), key=lambda i: (-sims[i], i))
    return [(index.embeddings.ids[i], float(sims[i])) for i in order if index.embeddings.ids[i] not in exclude]


# --- regions ---------------------------------------------------------------------------------

def test_region_validation_and_pixels():
    r = Region(0.1, 0.2, 0.5, 0.9)
    assert r.box((200, 100)) == (20, 20, 100, 90)
    assert Region.from_pixels(20, 20, 80, 70, (200, 100)) == r
    assert "x 10–50 %" in r.label
    for bad in [(0.5, 0.2, 0.5, 0.9), (-0.1, 0, 1, 1), (0, 0, 1.2, 1), (0.6, 0, 0.2, 1)]:
        with pytest.raises(ValueError, match="region"):
            Region(*bad)
    a = QueryPart(figure="x", region=r)
    assert a.key != QueryPart(figure="x").key != QueryPart(figure="x", region=Region(0.1, 0.2, 0.5, 0.8)).key
    assert a.key == QueryPart(figure="x", region=Region(0.10001, 0.2, 0.5, 0.9)).key  # rounded to 1e-4
    with pytest.raises(ValueError):
        QueryPart()


def test_region_query_equals_searching_the_cropped_file(demo, tmp_path):
    corpus, indices = demo
    fid = "demo-03-1"
    region = Region(0.25, 0.2, 0.7, 0.75)
    crop = region.crop(open_image(corpus.by_id[fid].path))
    path = tmp_path / "crop.png"
    crop.save(path)
    got = search_query(corpus, ExaminerQuery((QueryPart(figure=fid, region=region),)), ENCODERS, k=8,
                       indices=indices)
    assert got.combination == "single"
    direct = search(corpus, str(path), ENCODERS, k=9, indices=indices)
    for spec in ENCODERS:
        want = [n for n in direct[spec].neighbours if n.id != fid][:8]  # the query's own figure is left out
        assert got.results[spec].ids == [n.id for n in want]
        assert [n.score for n in got.results[spec].neighbours] == pytest.approx([n.score for n in want], abs=1e-6)
        # and a region differs from the whole figure
        whole = search(corpus, fid, [spec], k=8, indices=indices)[spec]
        assert got.results[spec].ids != whole.ids


# --- several figures --------------------------------------------------------------------------

def test_two_figure_mean_is_the_normalised_mean_of_the_vectors(demo):
    corpus, indices = demo
    a, b = "demo-03-1", "demo-20-2"
    q = ExaminerQuery((QueryPart(figure=a), QueryPart(figure=b)), combine="mean")
    got = search_query(corpus, q, ENCODERS, k=10, indices=indices)
    assert got.combination == "mean" and "mean" in got.description
    for spec in ENCODERS:
        ix = indices[spec]
        va = ix.embeddings.vectors[corpus.position[a]].astype(np.float64)
        vb = ix.embeddings.vectors[corpus.position[b]].astype(np.float64)
        m = va / np.linalg.norm(va) + vb / np.linalg.norm(vb)
        want = _brute(ix, m / np.linalg.norm(m), {a, b})[:10]
        assert got.results[spec].ids == [f for f, _ in want]
        assert [n.score for n in got.results[spec].neighbours] == pytest.approx([s for _, s in want], abs=1e-5)


def test_two_figure_rrf_fuses_the_per_figure_rankings(demo):
    corpus, indices = demo
    a, b = "demo-03-1", "demo-20-2"
    got = search_query(corpus, ExaminerQuery((QueryPart(figure=a), QueryPart(figure=b)), combine="rrf"),
                       ENCODERS, k=10, indices=indices)
    assert got.combination == "rrf" and "reciprocal" in got.description
    for spec in ENCODERS:
        ix = indices[spec]
        fused: dict[str, float] = {}
        best: dict[str, int] = {}
        for f in (a, b):
            ranking = _brute(ix, ix.embeddings.vectors[corpus.position[f]], {a, b})[:RRF_DEPTH]
            for r, (fid, _) in enumerate(ranking, 1):
                fused[fid] = fused.get(fid, 0) + 1 / (RRF_K + r)
                best[fid] = min(best.get(fid, r), r)
        want = sorted(fused, key=lambda f: (-fused[f], best[f], f))[:10]
        assert got.results[spec].ids == want
        assert got.results[spec].neighbours[0].score == pytest.approx(fused[want[0]])


def test_query_edits_and_identity():
    q = ExaminerQuery((QueryPart(figure="a"),))
    assert q.with_part(QueryPart(figure="a")) is q
    q2 = q.with_part(QueryPart(image=b"png-bytes", name="up.png"))
    assert len(q2.parts) == 2 and q2.combination == "mean" and q2.key != q.key
    assert q2.without(1) == q and q.without(0) is None
    with pytest.raises(ValueError, match="combination"):
        ExaminerQuery(q.parts, combine="max")
    with pytest.raises(ValueError, match="no figure"):
        ExaminerQuery(())


# --- patents, dates, citations on the demo ----------------------------------------------------

def test_by_patent_grouping_matches_hand_counts_on_the_demo(demo):
    corpus, indices = demo
    fid = "demo-07-1"
    res = search_query(corpus, ExaminerQuery((QueryPart(figure=fid),)), ENCODERS, k=20, indices=indices).results
    own = corpus.by_id[fid].patent
    groups = group_by_patent(corpus, res, exclude_patents=[own])
    # hand count: patent -> figures hit and best rank per encoder
    hand: dict[str, tuple[set, dict]] = {}
    for spec in ENCODERS:
        for n in res[spec].neighbours:
            p = corpus.by_id[n.id].patent
            if p == own:
                continue
            figs, ranks = hand.setdefault(p, (set(), {}))
            figs.add(n.id)
            ranks[spec] = min(ranks.get(spec, 99), n.rank)
    assert {g.patent for g in groups} == set(hand)
    for g in groups:
        assert set(g.figures) == hand[g.patent][0] and g.n_hits == len(hand[g.patent][0])
        assert dict(g.best_rank) == hand[g.patent][1]
        assert g.total_figures == sum(1 for f in corpus.figures if f.patent == g.patent)
        assert min(g.best_rank.values()) == min(hand[g.patent][1].values())
        assert g.priority_date == corpus.by_id[g.best_figure].priority_date
    bests = [min(g.best_rank.values()) for g in groups]
    assert bests == sorted(bests)
    # without the exclusion the query's own patent comes back when one of its figures hit
    own_hit = any(corpus.by_id[n.id].patent == own for r in res.values() for n in r.neighbours)
    assert (own in {g.patent for g in group_by_patent(corpus, res)}) == own_hit
    # a CPC filter keeps exactly the patents of that section
    sections = {p: by.section for p in hand for by in [next(f for f in corpus.figures if f.patent == p)]}
    for sec in set(sections.values()):
        only = group_by_patent(corpus, res, sections={sec}, exclude_patents=[own])
        assert {g.patent for g in only} == {p for p, s in sections.items() if s == sec}


def test_demo_dates_and_prior_art_filter(demo):
    corpus, indices = demo
    assert has_dates(corpus)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", f.priority_date) for f in corpus.figures)
    assert all(f.publication_date > f.priority_date for f in corpus.figures)
    for p in {f.patent for f in corpus.figures}:  # one date per patent
        assert len({f.priority_date for f in corpus.figures if f.patent == p}) == 1
    fid = sorted(corpus.figures, key=lambda f: f.priority_date)[len(corpus) // 2].id
    before = query_priority(corpus, [fid])
    assert before == corpus.by_id[fid].priority_date
    got = search_query(corpus, ExaminerQuery((QueryPart(figure=fid),)), ENCODERS, k=15, indices=indices,
                       before=before)
    later = {f.id for f in corpus.figures if f.priority_date >= before}
    assert got.excluded == len(later - {fid}) and got.before == before
    for spec in ENCODERS:
        ix = indices[spec]
        want = _brute(ix, ix.embeddings.vectors[corpus.position[fid]], later | {fid})[:15]
        assert got.results[spec].ids == [f for f, _ in want]
        assert all(corpus.by_id[i].priority_date < before for i in got.results[spec].ids)


def test_demo_citations_recall_matches_hand_counts(demo):
    corpus, indices = demo
    cits, path = corpus_citations(corpus)
    assert path == corpus.root / "citations_data.json"
    raw = json.loads(path.read_text())
    by_patent = {f.patent: f for f in corpus.figures}
    for citing, cited in raw.items():  # cites only earlier patents of the corpus
        assert all(by_patent[c].priority_date < by_patent[citing].priority_date for c in cited)
    patent = max(raw, key=lambda p: (len(raw[p]), p))
    fid = next(f.id for f in corpus.figures if f.patent == patent)
    k = 30
    res = search_query(corpus, ExaminerQuery((QueryPart(figure=fid),)), ENCODERS, k=k, indices=indices).results
    checks = citation_recall(corpus, [patent], res, cits, k)
    for spec in ENCODERS:
        hit_patents = [corpus.by_id[n.id].patent for n in res[spec].neighbours]
        found = {c for c in raw[patent] if c in hit_patents}
        c = checks[spec]
        assert set(c.found) == {patent_base(x) for x in found}
        assert c.recall == pytest.approx(len(found) / len(raw[patent]))
        for p, r in c.found.items():
            assert r == 1 + next(i for i, h in enumerate(hit_patents) if patent_base(h) == p)


# --- the real query patents -------------------------------------------------------------------

@pytest.mark.shared
def test_query_patents_citations_and_grouping_hand_counts(query_patents, cache, tmp_path):
    corpus = load_corpus(f"query-patents:{query_patents}")
    assert not has_dates(corpus) and "no dates" in NO_DATES
    cits, path = corpus_citations(corpus)
    assert path == query_patents / "citations_data.json"
    raw = json.loads(path.read_text())
    fig = corpus.figures[0]
    want = []
    for c in raw[fig.patent]:
        b = re.sub(r"(?<=\d)[A-Z]\d?$", "", c)
        if b != re.sub(r"(?<=\d)[A-Z]\d?$", "", fig.patent) and b not in want:
            want.append(b)
    assert list(cited_by(cits, fig.patent)) == want
    res = search(corpus, fig.id, ENCODERS, k=10)
    checks = citation_recall(corpus, [fig.patent], res, cits, 10)
    corpus_patents = {re.sub(r"(?<=\d)[A-Z]\d?$", "", f.patent) for f in corpus.figures}
    assert checks["hog"].in_corpus == tuple(c for c in want if c in corpus_patents)
    # the file cites no other patent of this corpus (hand check): recall is undefined, not 0
    assert checks["hog"].in_corpus == () and checks["hog"].recall is None
    # one figure per patent: every hit is its own patent group, counted once
    groups = group_by_patent(corpus, res, exclude_patents=[fig.patent])
    assert sum(g.n_hits for g in groups) == len({i for r in res.values() for i in r.ids})
    assert all(g.total_figures == 1 for g in groups)
    # a user-given citations file (CSV) naming two corpus patents with other kind codes
    hog_ids = res["hog"].ids
    p_in = corpus.by_id[hog_ids[2]].patent
    p_out = next(f.patent for f in corpus.figures if f.id not in hog_ids and f.id != fig.id)
    text = f"citing,cited\n{fig.patent},{p_in[:-2]}B2\n{fig.patent},{p_out}\n{fig.patent},{fig.patent}\n"
    user = parse_citations(text.encode())
    c = citation_recall(corpus, [fig.patent], res, user, 10)["hog"]
    assert c.in_corpus == (patent_base(p_in), patent_base(p_out))
    assert dict(c.found) == {patent_base(p_in): 3} and c.recall == 0.5
    with pytest.raises(ValueError, match="citing"):
        parse_citations(b"just one column\n")


# --- shortlist and report ---------------------------------------------------------------------

def test_shortlist_roundtrip_and_csv(demo):
    corpus, indices = demo
    res = search(corpus, "demo-03-1", ENCODERS, k=10, indices=indices)
    both = [i for i in res["hog"].ids if i in res["ahdh"].ids]
    only = [i for i in res["hog"].ids if i not in res["ahdh"].ids][0]
    sl = Shortlist("demo")
    for f in [*both[:1], only]:
        sl = sl.add(ShortlistItem.from_results(corpus, f, res))
    sl = sl.with_note(only, 'looks "close", see claim 1')
    assert Shortlist.from_dict(json.loads(json.dumps(sl.to_dict()))) == sl
    rows = sl.to_csv().splitlines()
    assert rows[0] == "patent,figure,encoder,rank,score,priority_date,title,note,category"
    n_rows = sum(1 for f in [*both[:1], only] for s in ENCODERS if f in res[s].ids)
    assert len(rows) == 1 + n_rows
    rank = res["hog"].ids.index(only) + 1
    assert any(r.startswith(f"{corpus.by_id[only].patent},{only},hog,{rank},") for r in rows)
    assert only in sl and sl.remove(only).items == sl.items[:1]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.figures, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("img", "script", "link"):
            self.srcs.append(a.get("src") or a.get("href") or "")
        if "data-figure" in a:
            self.figures.append(a["data-figure"])

    def handle_data(self, data):
        self.text.append(data)


def test_report_is_self_contained_and_holds_every_selected_result(demo, tmp_path):
    corpus, indices = demo
    q = ExaminerQuery((QueryPart(figure="demo-03-1", region=Region(0.2, 0.2, 0.6, 0.6)), QueryPart(figure="demo-20-2")))
    res = search_query(corpus, q, ENCODERS, k=10, indices=indices).results
    chosen = res["hog"].ids[:3] + [res["ahdh"].ids[0]]
    sl = Shortlist("demo", notes="<script>alert(1)</script> & more")
    for f in chosen:
        sl = sl.add(ShortlistItem.from_results(corpus, f, res, note="<b>bold?</b>"))
    html = render_report(corpus, q, sl, group_by_patent(corpus, res), ENCODERS)
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    assert p.figures == list(dict.fromkeys(chosen))
    assert all(s.startswith("data:image/png;base64,") for s in p.srcs) and len(p.srcs) == 2 + len(set(chosen))
    text = "".join(p.text)
    assert "<script>alert(1)</script> & more" in text and "<script>alert" not in html
    assert "<b>bold?</b>" in text and "synthetic" in text
    for f in chosen:
        assert corpus.by_id[f].patent in text
    assert "x 20–60 %" in text and "mean of the figures" in text


def test_cli_examine_writes_shortlist_and_report(demo, tmp_path, capsys):
    from core.cli import main

    corpus, indices = demo
    fid = sorted(corpus.figures, key=lambda f: f.priority_date)[-1].id
    csv_path, report = tmp_path / "sl.csv", tmp_path / "r.html"
    rc = main(["examine", fid, "--corpus", "demo", "--encoders", "hog,ahdh", "-k", "6", "--earlier",
               "--also", "demo-10-2", "--combine", "rrf", "--csv", str(csv_path), "--report", str(report)])
    out = capsys.readouterr().out
    assert rc == 0 and "reciprocal-rank fusion" in out and "priority before" in out
    q = ExaminerQuery((QueryPart(figure=fid), QueryPart(figure="demo-10-2")), "rrf")
    before = query_priority(corpus, [fid, "demo-10-2"])
    want = search_query(corpus, q, ENCODERS, k=6, indices=indices, before=before)
    groups = group_by_patent(corpus, want.results, exclude_patents=[corpus.by_id[fid].patent,
                                                                    corpus.by_id["demo-10-2"].patent])
    rows = csv_path.read_text().splitlines()
    assert {r.split(",")[1] for r in rows[1:]} == {g.best_figure for g in groups[:5]}
    assert all(g.patent in report.read_text() for g in groups)
    with pytest.raises(SystemExit) as e:  # refused while the flags are parsed (core.cli.values)
        main(["examine", fid, "--corpus", "demo", "--region", "0.1,0.1,1.5,0.5"])
    assert e.value.code == 2 and "argument --region" in capsys.readouterr().err


def test_dates_come_from_sidecars(tmp_path, cache):
    from PIL import Image

    from core.examiner import not_before

    for name, prio in [("a", "20100102"), ("b", "2012-05-06"), ("c", "not a date")]:
        Image.new("L", (64, 64), 255).save(tmp_path / f"{name}.png")
        (tmp_path / f"{name}.json").write_text(json.dumps({"title": name, "priority_date": prio,
                                                           "publication_date": "2013/03/04"}))
    corpus = load_corpus(f"folder:{tmp_path}")
    by = {f.id: f for f in corpus.figures}
    assert (by["a"].priority_date, by["b"].priority_date, by["c"].priority_date) == ("2010-01-02", "2012-05-06", "")
    assert by["a"].publication_date == "2013-03-04" and has_dates(corpus)
    assert not_before(corpus, "2012-05-06") == {"b", "c"}  # same day and undated are not earlier art


def test_cli_examine_lists_family_copies_and_numerals(demo, capsys):
    """--families: every listed copy is within the bit distance of its lead and at least the cosine,
    and no hit left as a lead is both of an earlier lead (brute force over the pairs); --numerals:
    a line per shortlisted figure (or the one line saying why OCR cannot run)."""
    from core.cli import main
    from core.families import MAX_HASH_BITS, MIN_COSINE, corpus_hashes, hamming

    corpus, _ = demo
    rc = main(["examine", "demo-00-4", "--corpus", "demo", "--encoders", "hog", "-k", "10", "--shortlist", "3",
               "--families", "--numerals"])
    out = capsys.readouterr().out
    assert rc == 0
    ids = search(corpus, "demo-00-4", ["hog"], k=10)["hog"].ids
    h = corpus_hashes(corpus, ids)
    line = next(x for x in out.splitlines() if x.startswith("hog: "))[5:]
    listed = {} if line == "none" else {
        g.split(" ≈ ")[0].split("@")[0]: [c.split("@")[0] for c in g.split(" ≈ ")[1].split(", ")]
        for g in line.split("; ")}
    copies = {c for cs in listed.values() for c in cs}
    leads = [i for i in ids if i not in copies]
    emb = get_index(corpus, "hog").embeddings
    vec = {fid: np.asarray(emb.vectors[i], dtype=np.float64) for i, fid in enumerate(emb.ids)}

    def copy(a, b):
        cos = float(vec[a] @ vec[b] / (np.linalg.norm(vec[a]) * np.linalg.norm(vec[b])))
        return hamming(h[a], h[b]) <= MAX_HASH_BITS and cos >= MIN_COSINE - 1e-6

    for lead, cs in listed.items():
        assert all(copy(lead, c) for c in cs)
    for j, b in enumerate(leads):
        assert not any(copy(a, b) for a in leads[:j]), (b, leads[:j])
    assert "reference numerals of the shortlisted figures" in out
    assert "no numerals:" in out or out.count("demo-") >= 3
    rc = main(["examine", "demo-00-4", "--corpus", "demo", "--encoders", "hog", "--numerals", "bogus"])
    assert rc != 0 and "not an OCR engine" in capsys.readouterr().err
