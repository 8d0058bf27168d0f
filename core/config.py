"""Paths and machine settings shared by the whole library (no heavy imports)."""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

#: Repository root (parent of ``core/``).
ROOT = Path(__file__).resolve().parent.parent


# -- environment variables: every UPAIR_* setting, declared and parsed here only ----------


@dataclass(frozen=True)
class EnvVar:
    """One ``UPAIR_*`` variable: its type (``int``, ``path``, ``choice``, ``list``, ``flag``),
    the default (shown as ``shown`` when it is computed), the smallest value of an ``int``,
    the choices of a ``choice`` (a ``cuda:N`` pattern is allowed for the device), and what it means."""

    name: str
    kind: str
    default: object
    meaning: str
    low: int = 1
    choices: tuple[str, ...] = ()
    shown: str = ""


#: Every environment variable the tool reads (tests/test_env.py checks none is missing).
ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("UPAIR_CACHE", "path", None, "root of every on-disk cache (vectors, indices, weights, demo)",
           shown="<repo>/cache"),
    EnvVar("UPAIR_JUDGEMENTS", "path", None, "where judgement journals and pools live (outside the cache)",
           shown="judgements/ beside the cache folder"),
    EnvVar("UPAIR_SHARED", "path", None, "the shared UPAIR sample data beside a checkout",
           shown="<repo>/../shared/data"),
    EnvVar("UPAIR_ENCODERS", "list", "", "extra encoder specs, comma-separated, offered besides the built-in ones"),
    EnvVar("UPAIR_DEVICE", "choice", "auto", "where torch encoders run (auto: a GPU when torch sees one)",
           choices=("auto", "cpu", "cuda")),
    EnvVar("UPAIR_INDEX", "choice", "auto", "the index kind when none is asked for",
           choices=("auto", "flat", "hnsw", "ivf", "ivfpq")),
    EnvVar("UPAIR_EXACT_MAX", "int", 50_000, "vectors of 512-d searched exactly; above it an approximate index"),
    EnvVar("UPAIR_INDEX_MEMORY_MB", "int", 8192, "index memory budget (MB) above which the automatic index compresses"),
    EnvVar("UPAIR_MAP_FIT_MAX", "int", 20_000, "points a map's UMAP is fitted on; the rest are placed", low=50),
    EnvVar("UPAIR_MAX_IMAGE_PIXELS", "int", 40_000_000, "largest image (pixels) decoded; larger is refused as a "
           "likely decompression bomb (40 MP covers a 600 dpi A4 scan)"),
    EnvVar("UPAIR_FUZZ_EXAMPLES", "int", 25, "examples per hypothesis property in tests/test_readers_fuzz.py"),
    EnvVar("UPAIR_DOCS_SHOTS", "flag", "0", "1: the browser tests also write the README's screenshots to docs/",
           choices=("0", "1")),
)
#: name → declaration.
ENV: dict[str, EnvVar] = {v.name: v for v in ENV_VARS}
_DEVICE = re.compile(r"^cuda:\d{1,2}$")


def _parse(var: EnvVar, raw: str) -> object:
    """The typed value of ``raw`` for ``var``; ``ConfigError`` (one line naming it) otherwise."""
    where = f"{var.name}={raw!r}"
    if "\x00" in raw:
        raise ConfigError(f"{where} contains a NUL byte; unset {var.name} or fix it")
    if var.kind == "int":
        try:
            value = int(raw.strip().replace("_", ""))
        except ValueError:
            value = None
        if value is None or value < var.low:
            raise ConfigError(f"{where} is not a whole number ≥ {var.low}; set it to e.g. {var.default} or unset it")
        return value
    if var.kind == "path":
        if not raw.strip() or raw != raw.strip():
            raise ConfigError(f"{where} is blank or has spaces around it; set {var.name} to a folder or unset it")
        return Path(raw).expanduser().resolve()
    if var.kind in ("choice", "flag"):
        value = raw.strip().lower()
        if value in var.choices or (var.name == "UPAIR_DEVICE" and _DEVICE.match(value)):
            return value
        extra = ", cuda:N" if var.name == "UPAIR_DEVICE" else ""
        raise ConfigError(f"{where} is not one of {', '.join(var.choices)}{extra}; fix it or unset {var.name}")
    return tuple(s.strip() for s in raw.split(",") if s.strip())  # list


def env(name: str) -> object:
    """The value of the declared variable ``name`` (its default when unset or empty);
    ``ConfigError`` naming the variable when the value is unusable."""
    var = ENV[name]
    raw = os.environ.get(name, "")
    if raw == "":
        return var.default if var.kind != "list" else ()
    return _parse(var, raw)


def env_source(name: str) -> str:
    """``env`` when the variable is set (not empty), else ``default``."""
    return "env" if os.environ.get(name, "") != "" else "default"


def env_report() -> list[list[str]]:
    """[name, value, source, meaning] of every declared variable (``core info`` prints it); an
    unusable value is shown as ``invalid: <reason>``."""
    rows = []
    for var in ENV_VARS:
        try:
            value = env(var.name)
            shown = (", ".join(value) or "-") if isinstance(value, tuple) else str(value if value is not None
                                                                                  else var.shown)
        except ConfigError as exc:
            shown = f"invalid: {exc}"
        rows.append([var.name, shown, env_source(var.name), var.meaning])
    return rows


def env_at_import(name: str) -> object:
    """``env(name)`` for a module constant read at import: an unusable value never fails the
    import; the default applies and ``check_environment()`` (run first by the CLI and the
    app) reports it as one line naming the variable."""
    try:
        return env(name)
    except ConfigError:
        return ENV[name].default


def env_int(name: str, default: int, low: int = 1) -> int:
    """``$name`` as an integer ≥ ``low`` (``default`` when unset or blank); ``ConfigError``
    naming the variable otherwise (for a variable not in ``ENV_VARS``, e.g. a test's)."""
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    return int(_parse(EnvVar(name, "int", default, "", low=low), raw))  # type: ignore[arg-type]


def _folder(name: str, default, what: str) -> Path:
    """The folder ``$name`` (else ``default()``), created; ``ConfigError`` naming the variable
    when it is a file or cannot be created."""
    raw = os.environ.get(name, "")
    path = env(name) if raw else Path(default()).resolve()
    assert isinstance(path, Path)
    source = f"{name}={raw}" if raw else f"the default {what} {path}"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{source} is not a folder; set {name} to a (new or existing) folder for the {what}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the {what} folder {path} ({exc.strerror or exc}); set {name} to a "
                          "writable folder") from exc
    return path


def cache_dir() -> Path:
    """Root of every on-disk cache (``$UPAIR_CACHE`` or ``<repo>/cache``); ``ConfigError``
    naming the variable when it is not a folder that exists or can be created."""
    return _folder("UPAIR_CACHE", lambda: ROOT / "cache", "cache")


def judgements_dir() -> Path:
    """Where judgement journals live (``$UPAIR_JUDGEMENTS``, else ``judgements/`` beside the
    cache folder, so emptying the cache never deletes a judgement); created."""
    return _folder("UPAIR_JUDGEMENTS", lambda: cache_dir().parent / "judgements", "judgements")


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
    """Where the read-only UPAIR sample data lives beside a checkout (``$UPAIR_SHARED``,
    else ``../shared/data``)."""
    value = env_at_import("UPAIR_SHARED")
    return value if isinstance(value, Path) else (ROOT.parent / "shared" / "data").resolve()


#: Largest image (in pixels) we agree to decode (``UPAIR_MAX_IMAGE_PIXELS``).
MAX_IMAGE_PIXELS: int = env_at_import("UPAIR_MAX_IMAGE_PIXELS")  # type: ignore[assignment]


def check_environment() -> None:
    """Raise ``ConfigError`` (one line naming the variable) for the first unusable ``UPAIR_*``
    setting; the cache folder is created."""
    for var in ENV_VARS:
        env(var.name)
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
