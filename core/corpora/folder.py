"""Loader for any folder of figures, searched recursively, with optional JSON sidecars."""
from __future__ import annotations

from pathlib import Path

from ..figures import IMAGE_EXTENSIONS
from .base import Corpus, DatasetError
from .query_patents import collect_figures


def load_folder(root: Path | str, name: str | None = None) -> Corpus:
    """Every image below ``root``; ids are paths relative to it (or a sidecar's hashcode).

    Hidden files and folders are ignored; symlinked folders are not descended into.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    warnings: list[str] = []
    images = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS
                    and not any(part.startswith(".") for part in p.relative_to(root).parts))
    found = ((p, p.relative_to(root).with_suffix("").as_posix(), "", "") for p in images)
    figures = collect_figures(found, "folder", warnings)
    if not figures:
        raise DatasetError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found under {root}")
    return Corpus(name=name or f"folder:{root}", kind="folder", root=root, figures=tuple(figures),
                  warnings=tuple(warnings))
