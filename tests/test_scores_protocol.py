"""The Scores page names the evaluation protocol and lets the researcher switch it."""
from __future__ import annotations

import pytest

from core.corpora import load_corpus

from .test_app import _app


@pytest.mark.shared
@pytest.mark.slow
def test_scores_page_protocol_control(cache, upair_samples):
    from core.evaluation import evaluate

    spec = f"upair:{upair_samples}"
    at = _app(spec, encoders=["hog", "tfidf"])
    at.switch_page("../pages/scores.py").run()
    assert not at.exception and not at.error
    box = at.selectbox(key="score_protocol")
    assert box.value == "upair"  # the official protocol is the default on a UPAIR-layout corpus
    notes = [c.value for c in at.caption if "Protocol **" in c.value]
    assert len(notes) >= 4 and all("UPAIR (official)" in n for n in notes)  # beside every table and chart

    def shown_ap(at) -> dict[str, float]:
        df = at.dataframe[0].value  # visual axis
        return {i.split(" ▼")[0]: float(df.loc[i, "MAP"]) for i in df.index}

    corpus = load_corpus(spec)
    for protocol in ("upair", "clean"):
        if protocol != box.value:
            at.selectbox(key="score_protocol").set_value(protocol).run()
            assert not at.exception and not at.error
            notes = [c.value for c in at.caption if "Protocol **" in c.value]
            assert notes and all("clean (this project)" in n for n in notes)
        exp = evaluate(corpus, ["hog", "tfidf"], protocol=protocol).table
        exp = exp[(exp.axis == "visual") & (exp.metric == "AP") & (exp.encoder == "hog")]
        got = shown_ap(at)
        for r in exp.itertuples():
            assert abs(got[f"HOG · {r.run}"] - r.value) < 1e-12
