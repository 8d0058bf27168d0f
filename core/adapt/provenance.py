"""Where adapted models live and what they remember: checkpoint paths and sidecar provenance.

An adapted model ``NAME`` is ``cache/weights/NAME.pt`` (open_clip's training format,
``{"epoch", "name", "state_dict"}``) plus ``cache/weights/NAME.json``: the corpus digest, the
text field and its cleaning, the hyperparameters, epochs, best validation metrics, the
excluded benchmark patents and the training curves. Its encoder spec is
``clip:<arch>:cache/weights/NAME.pt``. Checkpoints without a sidecar (e.g. the published
UPAIR ones) are not listed here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import config
from ..store import atomic_write_json, load_json
from .spec import NAME_RE, AdaptError

__all__ = ["AdaptedModel", "weights_dir", "weights_path", "sidecar_path", "run_dir", "encoder_spec",
           "check_name", "write_sidecar", "read_sidecar", "list_adapted", "adapted_specs"]

#: Bump when the sidecar layout changes.
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class AdaptedModel:
    """One adapted model on disk: its name, checkpoint, encoder spec and provenance."""

    name: str
    arch: str
    checkpoint: Path
    provenance: dict = field(repr=False, compare=False)

    @property
    def spec(self) -> str:
        """The encoder spec that loads it (``clip:<arch>:cache/weights/NAME.pt``)."""
        return encoder_spec(self.arch, self.name)

    @property
    def history(self) -> dict:
        """Training curves: ``{"steps": [[step, loss], ...], "val": [{epoch, step, ...}, ...]}``."""
        return self.provenance.get("history", {})

    @property
    def init_spec(self) -> str:
        """The encoder spec of the model it started from ("" for a random initialisation)."""
        return self.provenance.get("init_spec", "")


def weights_dir() -> Path:
    """``cache/weights``: where adapted (and published UPAIR) checkpoints live."""
    return config.cache_dir() / "weights"


def check_name(name: str) -> str:
    """``name`` when usable as a file name, else AdaptError."""
    if not NAME_RE.match(name or ""):
        raise AdaptError(f"bad model name {name!r}: use letters, digits, '.', '_' or '-' "
                         "(up to 80 characters, starting with a letter or digit)")
    return name


def weights_path(name: str) -> Path:
    return weights_dir() / f"{check_name(name)}.pt"


def sidecar_path(name: str) -> Path:
    return weights_dir() / f"{check_name(name)}.json"


def run_dir(name: str) -> Path:
    """Working folder of a run (CSVs, prepared images, resumable state)."""
    return config.cache_dir() / "adapt" / "runs" / check_name(name)


def encoder_spec(arch: str, name: str) -> str:
    """``clip:<arch>:cache/weights/NAME.pt`` (resolved against the cache by the registry)."""
    return f"clip:{arch}:cache/weights/{check_name(name)}.pt"


def write_sidecar(name: str, provenance: dict) -> Path:
    """Atomically write the provenance sidecar of ``name``; returns its path."""
    path = sidecar_path(name)
    atomic_write_json(path, {"sidecar_version": SIDECAR_VERSION, **provenance})
    return path


def read_sidecar(name: str) -> dict | None:
    """The provenance of ``name``, or None when missing, unreadable or of another layout."""
    data = load_json(sidecar_path(name))
    if not isinstance(data, dict) or data.get("sidecar_version") != SIDECAR_VERSION:
        return None
    return data


def list_adapted() -> list[AdaptedModel]:
    """Every adapted model whose checkpoint and sidecar are both present, newest first."""
    folder = weights_dir()
    if not folder.is_dir():
        return []
    out = []
    for side in folder.glob("*.json"):
        name = side.stem
        if not NAME_RE.match(name):
            continue
        prov = read_sidecar(name)
        ckpt = folder / f"{name}.pt"
        if prov is None or not ckpt.is_file() or not prov.get("arch"):
            continue
        out.append(AdaptedModel(name=name, arch=str(prov["arch"]), checkpoint=ckpt, provenance=prov))
    return sorted(out, key=lambda m: (m.provenance.get("finished_at", ""), m.name), reverse=True)


def adapted_specs() -> list[str]:
    """Encoder specs of every adapted model (for the encoder registry)."""
    return [m.spec for m in list_adapted()]
