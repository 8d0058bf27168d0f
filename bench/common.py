"""Helpers shared by the benchmark sections: timing, memory, machine facts, CLIP models."""
from __future__ import annotations

import json
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: A small open_clip architecture registered for ``--quick`` runs (64-d, 2-layer ViT at 64 px).
TINY_ARCH = "TinyCLIP-Bench"
TINY_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@dataclass
class Section:
    """What a benchmark section reports: a table (rows of dicts) plus notes."""

    name: str
    title: str
    method: str = ""
    columns: list[tuple[str, str]] = field(default_factory=list)  # (key, header)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "method": self.method,
                "columns": [list(c) for c in self.columns], "rows": self.rows, "notes": self.notes,
                "extra": self.extra, "seconds": self.seconds, "error": self.error}

    @classmethod
    def from_json(cls, d: dict) -> "Section":
        return cls(name=d["name"], title=d["title"], method=d.get("method", ""),
                   columns=[tuple(c) for c in d.get("columns", [])], rows=d.get("rows", []),
                   notes=d.get("notes", []), extra=d.get("extra", {}), seconds=d.get("seconds", 0.0),
                   error=d.get("error", ""))


RUNNING = ("[data-testid=stStatusWidget]", "[data-testid=stSpinner]")  # Streamlit's "script running" marks


class IdleClock:
    """When a polled page counts as settled: ``observe(running)`` after each poll returns the
    ``perf_counter`` time it first went idle once it has stayed idle ``polls`` polls in a row
    (the wait itself not counted), else None; a running poll starts the count again."""

    def __init__(self, polls: int = 10):
        self.polls, self.quiet, self.idle_since = polls, 0, time.perf_counter()

    def observe(self, running: bool) -> float | None:
        if running:
            self.quiet = 0
            return None
        if self.quiet == 0:
            self.idle_since = time.perf_counter()
        self.quiet += 1
        return self.idle_since if self.quiet >= self.polls else None


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@contextmanager
def timer() -> Iterator[dict]:
    """``with timer() as t: ...`` then ``t["s"]`` holds the wall time in seconds."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out["s"] = time.perf_counter() - t0


def rss_mb() -> float:
    """Resident set size of this process (MiB)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    a = np.asarray(samples_s, dtype=np.float64) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, None when undefined."""
    if a is None or b is None or not b:
        return None
    return float(a) / float(b)


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model, load, OS and library versions."""
    from importlib import metadata

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "torch", "open_clip_torch", "faiss-cpu", "umap-learn", "numba", "streamlit",
                 "playwright", "scikit-image", "scikit-learn", "pillow", "ir_measures"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    chromium = chromium_path()
    if chromium:
        import subprocess

        try:
            versions["chromium"] = subprocess.run([chromium, "--version"], capture_output=True, text=True,
                                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            versions["chromium"] = "?"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": mem_gib,
        "loadavg": list(os.getloadavg()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "gpu": "none (CPU only)",
    }


def chromium_path() -> str | None:
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser")


def register_tiny_clip(work: Path) -> None:
    """Make ``TINY_ARCH`` known to open_clip in this process."""
    import open_clip

    d = work / "tiny_clip_cfg"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{TINY_ARCH}.json").write_text(json.dumps(TINY_CFG))
    if TINY_ARCH not in open_clip.list_models():
        open_clip.add_model_config(d)


def clip_checkpoint(arch: str, work: Path) -> str:
    """Spec ``clip:<arch>:<path>`` of a randomly initialised open_clip model saved as a
    state_dict under ``work`` (created once, reused by later sections)."""
    import open_clip
    import torch

    if arch == TINY_ARCH:
        register_tiny_clip(work)
    path = work / "weights" / f"random-{arch}.pt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        model = open_clip.create_model(arch, pretrained=None)
        tmp = path.with_suffix(".tmp")
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, path)
        del model
    return f"clip:{arch}:{path}"


def fmt(v: Any, key: str = "") -> str:
    """Format a table cell."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if key.startswith("ratio") or key.endswith("_x"):
            return f"{v:,.1f}×" if v >= 10 else f"{v:.2f}×"
        if key.startswith("recall"):
            return f"{v:.3f}"
        if "diff" in key:
            return "0" if v == 0 else f"{v:.1e}"
        a = abs(v)
        if a == 0:
            return "0"
        if a < 5e-4:
            return "<0.001"
        if a >= 1000:
            return f"{v:,.0f}"
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        if a >= 0.1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return str(v)


def md_table(section: Section) -> str:
    cols = section.columns or [(k, k) for k in (section.rows[0] if section.rows else {})]
    lines = ["| " + " | ".join(h for _, h in cols) + " |",
             "| " + " | ".join("---:" if _numeric_col(section, k) else "---" for k, _ in cols) + " |"]
    for r in section.rows:
        lines.append("| " + " | ".join(fmt(r.get(k), k).replace("|", "\\|") for k, _ in cols) + " |")
    return "\n".join(lines)


def _numeric_col(section: Section, key: str) -> bool:
    vals = [r.get(key) for r in section.rows if r.get(key) is not None]
    return bool(vals) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
