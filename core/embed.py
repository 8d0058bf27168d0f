"""Embeddings of a corpus per encoder, built in batches and cached per item.

Vectors are addressed by content (image bytes or cleaned text) inside a namespace made
of the encoder's cache key and the library versions, so adding figures re-encodes only
the new ones, the same image in two corpora is encoded once, and an interrupted build
resumes from the last batch it wrote.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from .corpora.base import Corpus
from .encoders import FIT_ON_CORPUS, IMAGE, TEXT, Encoder, get_encoder
from .figures import ImageError, figure_digest
from .protocols import get_protocol
from .store import VectorStore, exclusive, key_of, library_versions

log = logging.getLogger(__name__)

#: Text fields a figure can be encoded by: its description, or its component labels.
TEXT_FIELDS = ("desc", "labels")

#: ``progress(done, total, message)`` callback used by the dashboard's progress bar.
Progress = Callable[[int, int, str], None]


class EncoderUnavailable(RuntimeError):
    """The encoder cannot run here; the message says why and how to fix it."""


@dataclass(frozen=True, eq=False)
class Embeddings:
    """L2-normalised float32 vectors of a corpus for one encoder (rows in corpus order)."""

    spec: str
    what: str  # "image", "desc", "labels" or "text" (desc + labels, for text-only encoders)
    key: str  # content address: corpus content + encoder + versions
    ids: tuple[str, ...]
    vectors: np.ndarray = field(repr=False)
    problems: tuple[str, ...] = ()
    #: Figures whose image cannot be read (their rows are zero and never returned by an index).
    excluded: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def require(spec: str) -> Encoder:
    """The encoder for ``spec``, or EncoderUnavailable with the reason and the fix."""
    enc = get_encoder(spec)
    av = enc.availability()
    if not av.ok:
        raise EncoderUnavailable(f"{spec} is unavailable: {av.reason}. Fix: {av.fix}")
    return enc


def figure_text(fig, what: str, protocol: str = "clean") -> str:
    """The cleaned text of a figure for a text field ("desc", "labels" or "text" = both),
    cleaned and (labels) joined as the evaluation ``protocol`` says (``core.protocols``)."""
    return get_protocol(protocol).figure_text(fig, what)


_FITTED: dict[tuple[str, str], Encoder] = {}
_FITTED_LOCK = threading.Lock()


def _fitted(enc: Encoder, corpus: Corpus) -> Encoder:
    """Encoders that fit on the corpus (TF-IDF) get a copy fitted on its own texts, with
    the shared instance's parameters (one per corpus content; the shared one is never
    mutated); other encoders are returned as they are."""
    if FIT_ON_CORPUS not in enc.capabilities:
        return enc
    texts = [figure_text(f, "text", enc.protocol) for f in corpus.figures]
    texts += [figure_text(f, w, enc.protocol) for f in corpus.figures for w in TEXT_FIELDS]
    digest = hashlib.sha1("\x1e".join(texts).encode()).hexdigest()
    with _FITTED_LOCK:
        key = (enc.spec, digest)
        if key not in _FITTED:
            _FITTED[key] = enc.fitted_on(texts)
        return _FITTED[key]


def _namespace(enc: Encoder, what: str) -> str:
    return f"{enc.cache_key()}|{what}|{key_of(library_versions())}"


def vector_namespace(enc: Encoder, what: str) -> str:
    """The vector-cache namespace of an encoder's output for ``what`` (with library versions)."""
    return _namespace(enc, what)


def load_batch(items: list, problems: list[str]) -> tuple[list, list[int]]:
    """(loaded items, positions of the unusable ones) of a batch: items that are callables
    are loaded; an ``ImageError`` appends its message to ``problems``."""
    loaded, bad = [], []
    for i, item in enumerate(items):
        if callable(item):
            try:
                item = item()
            except ImageError as exc:
                problems.append(str(exc))
                bad.append(i)
                continue
        loaded.append(item)
    return loaded, bad


def encode_loaded(encode: Callable[[list], np.ndarray], loaded: list, bad: list[int], n: int,
                  dim: int | None = None) -> np.ndarray:
    """Vectors of a batch of ``n`` items from its loaded ones: rows of unusable items are NaN."""
    if not bad:
        return encode(loaded)
    vecs = np.asarray(encode(loaded), dtype=np.float32) if loaded else None
    width = vecs.shape[1] if vecs is not None else int(dim or getattr(getattr(encode, "__self__", None), "dim"))
    out = np.full((n, width), np.nan, dtype=np.float32)
    bad_set = set(bad)
    good = [i for i in range(n) if i not in bad_set]
    if vecs is not None:
        out[good] = vecs
    return out


def encode_batch(encode: Callable[[list], np.ndarray], items: list, problems: list[str],
                 dim: int | None = None) -> np.ndarray:
    """The mapper every engine runs on one batch: items that are callables are loaded first,
    then the batch is encoded. An unusable image is never encoded: its row is NaN (the
    cache's mark for "unreadable", see ``unreadable_rows``) and its message is appended to
    ``problems``. ``dim`` is needed only when no item of the batch can be loaded."""
    loaded, bad = load_batch(items, problems)
    return encode_loaded(encode, loaded, bad, len(items), dim)


def encode_batches(encode: Callable[[list], np.ndarray], batches: list[list], problems: list[str],
                   dim: int | None = None, ahead: bool = True) -> Iterator[np.ndarray]:
    """``encode_batch`` over consecutive batches, the next batch decoded in a reader thread
    while this one is encoded (decoding and the forward pass overlap; at most one batch is
    held ahead). Yields one array per batch, in order; problems keep their order. ``ahead=False``
    decodes each batch in this thread, then encodes it (for encoders that already use every core)."""
    if len(batches) <= 1 or not ahead:
        for items in batches:
            yield encode_batch(encode, items, problems, dim)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upair-decode") as pool:
        ahead = pool.submit(load_batch, batches[0], problems)
        for i, items in enumerate(batches):
            loaded, bad = ahead.result()
            if i + 1 < len(batches):
                ahead = pool.submit(load_batch, batches[i + 1], problems)
            yield encode_loaded(encode, loaded, bad, len(items), dim)


def unreadable_rows(vectors: np.ndarray) -> np.ndarray:
    """Boolean mask of rows that mark an unreadable image (any non-finite value)."""
    return ~np.isfinite(vectors).all(axis=1) if len(vectors) else np.zeros(0, dtype=bool)


def _unreadable(corpus: Corpus, vectors: np.ndarray, load) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(ids, one message each) of the figures whose row marks an unreadable image; their
    rows are zeroed in place so no NaN reaches a score."""
    rows = np.flatnonzero(unreadable_rows(vectors))
    ids, messages = [], []
    for r in rows:
        fig = corpus.figures[int(r)]
        try:
            load(fig)
            msg = f"figure {fig.id} ({fig.path}): its image could not be read when it was encoded"
        except ImageError as exc:
            msg = str(exc)
        ids.append(fig.id)
        messages.append(f"{msg} — left out of the index, map and evaluation")
    vectors[rows] = 0.0
    return tuple(ids), tuple(messages)


def _encode_missing(
    store: VectorStore,
    keys: list[str],
    payloads: dict[str, object],
    encode: Callable[[list], np.ndarray],
    batch_size: int,
    label: str,
    progress: Progress | None,
    show_bar: bool,
    meta: dict | None = None,
    decode_chunk: int | None = None,
    ahead: bool = True,
) -> list[str]:
    """Encode every key not yet in ``store``, a batch at a time, persisting after each batch
    (``meta``, e.g. the device, goes into each shard's manifest). With ``decode_chunk`` smaller
    than the batch, the reader decodes (and the encoder encodes) that many items per step, and a
    batch's steps are stored together: decoding overlaps from the first step on, not the second batch."""
    from tqdm.auto import tqdm

    todo = store.missing(keys)
    problems: list[str] = []
    if not todo:
        return problems
    bar = tqdm(total=len(todo), desc=label, unit="item", disable=not show_bar, leave=False)
    done = 0
    try:
        chunks = [todo[start:start + batch_size] for start in range(0, len(todo), batch_size)]
        step = min(batch_size, decode_chunk or batch_size)
        steps = [chunk[a:a + step] for chunk in chunks for a in range(0, len(chunk), step)]
        parts = encode_batches(encode, [[payloads[k] for k in s] for s in steps], problems, ahead=ahead)
        for chunk in chunks:
            got, vecs = 0, []
            while got < len(chunk):
                vecs.append(next(parts))
                got += len(vecs[-1])
            store.add(chunk, vecs[0] if len(vecs) == 1 else np.concatenate(vecs, axis=0), meta)
            done += len(chunk)
            bar.update(len(chunk))
            if progress:
                progress(done, len(todo), label)
    finally:
        bar.close()
    return problems


def build_embeddings(
    corpus: Corpus,
    spec: str,
    what: str = "image",
    progress: Progress | None = None,
    show_bar: bool = True,
) -> Embeddings:
    """Embeddings of every figure of ``corpus`` by encoder ``spec``.

    ``what`` is "image" (the drawing), "desc" / "labels" (a text field, for encoders with a
    text tower) or "text" (title + description + labels, for text-only encoders). Only
    items missing from the cache are encoded. One build per (encoder, what) at a time.
    """
    enc = require(spec)
    if what == "image" and IMAGE not in enc.capabilities:
        what = "text"
    if what != "image" and TEXT not in enc.capabilities:
        raise ValueError(f"{spec} has no text tower; cannot encode {what!r}")
    enc = _fitted(enc, corpus)
    ns = _namespace(enc, what)
    try:  # shards of another dimension (an encoder changed without a new cache key) are dropped
        dim: int | None = int(enc.dim)
    except Exception:  # noqa: BLE001 - unknown until encoding: keep every shard
        dim = None
    with exclusive(f"embed|{ns}"):
        store = VectorStore(ns, dim=dim)
        if store.dropped:
            log.warning("dropped %d damaged cache shard(s) for %s; re-encoding them", len(store.dropped), spec)
        if what == "image":
            keys = [figure_digest(f) for f in corpus.figures]
            payloads: dict[str, object] = {}
            proto, mode = get_protocol(enc.protocol), getattr(enc, "image_mode", "RGB")
            load = lambda f: proto.load_image(f, mode)  # noqa: E731 - as stored (upair) or normalised (clean)
            for f, k in zip(corpus.figures, keys):
                payloads.setdefault(k, (lambda f=f: load(f)))
            encode, bs = enc.encode_images, enc.batch_size
            chunk, ahead = getattr(enc, "decode_chunk", None), bool(getattr(enc, "decode_ahead", True))
        else:
            texts = [figure_text(f, what, enc.protocol) for f in corpus.figures]
            keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
            payloads = dict(zip(keys, texts))
            encode, bs = enc.encode_texts, 256
            chunk, ahead = None, True  # texts are not decoded: nothing to overlap
        label = f"{enc.label or spec} · {what}"
        problems = _encode_missing(store, keys, payloads, encode, bs, label, progress, show_bar,
                                   meta={"device": enc.device}, decode_chunk=chunk, ahead=ahead)
        vectors = np.array(store.get(keys), dtype=np.float32, order="C")
    excluded: tuple[str, ...] = ()
    if what == "image":
        excluded, messages = _unreadable(corpus, vectors, load)
        problems = list(messages)
    key = key_of(corpus.fingerprint, ns)
    return Embeddings(spec=spec, what=what, key=key, ids=tuple(f.id for f in corpus.figures),
                      vectors=vectors, problems=tuple(problems), excluded=excluded)


def encode_query_image(spec: str, image) -> np.ndarray:
    """One query image → (1, d) float32 unit vector."""
    return require(spec).encode_images([image])


def encode_query_text(spec: str, text: str, corpus: Corpus | None = None) -> np.ndarray:
    """One query text → (1, d) float32 unit vector (TF-IDF needs the corpus it was fitted on)."""
    enc = require(spec)
    if corpus is not None:
        enc = _fitted(enc, corpus)
    return enc.encode_texts([get_protocol(enc.protocol).clean_text(text)])
