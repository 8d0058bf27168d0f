"""Training files for open_clip_train: prepared images and (image path, text) CSVs.

Images are prepared as the run's protocol preprocesses them at search time (read as that
protocol reads files — ``upair``: as stored, alpha ignored; ``clean``: upright, transparency
on white — centred on a white square, bicubic resize to the model's input size, grayscale
replicated to three channels), so the model is trained on what it will later see; open_clip's
own training augmentation then applies on top. Prepared images are cached by image content,
size and protocol.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from .. import config
from ..figures import file_digest
from ..protocols import get_protocol
from ..store import atomic_path
from .pairs import Pair

__all__ = ["IMG_KEY", "TEXT_KEY", "SEPARATOR", "prepared_image", "write_csv"]

#: Column names and separator of the CSVs (passed to open_clip_train as --csv-* arguments).
IMG_KEY, TEXT_KEY, SEPARATOR = "filepath", "title", "\t"


def prepared_image(src: Path, size: int, protocol: str = "upair") -> Path:
    """The prepared copy of ``src`` at ``size`` px as ``protocol`` prepares images (read as that
    protocol reads files: ``upair`` as stored, alpha ignored; ``clean`` upright, transparency on
    white), built once, cached by image content, size and protocol."""
    proto = get_protocol(protocol)
    out = config.cache_dir() / "adapt" / "images" / proto.key / str(size) / f"{file_digest(src)}.png"
    if not out.is_file():
        im = proto.training_image(src, size)
        with atomic_path(out) as tmp:
            im.save(tmp, format="PNG")
    return out


def write_csv(pairs: Iterable[Pair], path: Path, size: int, protocol: str = "upair") -> int:
    """Write ``(prepared image path, text)`` rows to ``path``; returns the row count."""
    rows = [(str(prepared_image(p.image, size, protocol)), " ".join(p.text.split())) for p in pairs]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=SEPARATOR, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            w.writerow([IMG_KEY, TEXT_KEY])
            w.writerows(rows)
    return len(rows)
