"""Served mode: every write of the Judge page — an import into a set, the undo of an import, an
adjudication — goes through ``dashboard.identity.may_write`` in ``dashboard/services/judging.py``
(AppTests). Through the page: bob imports into his own set, is refused alice's (error, button off),
sees no "Undo import" of her set, and no adjudication queue (alice adjudicates); alice undoes her
own import and adjudicates. Below the page (a forged or stale widget event): the services refuse
bob's import into alice's set, his undo of her import and his adjudication, and nothing changes on
disk."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import load_corpus
from core.annotation.agreement import judgement_set
from core.annotation.judgements import ADJUDICATOR, JudgementStore
from core.annotation.judgements_qrels import read_qrels_dir
from core.annotation.judgements_sets import import_set
from core.annotation.pooling import benchmark_pool
from dashboard import serve

pytestmark = [pytest.mark.shared, pytest.mark.usefixtures("fresh_streamlit_caches")]
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture
def served(cache, upair_samples, tmp_path, monkeypatch):
    """Served mode on the UPAIR samples (5 benchmark pairs); alice adjudicates, bob does not."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[upair]\nadjudicators = ["alice"]\n[upair.annotators]\n'
                       f'alice = "{serve.hash_passphrase("a")}"\nbob = "{serve.hash_passphrase("b")}"\n')
    spec = f"upair:{upair_samples}"
    for k, v in {"UPAIR_SERVE": "1", "UPAIR_SECRETS": str(secrets), "UPAIR_CORPORA": f"Samples={spec}",
                 "UPAIR_JUDGEMENTS": str(tmp_path / "judgements"), "UPAIR_ENCODERS": ""}.items():
        monkeypatch.setenv(k, v)
    serve.policy.cache_clear()
    from streamlit import config as st_config

    details = st_config.get_option("client.showErrorDetails")
    yield spec
    st_config.set_option("client.showErrorDetails", details)
    serve.policy.cache_clear()


def _judge(who: str, mode: str) -> AppTest:
    """The Judge page in ``mode``, signed in as ``who`` (the passphrase sign-in has its own tests)."""
    at = AppTest.from_file(str(APP), default_timeout=240)
    at.session_state["_upair_signed_in"] = who
    at.run()
    at.switch_page("../pages/judge.py").run()
    assert not at.exception, at.exception
    at.segmented_control(key="judge_mode").set_value(mode).run()
    assert not at.exception, at.exception
    return at


def _keys(at) -> set[str]:
    return {b.key for b in at.button}


def test_an_annotator_imports_into_their_own_set_only(served, upair_samples):
    at = _judge("bob", "Import / export")
    at.text_input(key="judge_import_name").input("alice").run()
    assert any("you may not write the set 'alice'" in e.value for e in at.error)
    assert at.button(key="judge-import").disabled
    at.text_input(key="judge_import_name").input("bob").run()
    assert not at.error and at.button(key="judge-import").label == "Import into new set 'bob'"
    at.button(key="judge-import").click().run()
    assert any("Imported 5 judged pairs into set 'bob'" in s.value for s in at.success)
    store = JudgementStore(served)
    assert judgement_set("annotator:bob", store) == read_qrels_dir(upair_samples)
    assert store.annotators() == ["bob"]  # nothing went to alice
    assert "judge-export-upair" not in _keys(at)  # no folder written on the server, no path shown


def test_only_the_sets_owner_may_undo_its_import(served):
    corpus = load_corpus(served)
    store = JudgementStore(served)
    import_set(store, "alice", corpus.benchmark.qrels, "test", by="alice")
    before = store.journal("alice").path.read_bytes()
    at = _judge("bob", "Import / export")
    assert "judge-undo-import-alice" not in _keys(at)
    assert store.journal("alice").path.read_bytes() == before
    at = _judge("alice", "Import / export")
    at.button(key="judge-undo-import-alice").click().run()
    assert not at.exception, at.exception
    assert not store.journal("alice").judgements()  # restored to before the import (nothing)


def _disagreement(spec: str) -> tuple[JudgementStore, tuple[str, str]]:
    corpus = load_corpus(spec)
    store = JudgementStore(spec)
    pair = benchmark_pool(corpus).pairs[0]
    store.journal("alice").record(*pair, {"visual": 1, "semantic": 1, "part_whole": 0})
    store.journal("bob").record(*pair, {"visual": 0, "semantic": 1, "part_whole": 0})
    return store, pair


def test_only_adjudicators_adjudicate(served):
    store, pair = _disagreement(served)
    at = _judge("bob", "Adjudicate")
    assert any("Only the adjudicators may write the set 'adjudicated'" in i.value for i in at.info)
    assert not [k for k in _keys(at) if k and k.startswith("adj-")]
    at = _judge("alice", "Adjudicate")
    at.button(key="adj-0-visual-yes").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert store.journal(ADJUDICATOR).judgements()[pair].axes == {"visual": 1}


def _services_as_bob():
    """Bob calls the services directly, as a forged or stale widget event would."""
    import streamlit as st

    from core import load_corpus as load
    from core.annotation.judgements import ADJUDICATOR as ADJ
    from core.annotation.judgements import JudgementStore as Store
    from dashboard.services import judging

    st.session_state["_upair_signed_in"] = "bob"
    spec = st.session_state["spec"]
    store = Store(spec)
    pair = tuple(st.session_state["pair"])
    attempts = {
        "import": lambda: judging.import_qrels(store, load(spec), "alice", None, add=True, by="bob"),
        "undo": lambda: judging.undo_import(store, "alice", by="bob"),
        "adjudicate": lambda: judging.adjudicate(store.journal(ADJ), *pair, "visual", 0),
        "own": lambda: judging.import_qrels(store, load(spec), "bob", None, add=True, by="bob"),
    }
    for name, attempt in attempts.items():
        try:
            attempt()
            st.write(f"{name}: written")
        except judging.WriteRefused as exc:
            st.write(f"{name}: refused: {exc}")


def test_the_services_refuse_what_the_page_would_not_offer(served):
    store, pair = _disagreement(served)
    import_set(store, "alice", load_corpus(served).benchmark.qrels, "test", by="alice", add=True)
    before = {n: store.journal(n).path.read_bytes() for n in ("alice", ADJUDICATOR) if store.journal(n).path.exists()}
    at = AppTest.from_function(_services_as_bob, default_timeout=120)
    at.session_state["spec"], at.session_state["pair"] = served, list(pair)
    at.run()
    assert not at.exception, at.exception
    said = {m.value.split(":")[0]: m.value for m in at.markdown}
    assert said["import"] == "import: refused: On this server you may not write the set 'alice' (only your own)."
    assert said["undo"].startswith("undo: refused") and said["adjudicate"].startswith("adjudicate: refused")
    assert said["own"] == "own: written"  # bob's own set: the same call succeeds
    after = {n: store.journal(n).path.read_bytes() for n in ("alice", ADJUDICATOR) if store.journal(n).path.exists()}
    assert after == before and ADJUDICATOR not in before
