"""An open_clip model published on the Hugging Face hub: ``clip:hf-hub:<org>/<repo>``.

E.g. the patent-domain PatentCLIP (``clip:hf-hub:patentclip/PatentCLIP_Vit_B``). The
repository (``open_clip_config.json`` + weights) is downloaded into ``cache/huggingface``
by ``python -m core fetch-weights`` and loaded from that folder (open_clip's
``local-dir:`` schema), never from the network.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import config
from ..protocols import DEFAULT_PROTOCOL
from .base import Availability
from .clip import ClipEncoder
from .hub import cached_snapshot, download_snapshot, find_cached

__all__ = ["HubClipEncoder"]

_CONFIG = "open_clip_config.json"
_WEIGHTS = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class HubClipEncoder(ClipEncoder):
    """A hub-hosted open_clip model as image and text encoder."""

    def __init__(self, repo: str, protocol: str = DEFAULT_PROTOCOL) -> None:
        super().__init__(f"hf-hub:{repo}", "hub", protocol=protocol)
        self.repo = repo
        self.spec = f"clip:hf-hub:{repo}" + ("" if self.protocol == DEFAULT_PROTOCOL else f"@{self.protocol}")
        self.label = f"CLIP {repo.split('/')[-1]}" + ("" if self.protocol == DEFAULT_PROTOCOL else f" [{self.protocol}]")

    def snapshot(self) -> Path | None:
        """The downloaded repository folder (config and weights present), else None."""
        folder = cached_snapshot(self.repo, _CONFIG)
        return folder if folder is not None and find_cached(self.repo, _WEIGHTS) is not None else None

    def local_weights(self) -> Path | None:
        return find_cached(self.repo, _WEIGHTS) if self.snapshot() is not None else None

    def availability(self) -> Availability:
        if self.snapshot() is None:
            return Availability(False, f"{self.repo} is not downloaded",
                                f"run `{config.cli()} fetch-weights clip:hf-hub:{self.repo}` on a machine with "
                                "internet access")
        return Availability(True)

    def download(self) -> Path:
        """Download the repository into ``cache/huggingface``; returns the weights file (needs internet)."""
        if self.snapshot() is None:
            download_snapshot(self.repo)
        weights = self.local_weights()
        if weights is None:
            raise RuntimeError(f"{self.repo} has no open_clip weights ({' or '.join(_WEIGHTS)}) beside {_CONFIG}")
        return weights

    def _load_locked(self) -> None:
        folder = self.snapshot()
        if folder is None:
            av = self.availability()
            raise RuntimeError(f"{self.label} is not available: {av.reason}. Fix: {av.fix}")
        self.arch = f"local-dir:{folder}"  # open_clip reads config, weights and tokenizer from the folder
        try:
            super()._load_locked()
        finally:
            self.arch = f"hf-hub:{self.repo}"

    def _pretrained_cfg(self) -> dict:
        return {}

    @property
    def dim(self) -> int:
        folder = self.snapshot()
        if self._model is None and folder is not None:
            cfg = json.loads((folder / _CONFIG).read_text())
            dim = cfg.get("model_cfg", cfg).get("embed_dim")
            if dim:
                return int(dim)
        model = self.load()
        return int(getattr(model, "embed_dim", None) or model.text_projection.shape[1])

    def cache_key(self) -> str:
        folder = self.snapshot()
        return f"{super().cache_key()}|rev={folder.name if folder is not None else 'missing'}"
