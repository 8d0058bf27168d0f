"""AppTests of the Sample page: the table and cards equal core's draw, redraw, the reference
config's missing encoders, export of every query's pool."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.annotation.sampling import check_encoders, load_config, resolve_queries, sample_pools

pytestmark = pytest.mark.slow
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def _fresh(cache):
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def _sample_page(spec: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = ["hog"]
    at.run()
    at.switch_page("../pages/sample.py").run()
    assert not at.exception, at.exception
    return at


def _kept(at) -> dict[str, int]:
    table = at.dataframe[0].value
    return dict(zip(table["group"], table["kept"]))


def test_sample_page_shows_cores_draw_and_redraws(cache):
    at = _sample_page("demo")
    corpus = load_corpus("demo")
    qid = resolve_queries(corpus)[0].id
    want = sample_pools(corpus, [corpus.by_id[qid]], load_config(None), seed=1, show_bar=False).draws[0]
    kept = _kept(at)
    titles = {"easy_positive": "Easy positive", "easy_negative": "Easy negative",
              "hard_positive": "Hard positive", "hard_negative": "Hard negative"}
    assert {titles[g.name]: len(g.kept) for g in want.groups} == {k: v for k, v in kept.items() if k != "Cited"}
    assert len(at.get("plotly_chart")) == len(load_config(None).indices)  # one band chart per index
    # The pool table stays narrow enough for 1280 px (no sideways scrolling); the per-index
    # in-band counts are a table of their own, equal to the draw's.
    assert len(at.dataframe[0].value.columns) <= 10
    in_band = next(d.value for d in at.dataframe if "group" in d.value.columns and "kept" not in d.value.columns)
    names = [r.name for r in load_config(None).indices]
    assert list(in_band.columns) == ["group", *names]
    assert in_band.to_dict("records") == [{"group": titles[g.name], **{n: g.in_band[n] for n in names}}
                                          for g in want.groups]
    cards = " ".join(m.value for m in at.markdown if "Σ" in m.value)
    for g in want.groups:
        for c in g.kept:
            assert f"Σ {c.score:.3f}" in cards
    next(b for b in at.button if b.label == "Redraw").click().run()
    assert not at.exception and at.session_state["sample_seed"] == 2
    again = sample_pools(corpus, [corpus.by_id[qid]], load_config(None), seed=2, show_bar=False).draws[0]
    assert {titles[g.name]: len(g.kept) for g in again.groups} == {k: v for k, v in _kept(at).items() if k != "Cited"}


def test_reference_config_names_missing_encoders(cache):
    ref = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "upair" / "src" / "config.yaml"
    if not ref.is_file():
        pytest.skip(f"needs the reference config at {ref}")
    missing = check_encoders(load_config(ref))
    if not missing:
        pytest.skip("every reference encoder is available here")
    at = _sample_page("demo")
    at.selectbox(key="sample_config").select(str(ref)).run()
    assert not at.exception
    err = " ".join(e.value for e in at.error)
    assert "cannot run here" in err
    for m in missing:
        assert m.split(" ")[0] in err


def test_export_writes_every_querys_pool(cache):
    at = _sample_page("demo")
    next(b for b in at.button if b.label == "Draw all queries and export").click().run()
    assert not at.exception, at.exception
    from dashboard.services import sampling

    out = sampling.exported(*at.session_state["_sample_export_asked"])[1]
    pool = load_corpus(f"upair:{out / 'pool'}")
    assert len(pool.benchmark.queries) == len(resolve_queries(load_corpus("demo")))
    at.button(key="sample_open_pool").click().run()  # 'Open as corpus': the sidebar now shows the pool
    assert not at.exception, at.exception
    assert at.session_state["_corpus_active"] == f"upair:{out / 'pool'}"


@pytest.mark.shared
def test_query_patents_every_figure_is_a_query(cache, query_patents):
    spec = f"query-patents:{query_patents}"
    at = _sample_page(spec)
    assert len(at.selectbox(key="sample_query").options) == 120
    assert any("citations_data.json" in c.value for c in at.caption)
    assert not at.error


def test_sample_page_shows_the_best_match_and_where_it_fell(cache):
    """Difference 5 on the page: per index the best match, its float32 score, the rounded top
    threshold and whether it fell in a band — equal to core's draw; the protocol can be switched."""
    from core.annotation.sampling import find_citations

    at = _sample_page("demo")
    corpus = load_corpus("demo")
    qid = resolve_queries(corpus)[0].id
    cites = find_citations(load_config(None), corpus)[0]
    want = sample_pools(corpus, [corpus.by_id[qid]], load_config(None), seed=1, citations=cites,
                        show_bar=False).draws[0]
    best = next(d.value for d in at.dataframe if "where it fell" in d.value.columns)
    assert list(best["index"]) == list(want.best)
    for row, b in zip(best.to_dict("records"), want.best.values()):
        assert row["score (float32)"] == f"{b.score:.7f}"
        assert ("in no band" in row["where it fell"]) == (not b.bands)
        assert row["best match"] == ("the query itself" if b.id == qid else b.id)
    assert any(b.id == qid for b in want.best.values())  # upair: the query's own figure is its best match
    at.selectbox(key="sample_protocol").select("clean").run()
    assert not at.exception
    assert any("Clean (project)" in c.value and "own_figure=excluded" in c.value for c in at.caption)
    best = next(d.value for d in at.dataframe if "where it fell" in d.value.columns)
    assert "the query itself" not in set(best["best match"])
