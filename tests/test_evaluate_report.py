"""`python -m core evaluate` with --incomplete, --bootstrap and --pool-bias, through the CLI:
printed blocks, results.csv columns, and the official values unchanged by the options."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy import stats

from core.cli import main


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    """One cache for this module's demo runs (the demo is embedded once, not per test)."""
    mp = pytest.MonkeyPatch()
    d = tmp_path_factory.mktemp("report-cache")
    mp.setenv("UPAIR_CACHE", str(d))
    yield d
    mp.undo()


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow  # embeds the demo with HOG and AHDH once (~30 s on 2 shared cores)
def test_incomplete_flag_adds_the_measures_and_bootstrap_columns(demo_cache, tmp_path, capsys):
    out = tmp_path / "ev"
    args = ["evaluate", "--corpus", "demo", "--encoders", "hog,ahdh", "--runs", "image", "--out", str(out)]
    assert main(args + ["--incomplete", "--bootstrap", "200", "--bootstrap-seed", "3"]) == 0
    text = capsys.readouterr().out
    for label in ("bpref", "infAP", "condensed MAP", "condensed nDCG@10"):
        assert label in text
    assert "200 resamples, seed 3" in text and "(CI, n = " in text
    assert "rank every pair of systems the same way" in text  # the demo is fully judged
    rows = _rows(out / "results.csv")
    assert {r["metric"] for r in rows} == {"AP", "nDCG@10", "RR", "R@1", "Bpref", "infAP",
                                           "AP(judged_only=True)", "nDCG(judged_only=True)@10"}
    per_q = _rows(out / "per_query.csv")
    r = next(r for r in rows if r["encoder"] == "hog" and r["axis"] == "visual" and r["metric"] == "Bpref")
    x = np.array([float(p["value"]) for p in sorted(per_q, key=lambda p: p["qid"])
                  if p["encoder"] == "hog" and p["axis"] == "visual" and p["metric"] == "Bpref"])
    ref = stats.bootstrap((x,), np.mean, n_resamples=200, method="percentile", rng=np.random.default_rng(3))
    assert float(r["ci_low"]) == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert float(r["ci_high"]) == pytest.approx(ref.confidence_interval.high, abs=1e-12)
    assert r["ci_resamples"] == "200" and r["ci_seed"] == "3"
    # without the options: the same values, no CI columns, no incomplete measures
    out2 = tmp_path / "ev2"
    assert main(["evaluate", "--corpus", "demo", "--encoders", "hog,ahdh", "--runs", "image", "--out", str(out2),
                 "--bootstrap", "0"]) == 0
    assert "resamples" not in capsys.readouterr().out
    plain = _rows(out2 / "results.csv")
    assert "ci_low" not in plain[0] and {r["metric"] for r in plain} == {"AP", "nDCG@10", "RR", "R@1"}
    full = {(r["encoder"], r["axis"], r["metric"]): r["value"] for r in rows}
    assert all(full[(r["encoder"], r["axis"], r["metric"])] == r["value"] for r in plain)


def test_pool_bias_with_stated_encoders(demo_cache, capsys):
    assert main(["evaluate", "--corpus", "demo", "--encoders", "hog,ahdh", "--runs", "image", "--metrics", "AP",
                 "--bootstrap", "0", "--pool-encoders", "hog@clean"]) == 0
    text = capsys.readouterr().out
    assert "sampled with: hog@clean (stated by the user)" in text
    lines = {ln.split()[0]: ln.split() for ln in text.splitlines() if ln.startswith(("hog ", "ahdh "))
             and "%" in ln}
    assert lines["hog"][2] == "yes" and lines["ahdh"][2] == "no"


@pytest.mark.parametrize("value", ["5", "-1", "x"])
def test_bad_bootstrap_value_names_the_flag(value, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--corpus", "demo", "--encoders", "hog", "--bootstrap", value])
    assert "--bootstrap" in capsys.readouterr().err


def test_upair_samples_values_unchanged_by_the_options(cache, upair_samples, tmp_path, capsys):
    base = ["evaluate", "--corpus", f"upair:{upair_samples}", "--encoders", "hog", "--runs", "image",
            "--allow-problems"]
    assert main(base + ["--bootstrap", "0", "--out", str(tmp_path / "a")]) == 0
    assert main(base + ["--incomplete", "--pool-bias", "--out", str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    assert "UPAIR's reference sampler" in text and "protocol upair" in text
    a = {(r["axis"], r["metric"]): r["value"] for r in _rows(tmp_path / "a" / "results.csv")}
    b = {(r["axis"], r["metric"]): r["value"] for r in _rows(tmp_path / "b" / "results.csv")}
    assert a and all(b[k] == v for k, v in a.items())
