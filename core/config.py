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
    """One ``UPAIR_*`` variable: its type (``int``, ``path``, ``choice``, ``list``, ``flag``,
    ``bool``, ``address``), the default (shown as ``shown`` when it is computed), the range of an
    ``int`` (``low`` to ``high``), the choices of a ``choice`` (a ``cuda:N`` pattern is allowed
    for the device), and what it means. ``scope`` ``serve``: a served-mode setting, read by
    ``dashboard/serve.py`` over the ``[upair]`` table of the secrets file (key ``secret``);
    ``check_environment`` (every CLI command) checks only the ``core`` ones."""

    name: str
    kind: str
    default: object
    meaning: str
    low: int = 1
    choices: tuple[str, ...] = ()
    shown: str = ""
    high: int | None = None
    scope: str = "core"
    secret: str = ""


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
    EnvVar("UPAIR_PREFETCH", "bool", True, "1 = after a Scores fusion-weight step, the neighbouring weights are "
           "evaluated in one background thread (0: only what a page asks for)"),
    EnvVar("UPAIR_FUZZ_EXAMPLES", "int", 25, "examples per hypothesis property in tests/test_readers_fuzz.py"),
    EnvVar("UPAIR_DOCS_SHOTS", "flag", "0", "1: the browser tests also write the README's screenshots to docs/",
           choices=("0", "1")),
    EnvVar("UPAIR_TEST_DURATIONS", "path", None, "where the test run writes each test's duration (tests/conftest.py)",
           shown=".pytest_cache/upair-durations.json"),
    EnvVar("UPAIR_BENCH_SHOT", "path", None, "bench actions: write a screenshot of the page here", shown="none"),
    # served mode (dashboard/serve.py): the environment wins over the [upair] table of the secrets file
    EnvVar("UPAIR_SERVE", "bool", False, "1 = served mode (else the single-user workbench)", scope="serve",
           secret="serve"),
    EnvVar("UPAIR_SERVE_ADDRESS", "address", "127.0.0.1", "address `make serve` listens on", scope="serve",
           secret="address"),
    EnvVar("UPAIR_SERVE_PORT", "int", 8502, "port `make serve` listens on", low=1024, high=65535, scope="serve",
           secret="port"),
    EnvVar("UPAIR_CORPORA", "list", "", "served mode: allow-list of corpus specs, comma-separated, each "
           "optionally 'Label=spec'", shown="demo", scope="serve", secret="corpora"),
    EnvVar("UPAIR_UPLOAD_MB", "int", 20, "served mode: largest upload per file, MB", high=200, scope="serve",
           secret="upload_mb"),
    EnvVar("UPAIR_UPLOAD_PIXELS", "int", 25_000_000, "served mode: largest upload, pixels", high=400_000_000,
           scope="serve", secret="upload_pixels"),
    EnvVar("UPAIR_UPLOADS_PER_MINUTE", "int", 10, "served mode: uploads one session may make per minute", high=1000,
           scope="serve", secret="uploads_per_minute"),
    EnvVar("UPAIR_SECRETS", "path", None, "served mode: the secrets file to read", shown=".streamlit/secrets.toml",
           scope="serve"),
)
#: name → declaration.
ENV: dict[str, EnvVar] = {v.name: v for v in ENV_VARS}
_DEVICE = re.compile(r"^cuda:\d{1,2}$")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def parse_value(var: EnvVar, raw: object, source: str = "") -> object:
    """The typed value of ``raw`` for ``var`` (a string from the environment, or a TOML value
    from a secrets file); ``ConfigError`` (one line naming ``source``, default the variable) otherwise."""
    where = f"{source or var.name}={raw!r}"
    fix = f"fix it or unset {var.name}" if not source else f"fix {source}"
    if isinstance(raw, str) and "\x00" in raw:
        raise ConfigError(f"{where} contains a NUL byte; unset {var.name} or fix it")
    if var.kind == "int":
        value = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if value is None and isinstance(raw, str):
            try:
                value = int(raw.strip().replace("_", ""))
            except ValueError:
                value = None
        if value is None or value < var.low or (var.high is not None and value > var.high):
            span = f"from {var.low:,} to {var.high:,}" if var.high is not None else f"≥ {var.low}"
            raise ConfigError(f"{where} is not a whole number {span}; set it to e.g. {var.default} or "
                              f"{'unset it' if not source else 'fix it'}")
        return value
    if var.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"{where} is not 1/0 (true/false); {fix}")
    if var.kind == "address":
        import ipaddress

        try:
            return str(ipaddress.ip_address(str(raw).strip()))
        except ValueError:
            raise ConfigError(f"{where} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface); "
                              f"{fix}") from None
    if var.kind == "path":
        if not isinstance(raw, str) or not raw.strip() or raw != raw.strip():
            raise ConfigError(f"{where} is blank or has spaces around it; set {var.name} to a folder or unset it")
        return Path(raw).expanduser().resolve()
    if var.kind in ("choice", "flag"):
        value = str(raw).strip().lower()
        if value in var.choices or (var.name == "UPAIR_DEVICE" and _DEVICE.match(value)):
            return value
        extra = ", cuda:N" if var.name == "UPAIR_DEVICE" else ""
        raise ConfigError(f"{where} is not one of {', '.join(var.choices)}{extra}; {fix}")
    if isinstance(raw, (list, tuple)):  # list, from a TOML array
        return tuple(str(s).strip() for s in raw if str(s).strip())
    return tuple(s.strip() for s in str(raw).split(",") if s.strip())  # list


def _parse(var: EnvVar, raw: str) -> object:
    """The typed value of the environment string ``raw`` for ``var`` (see ``parse_value``)."""
    return parse_value(var, raw)


def env_raw(name: str) -> str:
    """The declared variable ``name`` as set in the environment ('' when unset), unparsed."""
    return os.environ.get(ENV[name].name, "")


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
            value = ("1" if value else "0") if isinstance(value, bool) else value
            shown = (", ".join(value) or var.shown or "-") if isinstance(value, tuple) else str(value if value is not None
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


_CACHE_DIRS: dict[str, Path] = {}


def cache_dir() -> Path:
    """Root of every on-disk cache (``$UPAIR_CACHE`` or ``<repo>/cache``); ``ConfigError``
    naming the variable when it is not a folder that exists or can be created. The parsed
    folder is remembered per value of the variable (one ``stat`` per call after the first)."""
    raw = os.environ.get("UPAIR_CACHE", "")
    known = _CACHE_DIRS.get(raw)
    if known is not None and known.is_dir():
        return known
    path = _folder("UPAIR_CACHE", lambda: ROOT / "cache", "cache")
    _CACHE_DIRS[raw] = path
    return path


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
    setting of the library (served-mode settings are checked by the app); the cache folder is created."""
    for var in ENV_VARS:
        if var.scope == "core":
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
