"""The encoder interface every encoder implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

#: Capabilities an encoder declares in ``Encoder.capabilities``.
IMAGE = "image"  # encode_images: figures → vectors
TEXT = "text"  # encode_texts: texts → vectors
TEXT_TO_IMAGE = "text-to-image"  # texts land in the image space (a CLIP text tower)
FIT_ON_CORPUS = "fit-on-corpus"  # fitted_on(texts) → a copy fitted on the corpus (TF-IDF)
DOWNLOADABLE = "downloadable"  # download() fetches the weights into cache/
PROTOCOLS = "protocols"  # preprocessing follows a named evaluation protocol (``spec@<protocol>``)
CAPABILITIES: frozenset[str] = frozenset({IMAGE, TEXT, TEXT_TO_IMAGE, FIT_ON_CORPUS, DOWNLOADABLE, PROTOCOLS})


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
    ``"clip:ViT-B-16:laion400m_e32"``), ``label`` (short display name), ``kind`` (the
    family, for display only) and ``capabilities`` (what it can do; ask with
    ``cap in enc.capabilities`` or ``core.encoders.has_capability(spec, cap)``).
    Constructors only store arguments; models load lazily on first use, so listing
    encoders is cheap.
    """

    spec: str = ""
    label: str = ""
    kind: str = ""
    #: What this encoder can do: a subset of ``CAPABILITIES`` (may be set per instance).
    capabilities: frozenset[str] = frozenset({IMAGE})
    #: The evaluation protocol (``core.protocols``) its images and texts are prepared by;
    #: encoders with the ``protocols`` capability take it from the spec's ``@<protocol>``.
    protocol: str = "clean"
    #: Preferred batch size for ``encode_images``.
    batch_size: int = 32
    #: The pixel mode images are decoded to for this encoder ("RGB", or "L" for grey
    #: descriptors, so a grey drawing is never widened to RGB and narrowed back).
    image_mode: str = "RGB"
    #: Where the vectors are computed ("cpu", "cuda"); recorded in the cache manifest.
    device: str = "cpu"
    #: Images decoded per step of the build's reader thread (``core.embed``): the next step is
    #: decoded while this one is encoded; None = one step per batch. Only for encoders whose
    #: vectors do not depend on how a batch is split (one image at a time).
    decode_chunk: int | None = None

    @property
    def decode_ahead(self) -> bool:
        """Whether decoding the next images in a reader thread overlaps with this encoder's work:
        True for single-threaded compute (a core is free to decode on)."""
        return True

    @property
    def has_images(self) -> bool:
        """Shorthand for ``IMAGE in self.capabilities``."""
        return IMAGE in self.capabilities

    @property
    def has_texts(self) -> bool:
        """Shorthand for ``TEXT in self.capabilities``."""
        return TEXT in self.capabilities

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
