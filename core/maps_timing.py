"""What a map fit costs on this machine, measured: every UMAP fit appends its size, its time,
whether the process was cold (umap imported / numba compiled during it) and the load at the
time; the estimate of the next fit is computed from those measurements, scaled by the number of
points and by today's load, and falls back to the module constants before the first fit.

The log is ``<cache>/maps/fit-times.json``: a JSON list, written atomically, the last
``KEEP`` fits; a damaged or foreign file is ignored (and replaced on the next fit)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from . import config

KEEP = 40
#: the fixed overhead of one fit that does not grow with the points (the reducer's set-up)
BASE_S = 1.0


@dataclass(frozen=True)
class Fit:
    """One measured fit: ``n`` points of ``dim`` dimensions took ``seconds``; ``import_s`` of
    them importing umap and ``cold`` when numba compiled during it; ``load`` = 1-min load
    average per core when it ran."""

    n: int
    dim: int
    seconds: float
    import_s: float = 0.0
    cold: bool = False
    load: float = 0.0

    @classmethod
    def parse(cls, d: dict) -> "Fit":
        f = cls(n=int(d["n"]), dim=int(d["dim"]), seconds=float(d["seconds"]), import_s=float(d.get("import_s", 0)),
                cold=bool(d.get("cold", False)), load=float(d.get("load", 0)))
        if f.n <= 0 or f.dim <= 0 or not 0 <= f.import_s <= f.seconds or f.seconds > 86_400 or f.load < 0:
            raise ValueError(f"implausible fit record {d!r}")
        return f


def log_path() -> Path:
    return config.cache_dir() / "maps" / "fit-times.json"


def load_per_core() -> float:
    """The 1-minute load average per core now (0 where the OS does not say)."""
    try:
        return os.getloadavg()[0] / max(1, os.cpu_count() or 1)
    except OSError:
        return 0.0


def fits(path: Path | None = None) -> list[Fit]:
    """The measured fits, oldest first ([] when none or the log is unreadable)."""
    path = path or log_path()
    try:
        raw = json.loads(path.read_text())
        return [Fit.parse(d) for d in raw] if isinstance(raw, list) else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def record(fit: Fit, path: Path | None = None) -> None:
    """Append ``fit`` to the log (atomically; a failure to write only loses the measurement)."""
    path = path or log_path()
    kept = (fits(path) + [fit])[-KEEP:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([asdict(f) for f in kept]))
        os.replace(tmp, path)
    except OSError:
        pass


def _unloaded(seconds: float, load: float) -> float:
    """``seconds`` measured at ``load`` (per core) as they would be on free cores: work shares a
    core with the others once the load passes one per core."""
    return seconds / max(1.0, load)


def _dim_scale(dim: int) -> float:
    return 0.5 + 0.5 * dim / 512  # as core.maps.estimate_seconds


def estimate(n: int, dim: int, *, need_import: bool, cold: bool, constants: dict[str, float],
             measured: list[Fit] | None = None, load_now: float | None = None) -> float | None:
    """Seconds a fit of ``n`` × ``dim`` should take now, from the measured fits (None when there are
    none: the caller uses its constants). ``constants`` holds ``import_s`` and ``jit_s``, used only for
    a part no measurement covers (a cold start when only warm fits were measured, and so on)."""
    measured = fits() if measured is None else measured
    if not measured:
        return None
    load_now = load_per_core() if load_now is None else load_now
    warm = [f for f in measured if not f.cold]
    # the per-point rate: the latest warm fit, else the latest cold one less the constant compile time
    ref = warm[-1] if warm else measured[-1]
    fixed = BASE_S + _unloaded(ref.import_s, ref.load) + (constants["jit_s"] if ref.cold else 0.0)
    ref_s = _unloaded(ref.seconds, ref.load)
    rate = max(ref_s - fixed, 0.1 * ref_s) / (ref.n * _dim_scale(ref.dim))
    total = BASE_S + rate * n * _dim_scale(dim)
    if cold:
        colds = [f for f in measured if f.cold]
        if colds and warm:  # compile time measured: the latest cold fit's excess over the warm rate
            c = colds[-1]
            jit = _unloaded(c.seconds - c.import_s, c.load) - BASE_S - rate * c.n * _dim_scale(c.dim)
            total += max(jit, 0.0)
        else:
            total += constants["jit_s"]
    if need_import:
        imports = [_unloaded(f.import_s, f.load) for f in measured if f.import_s > 0]
        total += imports[-1] if imports else constants["import_s"]
    return total * max(1.0, load_now)
