"""Paths and machine settings shared by the whole library (no heavy imports)."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

#: Repository root (parent of ``core/``).
ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of every on-disk cache (``$UPAIR_CACHE`` or ``<repo>/cache``)."""
    path = Path(os.environ.get("UPAIR_CACHE", ROOT / "cache")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def use_cache(path: Path | str) -> Iterator[Path]:
    """Point ``cache_dir()`` (``$UPAIR_CACHE``) at ``path`` inside the block; the previous
    setting (or its absence) is restored afterwards, also on error. Yields the resolved path.

    In-process memos are not reset (file hashes are keyed by path, size and mtime, and stay
    valid); ``store.clear_file_hashes()`` forgets those to time a cold start.
    """
    old = os.environ.get("UPAIR_CACHE")
    os.environ["UPAIR_CACHE"] = str(path)
    try:
        yield cache_dir()
    finally:
        if old is None:
            os.environ.pop("UPAIR_CACHE", None)
        else:
            os.environ["UPAIR_CACHE"] = old


def shared_data_dir() -> Path:
    """Where the read-only UPAIR sample data lives beside a checkout (``../shared/data``)."""
    return Path(os.environ.get("UPAIR_SHARED", ROOT.parent / "shared" / "data")).resolve()


#: Largest image (in pixels) we agree to decode; anything larger is rejected as a likely
#: decompression bomb. 40 MP covers a 600 dpi A4 scan with room to spare.
MAX_IMAGE_PIXELS = int(os.environ.get("UPAIR_MAX_IMAGE_PIXELS", 40_000_000))

#: Largest upload accepted by the dashboard (also set in .streamlit/config.toml).
MAX_UPLOAD_MB = 20


def default_threads() -> int:
    """Threads for torch/faiss: every core, but at least one."""
    return max(1, os.cpu_count() or 1)


def configure_threads() -> None:
    """Set torch and faiss thread counts once, sensibly for this machine (cheap, idempotent)."""
    n = default_threads()
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    import sys

    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    if "faiss" in sys.modules:
        import faiss

        faiss.omp_set_num_threads(n)
