"""Where torch encoders run: CUDA when torch sees it (mixed precision, larger batches), else CPU.

``$UPAIR_DEVICE`` (``cpu`` / ``cuda`` / ``cuda:1``) overrides the choice. ``compute_device()``
answers without importing torch when no NVIDIA driver is present, so listing encoders
and drawing the sidebar stay cheap.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

__all__ = ["compute_device", "batch_size_for", "autocast", "OnDevice"]

#: Images per forward pass: larger on a GPU.
CPU_BATCH = 16
CUDA_BATCH = 128


def _driver_present() -> bool:
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()


def compute_device() -> str:
    """``"cuda"`` (or ``$UPAIR_DEVICE``) when torch can use a GPU, else ``"cpu"``."""
    want = os.environ.get("UPAIR_DEVICE", "").strip().lower()
    if want == "cpu":
        return "cpu"
    if "torch" not in sys.modules and not _driver_present():
        return "cpu"
    try:
        import torch

        if torch.cuda.is_available():
            return want if want.startswith("cuda") else "cuda"
    except Exception:  # noqa: BLE001 - a broken CUDA install means CPU
        pass
    return "cpu"


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
    def batch_size(self) -> int:
        """Images (or texts) per forward pass on this device."""
        return self._batch_size or batch_size_for(self.device, self.cpu_batch, self.cuda_batch)

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._batch_size = int(value)
