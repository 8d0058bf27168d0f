"""Corpus registry: one ``CorpusKind`` row per spec kind, and ``load_corpus(spec)``.

Every kind's grammar, loader, layout detection and help text live in ``KINDS``; the CLI's
``--corpus`` help, the sidebar's help, the error messages and the README's list of specs are
made from (or checked against) it. A spec is ``<kind>:<argument>``, plain ``demo``, or a bare
folder path, whose layout is detected (``detect`` of each row, in table order).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Callable

from .. import config
from .base import AXES, AXIS_LABELS, Benchmark, Corpus, DatasetError

__all__ = [
    "AXES", "AXIS_LABELS", "Benchmark", "Corpus", "DatasetError", "CorpusKind", "KINDS",
    "CORPUS_KINDS", "CorpusChoice", "load_corpus", "known_corpora", "detect_kind", "parse_spec",
    "spec_help", "kinds_markdown",
]


def _has_sections(path: Path) -> bool:
    return (path / "sections").is_dir()


def _has_metadata(path: Path) -> bool:
    from .upair import find_metadata

    try:
        find_metadata(path)
        return True
    except DatasetError:
        return False


@dataclass(frozen=True)
class CorpusKind:
    """One spec kind: ``name:ARGUMENT`` (no argument for the demo), what the argument must
    name (``layout``), the loader (``"module:function"`` in this package, imported on use,
    called with the argument), whether the argument is a folder that must exist, and
    ``detect``: whether a bare folder has this layout (None: never detected)."""

    name: str
    argument: str
    layout: str
    loader: str
    folder: bool = True
    detect: Callable[[Path], bool] | None = None
    noun: str = "folder"

    @property
    def syntax(self) -> str:
        """How the spec is written, e.g. ``upair:DIR``."""
        return f"{self.name}:{self.argument}" if self.argument else self.name

    def load(self, argument: str | None) -> Corpus:
        module, _, function = self.loader.partition(":")
        return getattr(import_module(module, __name__), function)(argument)


#: Every corpus kind. Bare folders are detected in this order (the first ``detect`` that holds).
KINDS: tuple[CorpusKind, ...] = (
    CorpusKind("demo", "", "the synthetic demo corpus, generated into the cache (takes no path)",
               ".demo:load_demo", folder=False),
    CorpusKind("query-patents", "DIR", "a folder holding sections/<S>/<patent>/<hash>.png (+ .json sidecars)",
               ".query_patents:load_query_patents", detect=_has_sections),
    CorpusKind("upair", "DIR", "the unpacked UPAIR archive: metadata.json (at most two levels down) with "
               "test/images/<hashcode>.png and qrels_<axis>.txt", ".upair:load_upair", detect=_has_metadata),
    CorpusKind("folder", "DIR", "any folder of images, searched recursively (optional same-name .json sidecars "
               "with title, fig_desc, component_labels)", ".folder:load_folder", detect=lambda _p: True),
    CorpusKind("webdataset", "SHARDS[#titles=JSON]", "local tar shards, brace-expanded (e.g. "
               "data/shard-{000..009}.tar); #titles= names a publication → title JSON",
               ".webdataset:load_webdataset", folder=False, noun="shards"),
)
#: kind name → its row.
CORPUS_KINDS: dict[str, CorpusKind] = {k.name: k for k in KINDS}


def spec_help() -> str:
    """The one-line ``--corpus`` help: every kind's syntax, then a bare folder."""
    return " | ".join(k.syntax for k in KINDS) + " | DIR (a folder, layout detected)"


def kinds_markdown() -> str:
    """Every kind as a markdown list (``syntax`` — layout): the sidebar's help, the README's list."""
    return "\n".join(f"- `{k.syntax}` — {k.layout}" for k in KINDS)


def _known() -> str:
    return ", ".join(k.syntax for k in KINDS) + ", or the path of an existing folder"


def detect_kind(path: Path) -> str:
    """The layout of a folder: the first kind in ``KINDS`` whose ``detect`` holds."""
    return next(k.name for k in KINDS if k.detect is not None and k.detect(path))


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split a corpus spec into (kind, argument); ``DatasetError`` (one line) for an unknown
    kind, a missing argument, or an argument where the kind takes none."""
    if not isinstance(spec, str):
        raise DatasetError(f"a corpus spec must be text, not {type(spec).__name__}")
    spec = spec.strip()
    if "\x00" in spec:
        raise DatasetError(f"corpus spec {spec!r} contains a NUL byte")
    name, sep, rest = spec.partition(":")
    kind = CORPUS_KINDS.get(name if sep else spec)
    if kind is not None and not kind.argument:
        if sep:
            raise DatasetError(f"the {kind.name} corpus takes no path ({spec!r}): use plain {kind.name!r} "
                               "(it is generated into the cache); for a folder of your own use folder:DIR or upair:DIR")
        return kind.name, None
    if kind is not None and sep:
        if not rest.strip():
            raise DatasetError(f"{spec!r} names no {kind.noun}: use "
                               f"{kind.syntax} — {kind.layout}")
        return kind.name, rest.strip()
    path = Path(spec).expanduser() if spec else None
    if path is not None and path.is_dir():
        return detect_kind(path.resolve()), str(path.resolve())
    if kind is not None:
        raise DatasetError(f"{spec!r} names no {kind.noun}: use {kind.syntax} — {kind.layout}")
    if spec.startswith(("/", "~", ".")):
        raise DatasetError(f"corpus folder not found: {Path(spec).expanduser().absolute()}")
    if sep and name.replace("-", "").isalnum():
        raise DatasetError(f"unknown corpus kind {name!r} in {spec!r}; known: {_known()}")
    raise DatasetError(f"unknown corpus {spec!r}: use {_known()}")


def load_corpus(spec: str) -> Corpus:
    """Load the corpus named by ``spec``; raises DatasetError with a plain message."""
    name, argument = parse_spec(spec)
    kind = CORPUS_KINDS[name]
    if kind.folder:
        p = Path(argument or "").expanduser()
        expected = f"expected {kind.syntax} — {kind.layout}"
        if not p.exists():
            raise DatasetError(f"{name} corpus folder not found: {p.absolute()}; {expected}")
        if not p.is_dir() and not (name == "upair" and p.name == "metadata.json"):
            raise DatasetError(f"{name} corpus path {p.absolute()} is not a folder; {expected}")
    return kind.load(argument)


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
