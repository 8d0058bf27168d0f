"""Agreement: kappa and alpha equal the libraries' and a hand computation; majority, adjudication."""
from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from core.annotation.agreement import (
    answers,
    cohen_kappa,
    confusion,
    disagreements,
    judgement_set,
    judgement_sets,
    krippendorff_alpha,
    majority,
    pairwise,
)
from core.annotation.judgements import ADJUDICATOR, JudgementStore, PairJudgement

A = [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]
B = [1, 1, 1, 0, 0, 0, 0, 1, 1, 0]


def _judged(values, axis="visual", skip=()):
    return {("q", f"c{i}"): PairJudgement("q", f"c{i}", {} if v is None else {axis: v}, i in skip)
            for i, v in enumerate(values)}


def test_hand_computed_case():
    a, b = answers(_judged(A), "visual"), answers(_judged(B), "visual")
    assert confusion(a, b) == ((4, 1), (1, 4))
    # p_o = 0.8, p_e = 0.5*0.5 + 0.5*0.5 = 0.5 -> kappa = 0.3 / 0.5
    assert cohen_kappa(a, b) == pytest.approx(0.6, abs=1e-12)
    # coincidences o_01 = o_10 = 2, n = 20, n_0 = n_1 = 10: alpha = 1 - 19 * 4 / 200
    assert krippendorff_alpha({"a": _judged(A), "b": _judged(B)}, "visual") == pytest.approx(0.62, abs=1e-12)


def test_equal_to_the_libraries_on_random_data_with_gaps():
    rng = random.Random(7)
    for trial in range(20):
        n = rng.randint(5, 40)
        people = {}
        for name in "abcd"[: rng.randint(2, 4)]:
            vals = [rng.choice([0, 1, 1, None]) for _ in range(n)]
            people[name] = _judged(vals, skip={i for i in range(n) if rng.random() < 0.1})
        data = np.array([[answers(j, "visual").get(("q", f"c{i}"), np.nan) for i in range(n)]
                         for j in people.values()])
        ours = krippendorff_alpha(people, "visual")
        keep = (~np.isnan(data)).sum(0) >= 2
        vals = data[:, keep]
        if keep.any() and len(np.unique(vals[~np.isnan(vals)])) > 1:
            assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"),
                                         abs=1e-12)
        for pa in pairwise(people, "visual"):
            x, y = answers(people[pa.a], "visual"), answers(people[pa.b], "visual")
            shared = sorted(x.keys() & y.keys())
            assert pa.n == len(shared) == sum(map(sum, pa.confusion))
            if shared and len({x[p] for p in shared} | {y[p] for p in shared}) > 1:
                assert pa.kappa == pytest.approx(cohen_kappa_score([x[p] for p in shared], [y[p] for p in shared]),
                                                 abs=1e-12)
            else:
                assert math.isnan(pa.kappa)


def test_majority_disagreements_and_adjudication(tmp_path, monkeypatch):
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path))
    store = JudgementStore("demo")
    votes = {"ann": [1, 1, 0, None], "ben": [1, 0, 0, 1], "cy": [0, 0, 1, 0]}
    for name, vals in votes.items():
        j = store.journal(name)
        for i, v in enumerate(vals):
            j.record("q", f"c{i}", {"visual": v, "semantic": 1, "part_whole": 0})
    people = store.all_judgements()
    # c0: 1,1,0 -> 1 ; c1: 1,0,0 -> 0 ; c2: 0,0,1 -> 0 ; c3: (unsure),1,0 -> tie, left out
    assert majority(people, "visual") == {("q", "c0"): 1, ("q", "c1"): 0, ("q", "c2"): 0}
    dis = disagreements(people)
    assert [(d.candidate, d.axis) for d in dis] == [("c0", "visual"), ("c1", "visual"), ("c2", "visual"),
                                                    ("c3", "visual")]
    assert dis[3].votes == {"ben": 1, "cy": 0} and dis[3].adjudicated is None
    store.journal(ADJUDICATOR).record("q", "c3", {"visual": 1})
    store.journal(ADJUDICATOR).record("q", "c0", {"visual": 0})
    assert disagreements(store.all_judgements(), store.journal(ADJUDICATOR).judgements())[3].adjudicated == 1
    assert judgement_sets(store) == ["annotator:ann", "annotator:ben", "annotator:cy", "majority", "adjudicated"]
    assert judgement_set("majority", store)["visual"] == {"q": {"c0": 1, "c1": 0, "c2": 0}}
    assert judgement_set("adjudicated", store)["visual"] == {"q": {"c0": 0, "c1": 0, "c2": 0, "c3": 1}}
    assert judgement_set("adjudicated", store)["semantic"] == {"q": {f"c{i}": 1 for i in range(4)}}
    assert judgement_set("annotator:ann", store)["visual"] == {"q": {"c0": 1, "c1": 1, "c2": 0}}
    with pytest.raises(ValueError, match="annotators: adjudicated, ann"):
        judgement_set("annotator:zed", store)
    with pytest.raises(ValueError, match="unknown judgement set"):
        judgement_set("best", store)
