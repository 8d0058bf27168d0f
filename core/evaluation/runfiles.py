"""TREC run files written at full float precision, tagged with the evaluation protocol."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..qrels import rank_docs
from ..store import atomic_write_text

__all__ = ["run_tag", "write_run_file"]


def run_tag(encoder_slug: str, run: str, protocol: str) -> str:
    """The run-file tag (last column): encoder, run and protocol, e.g. ``hog.image.upair``."""
    tag = f"{encoder_slug}.{run}.{protocol}"
    return "".join(ch if ch.isalnum() or ch in "-_.+" else "_" for ch in tag) or "run"


def write_run_file(path: Path | str, run: Mapping[str, Mapping[str, float]], tag: str) -> Path:
    """Write ``{qid: {docid: score}}`` as a TREC run file, atomically.

    Scores are written with ``repr`` (the shortest text that reads back as the same float,
    as the official script's ``f"{score}"`` does), so rounding never creates ties; rows are
    in trec_eval's order (score descending, docid descending) with ranks 1..n.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for qid in sorted(run):
        for rank, (docid, score) in enumerate(rank_docs(run[qid]), start=1):
            lines.append(f"{qid} Q0 {docid} {rank} {float(score)!r} {tag}\n")
    atomic_write_text(path, "".join(lines))
    return path
