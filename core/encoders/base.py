"""The encoder interface every encoder implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Availability:
    """Whether an encoder can run here; when not, why and the exact fix."""

    ok: bool
    reason: str = ""
    fix: str = ""


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm as contiguous float32 (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


class Encoder(ABC):
    """Maps images (and, for some, texts) to L2-normalised float32 vectors.

    Subclasses set ``spec`` (the registry name, e.g. ``"hog"`` or
    ``"clip:ViT-B-16:laion400m_e32"``), ``label`` (short display name) and ``kind``
    (``"clip"``, ``"classic"`` or ``"text"``). Constructors only store arguments; models
    load lazily on first use, so listing encoders is cheap.
    """

    spec: str = ""
    label: str = ""
    kind: str = ""
    #: True when ``encode_images`` exists; False for text-only encoders (TF-IDF).
    has_images: bool = True
    #: True when ``encode_texts`` exists (CLIP text tower, TF-IDF).
    has_texts: bool = False
    #: Preferred batch size for ``encode_images``.
    batch_size: int = 32

    def availability(self) -> Availability:
        """Whether the encoder can run on this machine (never raises)."""
        return Availability(True)

    @property
    @abstractmethod
    def dim(self) -> int:
        """Embedding dimension."""

    @abstractmethod
    def cache_key(self) -> str:
        """Identity of this encoder's output: spec, weights digest and parameters."""

    def encode_images(self, images: list) -> np.ndarray:
        """``list[PIL.Image]`` (RGB) → float32 ``(n, dim)``, rows L2-normalised."""
        raise NotImplementedError(f"{self.spec} does not encode images")

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """``list[str]`` → float32 ``(n, dim)``, rows L2-normalised."""
        raise NotImplementedError(f"{self.spec} does not encode text")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"
