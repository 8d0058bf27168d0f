"""AppTests of the Scores page's trust parts: bootstrap error bars and the difference to the best
(equal to core.metrics.bootstrap on core's evaluate), the pool-bias panel (equal to
core.annotation.bias), the axis-disagreement view and the A-against-B drill-down."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.corpora import AXIS_LABELS

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_caches")]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("fair-cache")))
    yield
    mp.undo()


def _arr(v) -> np.ndarray:
    """A plotly array from a chart spec (plain list, or plotly's base64 typed array)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v, dtype=float)


def _scores(corpus_spec, encoders=("hog", "ahdh"), runs=None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.session_state["corpus_pick"] = corpus_spec
    at.session_state["encoders"] = list(encoders)
    at.session_state["k"] = 10
    if runs:
        at.session_state["score_runs"] = list(runs)
    at.run()
    at.switch_page("../pages/scores.py").run()
    assert not at.exception, at.exception
    return at


def test_error_bars_pool_bias_and_axis_disagreement_on_the_demo(shared_cache):
    from core.annotation.bias import unjudged_top_k
    from core.evaluation import evaluate, run_scores
    from core.metrics.bootstrap import bootstrap_intervals
    from core.metrics.disagreement import axis_disagreements

    at = _scores("demo", runs=["image"])
    assert not at.error
    corpus = load_corpus("demo")
    res = evaluate(corpus, ["hog", "ahdh"], runs=("image",))
    iv = bootstrap_intervals(res.per_query, 1000, 0)
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = [t for t in bars["data"] if t["type"] == "bar"]
    assert len(traces) == 2 and all("error_y" in t for t in traces)
    hog = next(t for t in traces if t["name"].startswith("HOG"))
    vis = iv[(iv["encoder"] == "hog") & (iv["metric"] == "AP") & (iv["axis"] == "visual")].iloc[0]
    plus, minus = _arr(hog["error_y"]["array"]), _arr(hog["error_y"]["arrayminus"])
    assert plus[0] == pytest.approx(vis.ci_high - vis["mean"], abs=1e-9)
    assert minus[0] == pytest.approx(vis["mean"] - vis.ci_low, abs=1e-9)
    # the difference to the best, per axis
    diff = next(d.value for d in at.dataframe if "best − system" in d.value.columns)
    assert len(diff) == 3  # one non-best system per axis
    assert set(diff["CI low"]).issubset(set(iv["diff_low"]))
    assert any("1,000 resamples, seed 0" in c.value for c in at.caption)
    # pool bias: the demo records no sampling run, so the user states it
    assert at.multiselect(key="pool_encoders").value == []
    pb = next(d.value for d in at.dataframe if "sampled the pool" in d.value.columns)
    assert set(pb["sampled the pool"]) == {"?"}
    rankings = {"s": run_scores(corpus, "hog", "image", protocol="clean")}
    exp = unjudged_top_k(rankings, corpus.benchmark.qrels, 10).set_index("axis")["unjudged"]
    assert pb.iloc[0][f"unjudged {AXIS_LABELS['visual']}"] == pytest.approx(exp["visual"], abs=1e-12)
    at.multiselect(key="pool_encoders").set_value(["hog"]).run()
    pb = next(d.value for d in at.dataframe if "sampled the pool" in d.value.columns)
    assert list(pb["sampled the pool"]) == ["yes", "no"]
    assert any("Plain and condensed MAP" in c.value for c in at.caption)  # fully judged: no flips
    # axis disagreement: the queries core finds, largest gap first, and the drill-down under it
    dis = axis_disagreements(res.per_query, ("hog", "image"), ("ahdh", "image"), "AP")
    table = next(d.value for d in at.dataframe if "A up on" in d.value.columns)
    assert len(table) == min(15, len(dis)) and len(dis) > 0
    assert np.allclose(table["gap"].to_numpy(), dis["gap"].head(15).to_numpy(), atol=1e-12)
    md = " ".join(m.value for m in at.markdown)
    assert "A = HOG · image, B = AHDH · image" in md and "relevant on this axis" in md
    assert "A #" in md and "B #" in md  # both ranks on the thumbnails
    # a row picked in the table opens that query (here: the second-largest gap)
    second = dis.index[1]
    at.session_state["ax_q"] = second
    at.run()
    md = " ".join(m.value for m in at.markdown)
    label = corpus.by_id[second].patent
    assert f"**{label}" in md
    assert not at.exception


def test_upair_samples_state_the_reference_sampler(shared_cache, upair_samples):
    at = _scores(f"upair:{upair_samples}", runs=["image"])
    assert not at.exception
    assert any("reference sampler" in c.value for c in at.caption)
    pb = next(d.value for d in at.dataframe if "sampled the pool" in d.value.columns)
    assert set(pb["sampled the pool"]) == {"no"}  # HOG and AHDH did not sample UPAIR's pool
