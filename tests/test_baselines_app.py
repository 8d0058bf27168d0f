"""The training-free baselines say what they are, and the one step that gives a trained model."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.mark.parametrize("page", ["search", "scores"])
def test_baselines_alone_are_labelled_with_the_step_to_a_trained_model(cache, page):
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog", "tfidf"]
    at.run()
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    notes = [c.value for c in at.caption if "training-free baseline" in c.value]
    assert len(notes) == 1, [c.value for c in at.caption]
    assert "HOG, TF-IDF are training-free baselines" in notes[0]
    assert "fetch-weights clip:ViT-B-16:laion400m_e32" in notes[0] and "-m core" in notes[0]


def test_the_note_names_a_single_baseline_in_the_singular():
    from dashboard.components.status import baseline_note

    assert "AHDH is a training-free baseline (" in baseline_note(("ahdh",))
