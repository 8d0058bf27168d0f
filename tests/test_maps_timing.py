"""The Map's time estimate comes from measured fits: arithmetic on made-up records (fast), and a
real cold first fit in a fresh process predicted within 2x from an earlier process's measurement (slow)."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import maps_timing as mt

C = {"import_s": 2.0, "jit_s": 7.0}
ROOT = Path(__file__).resolve().parent.parent


def test_no_measurement_means_no_estimate(tmp_path):
    assert mt.fits(tmp_path / "none.json") == []
    assert mt.estimate(500, 64, need_import=True, cold=True, constants=C, measured=[], load_now=0) is None


def test_warm_estimate_is_linear_in_points_and_scales_with_load():
    warm = mt.Fit(n=1000, dim=512, seconds=1.0 + 3.0, load=0.5)  # 3 s of per-point work at a free machine
    one = mt.estimate(1000, 512, need_import=False, cold=False, constants=C, measured=[warm], load_now=0.2)
    two = mt.estimate(2000, 512, need_import=False, cold=False, constants=C, measured=[warm], load_now=0.2)
    assert one == pytest.approx(4.0) and two == pytest.approx(7.0)
    busy = mt.estimate(1000, 512, need_import=False, cold=False, constants=C, measured=[warm], load_now=3.0)
    assert busy == pytest.approx(12.0)  # three runnable processes per core: three times as long
    at_load = mt.Fit(n=1000, dim=512, seconds=8.0, load=2.0)  # measured on a busy machine: 4 s unloaded
    assert mt.estimate(1000, 512, need_import=False, cold=False, constants=C, measured=[at_load],
                       load_now=0) == pytest.approx(4.0)


def test_cold_parts_come_from_the_measured_cold_fit():
    cold = mt.Fit(n=1000, dim=512, seconds=2.5 + 10.0 + 1.0 + 3.0, import_s=2.5, cold=True)
    warm = mt.Fit(n=1000, dim=512, seconds=4.0)
    got = mt.estimate(1000, 512, need_import=True, cold=True, constants=C, measured=[cold, warm], load_now=0)
    assert got == pytest.approx(4.0 + 10.0 + 2.5)  # warm fit + measured compile + measured import
    only_cold = mt.estimate(1000, 512, need_import=True, cold=True, constants=C, measured=[cold], load_now=0)
    assert only_cold == pytest.approx(1.0 + (16.5 - 1.0 - 2.5 - 7.0) + 7.0 + 2.5)  # constant JIT used once


def test_log_is_atomic_bounded_and_ignores_damage(tmp_path):
    path = tmp_path / "maps" / "fit-times.json"
    for i in range(mt.KEEP + 5):
        mt.record(mt.Fit(n=100 + i, dim=8, seconds=1.0), path)
    got = mt.fits(path)
    assert len(got) == mt.KEEP and got[-1].n == 100 + mt.KEEP + 4
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    path.write_text("{not json")
    assert mt.fits(path) == []
    path.write_text(json.dumps([{"n": -1, "dim": 8, "seconds": 1}]))
    assert mt.fits(path) == []  # implausible records are not used
    mt.record(mt.Fit(n=5, dim=8, seconds=1.0), path)  # a damaged log is replaced
    assert [f.n for f in mt.fits(path)] == [5]


FIT = """
import sys, time, json
import numpy as np
from core import config, maps
with config.use_cache(sys.argv[1]):
    x = np.random.default_rng(int(sys.argv[2])).normal(size=(int(sys.argv[3]), 32)).astype(np.float32)
    est = maps.estimate_seconds(len(x), x.shape[1])
    t = time.perf_counter()
    maps._layout(x, maps.MapParams())
    print(json.dumps({"estimate": est, "real": time.perf_counter() - t}))
"""


@pytest.mark.slow
def test_first_map_of_a_fresh_process_is_predicted_within_2x(tmp_path):
    """As on the Map page's first open after a restart: umap not imported, numba not compiled."""
    def fit(seed: int, n: int) -> dict:
        out = subprocess.run([sys.executable, "-c", FIT, str(tmp_path), str(seed), str(n)], cwd=ROOT,
                             capture_output=True, text=True, timeout=600,
                             env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    fit(1, 400)  # the measurement (its estimate came from the constants)
    got = fit(2, 600)
    assert got["real"] / 2 <= got["estimate"] <= got["real"] * 2, got
