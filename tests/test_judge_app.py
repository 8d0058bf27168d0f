"""AppTests of the Judge page: a whole judging session with the buttons, the journal, resume,
undo, skip, export read back, agreement and adjudication."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.annotation.agreement import judgement_set
from core.annotation.judgements import ADJUDICATOR, JudgementStore
from core.annotation.judgements_qrels import export_qrels
from core.annotation.judgements_queue import blind_order
from core.annotation.pooling import benchmark_pool
from core.qrels import read_qrels

pytestmark = pytest.mark.shared
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
AXES = ("visual", "semantic", "part_whole")
WORD = {1: "yes", 0: "no", None: "unsure"}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path, cache):
    import streamlit as st

    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "judgements"))
    st.cache_data.clear()
    st.cache_resource.clear()


def _judge(spec: str, annotator: str | None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["corpus_pick"] = spec
    at.session_state["encoders"] = ["hog"]
    at.run()
    at.switch_page("../pages/judge.py").run()
    assert not at.exception, at.exception
    if annotator:
        at.text_input(key="annotator").input(annotator).run()
        assert not at.exception and not at.error, (at.exception, at.error)
    return at


def _pair_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Pair "))


def _answer(at, values: dict) -> None:
    for axis in AXES:
        at.button(key=f"judge-{axis}-{WORD[values[axis]]}").click().run()
        assert not at.exception, at.exception


def test_whole_session_journal_undo_resume_export(upair_samples, tmp_path):
    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    official = corpus.benchmark.qrels
    order = blind_order(benchmark_pool(corpus).pairs, "alice", "benchmark")
    truth = {p: {a: official[a][p[0]][p[1]] for a in AXES} for p in order}

    at = _judge(spec, None)
    assert any("Type your name" in i.value for i in at.info)  # no name, no judging
    at.text_input(key="annotator").input("alice").run()
    assert _pair_caption(at).startswith("Pair 1 of 5")
    # blind: nothing on the page names an encoder, a rank or a score
    texts = " ".join(m.value for m in at.main.markdown) + " ".join(c.value for c in at.main.caption)
    assert not any(name in texts for name in ("HOG", "AHDH", "TF-IDF", "CLIP", "Rank", "similarity"))

    at.select_slider(key="judge_zoom").set_value(2.0).run()  # zoomed: the figures scroll in their frames
    assert not at.exception and len(at.main.get("image")) == 2
    _answer(at, truth[order[0]])  # three answers -> next pair by itself
    assert _pair_caption(at).startswith("Pair 2 of 5")
    _answer(at, {"visual": 1 - truth[order[1]]["visual"], **{a: truth[order[1]][a] for a in AXES[1:]}})
    at.button(key="judge-undo").click().run()  # withdraws the last answer and returns to that pair
    assert _pair_caption(at).startswith("Pair 2 of 5")
    at.button(key="judge-back").click().run()
    assert _pair_caption(at).startswith("Pair 1 of 5") and "Recorded: Visual" in _pair_caption(at)
    at.button(key="judge-next").click().run()
    _answer(at, truth[order[1]])  # correct the wrong visual answer
    at.button(key="judge-skip").click().run()  # pair 3 skipped
    assert _pair_caption(at).startswith("Pair 4 of 5")

    store = JudgementStore(spec)
    got = store.journal("alice").judgements()
    assert got[order[0]].axes == truth[order[0]] and got[order[1]].axes == truth[order[1]]
    assert got[order[2]].skip and order[3] not in got
    lines = store.journal("alice").path.read_text().splitlines()
    assert len(lines) == 3 + 3 + 1 + 3 + 1  # every click is a line, the undo too

    # a new session (another tab, a restart) resumes at the first pair not done
    at2 = _judge(spec, "alice")
    assert _pair_caption(at2).startswith("Pair 4 of 5")
    _answer(at2, truth[order[3]])
    _answer(at2, truth[order[4]])
    assert any("All 5 pairs" in s.value for s in at2.success)

    # exported qrels read back equal to the official ones for what was judged (pair 3 was skipped)
    files = export_qrels(judgement_set("annotator:alice", store, corpus), tmp_path / "export")
    for axis, f in zip(AXES, files):
        expect = {q: dict(d) for q, d in official[axis].items() if q != order[2][0]}
        assert read_qrels(f)[0] == expect


def test_agreement_and_adjudication_pages(upair_samples):
    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    store = JudgementStore(spec)
    pairs = benchmark_pool(corpus).pairs
    for name, flip in (("ann", set()), ("ben", {pairs[0]})):
        j = store.journal(name)
        for p in pairs:
            v = corpus.benchmark.qrels["visual"][p[0]][p[1]]
            j.record(*p, {"visual": 1 - v if p in flip else v, "semantic": 1, "part_whole": 0})
    at = _judge(spec, "ann")
    at.segmented_control(key="judge_mode").set_value("Agreement").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["annotators"]) == ["ann / ben"] * 3
    assert list(table["shared pairs"]) == [5, 5, 5]
    assert table["observed agreement"].iloc[0] == "0.800"
    at.segmented_control(key="judge_mode").set_value("Adjudicate").run()
    assert any("1 disagreement(s), 1 still open" in c.value for c in at.caption)
    at.button(key="adj-0-visual-yes").click().run()
    assert store.journal(ADJUDICATOR).judgements()[pairs[0]].axes == {"visual": 1}
    assert judgement_set("adjudicated", store)["visual"][pairs[0][0]][pairs[0][1]] == 1


def test_import_and_export_modes(upair_samples):
    from core.annotation.judgements_qrels import read_qrels_dir

    spec = f"upair:{upair_samples}"
    at = _judge(spec, "imp")
    at.segmented_control(key="judge_mode").set_value("Import / export").run()
    assert at.button(key="judge-import").disabled  # no set name yet
    at.text_input(key="judge_import_name").input("official").run()  # reserved: refused, button stays off
    assert at.error and at.button(key="judge-import").disabled
    at.text_input(key="judge_import_name").input("upair").run()
    assert at.button(key="judge-import").label == "Import into new set 'upair'"
    at.button(key="judge-import").click().run()
    assert any("Imported 5 judged pairs into set 'upair'" in s.value for s in at.success)
    store = JudgementStore(spec)
    assert judgement_set("annotator:upair", store) == read_qrels_dir(upair_samples)
    at.selectbox(key="judge_export_set").set_value("annotator:upair").run()
    at.button(key="judge-export-upair").click().run()
    assert not at.exception, at.exception
    out = next((store.dir / "exports").iterdir())
    again = load_corpus(f"upair:{out}")
    assert {a: dict(q) for a, q in again.benchmark.qrels.items()} == read_qrels_dir(upair_samples)


def _agreement_rows(at) -> list[tuple]:
    at.segmented_control(key="judge_mode").set_value("Agreement").run()
    t = at.dataframe[0].value
    return sorted(zip(t["axis"], t["annotators"], t["shared pairs"], t["Cohen's kappa"],
                      t["Krippendorff's alpha (all)"]))


def _recomputed(store) -> list[tuple]:
    """Agreement from the journal files alone, with sklearn and krippendorff called here."""
    import json
    import math

    import krippendorff
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    from core.corpora.base import AXIS_LABELS

    people = {}
    for name in store.annotators():
        cur = {}
        for line in store.journal(name).path.read_text().splitlines():
            rec = json.loads(line)
            if "undo" in rec:
                cur = {p: r for p, r in cur.items() if r["id"] != rec["undo"]}  # (no undo in this test)
            else:
                cur[(rec["query"], rec["candidate"])] = rec
        people[name] = cur
    fmt = lambda x: "—" if x is None or math.isnan(x) else f"{x:.3f}"  # noqa: E731
    rows = []
    for axis in AXES:
        ans = {n: {p: r["axes"][axis] for p, r in j.items() if r["axes"].get(axis) is not None}
               for n, j in people.items()}
        items = sorted({p for a in ans.values() for p in a})
        data = np.array([[ans[n].get(p, np.nan) for p in items] for n in sorted(ans)], dtype=float)
        alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        names = sorted(ans)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                shared = sorted(ans[a].keys() & ans[b].keys())
                ya, yb = [ans[a][p] for p in shared], [ans[b][p] for p in shared]
                k = None if len(set(ya) | set(yb)) < 2 else cohen_kappa_score(ya, yb, labels=[0, 1])
                rows.append((AXIS_LABELS[axis], f"{a} / {b}", len(shared), fmt(k), fmt(alpha)))
    return sorted(rows)


def test_import_into_a_used_name_needs_confirmation_undo_restores_bytes_agreement_follows(upair_samples):
    spec = f"upair:{upair_samples}"
    corpus = load_corpus(spec)
    store = JudgementStore(spec)
    pairs = benchmark_pool(corpus).pairs
    official = corpus.benchmark.qrels
    for name, flip in (("auditor1", {pairs[0], pairs[1]}), ("ben", {pairs[2]})):
        for p in pairs:
            store.journal(name).record(*p, {a: (1 - official[a][p[0]][p[1]]) if p in flip and a != "semantic"
                                            else official[a][p[0]][p[1]] for a in AXES})
    path = store.journal("auditor1").path
    before = path.read_bytes()
    at = _judge(spec, "auditor1")
    rows_before = _agreement_rows(at)
    assert rows_before == _recomputed(store)

    at.segmented_control(key="judge_mode").set_value("Import / export").run()
    at.text_input(key="judge_import_name").input("auditor1").run()
    assert at.warning and at.button(key="judge-import").disabled  # a used name: refused until confirmed
    assert path.read_bytes() == before
    at.checkbox(key="judge_import_add").check().run()
    assert at.button(key="judge-import").label == "Add to set 'auditor1'"
    at.button(key="judge-import").click().run()
    assert any("Imported 5 judged pairs into set 'auditor1'" in s.value for s in at.success)
    assert path.read_bytes() != before
    prov = " ".join(m.value for m in at.markdown if "auditor1" in m.value)
    assert "typed by auditor1: 5 line(s)" in prov and f"imported from {corpus.name} qrels" in prov
    rows_mid = _agreement_rows(at)
    assert rows_mid == _recomputed(store) and rows_mid != rows_before

    at.segmented_control(key="judge_mode").set_value("Import / export").run()
    at.button(key="judge-undo-import-auditor1").click().run()
    assert path.read_bytes() == before  # byte for byte
    assert _agreement_rows(at) == rows_before == _recomputed(store)
