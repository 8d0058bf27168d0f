"""What torch image encoders (timm, PatentNet) share: lazy thread-safe loading, the device,
protocol preprocessing, batching, and reading checkpoint files safely.

Under the ``upair`` protocol images get the official preprocessing
(``core.protocols.upair_preprocess``) at the encoder's own input size and channels; under
``clean`` each model's own transform.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from ..protocols import DEFAULT_PROTOCOL, get_protocol, upair_preprocess
from .base import IMAGE, PROTOCOLS, Encoder, l2_normalise
from .device import OnDevice, autocast

__all__ = ["TorchImageEncoder", "read_state_dict", "load_checked", "PREPROCESS_VERSION"]

log = logging.getLogger(__name__)

#: Bump when the preprocessing of these encoders changes (part of every cache key).
PREPROCESS_VERSION = "1"


def read_state_dict(path: Path, what: str = "checkpoint") -> dict:
    """A ``{name: tensor}`` dict from a torch or safetensors file; unwraps ``{"state_dict": ...}`` /
    ``{"model": ...}`` and strips DataParallel's ``module.`` prefix. Never unpickles objects."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling/format errors
        import pickle

        from ..errors import torch_load_reason

        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
            raise RuntimeError(f"refused to load {what} {path}: it holds Python objects other than tensors, which are "
                               "never unpickled here. Re-save it with torch.save(model.state_dict(), path).") from exc
        raise RuntimeError(f"cannot read {what} {path}: {torch_load_reason(exc)}. Expected a torch "
                           "state_dict saved with torch.save (tensors only), or a .safetensors file.") from exc
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) for k in obj):
        raise RuntimeError(f"{what} {path} holds no state_dict (got {type(obj).__name__}); expected a mapping "
                           "of parameter names to tensors")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def load_checked(model, state: dict, what: str, target: str, hint: str) -> dict[str, list[str]]:
    """``model.load_state_dict(state, strict=False)`` and its report ``{"missing", "unexpected"}``:
    a shape mismatch or a missing parameter is a RuntimeError naming ``what``, the ``target``
    it was loaded into and the ``hint``; unexpected keys are a warning."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise RuntimeError(f"{what} does not fit {target}: {str(exc)[:600]}") from exc
    report = {"missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys)}
    if report["missing"]:
        raise RuntimeError(f"{what} leaves {len(report['missing'])} parameter(s) unset "
                           f"(e.g. {', '.join(report['missing'][:5])}): {hint}")
    if report["unexpected"]:
        log.warning("%s: %d unexpected key(s) not used (e.g. %s)", what, len(report["unexpected"]),
                    ", ".join(report["unexpected"][:5]))
    return report


class TorchImageEncoder(OnDevice, Encoder):
    """Base of torch image encoders. Subclasses implement ``_build`` (the model with its
    weights, on CPU), ``_clean_transform``, ``upair_input``, ``_weights_id`` and ``dim``."""

    capabilities = frozenset({IMAGE, PROTOCOLS})

    def __init__(self, protocol: str = DEFAULT_PROTOCOL) -> None:
        self.protocol = get_protocol(protocol).name  # ValueError lists the known protocols
        self._lock = threading.Lock()
        self._model = None
        self._transform: Callable | None = None

    # -- subclass hooks ------------------------------------------------------------

    def _build(self):
        """The model with its weights loaded (CPU, any mode)."""
        raise NotImplementedError

    def _clean_transform(self, model) -> Callable[[list], object]:
        """``list[PIL.Image]`` → float32 tensor: the model's own preprocessing (``clean``)."""
        raise NotImplementedError

    def upair_input(self) -> tuple[int, int]:
        """``(size, channels)`` this model gets under the ``upair`` protocol."""
        raise NotImplementedError

    def _weights_id(self) -> str:
        """Identity of the weights (a tag or a file digest) for the cache key."""
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------------

    def _suffixed(self, spec: str) -> str:
        return spec if self.protocol == DEFAULT_PROTOCOL else f"{spec}@{self.protocol}"

    def _labelled(self, label: str) -> str:
        return label if self.protocol == DEFAULT_PROTOCOL else f"{label} [{self.protocol}]"

    def load(self):
        """Load the model now (once; later calls return the loaded model)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from .. import config

                    config.configure_threads()
                    avail = self.availability()
                    if not avail.ok:
                        raise RuntimeError(f"{self.label} is not available: {avail.reason}. Fix: {avail.fix}")
                    model = self._build().eval().to(self.device)
                    self._transform = self._clean_transform(model)
                    self._model = model
        return self._model

    def cache_key(self) -> str:
        return f"{self.kind}|{self._weights_id()}|protocol={get_protocol(self.protocol).key}|pp={PREPROCESS_VERSION}"

    def preprocess(self, images: list):
        """``list[PIL.Image]`` → float32 tensor ``(n, C, S, S)`` as the protocol says."""
        self.load()
        if self.protocol == "upair":
            size, channels = self.upair_input()
            return upair_preprocess(images, size, channels)
        return self._transform(images)

    def forward_images(self, tensor) -> np.ndarray:
        """Preprocessed batch → float32 ``(n, dim)`` L2-normalised features."""
        model = self.load()
        with autocast(self.device):
            feats = model(tensor.to(self.device, non_blocking=True))
        return l2_normalise(feats.float().cpu().numpy())

    def encode_images(self, images: list) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([self.forward_images(self.preprocess(images[i:i + self.batch_size]))
                               for i in range(0, len(images), self.batch_size)], axis=0)
