"""Loader for any folder of figures, searched recursively, with optional JSON sidecars."""
from __future__ import annotations

from pathlib import Path

from ..figures import IMAGE_EXTENSIONS, Figure
from .base import Corpus, DatasetError
from .query_patents import figure_from_sidecar, read_sidecar


def load_folder(root: Path | str, name: str | None = None) -> Corpus:
    """Every image below ``root``; ids are paths relative to it (or a sidecar's hashcode)."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    figures: list[Figure] = []
    seen: set[str] = set()
    warnings: list[str] = []
    for image in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS):
        if any(part.startswith(".") for part in image.relative_to(root).parts):
            continue
        if not image.is_file():
            if image.is_symlink():
                warnings.append(f"{image}: broken symbolic link; skipped")
            continue
        rel = image.relative_to(root).with_suffix("").as_posix()
        meta = read_sidecar(image.with_suffix(".json"), warnings)
        fig = figure_from_sidecar(rel, image, meta, "folder")
        if fig.id in seen:
            warnings.append(f"{image}: duplicate id {fig.id}; skipped")
            continue
        seen.add(fig.id)
        figures.append(fig)
    if not figures:
        raise DatasetError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return Corpus(name=name or f"folder:{root}", kind="folder", root=root, figures=tuple(figures),
                  warnings=tuple(warnings))
