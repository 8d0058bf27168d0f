"""The ``families`` sampling option: the reference's value (``kept``) is the default of every
protocol, so ``upair`` pools are untouched; ``one-per-family`` leaves out drawn figures that copy
one already drawn for the query (checked by brute force over every pair)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core import load_corpus
from core.annotation.sampling import load_config, resolve_queries, sample_pools
from core.annotation.sampling.options import SAMPLING_PROTOCOLS, with_options
from core.annotation.sampling.sampler import _vectors
from core.families import MAX_HASH_BITS, MIN_COSINE, hamming


def test_every_protocol_keeps_families_as_the_reference():
    assert {name: o.families for name, o in SAMPLING_PROTOCOLS.items()} == {n: "kept" for n in SAMPLING_PROTOCOLS}
    assert "families=one-per-family" in with_options(SAMPLING_PROTOCOLS["upair"], {"families": "one-per-family"}) \
        .differences()


@pytest.mark.slow
def test_one_per_family_drops_exactly_the_copies(cache, monkeypatch):
    corpus = load_corpus("demo")
    cfg = load_config(None)
    queries = resolve_queries(corpus)[:6]
    # every figure gets one hash, so the encoder's cosine alone decides (the demo has no copies)
    import core.families as fam

    monkeypatch.setattr(fam, "corpus_hashes", lambda c, ids=None: {f.id: 7 for f in c.figures})
    plain = sample_pools(corpus, queries, cfg, seed=3, show_bar=False)
    one = sample_pools(corpus, queries, dataclasses.replace(
        cfg, options=with_options(cfg.options, {"families": "one-per-family"})), seed=3, show_bar=False)
    x, _ = _vectors(corpus, queries, cfg.index(cfg.dedup_index), show_bar=False)
    vec = {f.id: x[i] / max(np.linalg.norm(x[i]), 1e-12) for i, f in enumerate(corpus.figures)}
    dropped_any = 0
    for a, b in zip(plain.draws, one.draws):
        assert [c.id for c in a.cited] == [c.id for c in b.cited]
        drawn = [c.id for c in b.cited]
        for ga, gb in zip(a.groups, b.groups):
            kept_a, kept_b = [c.id for c in ga.kept], [c.id for c in gb.kept]
            assert kept_b == [i for i in kept_a if i not in gb.family_copies]  # only copies are left out
            for i in kept_a:  # brute force: a figure is dropped iff it copies an earlier drawn one
                earlier = drawn + [j for j in kept_a[: kept_a.index(i)] if j not in gb.family_copies]
                is_copy = any(float(vec[i] @ vec[j]) >= MIN_COSINE - 1e-6 for j in earlier)
                assert (i in gb.family_copies) == is_copy, (b.query.id, gb.name, i)
            drawn += kept_b
            dropped_any += len(gb.family_copies)
    assert dropped_any > 0  # the check above ran on real drops
    assert hamming(7, 7) <= MAX_HASH_BITS


@pytest.mark.slow
def test_sample_page_switch_is_off_by_default_and_draws_one_per_family(cache):
    """The Sample page: the labelled switch starts off (the reference's pools); on, the table equals
    core's draw under ``families=one-per-family`` and counts the copies left out."""
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py"), default_timeout=300)
    at.session_state["corpus_pick"] = "demo"
    at.session_state["encoders"] = ["hog"]
    at.run()
    at.switch_page("../pages/sample.py").run()
    assert not at.exception, at.exception
    assert at.toggle(key="sample_families").value is False
    assert "left out (family copy)" not in at.dataframe[0].value.columns
    at.toggle(key="sample_families").set_value(True).run()
    assert not at.exception, at.exception
    corpus = load_corpus("demo")
    cfg = load_config(None)
    qid = resolve_queries(corpus)[0].id
    want = sample_pools(corpus, [corpus.by_id[qid]], dataclasses.replace(
        cfg, options=with_options(cfg.options, {"families": "one-per-family"})), seed=1, show_bar=False).draws[0]
    table = at.dataframe[0].value
    rows = {r["group"]: r for _, r in table.iterrows() if r["group"] != "Cited"}
    assert [int(r["kept"]) for r in rows.values()] == [len(g.kept) for g in want.groups]
    assert [int(r["left out (family copy)"]) for r in rows.values()] == [len(g.family_copies) for g in want.groups]
    assert any("families=one-per-family" in c.value for c in at.caption)
