"""AppTests of the Map page's extras: neighbourhood agreement (colouring, histogram, the figures
the encoders disagree on, their neighbours side by side), pictures at the points, judged pairs as
lines, and what a selection is exported to. UMAP is replaced by the PCA layout (no 15 s import:
the maps themselves are tested in test_maps.py); the agreement is checked against the brute force."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus, maps
from tests.test_map_agreement import brute_jaccard, brute_neighbours

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
ENCODERS = ["hog", "ahdh"]


@pytest.fixture(autouse=True)
def pca_maps(monkeypatch):
    monkeypatch.setattr(maps, "_umap_layout", lambda v, p: maps._pca_layout(np.asarray(v, dtype=np.float64)))


@pytest.fixture
def drawings(tmp_path) -> str:
    """30 small generated drawings (ellipses and lines) as a folder corpus."""
    from PIL import Image, ImageDraw

    root = tmp_path / "figs"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        im = Image.new("RGB", (96, 96), "white")
        d = ImageDraw.Draw(im)
        for _ in range(3):
            x0, y0 = rng.integers(0, 60, 2)
            d.ellipse([x0, y0, x0 + rng.integers(10, 36), y0 + rng.integers(10, 36)], outline="black", width=2)
        if i % 2:
            d.line([0, i * 3, 95, 95 - i * 3], fill="black", width=2)
        im.save(root / f"f{i:02d}.png")
    return f"folder:{root}"


def _map(spec: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    if spec.startswith("folder:"):
        at.session_state["corpus_pick"] = "custom"
        at.session_state["corpus_custom"] = spec
    else:
        at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = ENCODERS
    at.run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception and not at.error, (at.exception, at.error)
    return at


def _specs(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _vectors(spec: str, encoder: str):
    from core.search import get_index

    return get_index(load_corpus(spec), encoder, show_bar=False).embeddings


@pytest.mark.slow
def test_agreement_colouring_histogram_and_neighbours_equal_brute_force(cache, drawings):
    at = _map(drawings)
    assert not at.get("plotly_chart")[2:]  # the comparison is computed only when asked
    at.toggle(key="map_agree_on").set_value(True).run()
    assert len(at.get("plotly_chart")) == 3 and at.metric  # the histogram and the numbers
    at.selectbox(key="map_colour").set_value("Shared neighbours").run()
    at.number_input(key="map_agree_k").set_value(5).run()
    assert not at.exception and not at.error
    a, b = _vectors(drawings, "hog"), _vectors(drawings, "ahdh")
    assert a.ids == b.ids
    want = np.array(brute_jaccard(a.vectors, b.vectors, 5))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Mean Jaccard"] == f"{want.mean():.3f}"
    assert metrics["No neighbour shared"] == f"{(want == 0).mean():.0%}"
    # both maps coloured by band; each band trace holds exactly the figures of that band
    from pages.map_agreement import band_of

    band = {i: band_of(j) for i, j in zip(a.ids, want)}
    maps_, hist = _specs(at)[:2], _specs(at)[2]
    for spec in maps_:
        for tr in spec["data"]:
            if tr.get("customdata"):
                assert {band[cd[0]] for cd in tr["customdata"]} == {tr["name"]}
    assert sum(_decode(hist["data"][0]["y"])) == 30
    # the list starts with the figure the encoders disagree on most; its neighbours side by side
    table = at.dataframe[0].value
    assert table["Jaccard"].tolist() == sorted(table["Jaccard"].tolist())
    assert abs(table["Jaccard"].iloc[0] - want.min()) < 1e-3
    worst = a.ids[int(np.lexsort((np.arange(30), want))[0])]
    assert at.selectbox(key="map_agree_open").options[0].startswith(worst[:3])  # folder ids: no patent, id first
    at.selectbox(key="map_agree_open").set_value(worst).run()
    row = a.ids.index(worst)
    headers = [m.value for m in at.markdown if "#" in m.value and "font-size:0.85em" in m.value]
    ranks = [h.split("#")[-1].split("<")[0].strip() for h in headers]
    assert ranks == ["1", "2", "3", "4", "5"] * 2
    na = [a.ids[j] for j in brute_neighbours(a.vectors, 5)[row]]
    nb = [b.ids[j] for j in brute_neighbours(b.vectors, 5)[row]]
    shared = [h for h in headers if "■" in h]
    assert len(shared) == 2 * len(set(na) & set(nb))


def _decode(values):
    import base64

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_pictures_across_the_map_and_of_the_selected_region(cache, drawings):
    from core.map_overlays import spread_sample

    at = _map(drawings)
    assert all(not s["layout"].get("images") for s in _specs(at))  # dots by default
    at.session_state["map_points"] = "Pictures"
    at.run()
    for spec in _specs(at)[:2]:
        images = spec["layout"]["images"]
        xy = np.array([[x, y] for tr in spec["data"] if tr.get("customdata")
                       for x, y in zip(_decode(tr["x"]), _decode(tr["y"]))])
        assert len(images) == len(spread_sample(xy, across=8)[0]) > 5
        assert all(im["source"].startswith("data:image/png;base64,") and im["xref"] == "x" for im in images)
    ids = [f"f{i:02d}" for i in range(0, 30, 3)]
    at.session_state["map_selection"] = ids
    at.session_state["map_points"] = "Selection, zoomed"
    at.session_state["map_picture_size"] = "large"
    at.run()
    assert not at.exception
    left = _specs(at)[0]
    x0, x1 = left["layout"]["xaxis"]["range"]
    y0, y1 = left["layout"]["yaxis"]["range"]
    assert all(x0 <= im["x"] <= x1 and y0 <= im["y"] <= y1 for im in left["layout"]["images"])
    assert any("pictures of the selected region" in c.value for c in at.caption)


def test_selection_becomes_a_folder_corpus_the_app_opens(cache, drawings):
    at = _map(drawings)
    ids = ["f03", "f07", "f11"]
    at.session_state["map_selection"] = ids
    at.run()
    at.button(key="map_sel_subset").click().run()
    assert not at.exception
    spec = at.session_state["_map_subset"]
    assert [f.id for f in load_corpus(spec).figures] == ids
    at.button(key="map_open_subset").click().run()
    assert not at.exception and not at.error
    assert at.session_state["corpus_custom"] == spec or at.session_state["corpus_pick"] == spec
    assert sum(len(tr["customdata"]) for tr in _specs(at)[0]["data"] if tr.get("customdata")) == 3


def test_selection_csv_is_safe_and_complete(cache, drawings):
    import csv
    import io

    import pandas as pd

    from pages.map_export import selection_csv

    corpus = load_corpus(drawings)
    frame = pd.DataFrame({"id": ["f01", "f02"], "x": [0.5, -0.25], "y": [0.0, 1.0]})
    rows = list(csv.DictReader(io.StringIO(selection_csv(corpus, ["f02", "f01"], frame))))
    assert [r["id"] for r in rows] == ["f02", "f01"] and rows[0]["x"] == "-0.25"


@pytest.mark.shared
def test_judged_pairs_as_lines_and_selection_to_the_judge_queue(cache, upair_samples):
    from core.annotation.judgements import JudgementStore
    from core.annotation.pooling import list_pools, load_pool

    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    at = _map(spec)
    at.selectbox(key="map_pairs_axis").set_value("visual").run()
    assert not at.exception
    rel = [(q, d) for q, docs in corpus.benchmark.qrels["visual"].items() for d, r in docs.items() if r > 0]
    for s in _specs(at)[:2]:
        lines = [tr for tr in s["data"] if str(tr.get("name", "")).startswith("judged pairs")]
        assert len(lines) == 1 and sum(v is None for v in lines[0]["x"]) == len(rel)
    assert any(f"{len(rel)} judged pairs (relevant on visual" in c.value for c in at.caption)
    # a selection sent to the Judge page: the query against every selected figure not yet judged
    query = corpus.benchmark.queries[0]
    at.session_state["query_trail"] = [query]
    sel = [f.id for f in corpus.figures if f.id != query]
    at.session_state["map_selection"] = sel
    at.run()
    at.button(key="map_sel_judge").click().run()
    assert not at.exception
    judged = set(corpus.benchmark.qrels["visual"].get(query, {})) | set(corpus.benchmark.qrels["semantic"].get(query, {})) \
        | set(corpus.benchmark.qrels["part_whole"].get(query, {}))
    store = JudgementStore(corpus.name)
    pools = [p for p in list_pools(store) if p.startswith("map-")]
    assert len(pools) == 1
    pool = load_pool(store, pools[0])
    assert set(pool.pairs) == {(query, i) for i in sel if i not in judged}
