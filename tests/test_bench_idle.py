"""The benches' settle rule (bench.common.IdleClock) on a scripted poll sequence with a fake clock."""
from __future__ import annotations

import itertools

import bench.common as common


def _run(flags, polls=10, monkeypatch=None):
    ticks = itertools.count(100.0, 0.1)
    monkeypatch.setattr(common.time, "perf_counter", lambda: next(ticks))
    clock = common.IdleClock(polls)
    for i, running in enumerate(flags):
        idle = clock.observe(running)
        if idle is not None:
            return i, idle
    return None


def test_settled_after_exactly_the_number_of_quiet_polls(monkeypatch):
    # constructor reads the clock once (100.0); the first quiet poll reads 100.1
    assert _run([False] * 9, monkeypatch=monkeypatch) is None            # 9 quiet polls: not yet
    i, idle = _run([False] * 10, monkeypatch=monkeypatch)                # the 10th settles
    assert i == 9 and abs(idle - 100.1) < 1e-9


def test_a_running_poll_starts_the_count_again_and_idle_is_the_last_start(monkeypatch):
    flags = [False] * 5 + [True] + [False] * 9
    assert _run(flags, monkeypatch=monkeypatch) is None
    i, idle = _run(flags + [False], monkeypatch=monkeypatch)
    assert i == 15
    assert abs(idle - 100.2) < 1e-9  # the reads: init, 5 quiet (first at 100.1), then the quiet run's first at 100.2
