"""Encoder registry: one place that knows every encoder spec.

Specs:
    ``hog``, ``ahdh``                       training-free visual descriptors
    ``tfidf``                               TF-IDF over descriptions / component labels
    ``clip:<arch>:<pretrained>``            open_clip; ``pretrained`` is an open_clip tag
                                            (e.g. ``laion400m_e32``) or a checkpoint file path
"""
from __future__ import annotations

import os
from functools import lru_cache

from .. import config
from .base import Availability, Encoder, l2_normalise

__all__ = [
    "Availability",
    "Encoder",
    "l2_normalise",
    "get_encoder",
    "known_encoders",
    "default_encoders",
    "UPAIR_CHECKPOINTS",
]

#: Where the UPAIR fine-tuned checkpoints are expected (see README "CLIP weights").
UPAIR_CHECKPOINTS = {
    "desc": "weights/upair-clip-desc.pt",
    "labels": "weights/upair-clip-labels.pt",
}

#: The encoders offered by default, in display order.
BUILTIN_SPECS: tuple[str, ...] = (
    "clip:ViT-B-16:laion400m_e32",
    f"clip:ViT-B-16:cache/{UPAIR_CHECKPOINTS['desc']}",
    f"clip:ViT-B-16:cache/{UPAIR_CHECKPOINTS['labels']}",
    "hog",
    "ahdh",
    "tfidf",
)


def _resolve_path_spec(spec: str) -> str:
    """Make a relative checkpoint path in a clip spec absolute against the repo/cache root."""
    if not spec.startswith("clip:"):
        return spec
    parts = spec.split(":", 2)
    if len(parts) == 3 and ("/" in parts[2] or parts[2].endswith((".pt", ".bin", ".pth", ".safetensors"))):
        path = parts[2]
        if path.startswith("cache/"):
            path = str(config.cache_dir() / path[len("cache/"):])
        elif not os.path.isabs(path):
            path = str((config.ROOT / path).resolve())
        return f"clip:{parts[1]}:{path}"
    return spec


@lru_cache(maxsize=64)
def get_encoder(spec: str) -> Encoder:
    """The encoder for ``spec`` (one shared instance per spec); ValueError lists valid specs."""
    spec = spec.strip()
    if spec == "hog":
        from .classic import HOGEncoder

        return HOGEncoder()
    if spec == "ahdh":
        from .classic import AHDHEncoder

        return AHDHEncoder()
    if spec == "tfidf":
        from .text import TfidfEncoder

        return TfidfEncoder()
    if spec.startswith("clip:"):
        parts = spec.split(":", 2)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise ValueError(f"bad CLIP spec {spec!r}; use clip:<arch>:<pretrained tag or checkpoint path>")
        from .clip import ClipEncoder

        resolved = _resolve_path_spec(spec)
        _, arch, pretrained = resolved.split(":", 2)
        return ClipEncoder(arch, pretrained)
    raise ValueError(
        f"unknown encoder {spec!r}; known: {', '.join(known_encoders())} "
        "(or any clip:<arch>:<pretrained tag or checkpoint path>)"
    )


def known_encoders() -> list[str]:
    """Built-in specs plus any listed in ``$UPAIR_ENCODERS`` (comma-separated)."""
    extra = [s.strip() for s in os.environ.get("UPAIR_ENCODERS", "").split(",") if s.strip()]
    out: list[str] = []
    for s in (*BUILTIN_SPECS, *extra):
        if s not in out:
            out.append(s)
    return out


def default_encoders() -> list[str]:
    """Every known encoder that is available on this machine."""
    return [s for s in known_encoders() if get_encoder(s).availability().ok]
