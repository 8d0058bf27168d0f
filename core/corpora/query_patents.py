"""Loader for the ``sections/<S>/<patent>/<hash>.png + <hash>.json`` layout."""
from __future__ import annotations

import json
from pathlib import Path

from ..figures import IMAGE_EXTENSIONS, Figure, parse_labels
from .base import Corpus, DatasetError


def read_sidecar(path: Path, warnings: list[str]) -> dict:
    """A figure's JSON sidecar as a dict ({} when absent or unreadable, with a warning)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_bytes().decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        warnings.append(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}; metadata ignored")
        return {}
    if not isinstance(data, dict):
        warnings.append(f"{path}: expected a JSON object; metadata ignored")
        return {}
    return data


def figure_from_sidecar(fid: str, image: Path, meta: dict, source: str, patent: str = "", section: str = "") -> Figure:
    """Build a Figure from UPAIR-style sidecar keys (title, fig_desc/description, component_labels)."""
    desc = meta.get("fig_desc", meta.get("description", ""))
    if isinstance(desc, list):
        desc = " ".join(map(str, desc))
    return Figure(
        id=str(meta.get("hashcode", fid)),
        path=image,
        patent=str(meta.get("patent", patent) or patent),
        section=str(meta.get("section", section) or section)[:1].upper(),
        title=str(meta.get("title", "") or ""),
        description=str(desc or ""),
        labels=parse_labels(meta.get("component_labels")),
        source=source,
    )


def load_query_patents(root: Path | str, name: str | None = None) -> Corpus:
    """Load ``root/sections/<S>/<patent>/<hash>.<ext>`` figures with their JSON sidecars."""
    root = Path(root).expanduser().resolve()
    base = root / "sections" if (root / "sections").is_dir() else root
    if not base.is_dir():
        raise DatasetError(f"{root} is not a folder; expected sections/<S>/<patent>/<hash>.png")
    figures: list[Figure] = []
    seen: set[str] = set()
    warnings: list[str] = []
    for image in sorted(base.glob("*/*/*")):
        if image.suffix.lower() not in IMAGE_EXTENSIONS or not image.is_file():
            continue
        section, patent = image.parent.parent.name, image.parent.name
        meta = read_sidecar(image.with_suffix(".json"), warnings)
        fig = figure_from_sidecar(image.stem, image, meta, "query-patents", patent, section)
        if fig.id in seen:
            warnings.append(f"{image}: duplicate id {fig.id}; skipped")
            continue
        seen.add(fig.id)
        figures.append(fig)
    if not figures:
        raise DatasetError(f"no figures found under {base} (expected sections/<S>/<patent>/<hash>.png)")
    return Corpus(name=name or f"query-patents:{root}", kind="query-patents", root=root,
                  figures=tuple(figures), warnings=tuple(warnings))
