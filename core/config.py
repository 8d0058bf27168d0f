"""Paths and machine settings shared by the whole library (no heavy imports)."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

#: Repository root (parent of ``core/``).
ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of every on-disk cache (``$UPAIR_CACHE`` or ``<repo>/cache``); ``ConfigError``
    naming the variable when it is not a folder that exists or can be created."""
    raw = os.environ.get("UPAIR_CACHE", "")
    if "\x00" in raw:
        raise ConfigError(f"UPAIR_CACHE={raw!r} contains a NUL byte; set it to a folder")
    path = Path(raw or ROOT / "cache").expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"UPAIR_CACHE={raw or path} is not a folder; set UPAIR_CACHE to a (new or existing) "
                          "folder for the cache")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the cache folder {path} ({exc.strerror or exc}); set UPAIR_CACHE to a "
                          "writable folder") from exc
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
def env_int(name: str, default: int, low: int = 1) -> int:
    """``$name`` as an integer ≥ ``low`` (``default`` when unset or blank); ``ConfigError``
    naming the variable otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = None
    if value is None or value < low:
        raise ConfigError(f"{name}={raw!r} is not a whole number ≥ {low}; set it to e.g. {default} or unset it")
    return value


#: Problems with environment variables found at import (``check_environment`` raises them).
ENV_PROBLEMS: list[str] = []

try:
    MAX_IMAGE_PIXELS = env_int("UPAIR_MAX_IMAGE_PIXELS", 40_000_000)
except ConfigError as _exc:  # reported by check_environment(); the safe default applies meanwhile
    ENV_PROBLEMS.append(str(_exc))
    MAX_IMAGE_PIXELS = 40_000_000


def check_environment() -> None:
    """Raise ``ConfigError`` (naming the variable) when an ``UPAIR_*`` setting is unusable."""
    if ENV_PROBLEMS:
        raise ConfigError(ENV_PROBLEMS[0])
    cache_dir()

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


def cli() -> str:
    """How to run the command line from the repository root, as printed in fixes:
    ``.venv/bin/python -m core`` when the project's virtualenv exists, else ``python -m core``."""
    python = ".venv/bin/python" if (ROOT / ".venv" / "bin" / "python").exists() else "python"
    return f"{python} -m core"
