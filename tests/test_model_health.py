"""Degenerate adapted models are named, never defaulted (core.adapt.health): chance loss
against an independent computation of open_clip's validation loss, collapse against brute
force, ties, the default encoder choice, and a tiny CLIP trained to chance flagged in the
CLI and on the Models page and left out of a fresh session's encoders (two AppTest sessions)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from core.adapt.health import (COLLAPSE_COSINE, all_tie, chance_loss, collapse_share, default_specs, loss_problem,
                               tie_message)

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


def _open_clip_val_loss_of_uniform_logits(n: int, batch: int) -> float:
    """What open_clip_train's evaluate reports for a model whose logits are all equal: the
    symmetric cross-entropy per batch, weighted by the batch's size (last batch smaller)."""
    import torch
    import torch.nn.functional as F

    total, seen = 0.0, 0
    for start in range(0, n, batch):
        b = min(batch, n - start)
        logits = torch.zeros(b, b)
        labels = torch.arange(b)
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
        total += float(loss) * b
        seen += b
    return total / seen


@pytest.mark.parametrize("n,batch", [(12, 256), (256, 256), (300, 256), (1000, 64), (7, 3), (1, 8)])
def test_chance_loss_equals_open_clips_loss_of_a_blind_model(n, batch):
    assert chance_loss(n, batch) == pytest.approx(_open_clip_val_loss_of_uniform_logits(n, batch), abs=1e-6)
    if n < batch:
        assert chance_loss(n, batch) == pytest.approx(math.log(n))  # the case: ln 12 = 2.485


def test_loss_problem_thresholds():
    prov = lambda loss: {"kept_val": {"val_loss": loss}, "val_pairs": 12, "hyperparameters": {"batch_size": 256}}
    assert "at chance" in loss_problem(prov(2.485)) and "2.485" in loss_problem(prov(2.485))
    assert loss_problem(prov(math.log(12) * 0.985)) is not None  # within 2 %
    assert loss_problem(prov(math.log(12) * 0.97)) is None  # learnt something
    assert "worse than chance" in loss_problem(prov(3.9))
    assert "diverged" in loss_problem(prov(float("nan")))
    assert loss_problem({}) is None


def test_collapse_share_matches_brute_force():
    rng = np.random.default_rng(1)
    base = rng.normal(size=64)
    collapsed = base + 1e-3 * rng.normal(size=(300, 64))
    spread = rng.normal(size=(300, 64))
    mixed = np.vstack([collapsed[:150], spread[:150]])
    for v in (collapsed, spread, mixed):
        u = v / np.linalg.norm(v, axis=1, keepdims=True)
        cos = u @ u.T
        iu = np.triu_indices(len(u), 1)
        exact = float(np.mean(cos[iu] > COLLAPSE_COSINE))
        share, n = collapse_share(v)
        assert n == 2000
        assert abs(share - exact) < 0.05  # 2,000 samples: binomial s.d. ≤ 0.011
    assert collapse_share(collapsed)[0] == 1.0 and collapse_share(spread)[0] == 0.0
    assert collapse_share(np.zeros((5, 4))) == (0.0, 0)  # unreadable rows only


def test_ties_and_defaults():
    assert all_tie([1.0] * 10) and all_tie([0.5, 0.5 + 1e-7]) and not all_tie([0.5, 0.51]) and not all_tie([1.0])
    assert tie_message("CLIP x", [1.0] * 10).startswith("CLIP x: all 10 hits have cosine 1.000 — this encoder does "
                                                        "not distinguish these figures")
    assert default_specs(["hog", "clip:A:cache/weights/m.pt", "tfidf"], ["clip:A:cache/weights/m.pt"]) == ["hog", "tfidf"]


@pytest.fixture
def chance_model(cache, query_patents, tiny_clip_arch):
    """A tiny CLIP from random weights, trained one epoch at a negligible learning rate: at chance."""
    import torch

    from core.adapt import AdaptConfig, adapt
    from core.corpora import load_corpus

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        cfg = AdaptConfig(arch=tiny_clip_arch, pretrained="none", lr=1e-9, batch_size=16, epochs=1, warmup=0)
        res = adapt(load_corpus(f"query-patents:{query_patents}"), "blind", cfg)
    finally:
        torch.set_num_threads(n)
    return res.model


@pytest.mark.shared
@pytest.mark.slow
def test_a_model_trained_to_chance_is_flagged_and_never_defaulted(chance_model, cache, query_patents, capsys,
                                                                   fresh_streamlit_caches):
    from streamlit.testing.v1 import AppTest

    from core.cli import main
    from core.adapt.health import health
    from core.encoders import default_encoders, known_encoders

    p = chance_model.provenance
    loss, chance = p["kept_val"]["val_loss"], chance_loss(p["val_pairs"], p["hyperparameters"]["batch_size"])
    assert loss >= chance * 0.98, (loss, chance)  # the training's own log says chance
    h = health(chance_model)
    assert h.degenerate and " chance (" in h.problems[0]
    spec = chance_model.spec
    assert spec in known_encoders() and spec not in default_encoders()  # the CLI never runs it unasked

    assert main(["adapted"]) == 0
    out = capsys.readouterr().out
    assert "DEGENERATE" in out and "degenerate  blind: validation loss" in out
    assert main(["info", "--corpus", f"query-patents:{query_patents}"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if spec in ln)
    assert "DEGENERATE adapted model, never selected by default" in line

    sessions = []
    for _ in range(2):  # two sessions (browsers) of one server: neither switches the model on
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.session_state["corpus_pick"] = f"query-patents:{query_patents}"
        at.run()
        assert not at.exception, at.exception
        assert spec not in at.session_state["encoders"] and "hog" in at.session_state["encoders"]
        at.switch_page("../pages/models.py").run()
        assert not at.exception, at.exception
        assert any("Degenerate model" in e.value and " chance (" in e.value for e in at.error)
        assert spec not in at.session_state["encoders"]
        sessions.append(at)
    # the user picks it: then it is used, with a warning in the sidebar
    at = sessions[1]
    at.sidebar.multiselect(key="encoders").set_value(["hog", spec]).run()
    assert not at.exception, at.exception
    assert spec in at.session_state["encoders"]
    assert any("degenerate model" in w.value for w in at.sidebar.warning)
    assert spec not in sessions[0].session_state["encoders"]
    # the embeddings check on the Models page encodes the corpus once and records the result
    from core.adapt.health import collapse_record

    at = sessions[0]
    at.button(key="models_health_blind").click().run()
    assert not at.exception, at.exception
    rec = collapse_record("blind")
    assert len(rec) == 1 and next(iter(rec.values()))["pairs"] == 2000
    assert any("checked on 1 corpus." in c.value for c in at.caption)


def test_collapse_is_recorded_and_flags_the_model(cache, monkeypatch):
    """A collapse check recorded for a model marks it degenerate (no training needed: a
    hand-written sidecar with a healthy loss)."""
    from core.adapt import provenance as prov
    from core.adapt.health import check_embeddings, health

    prov.weights_dir().mkdir(parents=True)
    prov.weights_path("flat").write_bytes(b"x")
    prov.write_sidecar("flat", {"arch": "ViT-B-16", "kept_val": {"val_loss": 1.0}, "val_pairs": 100,
                                "hyperparameters": {"batch_size": 32}})
    model = prov.list_adapted()[0]
    assert not health(model).degenerate and health(model).checked_corpora == 0

    class _C:
        fingerprint, name = "f" * 64, "demo"

    class _E:
        vectors = np.tile(np.eye(1, 8), (50, 1)).astype(np.float32)

    rec = check_embeddings(model.spec, _C(), _E())
    assert rec["collapsed"] and rec["share_above"] == 1.0
    h = health(model)
    assert h.degenerate and "embeddings collapsed on demo: 100% of 2,000 sampled figure pairs" in h.problems[0]
    assert check_embeddings("hog", _C(), _E()) is None


@pytest.mark.slow
def test_search_says_when_an_encoders_hits_all_tie(cache, monkeypatch, fresh_streamlit_caches):
    """An encoder whose ten hits all score 1.000 is named on the Search page (the other is not)."""
    from streamlit.testing.v1 import AppTest

    from core import load_corpus
    from dashboard.services import search as search_services

    corpus = load_corpus("demo")
    ids = [f.id for f in corpus.figures[1:11]]

    def fake(corpus_spec, query, encoders, k, text=None):
        return {"hog": {"ids": ids, "scores": [1.0] * 10, "error": None},
                "ahdh": {"ids": ids, "scores": [0.9 - i / 100 for i in range(10)], "error": None}}

    monkeypatch.setattr(search_services, "search_results", fake)
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog", "ahdh"]
    at.run()
    at.session_state["query_trail"] = [corpus.figures[0].id]
    at.switch_page("../pages/search.py").run()
    assert not at.exception, at.exception
    ties = [w.value for w in at.warning if "does not distinguish" in w.value]
    assert ties == ["HOG: all 10 hits have cosine 1.000 — this encoder does not distinguish these figures "
                    "(their order is arbitrary)."]
