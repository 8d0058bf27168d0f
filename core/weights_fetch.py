"""Network, once: named weights fetched in the background (``python -m core fetch NAME``).

``make run`` starts :func:`start_background` (a detached process, never blocking start-up; skipped
under ``OFFLINE=1``); the fetch writes its progress to ``cache/fetch/NAME.json`` (atomic
replace) while it holds an exclusive lock on ``cache/fetch/NAME.lock``, so a second start while
one runs starts nothing, and a ``fetching`` status whose lock nobody holds (the process died) reads
as ``failed``. The dashboard only reads :func:`read_status`; nothing here runs at import.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import config

__all__ = ["FETCHES", "Fetch", "FetchStatus", "STATES", "get_fetch", "read_status", "start_background", "fetch",
           "offline", "FETCH_NOTE"]

STATES = ("absent", "offline", "fetching", "ready", "failed")
#: Seconds between two progress writes.
POLL_S = 0.25


@dataclass(frozen=True)
class Fetch:
    """Weights one name stands for: the encoder spec, its hub repository and the file names in the
    order open_clip tries them (tests/test_weights_fetch.py checks them against open_clip's table)."""

    name: str
    spec: str
    label: str
    repo: str
    files: tuple[str, ...]


#: Registry of the fetchable names.
FETCHES: dict[str, Fetch] = {f.name: f for f in (
    Fetch("clip-baseline", "clip:ViT-B-16:laion400m_e32", "CLIP ViT-B-16",
          "timm/vit_base_patch16_clip_224.laion400m_e32",
          ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")),
)}


def FETCH_NOTE(what: str = "CLIP", name: str = "clip-baseline") -> str:  # noqa: N802 - a message template
    """The one line shown when the weights could not come: how to fetch them later."""
    return (f"{what} needs the network once: run `make fetch` (or {config.cli()} fetch {name}) "
            "when online")


def get_fetch(name: str) -> Fetch:
    if name not in FETCHES:
        raise ValueError(f"unknown fetch {name!r}; known: {', '.join(sorted(FETCHES))}")
    return FETCHES[name]


@dataclass(frozen=True)
class FetchStatus:
    """``state`` one of :data:`STATES`; bytes done of ``total`` (0 = not known yet)."""

    name: str
    state: str = "absent"
    done: int = 0
    total: int = 0
    message: str = ""
    pid: int = 0
    updated: float = 0.0

    @property
    def mb(self) -> str:
        """``"12.3 of 571.2 MB"`` (or ``"12.3 MB"`` while the total is not known)."""
        done = f"{self.done / 1e6:.1f}"
        return f"{done} of {self.total / 1e6:.1f} MB" if self.total else f"{done} MB"


def offline() -> bool:
    """``OFFLINE`` (or huggingface_hub's ``HF_HUB_OFFLINE``) is set to something true."""
    return (os.environ.get("OFFLINE", "").strip().lower() not in ("", "0", "false", "no", "off")
            or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"))


def _folder() -> Path:
    return config.cache_dir() / "fetch"


def _paths(name: str) -> tuple[Path, Path, Path]:
    """(status, lock, log) of ``name``."""
    d = _folder()
    return d / f"{name}.json", d / f"{name}.lock", d / f"{name}.log"


def _weights_root() -> Path:
    return config.cache_dir() / "open_clip"  # where the CLIP encoder looks its tag weights up


def weights_here(f: Fetch) -> Path | None:
    """The downloaded weights of ``f`` (hub cache layout), else None; no network."""
    folder = _weights_root() / f"models--{f.repo.replace('/', '--')}" / "snapshots"
    for name in f.files:
        for hit in sorted(glob.glob(str(folder / "*" / name))):
            if os.path.isfile(hit) and os.path.getsize(hit) > 0:
                return Path(hit)
    return None


def _write(st: FetchStatus) -> None:
    """Replace the status file atomically (write beside it, fsync, rename)."""
    path = _paths(st.name)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(asdict(st), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _parse(name: str, raw: str) -> FetchStatus | None:
    """The status file's content, typed and range-checked; None when it is not one."""
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("name") != name or d.get("state") not in STATES:
        return None
    nums = [d.get(k, 0) for k in ("done", "total", "pid")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in nums):
        return None
    if not isinstance(d.get("message", ""), str) or not isinstance(d.get("updated", 0), (int, float)):
        return None
    return FetchStatus(name, d["state"], nums[0], nums[1], d.get("message", "")[:500], nums[2], float(d.get("updated", 0)))


def _lock_held(lock: Path) -> bool:
    """Whether a fetch process holds ``lock`` now (a shared probe, released at once)."""
    if not lock.is_file():
        return False
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def read_status(name: str) -> FetchStatus:
    """What the fetch of ``name`` says, validated: weights on disk read as ``ready`` whatever the
    file says; a ``fetching`` whose process is gone reads as ``failed``."""
    f = get_fetch(name)
    path, lock, _ = _paths(name)
    try:
        st = _parse(name, path.read_text(encoding="utf-8"))
    except OSError:
        st = None
    if weights_here(f) is not None:
        return FetchStatus(name, "ready", st.total if st else 0, st.total if st else 0, "", 0,
                           st.updated if st else 0.0)
    if st is None:
        return FetchStatus(name)
    if st.state == "fetching" and not _lock_held(lock):
        return FetchStatus(name, "failed", st.done, st.total, "the fetch stopped before it finished", 0, st.updated)
    if st.state == "ready":  # the file says so, but the weights are gone
        return FetchStatus(name)
    return st


def start_background(name: str) -> str:
    """Start ``python -m core fetch NAME`` detached (unless the weights are here, ``OFFLINE`` is
    set, or one already runs); returns one line saying which."""
    f = get_fetch(name)
    status, lock, log = _paths(name)
    if weights_here(f) is not None:
        return f"{f.label}: weights already here"
    if offline():
        _write(FetchStatus(name, "offline", message="OFFLINE is set", updated=time.time()))
        return FETCH_NOTE(f.label.split()[0], name)
    if _lock_held(lock):
        return f"{f.label}: a fetch is already running"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "core", "fetch", name], cwd=str(config.ROOT),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    return f"{f.label}: fetching in the background (pid {proc.pid}; progress in {status})"


def _acquire(lock: Path):
    """The open lock file, held exclusively, else None (another fetch holds it)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock, "a+")
    for _ in range(5):  # a reader's shared probe lasts microseconds
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except OSError:
            time.sleep(0.05)
    fh.close()
    return None


def _incomplete_bytes(f: Fetch) -> int:
    blobs = _weights_root() / f"models--{f.repo.replace('/', '--')}" / "blobs"
    total = 0
    for p in glob.glob(str(blobs / "*.incomplete")):
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return total


def _download(f: Fetch, report) -> Path:
    """Download the first of ``f.files`` the hub has, calling ``report(done, total)`` meanwhile."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url

    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, 1 << 20)  # progress by the MB, not by 10
    errors = []
    for filename in f.files:
        try:
            meta = get_hf_file_metadata(hf_hub_url(f.repo, filename), timeout=10)
        except Exception as exc:  # noqa: BLE001 - missing file, network, auth alike
            errors.append(f"{filename}: {type(exc).__name__}")
            continue
        total = int(meta.size or 0)
        result: dict = {}

        def run(filename=filename):
            try:
                result["path"] = hf_hub_download(f.repo, filename, cache_dir=str(_weights_root()))
            except Exception as exc:  # noqa: BLE001
                result["error"] = exc

        t = threading.Thread(target=run, daemon=True)
        t.start()
        while t.is_alive():
            report(_incomplete_bytes(f), total)
            t.join(POLL_S)
        if "path" in result:
            return Path(result["path"])
        exc = result.get("error")
        errors.append(f"{filename}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    raise RuntimeError(f"could not download {f.repo} ({'; '.join(errors)})")


def fetch(name: str) -> tuple[int, str]:
    """Fetch ``name`` in this process, writing the status file; ``(exit code, one line)``."""
    from .encoders.hub import require_hub

    f = get_fetch(name)
    if weights_here(f) is not None:
        _write(FetchStatus(name, "ready", updated=time.time()))
        return 0, f"{f.label}: weights already here ({weights_here(f)})"
    _, lock, _ = _paths(name)
    held = _acquire(lock)
    if held is None:
        return 0, f"{f.label}: a fetch is already running; progress in {_paths(name)[0]}"
    try:
        state = "offline" if offline() else "failed"
        _write(FetchStatus(name, "fetching", pid=os.getpid(), updated=time.time()))
        try:
            require_hub(f.label, f.spec)  # refused / no route / OFFLINE: one line at once
            path = _download(f, lambda done, total: _write(
                FetchStatus(name, "fetching", done, total, pid=os.getpid(), updated=time.time())))
        except (RuntimeError, OSError, ValueError) as exc:
            why = str(exc).split(": ")[0] if "needs the network once" in str(exc) else str(exc)[:300]
            _write(FetchStatus(name, state, message=why, updated=time.time()))
            return 2, f"{f.label}: {why}. {FETCH_NOTE(f.label.split()[0], name)}"
        size = path.stat().st_size
        _write(FetchStatus(name, "ready", size, size, pid=os.getpid(), updated=time.time()))
        return 0, f"{f.label}: downloaded to {path}"
    finally:
        held.close()
