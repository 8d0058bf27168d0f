"""AppTest of the Models page: provenance, curves, before/after scores and maps equal core's."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.corpora import load_corpus

pytestmark = [pytest.mark.shared, pytest.mark.slow, pytest.mark.usefixtures("fresh_streamlit_caches")]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture
def adapted(cache, query_patents, upair_samples, tiny_clip_arch, tiny_clip_checkpoint):
    """A real two-epoch adaptation of the tiny CLIP, the UPAIR samples' patents left out."""
    import torch

    from core.adapt import AdaptConfig, adapt

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = AdaptConfig(arch=tiny_clip_arch, pretrained=str(tiny_clip_checkpoint), lr=3e-4, batch_size=32,
                          epochs=2, warmup=0, patience=100)
        res = adapt(load_corpus(f"query-patents:{query_patents}"), "tiny-app", cfg,
                    benchmark=load_corpus(f"upair:{upair_samples}"))
    finally:
        torch.set_num_threads(n)
    return res.model


def _app(corpus_spec: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = corpus_spec
    at.session_state["encoders"] = ["hog"]
    at.run()
    assert not at.exception, at.exception
    at.switch_page("../pages/models.py").run()
    assert not at.exception, at.exception
    return at


def _errors(at: AppTest) -> list:
    """Errors on the page other than the degenerate-model flag (core.adapt.health): the tiny
    random CLIP trained for a couple of epochs ends no better than chance, and is named so."""
    return [e for e in at.error if not e.value.startswith("**Degenerate model**")]


def test_models_page_without_models(cache, upair_samples):
    at = _app(f"upair:{upair_samples}")
    assert any("No adapted models yet" in i.value for i in at.info)


def test_models_page_shows_provenance_curves_scores_and_maps(adapted, upair_samples):
    from core.adapt.compare import before_after

    spec = f"upair:{upair_samples}"
    at = _app(spec)
    # two epochs of the tiny random CLIP end no better than chance: named, and nothing else is wrong
    assert not _errors(at)
    p = adapted.provenance
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training pairs"] == str(p["train_pairs"]) and metrics["Validation pairs"] == str(p["val_pairs"])
    assert metrics["Patents left out"] == "2" and metrics["Epochs"] == "2 / 2"
    charts = {json.loads(c.proto.spec)["layout"].get("title", {}).get("text"): json.loads(c.proto.spec)
              for c in at.get("plotly_chart")}
    loss = charts["Contrastive loss"]["data"]
    per_step = next(tr for tr in loss if tr["name"] == "training (per step)")
    assert len(per_step["x"]) == p["steps"] if isinstance(per_step["x"], list) else True
    val = next(tr for tr in loss if tr["name"] == "validation")
    assert len(val["y"]) == 3 if isinstance(val["y"], list) else True
    assert any(t.startswith("Validation recall") for t in charts)
    from core.encoders import get_encoder

    offered = {o for s in at.sidebar.multiselect for o in s.options}  # the sidebar shows labels
    assert any(o.startswith(get_encoder(adapted.spec).label) for o in offered)  # offered (⚠ when degenerate)

    at.button(key="models_score").click().run()
    assert not at.exception and not _errors(at)
    expected = before_after(load_corpus(spec), adapted, protocol="upair").table
    shown = at.dataframe[-1].value  # last axis tab (part-whole)
    exp = expected[expected["axis"] == "part_whole"]
    for row in shown.itertuples():
        e = exp[(exp["run"] == row.run) & (exp["metric"] == row.measure)].iloc[0]
        assert row.before == pytest.approx(e.before) and row.after == pytest.approx(e.after)

    at.button(key="models_maps").click().run()
    assert not at.exception and not _errors(at)
    maps = [json.loads(c.proto.spec) for c in at.get("plotly_chart")
            if "adaptation" in str(json.loads(c.proto.spec)["layout"].get("meta", ""))]
    assert len(maps) == 2 and {m["layout"]["meta"] for m in maps} == {"Before adaptation", "After adaptation"}
    for m in maps:
        names = {tr["name"]: len(tr["text"]) for tr in m["data"]}
        assert names == {"Images": 10, "Text": 10}


def _wait_for_training(at: AppTest, timeout: float = 240.0) -> None:
    """Rerun the page (as its polling fragment does) until it has taken the finished training job."""
    import time

    from dashboard import jobs

    end = time.monotonic() + timeout
    while "adapt_job" in at.session_state and time.monotonic() < end:
        if jobs.running():  # still running now, so running when the page was drawn: it offered to cancel
            assert any(b.label == "Cancel training" for b in at.button), [b.label for b in at.button]
        time.sleep(0.5)
        at.run()
    assert "adapt_job" not in at.session_state, "training did not finish in time"


def test_models_page_trains_a_model_with_progress(cache, query_patents, tiny_clip_arch, tiny_clip_checkpoint):
    import torch

    from core.adapt import list_adapted

    at = _app(f"query-patents:{query_patents}")
    assert any("No adapted models yet" in i.value for i in at.info)
    at.text_input(key="adapt_name").set_value("from-the-page")
    at.text_input(key="adapt_arch").set_value(tiny_clip_arch)
    at.text_input(key="adapt_pre").set_value(str(tiny_clip_checkpoint))
    at.number_input(key="adapt_batch").set_value(512)
    at.number_input(key="adapt_epochs").set_value(1)
    at.button[0].click().run()  # the form's Train button
    assert any("fewer than one batch of 512" in e.value for e in at.error) and not list_adapted()
    at.number_input(key="adapt_batch").set_value(32)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        at.button[0].click().run()
        _wait_for_training(at)  # the training runs as a background job the page polls
    finally:
        torch.set_num_threads(n)
    assert not at.exception and not _errors(at), (at.exception, at.error)
    models = list_adapted()
    assert [m.name for m in models] == ["from-the-page"] and models[0].provenance["epochs_trained"] == 1
    assert any(models[0].spec in s.value for s in at.success)
    assert any(m.label == "Training pairs" for m in at.metric)  # the page now shows it
