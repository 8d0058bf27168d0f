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


#: What each spec kind's argument must name (said when it is missing or wrong).
SPEC_LAYOUTS = {
    "upair": "upair:<folder> — the unpacked UPAIR archive: metadata.json (at most two levels down) "
             "with test/images/<hashcode>.png and qrels_<axis>.txt",
    "query-patents": "query-patents:<folder> — a folder holding sections/<S>/<patent>/<hash>.png (+ .json)",
    "folder": "folder:<folder> — any folder of images (searched recursively)",
    "webdataset": "webdataset:<shards> — tar shards, brace-expanded (e.g. data/shard-{000..009}.tar)",
}


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split a corpus spec into (kind, path); ``DatasetError`` says what a kind expects when
    its argument is missing (``demo`` takes none)."""
    if not isinstance(spec, str):
        raise DatasetError(f"a corpus spec must be text, not {type(spec).__name__}")
    spec = spec.strip()
    if spec == "demo":
        return "demo", None
    kind, sep, rest = spec.partition(":")
    if sep and kind == "demo":
        raise DatasetError(f"the demo corpus takes no path ({spec!r}): use plain 'demo' (it is generated "
                           "into the cache); for a folder of your own use folder:<folder> or upair:<folder>")
    if sep and kind in CORPUS_KINDS:
        if not rest.strip():
            raise DatasetError(f"{spec!r} names no {'shards' if kind == 'webdataset' else 'folder'}: "
                               f"use {SPEC_LAYOUTS[kind]}")
        return kind, rest.strip()
    if "\x00" in spec:
        raise DatasetError(f"unknown corpus {spec!r}: a path cannot contain a NUL byte")
    path = Path(spec).expanduser() if spec else None
    if path is not None and path.is_dir():
        return detect_kind(path.resolve()), str(path.resolve())
    raise DatasetError(
        f"unknown corpus {spec!r}: use demo, upair:<folder>, query-patents:<folder>, folder:<folder>, "
        "webdataset:<shards>, or the path of an existing folder"
    )


def load_corpus(spec: str) -> Corpus:
    """Load the corpus named by ``spec``; raises DatasetError with a plain message."""
    kind, path = parse_spec(spec)
    if kind not in ("demo", "webdataset"):  # shard lists are checked by their loader
        p = Path(path or "").expanduser()
        if "\x00" in str(p):
            raise DatasetError(f"{kind} corpus path {path!r} contains a NUL byte")
        if not p.exists():
            raise DatasetError(f"{kind} corpus folder not found: {p.absolute()}; expected {SPEC_LAYOUTS[kind]}")
        if not p.is_dir() and not (kind == "upair" and p.name == "metadata.json"):
            raise DatasetError(f"{kind} corpus path {p.absolute()} is not a folder; expected {SPEC_LAYOUTS[kind]}")
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
