"""Named evaluation protocols: how figures and texts are prepared before they are encoded.

A protocol fixes three things that change benchmark numbers:

* the **image preprocessing** — how a drawing is opened (``as-stored``: the file's own
  pixel mode, alpha channel ignored; or ``normalised``: upright, transparency composited
  on white, see ``core.figures.open_image``) and normalised for a CLIP model (ImageNet or
  the model's own mean/std);
* the **text cleaning** applied to descriptions and component labels (CLIP text and
  TF-IDF text alike);
* how a **list of component labels** becomes one text.

``PROTOCOLS`` is the registry (data):

``upair``
    What the official UPAIR ``evaluation/run.py`` does, step for step: the file as
    stored, padded to a centred white square (alpha dropped), bicubic antialiased resize
    to the model's input size, grayscale replicated to three channels, ImageNet mean/std;
    the official cleaning (lower-case, collapse whitespace, delete digits, then
    punctuation, then replace what is left of figure references by ``<image>``); label
    lists joined with one space, as the UPAIR metadata was built.
``clean``
    This project's own choices: transparency composited on white and EXIF orientation
    applied before padding, the model's own mean/std, and a cleaning that recognises
    figure references *before* digits and punctuation are removed (``FIGS. 1-3`` →
    ``figref``) so the words after them survive.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

__all__ = [
    "Protocol", "PROTOCOLS", "DEFAULT_PROTOCOL", "get_protocol", "protocol_names",
    "upair_clean_text", "clean_text", "FIGREF", "upair_preprocess", "clean_preprocess", "open_as_stored",
    "IMAGENET_MEAN", "IMAGENET_STD", "UPAIR_PLACEHOLDER", "default_protocol_for",
]

#: ImageNet channel statistics (what the official evaluation normalises with).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: Single-channel statistics of the official code (used when one output channel is asked for).
_GRAY_MEAN, _GRAY_STD = 0.5, 0.5
#: What the official cleaning puts where a figure reference was.
UPAIR_PLACEHOLDER = "<image>"

# --------------------------------------------------------------------------- upair text
# The official cleaning, order for order: lower-case; runs of whitespace -> one space;
# strip; delete digit runs; delete every character that is neither a word character nor
# whitespace; then replace figure-reference remnants. By then no digit or punctuation is
# left, so the figure pattern (kept complete here to behave identically on any input)
# mostly reduces to "abb"/"fig" plus trailing letters and spaces.
_WS = re.compile(r"\s+")
_DIGIT_RUN = re.compile(r"\d+")
_NOT_WORD_OR_SPACE = re.compile(r"[^\w\s]")


def _figure_reference_pattern() -> re.Pattern[str]:
    """The official figure-reference pattern, assembled from its parts (case-insensitive)."""
    ref = r"\(*[a-z0-9|.,]*\)*"  # "(b)", "2a", "3.1" ...
    parts = [
        r"(?:abb|fig)",  # "Abb." (German) or "Fig"
        r"\.*",  # "FIG."
        r"[eru]*",  # "figure" -> "ure"
        r"[ns|]*",  # plural "s" / German "n"
        r"[ .]+",  # separator before the number
        r"[a-z]*",
        r"[0-9]*",
        r"[0-9,]*",
        ref,
        r"-*",  # ranges "1-3"
        r"[adghnortu| ]*",  # the letters of " and ", " to ", " through ", " und " (and "|")
        r"[0-9]*",
        ref,
        r":*",
    ]
    return re.compile("".join(parts), re.IGNORECASE)


_FIGURE_REF = _figure_reference_pattern()


def upair_clean_text(text: str) -> str:
    """Clean a description or label text exactly as the official UPAIR evaluation does.

    >>> upair_clean_text("FIG. 2 shows the gear 12.")
    '<image>shows the gear '
    """
    text = str(text).lower()
    text = _WS.sub(" ", text).strip()
    text = _DIGIT_RUN.sub("", text)
    text = _NOT_WORD_OR_SPACE.sub("", text)
    return _FIGURE_REF.sub(UPAIR_PLACEHOLDER, text)


# --------------------------------------------------------------------------- clean text
#: Placeholder that replaces figure references ("FIG. 2A", "Figures 3 and 4", ...).
FIGREF = "figref"

_NUM = r"\d+[a-z]?(?:\s*\(\s*[a-z0-9]{1,3}\s*\))?"  # 2, 2a, 2(a), 12 (b)
_FIGREF_RE = re.compile(
    r"\b(?:fig(?:ure)?s?)\b\.?\s*"  # fig / figs / figure / figures, optional dot
    + _NUM
    + r"(?:\s*(?:-|–|—|,|&|/|\bto\b|\band\b|\bor\b|\bthrough\b|\bthru\b)\s*" + _NUM + r")*"
    + r"(?![a-z0-9])",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d+")
_PUNCT_RE = re.compile(r"[^\w\s]|_")
_SPACE_RE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """The ``clean`` protocol's text cleaning (this project's; not the official one).

    Lower-cases, replaces figure references ("FIG. 2A", "Fig 3", "FIGS. 1-3", "Figure 4b",
    "Figures 5 and 6") with the token ``figref``, deletes digits (reference numerals) and
    punctuation, and collapses whitespace::

        >>> clean_text("FIG. 2A shows the Gear 12, and FIGS. 3-4")
        'figref shows the gear and figref'
    """
    if not text:
        return ""
    text = str(text).lower()
    text = _FIGREF_RE.sub(f" {FIGREF} ", text)
    text = _DIGITS_RE.sub("", text)
    text = _PUNCT_RE.sub("", text)
    return _SPACE_RE.sub(" ", text).strip()


# --------------------------------------------------------------------------- images
def open_as_stored(path: Path | str | bytes, name: str | None = None):
    """Open an image (a file path or its bytes) with its own pixel mode, as ``PIL.Image.open`` gives it.

    No orientation, colour or transparency handling (``upair`` works on the file as
    stored). The pixel limit of ``core.config`` still applies; any failure raises
    ``core.figures.ImageError`` with a plain message. The returned image holds no open file.
    """
    import warnings

    from PIL import Image

    from . import config
    from .figures import ImageError

    label = name or ("the image" if isinstance(path, bytes) else Path(path).name)
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                if im.width * im.height > config.MAX_IMAGE_PIXELS:
                    raise ImageError(
                        f"{label} is {im.width} x {im.height} pixels, more than the "
                        f"{config.MAX_IMAGE_PIXELS / 1e6:.0f} MP limit; downscale it and try again."
                    )
                im.load()
                return im.copy()
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes one plain message
        raise ImageError(f"{label} could not be read as an image ({type(exc).__name__}: {exc}); "
                         "re-export it and try again.") from exc


def _pad_to_white_square(im):
    """Centre ``im`` on a white RGB square; a square image is returned as it is (any mode).

    Pasted without a mask, so an alpha channel is ignored (as the official code does).
    """
    from PIL import Image

    w, h = im.size
    if w == h:
        return im
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(im, ((side - w) // 2, (side - h) // 2))
    return canvas


def _gray_uint8(images: Sequence, size: int, as_stored: bool):
    """Pad, resize (bicubic) and convert each image to 8-bit grayscale: ``(n, size, size)`` uint8."""
    import numpy as np
    from PIL import Image

    arr = np.empty((len(images), size, size), dtype=np.uint8)
    for i, im in enumerate(images):
        if not as_stored and im.mode != "RGB":
            im = im.convert("RGB")
        im = _pad_to_white_square(im)
        if im.size != (size, size):
            im = im.resize((size, size), Image.Resampling.BICUBIC)
        arr[i] = np.asarray(im.convert("L"), dtype=np.uint8)
    return arr


def _normalise(gray, channels: int, mean: Sequence[float], std: Sequence[float]):
    """uint8 ``(n, S, S)`` → float32 ``(n, channels, S, S)``: ``(x / 255 - mean) / std`` per channel."""
    import torch

    n, size = gray.shape[0], gray.shape[1]
    x = torch.from_numpy(gray).to(torch.float32).div_(255.0).unsqueeze(1).expand(n, channels, size, size)
    m = torch.as_tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.as_tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1)
    return ((x - m) / s).contiguous()


def upair_preprocess(images: list, size: int, channels: int = 3):
    """The official UPAIR image preprocessing of a batch: float32 ``(n, channels, size, size)``.

    Pad to a centred white square (a square image keeps its mode; alpha is ignored),
    bicubic antialiased resize to ``size``, grayscale (replicated to 3 channels, or 1),
    then ImageNet mean/std for 3 channels, 0.5/0.5 for 1.
    """
    if channels not in (1, 3):
        raise ValueError("channels must be 1 or 3")
    gray = _gray_uint8(images, int(size), as_stored=True)
    if channels == 3:
        return _normalise(gray, 3, IMAGENET_MEAN, IMAGENET_STD)
    return _normalise(gray, 1, (_GRAY_MEAN,), (_GRAY_STD,))


def clean_preprocess(images: list, size: int, mean: Sequence[float], std: Sequence[float]):
    """The ``clean`` protocol's preprocessing: float32 ``(n, 3, size, size)``.

    Images (already upright RGB with transparency on white, see ``core.figures``) are
    padded to a white square, resized bicubically, turned grayscale, replicated to three
    channels and normalised with the model's own ``mean``/``std``.
    """
    mean = tuple(mean) * 3 if len(mean) == 1 else tuple(mean)
    std = tuple(std) * 3 if len(std) == 1 else tuple(std)
    return _normalise(_gray_uint8(images, int(size), as_stored=False), 3, mean, std)


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol (see the module docstring)."""

    name: str
    title: str
    summary: str
    clean_text: Callable[[str], str]
    label_separator: str  # how a component-label list is joined before cleaning
    images_as_stored: bool  # True: the file's own mode, alpha ignored; False: core.figures.open_image
    normalisation: str  # "imagenet" or "model" (CLIP mean/std)
    version: str  # bump when anything above changes; part of every cache key

    @property
    def key(self) -> str:
        """Identity for cache keys."""
        return f"{self.name}-{self.version}"

    def labels_text(self, labels: Iterable[str]) -> str:
        """A list of component labels as one (uncleaned) text."""
        return self.label_separator.join(str(x) for x in labels)

    def figure_text(self, figure, what: str) -> str:
        """The cleaned text of a figure for ``what`` = "desc", "labels" or "text" (all of them)."""
        if what == "desc":
            return self.clean_text(figure.description or "")
        if what == "labels":
            return self.clean_text(self.labels_text(figure.labels))
        return self.clean_text(f"{figure.title}. {figure.description}. {self.labels_text(figure.labels)}")

    def training_image(self, path: Path | str, size: int):
        """A drawing file prepared as this protocol prepares images, before normalisation: read
        as this protocol reads files, centred on a white square, bicubic resize to ``size``,
        grayscale replicated to RGB (``upair``: the file as stored, alpha ignored, exactly the
        steps of ``upair_preprocess``)."""
        from .figures import open_image

        name = f"figure {Path(path).name}"
        im = open_as_stored(path, name=name) if self.images_as_stored else open_image(path, name=name)
        return self.training_image_from(im, size)

    def training_image_from(self, image, size: int):
        """An image already read (as this protocol reads files), prepared as ``training_image``."""
        from PIL import Image

        gray = _gray_uint8([image], int(size), as_stored=self.images_as_stored)[0]
        return Image.fromarray(gray, mode="L").convert("RGB")

    def load_image(self, figure, mode: str = "RGB"):
        """Open a figure's image the way this protocol reads files (``mode="L"``: grey, for
        encoders that work on grey; ``upair`` keeps the file's own mode either way)."""
        from .figures import figure_bytes, load_figure_image

        if self.images_as_stored:
            name = f"figure {figure.id} ({Path(figure.path).name})"
            return open_as_stored(figure_bytes(figure) if figure.member else figure.path, name=name)

        return load_figure_image(figure, mode)


PROTOCOLS: dict[str, Protocol] = {
    "upair": Protocol(
        name="upair", title="UPAIR (official)",
        summary="exactly the official evaluation/run.py: images as stored (alpha ignored), CLIP normalised "
                "with ImageNet mean/std, the official text cleaning and label joining",
        clean_text=upair_clean_text, label_separator=" ", images_as_stored=True,
        normalisation="imagenet", version="1",
    ),
    "clean": Protocol(
        name="clean", title="clean (this project)",
        summary="this project's preparation: images upright with transparency on white, each model's own "
                "mean/std, figure references recognised before digits are removed",
        clean_text=clean_text, label_separator=", ", images_as_stored=False,
        normalisation="model", version="1",
    ),
}

#: The protocol used where none is named and the corpus is not UPAIR-layout.
DEFAULT_PROTOCOL = "clean"


def protocol_names() -> list[str]:
    """Every registered protocol name."""
    return list(PROTOCOLS)


def get_protocol(name: str | Protocol) -> Protocol:
    """The protocol called ``name``; ValueError lists the known ones."""
    if isinstance(name, Protocol):
        return name
    try:
        return PROTOCOLS[str(name).strip().lower()]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOLS)}") from None


def default_protocol_for(corpus) -> str:
    """``upair`` for UPAIR-layout corpora (the official protocol), ``clean`` otherwise."""
    return "upair" if corpus.kind == "upair" else DEFAULT_PROTOCOL
