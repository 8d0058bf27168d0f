"""Watchdog of a private local Ray: when the driver stops, even by SIGKILL, every process Ray
started for it is stopped too.

Ray's GCS server and raylet notice a dead driver and exit, but its dashboard and runtime-env
agents are left running (re-parented to init, ignoring SIGTERM). ``start(pid)`` launches
``python -m core.engine.reaper PID`` in its own session; it remembers the driver's descendants
(by pid and start time, so a reused pid is never touched) while the driver lives, then sends
SIGTERM to those still running and SIGKILL to any left after a grace period. Linux only
(``/proc``); elsewhere it does nothing.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: Seconds between looks at the driver's process tree, and the grace between SIGTERM and SIGKILL.
POLL_S = 0.5
GRACE_S = 3.0


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def _children() -> dict[int, list[int]]:
    """parent pid → child pids, for every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(roots: list[int]) -> dict[int, int]:
    """pid → start time of every process below ``roots`` (not the roots themselves)."""
    tree, out, todo = _children(), {}, list(roots)
    while todo:
        for child in tree.get(todo.pop(), []):
            started = _start_time(child)
            if child not in out and started is not None:
                out[child] = started
                todo.append(child)
    return out


def _alive(pid: int, started: int) -> bool:
    return _start_time(pid) == started


def stop(known: dict[int, int], me: int) -> None:
    """SIGTERM every remembered process (and its descendants) still running, SIGKILL after the grace."""
    known = {**known, **descendants([p for p, t in known.items() if _alive(p, t)])}
    known.pop(me, None)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        live = {p: t for p, t in known.items() if _alive(p, t)}
        for pid in live:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + GRACE_S
        while sig == signal.SIGTERM and live and time.monotonic() < deadline:
            time.sleep(0.1)
            live = {p: t for p, t in live.items() if _alive(p, t)}
        if not live:
            return


def watch(driver: int) -> None:
    """Remember ``driver``'s descendants while it lives; stop them once it is gone."""
    me, started = os.getpid(), _start_time(driver)
    if started is None:
        return
    known: dict[int, int] = {}
    while _alive(driver, started):
        known.update(descendants([driver]))
        known = {p: t for p, t in known.items() if _alive(p, t)}
        time.sleep(POLL_S)
    stop(known, me)


def start(driver: int | None = None) -> subprocess.Popen | None:
    """Launch the watchdog of ``driver`` (this process by default) in its own session."""
    if not Path("/proc/self/stat").exists():
        return None
    return subprocess.Popen([sys.executable, "-m", "core.engine.reaper", str(driver or os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]))


if __name__ == "__main__":
    watch(int(sys.argv[1]))
