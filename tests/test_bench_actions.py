"""bench/actions.py: its percentiles agree with numpy's, CPU time is read from /proc, the report
puts the before table beside today's, and (slow, browser) its quick mode drives every action."""
from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from bench import actions
from bench.common import Section


@pytest.mark.parametrize("xs", [[1.0], [3.0, 1.0], [0.2, 0.5, 0.1, 4.0, 0.3], list(np.linspace(0, 1, 17))])
def test_percentile_agrees_with_numpy(xs):
    for q in (0.0, 0.5, 0.95, 1.0):
        assert actions._percentile(list(xs), q) == pytest.approx(float(np.percentile(xs, q * 100)), abs=1e-12)


def test_summarise_splits_wall_and_cpu():
    table = actions.summarise({"star": [(0.4, 0.1), (0.6, 0.3), (2.0, 0.2)], "empty": []})
    assert set(table) == {"star"}
    r = table["star"]
    assert r["n"] == 3 and r["p50_s"] == 0.6 and r["cpu_p50_s"] == 0.2
    assert r["p95_s"] == pytest.approx(np.percentile([0.4, 0.6, 2.0], 95))


def test_cpu_seconds_of_this_process_grows_with_work():
    before = actions.cpu_seconds(os.getpid())
    t = time.process_time()
    while time.process_time() - t < 0.15:
        sum(i * i for i in range(1000))
    after = actions.cpu_seconds(os.getpid())
    assert after - before == pytest.approx(time.process_time() - t, abs=0.06)
    assert actions.cpu_seconds(None) == 0.0 and actions.cpu_seconds(2**22 + 12345) == 0.0  # no such process


def test_section_puts_before_beside_after(tmp_path, monkeypatch):
    before = {"commit": "abc1234", "date": "d", "reps": 3, "load": "1.0",
              "actions": {"star": {"n": 3, "p50_s": 4.0, "p95_s": 5.0, "cpu_p50_s": 0.5, "cpu_p95_s": 0.6}}}
    path = tmp_path / "before.json"
    path.write_text(json.dumps(before))
    monkeypatch.setattr(actions, "BEFORE", path)
    monkeypatch.setattr(actions, "chromium_path", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(actions, "measure", lambda cache, reps, enc="", search_only=False: (
        {a: [(1.5, 0.1)] * reps if a == "star" else [] for a in actions.ACTIONS}, []))
    sec = actions.run(tmp_path, quick=True)
    (row,) = sec.rows
    assert row["action"] == "star" and row["before_p50_s"] == 4.0 and row["p50_s"] == 1.5
    assert row["ratio_p50"] == pytest.approx(4.0 / 1.5) and row["under_1s"] == "yes"
    assert any("abc1234" in n for n in sec.notes)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(actions.chromium_path() is None, reason="needs Debian's chromium")
def test_quick_bench_drives_every_action(tmp_path_factory):
    """The quick bench's actions section (the run the bench smoke test reads, tests/bench_runs.py)."""
    from tests.bench_runs import quick_bench

    proc, out = quick_bench(tmp_path_factory, "actions")
    assert (out / "report.json").is_file(), proc["stdout"][-3000:] + proc["stderr"][-3000:]
    sec = Section.from_json(json.loads((out / "report.json").read_text())["sections"]["actions"])
    assert not sec.error, sec.error
    assert [r["action"] for r in sec.rows] == actions.ACTIONS[:6]  # quick: the Search page's actions
    assert not any("errors" in n for n in sec.notes), sec.notes
    for r in sec.rows:
        assert 0 < r["p50_s"] < 120 and r["cpu_p50_s"] >= 0
