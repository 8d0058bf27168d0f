"""AppTests: every page renders real content that equals what core computes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.search import search

pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("fresh_streamlit_caches")]
ENCODERS = ["hog", "ahdh"]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def _app(corpus_spec: str, encoders=ENCODERS, k: int = 10) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    if corpus_spec.startswith("folder:"):  # not in the list: typed into "Other folder…"
        at.session_state["corpus_pick"] = "custom"
        at.session_state["corpus_custom"] = corpus_spec
    else:
        at.session_state["corpus_pick"] = corpus_spec
    at.session_state["encoders"] = list(encoders)
    at.session_state["k"] = k
    at.run()
    assert not at.exception, at.exception
    return at


def _points(chart) -> int:
    """Markers of figures in a plotly chart element (decoding plotly's binary arrays)."""
    spec = json.loads(chart.proto.spec)
    return sum(len(tr["customdata"]) for tr in spec["data"]
               if tr.get("mode") == "markers" and tr.get("name") not in ("query", "selected"))


def _result_headers(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("#### ")]


def test_overview_shows_corpus_and_encoders(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Figures"] == "120" and metrics["CPC sections"] == "ABCDEFGH"
    table = at.dataframe[0].value
    assert {"HOG", "AHDH", "TF-IDF"} <= set(table["label"])
    clip_rows = table[table["kind"] == "clip"]
    assert (clip_rows["status"] == "unavailable").all() and clip_rows["fix"].str.len().gt(0).all()
    assert set(table[table["status"] == "in use"]["spec"]) == set(ENCODERS)
    # 24 figures per page, each with a 'Search with this' button
    assert sum(b.label == "Search with this" for b in at.button) == 24


def test_search_upload_matches_core(cache, query_patents):
    at = _app(f"query-patents:{query_patents}", k=7)
    at.switch_page("../pages/search.py").run()
    png = sorted(query_patents.glob("sections/C/*/*.png"))[0]
    at.file_uploader(key="upload").set_value((png.name, png.read_bytes(), "image/png")).run()
    assert not at.exception and not at.error
    assert _result_headers(at) == ["#### HOG", "#### AHDH"]
    # the upload is a byte-identical copy of a corpus figure: it is searched as that figure (itself left out)
    expected = search(load_corpus(f"query-patents:{query_patents}"), png.stem, ENCODERS, k=7)
    buttons = [b for b in at.button if b.label == "Use as query"]
    assert len(buttons) == 14
    shown = {spec: [b.key.rsplit("-", 1)[-1] for b in buttons if b.key.startswith(f"res-{spec}-")]
             for spec in ENCODERS}
    for spec in ENCODERS:
        assert shown[spec] == expected[spec].ids
    assert png.stem not in shown["hog"] and png.stem not in shown["ahdh"]


def test_search_click_neighbour_becomes_query_with_breadcrumb(cache, query_patents):
    at = _app(f"query-patents:{query_patents}", k=5)
    at.button[0].click().run()  # 'Search with this' on the first corpus figure
    corpus = load_corpus(f"query-patents:{query_patents}")
    first = corpus.figures[0].id
    assert at.session_state["query_trail"] == [first]
    res = search(corpus, first, ENCODERS, k=5)
    nxt = res["hog"].ids[0]
    at.button(key=f"res-hog-1-{nxt}").click().run()
    assert at.session_state["query_trail"] == [first, nxt]
    assert not at.exception
    crumbs = [b for b in at.button if b.key and b.key.startswith("crumb-")]
    assert len(crumbs) == 2 and crumbs[1].disabled
    crumbs[0].click().run()
    assert at.session_state["query_trail"] == [first]


def test_search_badges_on_benchmark_query(cache, upair_samples):
    at = _app(f"upair:{upair_samples}", k=9)
    at.switch_page("../pages/search.py").run()
    q = "d192db7d9585c90501fc590975b897c6f9d688bf"  # judged relevant visually and semantically, not part-whole
    at.selectbox(key="example_pick").set_value(q).run()
    assert not at.exception
    html = " ".join(m.value for m in at.markdown)
    assert "Visual: relevant" in html and "Semantic: relevant" in html and "Part-whole: not relevant" in html
    assert "unjudged" in html  # other neighbours are not judged for this query


@pytest.mark.slow  # a UMAP fit of the query patents (20-26 s under load)
def test_map_page_has_one_point_per_figure(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    at.switch_page("../pages/map.py").run()
    assert not at.exception and not at.error
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # HOG and AHDH side by side
    assert all(_points(c) == 120 for c in charts)


@pytest.mark.slow  # the whole evaluation in an AppTest: 21-88 s on a loaded machine
def test_scores_page_table_equals_core_evaluate(cache):
    from core.evaluation import evaluate

    at = _app("demo", encoders=["hog", "ahdh", "tfidf"])
    at.switch_page("../pages/scores.py").run()
    assert not at.exception and not at.error
    runs = ("image", "image+desc", "image+labels")
    expected = evaluate(load_corpus("demo"), ["hog", "ahdh", "tfidf"], runs=runs)
    shown = at.dataframe[:3]  # one table per axis (visual, semantic, part-whole)
    labels = {"AP": "MAP", "nDCG@10": "nDCG@10", "RR": "MRR", "R@1": "Recall@1"}
    names = {"hog": "HOG", "ahdh": "AHDH", "tfidf": "TF-IDF"}
    for frame, axis in zip(shown, ("visual", "semantic", "part_whole")):
        df = frame.value
        exp = expected.table[expected.table["axis"] == axis]
        assert len(df) == len(exp) // 4 == 8  # 2 visual encoders x 3 runs + tfidf desc/labels
        for _, r in exp.iterrows():
            row = [i for i in df.index if i.split(" ▼")[0] == f"{names[r['encoder']]} · {r['run']}"]
            assert len(row) == 1
            assert abs(df.loc[row[0], labels[r["metric"]]] - r["value"]) < 1e-12
    # the fusion weight slider changes the fused runs live, and only those
    at.slider(key="fusion_w").set_value(0.0).run()
    df0 = at.dataframe[0].value
    assert abs(df0.loc[[i for i in df0.index if i.startswith("HOG · image+desc")][0], "MAP"]
               - df0.loc[[i for i in df0.index if i.startswith("HOG · image")][0], "MAP"]) < 1e-12
    assert not at.exception


def test_scores_page_without_benchmark_says_so(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    at.switch_page("../pages/scores.py").run()
    assert not at.exception
    assert any("no judgements" in i.value for i in at.info)


@pytest.mark.slow  # fits a UMAP map of the 120 query-patent figures in this process (20-30 s)
def test_map_places_an_uploaded_query(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    at.switch_page("../pages/search.py").run()
    png = sorted(query_patents.glob("sections/D/*/*.png"))[0]
    at.file_uploader(key="upload").set_value((png.name, png.read_bytes(), "image/png")).run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception and not at.error
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        stars = [tr for tr in spec["data"] if tr.get("name") == "query"]
        assert len(stars) == 1
        # the upload is a copy of a corpus figure, so it lands on that figure's own point
        trace = next(tr for tr in spec["data"] if tr.get("customdata") and any(cd[0] == png.stem for cd in tr["customdata"]))
        row = [cd[0] for cd in trace["customdata"]].index(png.stem)
        assert abs(_coords(trace["x"])[row] - _coords(stars[0]["x"])[0]) < 1e-5
        assert abs(_coords(trace["y"])[row] - _coords(stars[0]["y"])[0]) < 1e-5


def _coords(values) -> list[float]:
    """Plotly's JSON arrays: a plain list, or {"dtype", "bdata"} base64 binary."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_reload_picks_up_new_figures(cache, tmp_path):
    from PIL import Image

    root = tmp_path / "figs"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (60 + i, 40), "white").save(root / f"f{i}.png")
    at = _app(f"folder:{root}")
    assert {m.label: m.value for m in at.metric}["Figures"] == "3"
    Image.new("RGB", (90, 40), "white").save(root / "f3.png")
    at.run()
    assert {m.label: m.value for m in at.metric}["Figures"] == "3"  # cached until asked
    at.button(key="reload_corpus").click().run()
    assert {m.label: m.value for m in at.metric}["Figures"] == "4"


@pytest.fixture
def tiny_clip_listed(tiny_clip_arch, tiny_clip_checkpoint, monkeypatch) -> str:
    """A tiny random-init CLIP offered to the app like a user's extra encoder."""
    spec = f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}"
    monkeypatch.setenv("UPAIR_ENCODERS", spec)
    return spec


@pytest.mark.slow
def test_clip_text_search_and_joint_map(cache, upair_samples, tiny_clip_listed):
    from core.search import search_text

    spec = tiny_clip_listed
    at = _app(f"upair:{upair_samples}", encoders=["hog", spec], k=4)
    at.switch_page("../pages/search.py").run()
    at.text_input(key="text_query").set_value("heat exchanger with spiral baffles").run()
    assert not at.exception and not at.error
    expected = search_text(load_corpus(f"upair:{upair_samples}"), "heat exchanger with spiral baffles", [spec], k=4)
    shown = [b.key.rsplit("-", 1)[-1] for b in at.button if b.key and b.key.startswith(f"txt-{spec}-")]
    assert shown == expected[spec].ids and len(shown) == 4

    at.switch_page("../pages/map.py").run()
    assert not at.exception and not at.error
    joint = [c for c in at.get("plotly_chart") if "figure image" in c.proto.spec]
    assert len(joint) == 1
    data = json.loads(joint[0].proto.spec)["data"]
    kinds = {tr["name"]: len(tr["customdata"]) for tr in data if tr.get("customdata")}
    assert kinds == {"figure image": 10, "description text": 10}
