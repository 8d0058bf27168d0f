"""PatentNet: a Swin-V2 backbone trained on patent drawings, with an embedding head.

``patentnet:<checkpoint file>[:<timm backbone>]``. The model is a timm backbone with one
input channel and no classifier, followed by Flatten → BatchNorm1d → Dropout → Linear(→512)
→ BatchNorm1d(512) → PReLU, as UPAIR built its candidate pools with. The checkpoint
(``swin-arcface-test_epoch19.pth``, a DataParallel state dict from the PatentNet weights
folder linked in UPAIR's README) cannot be downloaded from here: it is placed by hand.
Loading reports missing keys as an error and unexpected keys as a warning (kept in
``load_report``), never ignoring either silently. Input: grayscale, 384 px, mean/std 0.5.
"""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from ..protocols import DEFAULT_PROTOCOL
from .base import Availability
from .torch_image import TorchImageEncoder, load_checked, read_state_dict

__all__ = ["PatentNetEncoder", "build_patentnet", "gray_tensor", "BACKBONE", "EMBEDDING_SIZE", "INPUT_SIZE", "CHECKPOINT_NAME"]


#: The backbone UPAIR used (timm's current name for ``swinv2_base_window12to24_192to384_22kft1k``).
BACKBONE = "swinv2_base_window12to24_192to384"
EMBEDDING_SIZE = 512
INPUT_SIZE = 384
CHECKPOINT_NAME = "swin-arcface-test_epoch19.pth"
_GRAY_MEAN, _GRAY_STD = 0.5, 0.5


@lru_cache(maxsize=1)
def _patentnet_class():
    import torch.nn as nn

    class PatentNet(nn.Module):
        """timm backbone (1 channel, no classifier) + embedding head."""

        def __init__(self, backbone: str, embedding_size: int) -> None:
            super().__init__()
            import timm

            self.backbone = timm.create_model(backbone, pretrained=False, num_classes=0, in_chans=1)
            width = int(self.backbone.num_features)
            self.head = nn.Sequential(
                nn.Flatten(), nn.BatchNorm1d(width), nn.Dropout(),
                nn.Linear(width, embedding_size), nn.BatchNorm1d(embedding_size), nn.PReLU(),
            )

        def forward(self, x):
            return self.head(self.backbone(x))

    return PatentNet


def gray_tensor(images: list, size: int = INPUT_SIZE):
    """PatentNet's own preprocessing: grayscale, centred on a white square, bicubic to
    ``size``, mean/std 0.5 → float32 tensor ``(n, 1, size, size)``."""
    import numpy as np
    import torch
    from PIL import Image

    arr = np.empty((len(images), size, size), dtype=np.uint8)
    for i, im in enumerate(images):
        gray = im.convert("L")
        w, h = gray.size
        if w != h:
            canvas = Image.new("L", (max(w, h), max(w, h)), 255)
            canvas.paste(gray, ((max(w, h) - w) // 2, (max(w, h) - h) // 2))
            gray = canvas
        arr[i] = np.asarray(gray.resize((size, size), Image.Resampling.BICUBIC), dtype=np.uint8)
    x = torch.from_numpy(arr).to(torch.float32).div_(255.0).unsqueeze(1)
    return (x - _GRAY_MEAN) / _GRAY_STD


def build_patentnet(backbone: str = BACKBONE, embedding_size: int = EMBEDDING_SIZE):
    """A randomly initialised PatentNet (``torch.nn.Module``) on ``backbone``."""
    return _patentnet_class()(backbone, embedding_size)


class PatentNetEncoder(TorchImageEncoder):
    """PatentNet from a checkpoint file as an image encoder (grayscale, 512-d)."""

    kind = "patentnet"

    def __init__(self, checkpoint: str | Path, backbone: str = BACKBONE, protocol: str = DEFAULT_PROTOCOL) -> None:
        super().__init__(protocol)
        self.checkpoint = Path(checkpoint).expanduser().resolve()
        self.backbone = str(backbone)
        tail = "" if self.backbone == BACKBONE else f":{self.backbone}"
        self.spec = self._suffixed(f"patentnet:{self.checkpoint}{tail}")
        name = "" if self.checkpoint.name == CHECKPOINT_NAME else f" {self.checkpoint.name}"
        self.label = self._labelled(f"PatentNet{name}" + (f" ({self.backbone})" if tail else ""))
        self.load_report: dict[str, list[str]] = {"missing": [], "unexpected": []}

    def availability(self) -> Availability:
        if not self.checkpoint.is_file():
            return Availability(
                False, f"PatentNet checkpoint not found: {self.checkpoint}",
                f"download {CHECKPOINT_NAME} from the PatentNet weights folder linked in the UPAIR README and "
                f"put it at {self.checkpoint} (or name another file: patentnet:<file>)")
        return Availability(True)

    def _weights_id(self) -> str:
        from .clip import checkpoint_digest

        digest = checkpoint_digest(self.checkpoint) if self.checkpoint.is_file() else "missing"
        return f"{self.backbone}|{EMBEDDING_SIZE}|sha256:{digest}"

    def _build(self):
        model = build_patentnet(self.backbone)
        state = read_state_dict(self.checkpoint, "PatentNet checkpoint")  # DataParallel's module. stripped
        backbone = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
        filter_fn = getattr(sys.modules.get(type(model.backbone).__module__), "checkpoint_filter_fn", None)
        if filter_fn is not None and backbone:  # older timm layouts (Swin-V2 downsampling) remapped
            backbone = filter_fn(backbone, model.backbone)
        merged = {**{f"backbone.{k}": v for k, v in backbone.items()},
                  **{k: v for k, v in state.items() if not k.startswith("backbone.")}}
        self.load_report = load_checked(model, merged, f"PatentNet checkpoint {self.checkpoint}",
                                        f"backbone {self.backbone}", f"not a PatentNet on {self.backbone}?")
        return model

    def _clean_transform(self, model):
        return gray_tensor

    def upair_input(self) -> tuple[int, int]:
        return INPUT_SIZE, 1

    @property
    def dim(self) -> int:
        return EMBEDDING_SIZE
