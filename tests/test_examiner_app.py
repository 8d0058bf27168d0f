"""AppTests of the Search page's examiner features, each checked against core computed here."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.examiner import (NO_DATES, ExaminerQuery, QueryPart, Region, Shortlist, citation_recall, corpus_citations,
                           group_by_patent, patent_base, search_query)
from core.figures import open_image
from core.search import search

# each AppTest runs the whole app on the demo (seconds)
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_caches")]
ENCODERS = ["hog", "ahdh"]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
K = 8


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    d = tmp_path_factory.mktemp("examiner_app_cache")
    mp.setenv("UPAIR_CACHE", str(d))
    corpus = load_corpus("demo")
    yield corpus
    mp.undo()


def _search_page(spec: str = "demo", query: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = list(ENCODERS)
    at.session_state["k"] = K
    at.session_state["fold_families"] = False  # these compare with core's unfolded lists; folding: test_search_numerals_app
    at.run()
    if query:  # after the first run, which starts the corpus with an empty trail
        at.session_state["query_trail"] = [query]
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    return at


def _shown(at: AppTest) -> dict[str, list[str]]:
    """The result ids per encoder, read from the grid's star buttons (key ex-star-res-<spec>-<rank>-<id>)."""
    out: dict[str, dict[int, str]] = {s: {} for s in ENCODERS}
    for b in at.button:
        for spec in ENCODERS:
            prefix = f"ex-star-res-{spec}-"
            if b.key and b.key.startswith(prefix):
                rank, fid = b.key[len(prefix):].split("-", 1)
                out[spec][int(rank)] = fid
    return {s: [v[r] for r in sorted(v)] for s, v in out.items()}


def test_region_by_typed_box_equals_searching_the_cropped_file(demo_cache, tmp_path):
    corpus = demo_cache
    fid = "demo-03-1"
    at = _search_page(query=fid)
    whole = _shown(at)
    at.toggle(key="ex-region-open").set_value(True).run()  # open the region panel
    at.slider(key="ex-xs-0-0").set_value((25, 70))
    at.slider(key="ex-ys-0-0").set_value((20, 75))
    at.button(key="ex-region-apply").click().run()
    assert not at.exception, at.exception
    region = Region(0.25, 0.2, 0.7, 0.75)
    path = tmp_path / "crop.png"
    region.crop(open_image(corpus.by_id[fid].path)).save(path)
    direct = search(corpus, str(path), ENCODERS, k=K + 1)
    shown = _shown(at)
    for spec in ENCODERS:
        assert shown[spec] == [i for i in direct[spec].ids if i != fid][:K]
    assert shown != whole
    # the box is named on the panel's toggle, on the query thumbnail's caption and in the state
    assert any(region.label in t.label for t in at.toggle)
    assert at.session_state["ex_regions"][fid] == list(region.as_tuple())


def test_add_to_query_combines_two_figures(demo_cache):
    corpus = demo_cache
    fid = "demo-03-1"
    at = _search_page(query=fid)
    other = _shown(at)["ahdh"][2]
    at.button(key=f"ex-add-res-ahdh-3-{other}").click().run()
    assert not at.exception, at.exception
    q = ExaminerQuery((QueryPart(figure=fid), QueryPart(figure=other)), "mean")
    want = search_query(corpus, q, ENCODERS, k=K)
    assert _shown(at) == {s: want.results[s].ids for s in ENCODERS}
    assert any("2 figures combined by mean" in c.value for c in at.caption)
    at.radio(key="ex_combine").set_value("rrf").run()
    want = search_query(corpus, ExaminerQuery(q.parts, "rrf"), ENCODERS, k=K)
    assert _shown(at) == {s: want.results[s].ids for s in ENCODERS}
    assert any("reciprocal-rank fusion" in c.value for c in at.caption)


def test_uploaded_figures_join_the_query(demo_cache, tmp_path):
    import io

    corpus = demo_cache
    fid = "demo-03-1"
    at = _search_page(query=fid)
    crops = []
    for i, box in enumerate([Region(0.1, 0.1, 0.6, 0.6), Region(0.4, 0.3, 0.95, 0.9)]):
        buf = io.BytesIO()
        box.crop(open_image(corpus.by_id[f"demo-1{i}-1"].path)).save(buf, "PNG")
        crops.append((f"view{i}.png", buf.getvalue(), "image/png"))
    at.file_uploader(key="ex_more").set_value(crops).run()
    assert not at.exception, at.exception
    parts = (QueryPart(figure=fid),) + tuple(QueryPart(image=c[1], name=c[0]) for c in crops)
    want = search_query(corpus, ExaminerQuery(parts, "mean"), ENCODERS, k=K)
    assert _shown(at) == {s: want.results[s].ids for s in ENCODERS}
    assert any("3 figures combined by mean" in c.value for c in at.caption)
    assert [b.key.startswith("ex-rm-") for b in at.button].count(True) == 2


def test_examples_dates_patents_and_citations(demo_cache):
    corpus = demo_cache
    at = _search_page()
    labels = [at.button(key=f"ex-example-{i}").label for i in range(4)]
    assert labels == ["Region of a figure", "Two figures as one query", "Only earlier art", "Citations found"]
    at.button(key="ex-example-2").click().run()  # only earlier art
    assert not at.exception, at.exception
    q = at.session_state["query_trail"][-1]
    prio = corpus.by_id[q].priority_date
    shown = _shown(at)
    assert all(corpus.by_id[i].priority_date < prio for s in ENCODERS for i in shown[s]) and shown["hog"]
    assert any(f"priority before {prio}" in c.value for c in at.caption)
    at.button(key="ex-example-3").click().run()  # citations
    q = at.session_state["query_trail"][-1]
    patent = corpus.by_id[q].patent
    shown = _shown(at)
    raw = json.loads((corpus.root / "citations_data.json").read_text())[patent]
    table = next(d.value for d in at.dataframe if "cited patents found (rank)" in d.value.columns)
    for spec, row in zip(ENCODERS, table.itertuples(index=False)):
        hit_patents = [corpus.by_id[i].patent for i in shown[spec]]
        found = [c for c in raw if c in hit_patents]
        assert row[1] == f"{len(found)} / {len(raw)}"
        assert row[2] == pytest.approx(len(found) / len(raw))
    # by patent: the query's own patent excluded, best ranks as the grid shows them
    patents = next(d.value for d in at.dataframe if "figures hit" in d.value.columns)
    hand: dict[str, int] = {}
    for i in shown["hog"]:
        p = corpus.by_id[i].patent
        if p != patent:
            hand.setdefault(p, shown["hog"].index(i) + 1)
    col = "rank · HOG"
    got = {p: int(r) for p, r in zip(patents["patent"], patents[col]) if r != "—"}  # "—": not in that list
    assert got == hand
    # open all figures of the first patent, beside the query
    first = patents["patent"][0]
    at.selectbox(key="ex_open_patent").set_value(first).run()
    assert not at.exception, at.exception
    n = sum(f.patent == first for f in corpus.figures)
    assert any(m.value.endswith(f"· {n} figures") and first in m.value for m in at.markdown)
    figs = [f.id for f in corpus.figures if f.patent == first]
    assert at.selectbox(key=f"ex_cmp-{first}").options == figs


def test_shortlist_survives_a_page_change(demo_cache):
    corpus = demo_cache
    at = _search_page(query="demo-05-1")
    shown = _shown(at)
    a, b = shown["hog"][0], shown["ahdh"][1]
    at.button(key=f"ex-star-res-hog-1-{a}").click().run()
    at.button(key=f"ex-star-res-ahdh-2-{b}").click().run()
    assert at.button(key=f"ex-star-res-hog-1-{a}").label == "★"
    at.switch_page("../pages/overview.py").run()
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    assert any(t.label == "Shortlist & report (2)" for t in at.tabs)
    sl = Shortlist.from_dict(at.session_state["ex_shortlists"]["demo"])
    assert [i.figure for i in sl.items] == [a, b]
    rows = sl.to_csv().splitlines()[1:]
    res = search(corpus, "demo-05-1", ENCODERS, k=K)
    want = sorted((corpus.by_id[f].patent, f, s, res[s].ids.index(f) + 1) for f in (a, b) for s in ENCODERS
                  if f in res[s].ids)
    assert sorted(tuple(r.split(",")[:4]) for r in rows) == [(p, f, s, str(r)) for p, f, s, r in want]
    downloads = at.get("download_button")
    assert len(downloads) == 2


@pytest.mark.shared
def test_query_patents_say_no_dates_once_and_no_cited_patent_here(cache, query_patents):
    corpus = load_corpus(f"query-patents:{query_patents}")
    fid = corpus.figures[0].id
    at = _search_page(f"query-patents:{query_patents}", query=fid)
    assert [c.value for c in at.caption].count(NO_DATES) == 1
    cits, _ = corpus_citations(corpus)
    res = search(corpus, fid, ENCODERS, k=K)
    assert citation_recall(corpus, [corpus.figures[0].patent], res, cits, K)["hog"].in_corpus == ()
    assert any("None of the cited patents is in this corpus" in i.value for i in at.info)
    n_cited = len({patent_base(c) for c in cits[corpus.figures[0].patent]} - {patent_base(corpus.figures[0].patent)})
    assert any(f"cites {n_cited} patents" in c.value for c in at.caption)
    groups = group_by_patent(corpus, res, exclude_patents=[corpus.figures[0].patent])
    table = next(d.value for d in at.dataframe if "figures hit" in d.value.columns)
    assert list(table["patent"]) == [g.patent for g in groups]
    assert np.all(table["figures hit"] == "1 / 1")


def test_add_to_query_works_when_the_query_is_a_byte_identical_upload(demo_cache):
    corpus = demo_cache
    fid = "demo-03-1"
    at = _search_page()
    at.file_uploader(key="upload").set_value(("mine.png", Path(corpus.by_id[fid].path).read_bytes(),
                                              "image/png")).run()
    assert not at.exception, at.exception
    assert any("byte-identical" in i.value for i in at.info)
    other = _shown(at)["ahdh"][2]
    at.button(key=f"ex-add-res-ahdh-3-{other}").click().run()
    assert not at.exception, at.exception
    want = search_query(corpus, ExaminerQuery((QueryPart(figure=fid), QueryPart(figure=other)), "mean"),
                        ENCODERS, k=K)
    assert _shown(at) == {s: [i for i in want.results[s].ids] for s in ENCODERS}
    assert any("2 figures combined by mean" in c.value for c in at.caption)
