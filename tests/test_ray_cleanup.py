"""Processes the tool starts stop when it stops: the watchdog of a private Ray stops every
descendant of a driver killed by SIGKILL (Ray's agents ignore SIGTERM and outlive it otherwise);
a dead cluster is one line."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.engine import reaper

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")

#: A driver that starts the watchdog and a child ignoring SIGTERM (like Ray's agents), then waits.
DRIVER = """
import signal, subprocess, sys, time
from core.engine import reaper
reaper.start()
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"],
    start_new_session=True)
print(child.pid, flush=True)
time.sleep(300)
"""


def _gone(pid: int, started: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if reaper._start_time(pid) != started:
            return True
        time.sleep(0.2)
    return False


def test_a_sigkilled_driver_leaves_no_process_behind():
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        child = int(driver.stdout.readline())
        started = reaper._start_time(child)
        time.sleep(2 * reaper.POLL_S + 0.5)  # the watchdog has seen the child
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        assert _gone(child, started, within=reaper.GRACE_S + 5), "the SIGTERM-ignoring child outlived its driver"
    finally:
        if driver.poll() is None:
            driver.kill()


def test_a_reused_pid_is_never_signalled(monkeypatch):
    sent = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    reaper.stop({os.getpid(): -1}, me=-2)  # this pid with another start time: not the process remembered
    assert sent == []


def test_a_dead_cluster_is_one_line(monkeypatch):
    from core.engine import ray as ray_engine

    class RayActorError(Exception):
        __module__ = "ray.exceptions"

    def dead(*a, **k):
        raise RayActorError("The actor died unexpectedly before finishing this task.\n\tclass_name: RayMapper ...")
        yield  # pragma: no cover

    monkeypatch.setattr(ray_engine, "_distribute", dead)
    with pytest.raises(RuntimeError) as err:
        list(ray_engine.distribute([], "hog"))
    msg = str(err.value)
    assert "\n" not in msg and "Ray cluster failed" in msg and "run the build again" in msg and "RayActorError" in msg


@pytest.mark.slow
def test_a_sigkilled_ray_driver_leaves_no_ray_agent(tmp_path):
    code = ("import time\nfrom core.engine.ray import connect\nconnect(num_cpus=1)\nprint('up', flush=True)\n"
            "time.sleep(300)\n")
    env = {**os.environ, "UPAIR_CACHE": str(tmp_path / "cache"), "RAY_USAGE_STATS_ENABLED": "0"}
    driver = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert driver.stdout.readline().strip() == "up"
        time.sleep(3)
        ray_procs = {p: t for p, t in reaper.descendants([driver.pid]).items()
                     if b"reaper" not in Path(f"/proc/{p}/cmdline").read_bytes()}
        assert ray_procs, "Ray started no process?"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(reaper._start_time(p) == t for p, t in ray_procs.items()):
            time.sleep(0.5)
        left = [p for p, t in ray_procs.items() if reaper._start_time(p) == t]
        assert not left, [Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in left]
    finally:
        if driver.poll() is None:
            driver.kill()
