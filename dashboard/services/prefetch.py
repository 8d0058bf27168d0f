"""Quiet background warming of caches a user is about to ask for (the Scores page's neighbouring
fusion weights): one daemon thread per process, at a lower scheduling priority, newest work first.

``submit(key, work)`` queues ``work()`` unless ``key`` was done or is queued already; at most
``QUEUE_MAX`` pieces wait (the oldest are dropped: a user who moved on no longer needs them). The
work calls the services' own cached functions, so what it computes is exactly what the page would
compute, and a page that asks while the same value is being computed waits for it (Streamlit's
per-key cache lock) instead of computing it twice. Errors are logged and forgotten: warming is an
optimisation, never a result. ``UPAIR_PREFETCH=0`` turns it off (the test suite does, except the
tests of warming itself). Nothing here draws on a page.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict, deque
from typing import Callable

from core import config

log = logging.getLogger(__name__)

#: Pieces of work waiting at most; keys remembered as done at most.
QUEUE_MAX = 6
DONE_MAX = 512
#: Scheduling priority (nice) of the warming thread (Linux: per thread).
NICE = 10

_lock = threading.Lock()
_wake = threading.Condition(_lock)
_queue: deque[tuple[str, Callable[[], object]]] = deque()
_done: OrderedDict[str, None] = OrderedDict()
_busy: set[str] = set()
_thread: threading.Thread | None = None


def enabled() -> bool:
    """Whether warming is on (``UPAIR_PREFETCH``, read at call time)."""
    return bool(config.env("UPAIR_PREFETCH"))


def submit(key: str, work: Callable[[], object]) -> bool:
    """Queue ``work`` under ``key``; False when off, done, queued or running already."""
    global _thread
    if not enabled():
        return False
    with _lock:
        if key in _done or key in _busy or any(k == key for k, _ in _queue):
            return False
        _queue.appendleft((key, work))  # newest first: the user's latest position matters most
        while len(_queue) > QUEUE_MAX:
            _queue.pop()
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_worker, name="upair-prefetch", daemon=True)
            _thread.start()
        _wake.notify()
    return True


def idle(timeout: float = 30.0) -> bool:
    """Wait until nothing is queued or running (for tests and benchmarks); True when idle."""
    with _wake:
        return _wake.wait_for(lambda: not _queue and not _busy, timeout)


def forget() -> None:
    """Drop what is queued and what is remembered as done (tests; a cleared cache)."""
    with _lock:
        _queue.clear()
        _done.clear()


def _worker() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the normal priority
        pass
    while True:
        with _wake:
            if not _wake.wait_for(lambda: bool(_queue), timeout=60.0):
                continue
            key, work = _queue.popleft()
            _busy.add(key)
        try:
            work()
        except Exception:  # noqa: BLE001 - warming never fails a page
            log.debug("prefetch %s failed", key, exc_info=True)
        with _wake:
            _busy.discard(key)
            _done[key] = None
            while len(_done) > DONE_MAX:
                _done.popitem(last=False)
            _wake.notify_all()
