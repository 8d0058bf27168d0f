"""Loader for the ``sections/<S>/<patent>/<hash>.png + <hash>.json`` layout."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from ..figures import IMAGE_EXTENSIONS, Figure, parse_date, parse_labels
from .base import Corpus, DatasetError, decode_text
from .cpc import parse_cpc_list


def read_sidecar(path: Path, warnings: list[str]) -> dict:
    """A figure's JSON sidecar as a dict ({} when absent or unreadable, with a warning)."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(decode_text(path.read_bytes(), path, warnings))
    except OSError as exc:
        warnings.append(f"{path}: cannot be read ({exc.strerror or exc}); metadata ignored")
        return {}
    except json.JSONDecodeError as exc:
        warnings.append(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}; metadata ignored")
        return {}
    except RecursionError:
        warnings.append(f"{path}: nested too deeply to read; metadata ignored")
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
        priority_date=parse_date(meta.get("priority_date")),
        publication_date=parse_date(meta.get("publication_date")),
        cpc=parse_cpc_list(meta.get("cpc", meta.get("cpc_codes"))),
    )


def collect_figures(found: Iterable[tuple[Path, str, str, str]], source: str, warnings: list[str]) -> list[Figure]:
    """Figures from ``(image path, default id, patent, section)`` tuples.

    Non-images are ignored; JSON sidecars are read; broken symbolic links and duplicate
    ids are skipped with a warning naming the file.
    """
    figures: list[Figure] = []
    seen: set[str] = set()
    for image, fid, patent, section in found:
        if image.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if not image.is_file():
            if image.is_symlink():
                warnings.append(f"{image}: broken symbolic link; skipped")
            continue
        meta = read_sidecar(image.with_suffix(".json"), warnings)
        fig = figure_from_sidecar(fid, image, meta, source, patent, section)
        if fig.id in seen:
            warnings.append(f"{image}: duplicate id {fig.id}; skipped")
            continue
        seen.add(fig.id)
        figures.append(fig)
    return figures


def load_query_patents(root: Path | str, name: str | None = None) -> Corpus:
    """Load ``root/sections/<S>/<patent>/<hash>.<ext>`` figures with their JSON sidecars."""
    root = Path(root).expanduser().resolve()
    base = root / "sections"
    if not base.is_dir():
        raise DatasetError(f"{root} holds no sections/ folder; a query-patents corpus is laid out as "
                           "<folder>/sections/<S>/<patent>/<hash>.png (+ <hash>.json); use folder:<folder> "
                           "for any other folder of images")
    warnings: list[str] = []
    found = ((img, img.stem, img.parent.name, img.parent.parent.name) for img in sorted(base.glob("*/*/*")))
    figures = collect_figures(found, "query-patents", warnings)
    if not figures:
        raise DatasetError(f"no figures found under {base} (expected sections/<S>/<patent>/<hash>.png)")
    return Corpus(name=name or f"query-patents:{root}", kind="query-patents", root=root,
                  figures=tuple(figures), warnings=tuple(warnings))
