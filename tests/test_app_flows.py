"""AppTests of the first-hour flows: state that belongs to a corpus, k, progress
bars, ties, byte-identical uploads, text search, weights download, the map's colourings.

Browser-only behaviour (scrolling, the URL, clicks on grid rows, what fits on a screen) is
in ``tests/test_browser_flows.py``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.search import search_text

pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("fresh_streamlit_caches")]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def _app(corpus_spec: str, encoders=("hog", "ahdh"), k: int | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = corpus_spec
    at.session_state["encoders"] = list(encoders)
    if k is not None:
        at.session_state["k"] = k
    at.run()
    assert not at.exception, at.exception
    return at


def _ok(at) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _result_ids(at, spec: str, prefix: str = "res") -> list[str]:
    head = f"{prefix}-{spec}-"
    pairs = [b.key[len(head):].split("-", 1) for b in at.button if b.key and b.key.startswith(head)]
    return [fid for _, fid in sorted(pairs, key=lambda p: int(p[0]))]


# ------------------------------------------------------------------ 1. k stays what it was
def test_k_survives_other_folder_and_a_typed_path(cache, query_patents):
    at = _app("demo")
    assert at.slider(key="k").value == 10
    at.selectbox(key="corpus_pick").set_value("custom").run()
    _ok(at)
    assert at.slider(key="k").value == 10  # the sidebar is whole while a folder is being typed
    assert any("Other folder" in i.value or "folder" in i.value for i in at.info)
    at.text_input(key="corpus_custom").set_value(str(query_patents)).run()
    _ok(at)
    assert at.slider(key="k").value == 10
    assert {m.label: m.value for m in at.metric}["Figures"] == "120"


def test_missing_folder_says_folder_not_found(cache, tmp_path):
    at = _app("demo")
    at.selectbox(key="corpus_pick").set_value("custom").run()
    at.text_input(key="corpus_custom").set_value(str(tmp_path / "no-such-dir")).run()
    _ok(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Folder not found" in errors[0] and "no-such-dir" in errors[0]
    assert "unknown corpus" not in errors[0]


# ------------------------------------------------------------------ 2. a corpus switch starts clean
@pytest.mark.slow  # 20 s on 2 loaded workers (a UMAP fit of two corpora)
def test_corpus_switch_drops_the_old_corpus_state(cache, query_patents):
    at = _app("demo", k=5)
    at.switch_page("../pages/search.py").run()
    demo = load_corpus("demo")
    q = demo.benchmark.queries[2]
    at.selectbox(key="example_pick").set_value(q).run()
    at.file_uploader(key="upload").set_value(("notes.png", b"<html>not an image</html>", "image/png")).run()
    _ok(at)
    assert len(at.error) == 1 and at.session_state["query_trail"] == [q]
    assert at.query_params["q"] in (q, [q])  # the URL names the query
    at.selectbox(key="corpus_pick").set_value(f"query-patents:{query_patents}").run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]  # no stale upload error, no 'file not found at demo-…'
    assert not at.warning, [w.value for w in at.warning]  # nor a stale ?q= from the other corpus
    assert "q" not in at.query_params
    assert at.session_state["query_trail"] == []
    assert any("Upload a figure, pick one" in i.value for i in at.info)
    at.switch_page("../pages/map.py").run()
    _ok(at)
    for chart in at.get("plotly_chart"):
        assert not [tr for tr in json.loads(chart.proto.spec)["data"] if tr.get("name") == "query"]
    # back on the demo, its own query is still there
    at.selectbox(key="corpus_pick").set_value("demo").run()
    assert at.session_state["query_trail"] == [q]


def test_an_upload_is_carried_over_visibly(cache, query_patents, upair_samples):
    at = _app(f"upair:{upair_samples}", k=3)
    at.switch_page("../pages/search.py").run()
    png = sorted(query_patents.glob("sections/B/*/*.png"))[0]
    at.file_uploader(key="upload").set_value((png.name, png.read_bytes(), "image/png")).run()
    upload = at.session_state["query_trail"][-1]
    at.selectbox(key="corpus_pick").set_value(f"query-patents:{query_patents}").run()
    _ok(at)
    assert at.session_state["query_trail"] == [upload]
    assert any(png.name in i.value and "Kept your query" in i.value for i in at.info)


# ------------------------------------------------------------------ 3. finished progress bars go away
def test_finished_progress_bars_are_cleared(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    at.switch_page("../pages/search.py").run()
    _ok(at)
    assert len(at.get("progress")) == 0
    at.run()
    assert len(at.get("progress")) == 0


def test_progress_text_explains_fewer_images_than_figures():
    from dashboard.components.status import progress_text

    text = progress_text("HOG · image", 118, 118, 120, 0.0)
    assert "118/118" in text and "2 of the 120 figures" in text and "exact copies" in text
    assert "need no encoding" not in progress_text("HOG · image", 5, 120, 120, 3.0)


# ------------------------------------------------------------------ 4. ties are not "best"
def _highlighted(styler_df) -> int:
    """Cells styled as best in a Styler-backed dataframe element."""
    import re

    styles = styler_df.proto.arrow_data.styler.styles
    return sum(len(re.findall(r"row\d+_col\d+", rule)) for rule in styles.split("}") if "d6eaf8" in rule)


def test_ties_are_not_best_and_the_benchmark_says_it_cannot_separate(cache, upair_samples):
    at = _app(f"upair:{upair_samples}", encoders=("hog", "ahdh", "tfidf"))
    at.switch_page("../pages/scores.py").run()
    _ok(at)
    tables = at.dataframe[:3]
    for t in tables:
        assert _highlighted(t) == 0  # every system scores the same: nothing is "best"
    warnings = [w.value for w in at.warning]
    assert sum("Cannot separate systems" in w for w in warnings) == 3
    assert any("1 candidate" in w for w in warnings)
    assert sum(c.value.startswith("n = 5 queries") for c in at.caption) == 3
    assert any("No query separates them" in i.value for i in at.info)


def test_a_unique_best_is_highlighted_on_the_demo(cache):
    from core.comparison import unique_best

    at = _app("demo", encoders=("hog", "ahdh"))
    at.switch_page("../pages/scores.py").run()
    _ok(at)
    df = at.dataframe[0].value
    expected = sum(unique_best(list(df[c])) is not None for c in df.columns)
    assert 0 < expected < len(df.columns)  # MRR and Recall@1 tie on the demo
    assert _highlighted(at.dataframe[0]) == expected
    assert unique_best([1.0, 1.0, 0.5]) is None and unique_best([0.2, 0.7, 0.1]) == 1


# ------------------------------------------------------------------ 5. a byte-identical upload is that figure
def test_byte_identical_upload_is_recognised(cache, upair_samples):
    at = _app(f"upair:{upair_samples}", k=4)
    at.switch_page("../pages/search.py").run()
    c = load_corpus(f"upair:{upair_samples}")
    q = "d192db7d9585c90501fc590975b897c6f9d688bf"
    png = Path(c.by_id[q].path)
    at.file_uploader(key="upload").set_value(("my-drawing.png", png.read_bytes(), "image/png")).run()
    _ok(at)
    assert any("byte-identical" in i.value and "my-drawing.png" in i.value for i in at.info)
    assert any("Benchmark query" in s.value for s in at.success)  # the figure's judgements apply
    html = " ".join(m.value for m in at.markdown)
    assert "Visual: relevant" in html and "= your upload" not in html  # searched as that figure: itself left out
    hits = [b.key for b in at.button if b.key and b.key.startswith("res-")]
    assert hits and not any(k.endswith(q) for k in hits)
    # a re-encoded copy (different bytes) is not claimed to be the figure
    from PIL import Image
    import io

    buf = io.BytesIO()
    Image.open(png).convert("L").save(buf, "PNG", optimize=True)
    at.file_uploader(key="upload").set_value(("copy.png", buf.getvalue(), "image/png")).run()
    assert not any("byte-identical" in i.value for i in at.info)


# ------------------------------------------------------------------ 6. text search without CLIP
def test_text_search_runs_on_tfidf(cache):
    at = _app("demo", encoders=("hog", "tfidf"), k=6)
    at.switch_page("../pages/search.py").run()
    _ok(at)
    assert not [i for i in at.info if "needs" in i.value and "CLIP" in i.value]
    at.text_input(key="text_query").set_value("gear train").run()
    _ok(at)
    expected = search_text(load_corpus("demo"), "gear train", ["tfidf"], k=6)
    assert not expected["tfidf"].error
    assert _result_ids(at, "tfidf", "txt") == expected["tfidf"].ids and len(expected["tfidf"].ids) == 6
    assert _result_ids(at, "hog", "txt") == []  # HOG cannot read text, so it is not asked


def test_upload_with_description_feeds_tfidf(cache):
    from core.search import search

    at = _app("demo", encoders=("hog", "tfidf"), k=5)
    at.switch_page("../pages/search.py").run()
    ex = sorted((Path(__file__).resolve().parent.parent / "assets" / "examples").glob("*.png"))[0]
    at.file_uploader(key="upload").set_value((ex.name, ex.read_bytes(), "image/png")).run()
    _ok(at)
    upload = "upload:" + Path(at.session_state["query_trail"][-1]).stem  # widget keys use the upload's token
    assert any("Reads text, not drawings" in c.value for c in at.caption)  # no text yet: says what to do
    at.text_area(key=f"desc-{upload}").set_value("a gear train with a spring").run()
    _ok(at)
    expected = search(load_corpus("demo"), at.session_state["query_trail"][-1], ["tfidf"], k=5, text="a gear train with a spring")
    assert not expected["tfidf"].error
    assert _result_ids(at, "tfidf") == expected["tfidf"].ids


def test_sidecar_fills_the_description(cache):
    at = _app("demo", encoders=("hog", "tfidf"), k=3)
    at.switch_page("../pages/search.py").run()
    ex = sorted((Path(__file__).resolve().parent.parent / "assets" / "examples").glob("*.png"))[0]
    at.file_uploader(key="upload").set_value((ex.name, ex.read_bytes(), "image/png")).run()
    upload = "upload:" + Path(at.session_state["query_trail"][-1]).stem  # widget keys use the upload's token
    side = json.dumps({"fig_desc": "a gear train with a spring"}).encode()
    at.file_uploader(key=f"sidecar-{upload}").set_value(("fig.json", side, "application/json")).run()
    _ok(at)
    assert at.text_area(key=f"desc-{upload}").value == "a gear train with a spring"
    assert _result_ids(at, "tfidf") and not any("Reads text" in c.value for c in at.caption)


def test_sidecar_description():
    from pages.search_widgets import sidecar_text

    assert sidecar_text(b'{"fig_desc": "a valve", "title": "t"}') == "a valve"
    assert sidecar_text(b"  plain words \n") == "plain words"


# ------------------------------------------------------------------ 7. CLIP weights from the Corpus page
def test_download_button_makes_clip_usable_without_restart(cache, monkeypatch):
    from core.encoders import clip as clip_mod
    from core.encoders.base import Availability

    state = {"downloaded": False}

    def fake_download(self):
        target = clip_mod.open_clip_cache_dir() / "weights.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\0" * 1000)
        state["downloaded"] = True
        return target

    real = clip_mod.ClipEncoder.availability

    def fake_availability(self):
        if not self.is_checkpoint and state["downloaded"]:
            return Availability(True)
        return real(self)

    monkeypatch.setattr(clip_mod.ClipEncoder, "download", fake_download)
    monkeypatch.setattr(clip_mod.ClipEncoder, "availability", fake_availability)
    at = _app("demo")
    buttons = [b for b in at.button if b.key and b.key.startswith("dl-clip:")]
    assert buttons, "no download button for the CLIP baseline"
    text = " ".join(m.value for m in at.markdown)
    assert ".venv/bin/python -m core fetch-weights clip:" in text or "python -m core fetch-weights clip:" in text
    assert any("ask the UPAIR authors" in c.value for c in at.caption)
    spec = buttons[0].key[len("dl-"):]
    buttons[0].click().run()
    _ok(at)
    assert state["downloaded"]
    assert any("is ready" in s.value for s in at.success)
    from core.encoders import get_encoder

    assert get_encoder(spec).label in at.multiselect(key="encoders").options  # usable at once, no restart


# ------------------------------------------------------------------ 10. the map
def _traces(chart) -> list[dict]:
    return json.loads(chart.proto.spec)["data"]


def test_map_says_when_a_colouring_has_no_data(cache, upair_samples):
    at = _app(f"upair:{upair_samples}")
    at.switch_page("../pages/map.py").run()
    _ok(at)
    assert any("No figure has a CPC section" in i.value for i in at.info)  # UPAIR has no CPC codes
    at.selectbox(key="map_colour").set_value("Relevance to the query").run()
    assert any("Choose a query" in i.value for i in at.info)


def test_map_star_on_top_named_legend_readable_colour_kept(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    at.button[0].click().run()  # 'Search with this' on the first figure
    at.switch_page("../pages/map.py").run()
    _ok(at)
    first = load_corpus(f"query-patents:{query_patents}").figures[0]
    for chart in at.get("plotly_chart"):
        data = _traces(chart)
        assert data[-1]["name"] == "query" and data[-1]["type"] == "scatter"  # drawn last, SVG above WebGL
        assert first.patent in data[-1]["text"][0]
        notes = json.loads(chart.proto.spec)["layout"]["annotations"]
        assert any(first.patent in a["text"] and "query" in a["text"] for a in notes)
        names = {tr["name"] for tr in data[:-1]}
        assert "G · Physics" in names and "H · Electricity" in names
    at.selectbox(key="map_colour").set_value("Patent").run()
    at.switch_page("../pages/search.py").run()
    at.switch_page("../pages/map.py").run()
    _ok(at)
    assert at.selectbox(key="map_colour").value == "Patent"


def test_map_selection_is_paged(cache, query_patents):
    at = _app(f"query-patents:{query_patents}")
    corpus = load_corpus(f"query-patents:{query_patents}")
    at.session_state["map_selection"] = [f.id for f in corpus.figures[:73]]
    at.switch_page("../pages/map.py").run()
    _ok(at)
    assert any(s.value == "Selection · 73 figures" for s in at.subheader)
    page = at.number_input(key="map_sel_page")
    assert "of 2; 73 figures" in page.label
    assert sum(b.label == "Search" for b in at.button) == 48
    page.set_value(2).run()
    assert sum(b.label == "Search" for b in at.button) == 25


# ------------------------------------------------------------------ smaller
def test_results_csv_records_the_setting(cache):
    from pages.scores_widgets import results_csv
    from core.evaluation import evaluate, significance

    res = evaluate(load_corpus("demo"), ["hog", "ahdh"], runs=("image",))
    sig = significance(res.per_query, against="best", metric="AP", test="t")
    import io

    import streamlit as st  # noqa: F401 - encoder labels need no session

    df = pd.read_csv(io.BytesIO(results_csv(res.table, sig, corpus="demo", protocol="clean", weight=1.0, test="t",
                                            n_by_axis={"visual": 48, "semantic": 48, "part_whole": 48})))
    assert {"corpus", "protocol", "fusion_weight", "test", "n", "measure", "value", "vs_best", "p_holm",
            "significantly_worse"} <= set(df.columns)
    assert set(df["measure"]) == {"MAP", "nDCG@10", "MRR", "Recall@1"}
    assert (df["n"] == 48).all() and (df["corpus"] == "demo").all() and (df["protocol"] == "clean").all()
    loser = df[df["significantly_worse"]]
    for _, r in loser.iterrows():
        assert r["p_holm"] < 0.05


def test_page_icon_is_local():
    text = APP.read_text()
    assert "http" not in text and "assets" in text
    assert (APP.parent.parent / "assets" / "icon.png").is_file()


def test_upload_error_speaks_to_a_user_and_hides_old_results(cache, query_patents):
    at = _app(f"query-patents:{query_patents}", k=3)
    at.switch_page("../pages/search.py").run()
    png = sorted(query_patents.glob("sections/C/*/*.png"))[0]
    at.file_uploader(key="upload").set_value((png.name, png.read_bytes(), "image/png")).run()
    at.file_uploader(key="upload").set_value(("notes.png", b"<html>404</html>", "image/png")).run()
    _ok(at)
    err = at.error[0].value
    assert "notes.png" in err and "Pillow" not in err
    exp = [e for e in at.expander if "previous query" in e.label]
    assert len(exp) == 1 and not exp[0].proto.expanded


def test_corpus_page_says_where_to_start(cache):
    at = _app("demo")
    assert any(m.value.startswith("**Start here**") for m in at.markdown)
    assert {p.label for p in at.get("page_link")} >= {"Search by figure or text", "Benchmark scores"}
