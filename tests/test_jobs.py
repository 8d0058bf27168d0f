"""``dashboard.jobs``: background work with progress, cancel, result and error, one job per key."""
from __future__ import annotations

import threading
import time

import pytest

from dashboard import jobs


def _wait(job, timeout=5.0):
    end = time.monotonic() + timeout
    while job.active and time.monotonic() < end:
        time.sleep(0.01)
    assert not job.active


def test_result_progress_and_one_job_per_key():
    gate = threading.Event()

    def work(progress):
        progress(1, 4, "one of four")
        gate.wait(5)
        progress(4, 4, "done")
        return 42

    job = jobs.start("t:result", "result", work, note="x")
    again = jobs.start("t:result", "second", lambda p: 0)
    assert again is job and job.meta == {"note": "x"}
    end = time.monotonic() + 5
    while job.done < 1 and time.monotonic() < end:
        time.sleep(0.01)
    assert job.active and job.fraction == 0.25 and job.message == "one of four" and job in jobs.running()
    gate.set()
    _wait(job)
    assert job.state == jobs.DONE and job.result == 42 and job.fraction == 1.0 and job.finished >= job.started
    jobs.forget("t:result")
    assert jobs.get("t:result") is None


def test_cancel_stops_at_the_next_progress_report():
    steps = []

    def work(progress):
        for i in range(1000):
            progress(i, 1000, f"step {i}")
            steps.append(i)
            time.sleep(0.005)
        return "finished"

    job = jobs.start("t:cancel", "cancel", work)
    while not steps:
        time.sleep(0.005)
    job.cancel()
    _wait(job)
    assert job.state == jobs.CANCELLED and job.result is None and len(steps) < 1000
    jobs.forget("t:cancel")


def test_a_failure_is_kept_with_its_message_and_a_new_start_runs_again():
    def boom(progress):
        raise ValueError("no pairs")

    job = jobs.start("t:fail", "fail", boom)
    _wait(job)
    assert job.state == jobs.FAILED and isinstance(job.error, ValueError) and "no pairs" in job.message
    rerun = jobs.start("t:fail", "fail", lambda p: "ok")  # a finished job does not block a new one
    assert rerun is not job
    _wait(rerun)
    assert rerun.result == "ok"
    jobs.forget("t:fail")


def test_forget_keeps_a_running_job():
    gate = threading.Event()
    job = jobs.start("t:keep", "keep", lambda p: gate.wait(5))
    jobs.forget("t:keep")
    assert jobs.get("t:keep") is job
    gate.set()
    _wait(job)
    jobs.forget("t:keep")
    assert jobs.get("t:keep") is None


@pytest.mark.parametrize("total", [0, -3])
def test_fraction_without_a_total_is_zero(total):
    j = jobs.Job("k", "t")
    j.progress(5, total)
    assert j.fraction == 0.0
