"""Corpus registry: ``load_corpus(spec)`` for every supported layout.

Specs: ``demo`` · ``upair:<folder>`` · ``query-patents:<folder>`` · ``folder:<folder>`` ·
or a bare folder path, whose layout is detected.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import config
from .base import AXES, AXIS_LABELS, Benchmark, Corpus, DatasetError

__all__ = [
    "AXES", "AXIS_LABELS", "Benchmark", "Corpus", "DatasetError",
    "CORPUS_KINDS", "CorpusChoice", "load_corpus", "known_corpora", "detect_kind",
]


def _load_demo(path: str | None) -> Corpus:
    from .demo import load_demo

    return load_demo(Path(path) if path else None)


def _load_upair(path: str) -> Corpus:
    from .upair import load_upair

    return load_upair(path)


def _load_query_patents(path: str) -> Corpus:
    from .query_patents import load_query_patents

    return load_query_patents(path)


def _load_folder(path: str) -> Corpus:
    from .folder import load_folder

    return load_folder(path)


def _load_webdataset(shards: str) -> Corpus:
    from .webdataset import load_webdataset

    return load_webdataset(shards)


#: kind → loader(path). The demo takes no path (generated into the cache).
CORPUS_KINDS: dict[str, Callable[..., Corpus]] = {
    "demo": _load_demo,
    "upair": _load_upair,
    "query-patents": _load_query_patents,
    "folder": _load_folder,
    "webdataset": _load_webdataset,  # webdataset:<brace-expanded shards>[#titles=<json>]
}


def detect_kind(path: Path) -> str:
    """Guess the layout of a folder: upair, query-patents or plain folder."""
    from .upair import find_metadata

    if (path / "sections").is_dir():
        return "query-patents"
    try:
        find_metadata(path)
        return "upair"
    except DatasetError:
        return "folder"


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split a corpus spec into (kind, path)."""
    spec = spec.strip()
    if spec == "demo":
        return "demo", None
    kind, sep, rest = spec.partition(":")
    if sep and kind in CORPUS_KINDS:
        return kind, rest
    path = Path(spec).expanduser()
    if path.is_dir():
        return detect_kind(path.resolve()), str(path.resolve())
    raise DatasetError(
        f"unknown corpus {spec!r}: use demo, upair:<folder>, query-patents:<folder>, folder:<folder>, "
        "or the path of an existing folder"
    )


def load_corpus(spec: str) -> Corpus:
    """Load the corpus named by ``spec``; raises DatasetError with a plain message."""
    kind, path = parse_spec(spec)
    if kind not in ("demo", "webdataset"):  # shard lists are checked by their loader
        p = Path(path or "").expanduser()
        if not p.exists():
            raise DatasetError(f"{kind} corpus folder not found: {p.absolute()}")
    corpus = CORPUS_KINDS[kind](path)
    return corpus


@dataclass(frozen=True)
class CorpusChoice:
    """A corpus offered in the UI: its spec, a display label, and a short note."""

    spec: str
    label: str
    note: str = ""


def known_corpora() -> list[CorpusChoice]:
    """The built-in demo plus the shared UPAIR data and a downloaded UPAIR, where present."""
    out = [CorpusChoice("demo", "Demo (synthetic drawings, built in)", "procedurally generated; not real patents")]
    shared = config.shared_data_dir()
    if (shared / "upair-samples").is_dir():
        out.append(CorpusChoice(f"upair:{shared / 'upair-samples'}", "UPAIR samples (5 judged pairs)"))
    if (shared / "query-patents").is_dir():
        out.append(CorpusChoice(f"query-patents:{shared / 'query-patents'}", "UPAIR query patents (120 figures)"))
    from .upair import find_dataset_root

    downloaded = find_dataset_root(config.cache_dir() / "upair")
    if downloaded is not None:
        out.append(CorpusChoice(f"upair:{downloaded}", "UPAIR benchmark (downloaded)"))
    return out
