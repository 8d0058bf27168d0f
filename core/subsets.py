"""A selection of figures written out as a ``folder:`` corpus the app (and the CLI) can open.

``write_subset(corpus, ids, name)`` makes ``cache_dir()/subsets/<name>-<8 hex>/`` (the hex is
the content key of the corpus and the ids, so the same selection always lands in the same
folder and a different one never overwrites it) holding, per figure, a copy of its image bytes
(shard members included) as ``NNNNN.<ext>`` and a JSON sidecar with its id (``hashcode``), patent,
section, title, description, labels and dates, so the subset's figures keep their ids and
metadata. The folder is filled under a temporary name and renamed into place when complete;
a ``subset.json`` records where the figures came from. Nothing outside that folder is written.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from . import config
from .corpora.base import Corpus
from .figures import figure_bytes
from .store import atomic_write_json, key_of

_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def subset_root() -> Path:
    """Where subsets are written."""
    return config.cache_dir() / "subsets"


def _slug(name: str) -> str:
    slug = _NAME.sub("-", str(name)).strip("-.")[:40]
    if not slug:
        raise ValueError(f"a subset needs a name with letters or digits (got {name!r})")
    return slug


def write_subset(corpus: Corpus, ids: Sequence[str], name: str = "selection") -> Path:
    """Write the figures ``ids`` of ``corpus`` as a folder corpus; returns its folder (open it
    as ``folder:<folder>``). Unknown ids are refused, naming the first few."""
    ids = list(dict.fromkeys(str(i) for i in ids))
    if not ids:
        raise ValueError("the selection is empty: select figures on the map first")
    unknown = [i for i in ids if i not in corpus.by_id]
    if unknown:
        raise ValueError(f"{len(unknown)} id(s) are not figures of {corpus.name}: {', '.join(unknown[:3])}")
    dest = subset_root() / f"{_slug(name)}-{key_of('subset', corpus.name, ids)[:8]}"
    if (dest / "subset.json").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        for n, fid in enumerate(ids):
            fig = corpus.by_id[fid]
            ext = (Path(fig.member or str(fig.path)).suffix or ".png").lower()
            (tmp / f"{n:05d}{ext}").write_bytes(figure_bytes(fig))
            meta = {"hashcode": fig.id, "patent": fig.patent, "section": fig.section, "title": fig.title,
                    "fig_desc": fig.description, "component_labels": list(fig.labels),
                    "priority_date": fig.priority_date or "", "publication_date": fig.publication_date or ""}
            (tmp / f"{n:05d}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        atomic_write_json(tmp / "subset.json", {"from": corpus.name, "figures": len(ids), "name": name})
        try:
            os.rename(tmp, dest)
        except OSError:  # made meanwhile by another session: theirs is the same content
            if not (dest / "subset.json").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
