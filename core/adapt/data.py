"""Training files for open_clip_train: prepared images and (image path, text) CSVs.

Images are prepared as the encoder preprocesses them at search time (centred on a white
square, bicubic resize to the model's input size, grayscale replicated to three channels),
so the model is trained on what it will later see; open_clip's own training augmentation
then applies on top. Prepared images are cached by image content and size.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from .. import config
from ..figures import file_digest, open_image
from ..store import atomic_path
from .pairs import Pair

__all__ = ["IMG_KEY", "TEXT_KEY", "SEPARATOR", "prepared_image", "write_csv"]

#: Column names and separator of the CSVs (passed to open_clip_train as --csv-* arguments).
IMG_KEY, TEXT_KEY, SEPARATOR = "filepath", "title", "\t"


def _prepare(src: Path, size: int):
    from PIL import Image

    im = open_image(src, name=f"figure {Path(src).name}")
    if im.mode != "RGB":
        im = im.convert("RGB")
    w, h = im.size
    if w != h:
        side = max(w, h)
        canvas = Image.new("RGB", (side, side), (255, 255, 255))
        canvas.paste(im, ((side - w) // 2, (side - h) // 2))
        im = canvas
    im = im.resize((size, size), Image.Resampling.BICUBIC)
    return im.convert("L").convert("RGB")


def prepared_image(src: Path, size: int) -> Path:
    """The prepared copy of ``src`` at ``size`` px (built once, cached by content)."""
    out = config.cache_dir() / "adapt" / "images" / str(size) / f"{file_digest(src)}.png"
    if not out.is_file():
        im = _prepare(src, size)
        with atomic_path(out) as tmp:
            im.save(tmp, format="PNG")
    return out


def write_csv(pairs: Iterable[Pair], path: Path, size: int) -> int:
    """Write ``(prepared image path, text)`` rows to ``path``; returns the row count."""
    rows = [(str(prepared_image(p.image, size)), " ".join(p.text.split())) for p in pairs]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=SEPARATOR, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            w.writerow([IMG_KEY, TEXT_KEY])
            w.writerows(rows)
    return len(rows)
