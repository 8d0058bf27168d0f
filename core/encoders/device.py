"""Where torch encoders run: CUDA when torch sees it (mixed precision, larger batches), else CPU.

``$UPAIR_DEVICE`` (``auto`` / ``cpu`` / ``cuda`` / ``cuda:1``) overrides the choice; asking for
a GPU torch cannot use is an error naming the variable, never a silent CPU run. ``compute_device()``
answers without importing torch when no NVIDIA driver is present, so listing encoders
and drawing the sidebar stay cheap.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

__all__ = ["compute_device", "batch_size_for", "autocast", "OnDevice"]

#: Images per forward pass: larger on a GPU.
CPU_BATCH = 16
CUDA_BATCH = 128


def _driver_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def _gpus() -> int:
    """GPUs torch can use here (0 without a driver, without CUDA, or with a broken install)."""
    if "torch" not in sys.modules and not _driver_present():
        return 0
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA install means no GPU
        return 0


def compute_device() -> str:
    """``"cuda"`` when torch can use a GPU, else ``"cpu"`` (``$UPAIR_DEVICE`` overrides);
    ``ConfigError`` naming the variable when it asks for a GPU torch cannot use."""
    from .. import config

    want = str(config.env("UPAIR_DEVICE"))
    if want == "cpu":
        return "cpu"
    gpus = _gpus()
    if want == "auto":
        return "cuda" if gpus else "cpu"
    index = int(want.partition(":")[2] or 0)
    if index >= gpus:
        seen = f"torch sees {gpus} GPU(s) (cuda:0…cuda:{gpus - 1})" if gpus else "torch sees no usable GPU here"
        raise config.ConfigError(f"UPAIR_DEVICE={want} but {seen}; unset UPAIR_DEVICE (a GPU when there is one) "
                                 "or set UPAIR_DEVICE=cpu")
    return want


def batch_size_for(device: str, cpu: int = CPU_BATCH, cuda: int = CUDA_BATCH) -> int:
    """Images per forward pass on ``device``."""
    return cuda if device.startswith("cuda") else cpu


@contextlib.contextmanager
def autocast(device: str) -> Iterator[None]:
    """Inference mode, plus float16 autocast on CUDA (outputs are cast back to float32 by callers)."""
    import torch

    with torch.inference_mode():
        if device.startswith("cuda"):
            with torch.autocast("cuda", dtype=torch.float16):
                yield
        else:
            yield


class OnDevice:
    """Mixin for torch encoders: ``device`` and ``batch_size`` are chosen on first use, so
    constructing or listing an encoder never imports torch. Set ``batch_size`` to override."""

    cpu_batch: int = CPU_BATCH
    cuda_batch: int = CUDA_BATCH
    _device: str | None = None
    _batch_size: int | None = None

    @property
    def device(self) -> str:
        """Where this encoder computes: ``compute_device()`` at first use."""
        if self._device is None:
            self._device = compute_device()
        return self._device

    def use_device(self, device: str) -> None:
        """Compute on ``device`` ("cpu", "cuda") instead of the automatic choice; call before first use."""
        if getattr(self, "_model", None) is not None:
            raise RuntimeError("the model is already loaded; choose the device before first use")
        self._device = device

    @property
    def decode_ahead(self) -> bool:
        """On a GPU, or with torch on fewer threads than the cores this process may use, the reader
        thread decodes the next batch on a free core. When torch's threads take every core, a
        decoding thread beside them stalls all of them at each parallel region (measured:
        ``bench a``), so the batch is decoded first, then encoded."""
        if self.device != "cpu":
            return True
        import os

        import torch

        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        return torch.get_num_threads() < cores

    @property
    def batch_size(self) -> int:
        """Images (or texts) per forward pass on this device."""
        return self._batch_size or batch_size_for(self.device, self.cpu_batch, self.cuda_batch)

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = int(value)
