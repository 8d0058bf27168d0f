"""WebDataset corpora: figures streamed from brace-expanded tar shards (the UPAIR index layout).

Spec: ``webdataset:<shards>[#titles=<publication→title JSON>]``, e.g.
``webdataset:/data/index/{w-ref,wo-ref}/drawing/shard-{000000..001955}.tar#titles=/data/pub2title.json``.
Each sample has ``__key__`` (patent number, then two ``_``-separated parts), ``hashcode.txt``
(the figure id), ``image.png``, ``desc.txt`` and ``labels.txt`` (labels joined by ``__SEP__``,
``None`` for a missing one). Titles come from the JSON (``{publication: {"title": ...}}`` or
``{publication: title}``), looked up by the key without its last two parts; without
``#titles=`` a ``pub2title.json`` beside the shards or up to three folders above is used.

Shards are local files only: a shard or titles file named with a scheme (``pipe:CMD``,
``http://``, ``s3://``, ``file:`` …) is refused before anything is opened, and every shard is
opened here (``open(path, "rb")``) and handed to ``webdataset``'s tar reader as a stream, so
webdataset's URL opener (which runs ``pipe:`` commands in a shell and fetches URLs) never
sees a string from a spec. Shards are read one at a time; images are never kept. What a shard holds (ids, texts, member names, SHA-1 of each image) is catalogued once
into the cache, keyed by the shard's path, size and modification time, so reopening a
corpus reads no image. A shard that cannot be read is skipped, and so is a sample without
an image; both are counted and named in the corpus warnings.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .. import config
from ..figures import Figure
from ..store import atomic_write_json, key_of, load_json
from .base import Corpus, DatasetError

#: Separator of the labels in ``labels.txt``; ``None`` marks a missing label.
SEP = "__SEP__"
#: Sample fields holding the image, in order of preference.
IMAGE_FIELDS = ("image.png", "png", "image.jpg", "jpg", "jpeg", "image.jpeg", "tif", "tiff", "webp")
#: Bump when the catalogue content changes; older catalogues are rebuilt.
CATALOGUE_FORMAT = 1
#: How many skipped names a warning lists before summarising.
NAMES_SHOWN = 10


@dataclass(frozen=True)
class ShardCatalogue:
    """What one shard holds: ``records`` as (id, member, sha1, key, desc, labels), the
    samples ``skipped`` for lacking an image, and ``error`` when the shard is unreadable."""

    shard: str
    records: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...]
    skipped: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class ShardedCorpus(Corpus):
    """A corpus whose images are members of tar shards (``shards`` in reading order)."""

    shards: tuple[str, ...] = ()
    skipped_shards: tuple[str, ...] = ()
    skipped_samples: tuple[str, ...] = ()


#: A name that starts with a URL scheme (``pipe:``, ``http:``, ``s3:``, ``file:`` …).
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):")
#: Most shards one spec may expand to (a typo like ``{0..999999999}`` is refused, not listed).
MAX_SHARDS = 1_000_000


def local_path(name: str, what: str) -> str:
    """``name`` as an absolute local path; ``DatasetError`` (one line) for a command, a URL or
    any other name with a scheme, which are never run or fetched."""
    match = _SCHEME.match(name)
    if match:
        scheme = match.group(1).lower()
        kind = "a shell command" if scheme == "pipe" else f"a {scheme}: URL"
        raise DatasetError(f"{what} {name!r} is {kind}; webdataset: reads local files only (nothing from a spec "
                           "is run or fetched): copy the shards to a local or shared folder and name their path "
                           "(write ./NAME for a file whose name has a colon)")
    if "\x00" in name:
        raise DatasetError(f"{what} {name!r} contains a NUL byte")
    return str(Path(name).expanduser().absolute())


_INNER_BRACES = re.compile(r"\{([^{}]*)\}")
_RANGE = re.compile(r"^\s*(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?\s*$")


def _brace_count(pattern: str) -> int:
    """A lower bound of how many names ``pattern``'s innermost brace groups expand to (the
    product of their sizes: ``{0..9}`` 10, ``{a,b,c}`` 3); the expansion itself still counts."""
    n = 1
    for body in _INNER_BRACES.findall(pattern):
        m = _RANGE.match(body)
        if m:
            step = abs(int(m.group(3) or 1)) or 1
            n *= abs(int(m.group(2)) - int(m.group(1))) // step + 1
        elif "," in body:
            n *= body.count(",") + 1
    return n


def parse_shards(rest: str) -> tuple[list[str], str | None]:
    """(brace-expanded local shard paths, titles JSON or None) of the part after ``webdataset:``;
    ``DatasetError`` for a ``pipe:`` command, a URL, an unknown option or too many shards."""
    from braceexpand import braceexpand

    pattern, _, option = rest.partition("#")
    titles = None
    if option:
        name, eq, value = option.partition("=")
        if name != "titles" or not eq or not value.strip():
            raise DatasetError(f"unknown webdataset option {option!r}; the only one is #titles=<file.json>")
        titles = local_path(value.strip(), "webdataset titles file")
    pattern = pattern.strip()
    if not pattern:
        raise DatasetError("webdataset: needs shards, e.g. webdataset:/data/shard-{000000..000009}.tar")
    local_path(pattern, "webdataset shard")  # refuse before expanding
    if _brace_count(pattern) > MAX_SHARDS:  # refused from the pattern itself, without expanding a million names
        raise DatasetError(f"webdataset shards {pattern!r} expand to more than {MAX_SHARDS:,} files; check the braces")
    shards: list[str] = []
    for shard in braceexpand(pattern):
        if len(shards) == MAX_SHARDS:
            raise DatasetError(f"webdataset shards {pattern!r} expand to more than {MAX_SHARDS:,} files; "
                               "check the braces")
        shards.append(local_path(shard, "webdataset shard"))
    return shards, titles


def patent_of(key: str) -> str:
    """Publication number of a sample key: the key without its last two ``_`` parts."""
    parts = key.rsplit("/", 1)[-1].split("_")
    return "".join(parts[:-2]) if len(parts) > 2 else parts[0]


def parse_labels(raw: str) -> tuple[str, ...]:
    """Labels of ``labels.txt``: split on ``__SEP__``, ``None`` and empty ones dropped."""
    return tuple(x.strip() for x in raw.split(SEP) if x.strip() and x.strip() != "None")


def _text(sample: dict, name: str) -> str:
    raw = sample.get(name)
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""


def image_field(sample: dict) -> str | None:
    """The sample field holding the image, or None."""
    return next((f for f in IMAGE_FIELDS if isinstance(sample.get(f), bytes) and sample[f]), None)


def iter_samples(shard: str, errors: list[str]) -> Iterator[dict]:
    """The raw samples of one shard (``__key__`` plus one ``bytes`` entry per file), streamed.

    A read error ends the shard and is appended to ``errors`` (the samples before it are
    yielded). The file is opened here and only its stream reaches webdataset (whose URL
    opener would run ``pipe:`` names), so nothing but a local file is ever read."""
    from webdataset.tariterators import group_by_keys, tar_file_expander

    def handler(exc: Exception) -> bool:
        errors.append(f"{type(exc).__name__}: {exc.args[0] if exc.args else exc}")
        return False

    shard = local_path(shard, "webdataset shard")
    if not os.path.isfile(shard):
        errors.append("file not found")
        return
    try:
        stream = open(shard, "rb")  # noqa: SIM115 - closed below, after the generator ends
    except OSError as exc:
        errors.append(f"cannot be opened ({exc.strerror or exc})")
        return
    with stream:
        files = tar_file_expander([{"url": shard, "stream": stream}], handler=handler)
        try:
            yield from group_by_keys(files, handler=handler)
        except Exception as exc:  # noqa: BLE001 - a damaged stream surfaces as many error types
            errors.append(f"{type(exc).__name__}: {exc}")


def iter_images(shard: str, wanted: set[str], errors: list[str]) -> Iterator[tuple[str, bytes, str]]:
    """(sha1, image bytes, member name) of the samples of ``shard`` whose image SHA-1 is in
    ``wanted``, in shard order (the engine's reader)."""
    for sample in iter_samples(shard, errors):
        field = image_field(sample)
        if field is None:
            continue
        data = sample[field]
        digest = hashlib.sha1(data).hexdigest()
        if digest in wanted:
            yield digest, data, f"{sample['__key__']}.{field}"


def scan_shard(shard: str) -> ShardCatalogue:
    """Catalogue one shard by streaming it once (no image is kept)."""
    errors: list[str] = []
    records, skipped = [], []
    for sample in iter_samples(shard, errors):
        key = str(sample.get("__key__", ""))
        field = image_field(sample)
        if field is None:
            skipped.append(key)
            continue
        fid = _text(sample, "hashcode.txt").strip() or key.rsplit("/", 1)[-1]
        labels = parse_labels(_text(sample, "labels.txt"))
        records.append((fid, f"{key}.{field}", hashlib.sha1(sample[field]).hexdigest(), key,
                        _text(sample, "desc.txt"), labels))
    return ShardCatalogue(shard, tuple(records), tuple(skipped), "; ".join(errors))


def _catalogue_path(shard: str) -> tuple[Path, dict]:
    st = os.stat(shard)
    ident: dict = {"format": CATALOGUE_FORMAT, "shard": shard, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    return config.cache_dir() / "catalogues" / f"{key_of(ident)}.json", ident


def catalogue(shard: str) -> ShardCatalogue:
    """The shard's catalogue from the cache, or scanned and cached (not cached when the
    shard is unreadable, so a repaired shard is read again)."""
    shard = local_path(shard, "webdataset shard")
    if not os.path.isfile(shard):
        return ShardCatalogue(shard, (), (), "file not found")
    path, ident = _catalogue_path(shard)
    data = load_json(path)
    if isinstance(data, dict) and data.get("ident") == ident:
        try:
            return ShardCatalogue(shard, tuple((a, b, c, d, e, tuple(f)) for a, b, c, d, e, f in data["records"]),
                                  tuple(data["skipped"]), "")
        except (KeyError, TypeError, ValueError):
            pass
    cat = scan_shard(shard)
    if not cat.error:
        atomic_write_json(path, {"ident": ident, "records": [list(r) for r in cat.records],
                                 "skipped": list(cat.skipped)})
    return cat


def find_titles(shards: list[str]) -> Path | None:
    """``pub2title.json`` beside the first shard or up to three folders above it."""
    if not shards:
        return None
    folder = Path(shards[0]).resolve().parent
    for candidate in [folder, *list(folder.parents)[:3]]:
        for name in ("pub2title.json", "data/pub2title.json"):
            if (candidate / name).is_file():
                return candidate / name
    return None


def load_titles(path: Path | str | None) -> dict[str, str]:
    """Publication number → title from a ``{pub: {"title": t}}`` or ``{pub: t}`` JSON."""
    if path is None:
        return {}
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise DatasetError(f"titles file {p} cannot be read ({exc.strerror or exc}); fix #titles=") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"titles file {p} is not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"titles file {p} must hold a JSON object publication → title")
    out = {}
    for pub, value in data.items():
        title = value.get("title") if isinstance(value, dict) else value
        if isinstance(title, str) and title:
            out[str(pub)] = title
    return out


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:NAMES_SHOWN])
    return shown + (f" and {len(items) - NAMES_SHOWN} more" if len(items) > NAMES_SHOWN else "")


def member_path(shard: str, member: str) -> Path:
    """The ``Figure.path`` of a shard member: ``<shard>/<member>`` (see ``core.figures``)."""
    return Path(f"{shard}/{member}")


def load_webdataset(rest: str, name: str | None = None) -> ShardedCorpus:
    """Load a ``webdataset:`` corpus; raises DatasetError when no shard yields a figure."""
    shards, titles_file = parse_shards(rest)
    titles = load_titles(titles_file or find_titles(shards))
    figures: list[Figure] = []
    seen: set[str] = set()
    bad_shards, skipped, duplicates, warnings = [], [], [], []
    for shard in shards:
        cat = catalogue(shard)
        if cat.error:
            bad_shards.append(f"{shard} ({cat.error})")
            continue
        skipped += [f"{shard}:{k}" for k in cat.skipped]
        for fid, member, digest, key, desc, labels in cat.records:
            if fid in seen:
                duplicates.append(f"{shard}:{key}")
                continue
            seen.add(fid)
            pub = patent_of(key)
            figures.append(Figure(id=fid, path=member_path(shard, member), patent=pub, title=titles.get(pub, ""),
                                  description=desc, labels=labels, source="webdataset", member=member,
                                  digest=digest))
    if bad_shards:
        warnings.append(f"{len(bad_shards)} shard(s) unreadable, skipped: {_named(bad_shards)}")
    if skipped:
        warnings.append(f"{len(skipped)} sample(s) without an image, skipped: {_named(skipped)}")
    if duplicates:
        warnings.append(f"{len(duplicates)} sample(s) with a duplicate hashcode, skipped: {_named(duplicates)}")
    if not figures:
        detail = f" ({warnings[0]})" if warnings else ""
        raise DatasetError(f"no figures in the {len(shards)} shard(s) of {rest!r}{detail}")
    root = Path(os.path.commonpath([str(Path(s).parent) for s in shards]))
    return ShardedCorpus(name=name or f"webdataset:{rest}", kind="webdataset", root=root,
                         figures=tuple(figures), warnings=tuple(warnings), shards=tuple(shards),
                         skipped_shards=tuple(bad_shards), skipped_samples=tuple(skipped))


def write_shards(figures: list[Figure], pattern: str, per_shard: int, titles: dict[str, str] | None = None,
                 key_of_figure=None) -> list[str]:
    """Write figures into UPAIR-layout shards ``pattern % n`` (``per_shard`` samples each);
    returns the shard paths. Used by tests and the benchmark to make shards from folders."""
    import webdataset as wds

    from ..figures import figure_bytes

    paths: list[str] = []
    for start in range(0, len(figures), per_shard):
        path = pattern % len(paths)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with wds.TarWriter(path) as sink:
            for i, f in enumerate(figures[start:start + per_shard]):
                key = key_of_figure(f, start + i) if key_of_figure else f"{f.patent or 'X'}_{start + i}_0"
                sink.write({"__key__": re.sub(r"[./]", "-", key), "hashcode.txt": f.id,
                            "image.png": figure_bytes(f), "desc.txt": f.description,
                            "labels.txt": SEP.join(f.labels) if f.labels else "None"})
        paths.append(path)
    return paths
