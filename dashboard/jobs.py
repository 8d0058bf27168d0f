"""Long work started from a page, run outside the page's script: one background thread per job.

A page starts a job (``start``) under a key naming the work (``adapt:<corpus>:<name>``), and
polls it (``get``) from a fragment that reruns every second or so; the script itself never
waits. Jobs are registered per process, so two sessions asking for the same work share one
job (and never write the same output twice at once). A job reports progress through the
``progress(done, total, message)`` callback it is handed, which raises ``Cancelled`` once
``cancel`` was asked for: work that checks its progress callback stops at its next step.
Nothing here imports Streamlit; the work must not draw on a page either.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Cancelled", "Job", "WAIT_S", "start", "get", "forget", "running"]

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"

#: How long a page waits for a job it just started before it shows the job's progress instead
#: (work that ends sooner, such as loading vectors already on disk, is drawn in the same run).
#: The test suite raises it, so pages tested for their results need not poll.
WAIT_S = 1.5


class Cancelled(Exception):
    """Raised from a job's progress callback once its cancellation was asked for."""


@dataclass
class Job:
    """One piece of background work: its state, progress, result or error."""

    key: str
    title: str
    meta: dict = field(default_factory=dict)
    state: str = RUNNING
    done: int = 0
    total: int = 0
    message: str = ""
    result: Any = None
    error: BaseException | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _ended: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def fraction(self) -> float:
        """Share done, in [0, 1] (0 before the first report)."""
        return min(self.done / self.total, 1.0) if self.total > 0 else 0.0

    @property
    def active(self) -> bool:
        return self.state == RUNNING

    def progress(self, done: int, total: int, message: str = "") -> None:
        """The callback handed to the work: records progress, raises ``Cancelled`` when asked to stop."""
        self.done, self.total, self.message = int(done), int(total), str(message)
        if self._cancel.is_set():
            raise Cancelled(self.key)

    def cancel(self) -> None:
        """Ask the work to stop at its next progress report."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the job to end; whether it has."""
        return self._ended.wait(timeout)

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (until it ended, once it has)."""
        return (self.finished or time.time()) - self.started

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set() and self.state == RUNNING


_JOBS: dict[str, Job] = {}
_LOCK = threading.Lock()


def start(key: str, title: str, work: Callable[[Callable[[int, int, str], None]], Any], **meta) -> Job:
    """Run ``work(progress)`` in a daemon thread under ``key``; the job already running under
    ``key`` is returned instead of starting a second one. ``meta`` is kept for the page."""
    with _LOCK:
        job = _JOBS.get(key)
        if job is not None and job.active:
            return job
        job = _JOBS[key] = Job(key, title, dict(meta))

    def run() -> None:
        try:
            job.result = work(job.progress)
            job.state = DONE
        except Cancelled:
            job.state = CANCELLED
        except Exception as exc:  # noqa: BLE001 - reported to the page that polls the job
            job.error = exc
            job.message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            job.state = FAILED
        finally:
            job.finished = time.time()
            job._ended.set()

    threading.Thread(target=run, name=f"job:{key}", daemon=True).start()
    return job


def get(key: str) -> Job | None:
    """The job under ``key`` (running or finished, until ``forget``), or None."""
    with _LOCK:
        return _JOBS.get(key)


def forget(key: str) -> None:
    """Drop a finished job from the registry (a running one is kept)."""
    with _LOCK:
        job = _JOBS.get(key)
        if job is not None and not job.active:
            del _JOBS[key]


def running() -> list[Job]:
    """The jobs still running in this process."""
    with _LOCK:
        return [j for j in _JOBS.values() if j.active]
