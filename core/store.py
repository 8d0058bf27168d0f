"""Content-addressed on-disk cache: atomic writes, manifests with checksums, locks.

Layout under ``cache_dir()``::

    vectors/<namespace>/shard-<n>.npy + shard-<n>.json   # per-item vectors, append-only
    indices/<corpus fp>/<encoder key>/                   # embeddings.npy, index.faiss, manifest.json
    maps/, eval/                                         # derived results, one file per key

Every file is written to a temporary name and renamed into place, so a killed process
leaves either the old file or the new one, never half of one. Each artefact has a JSON
manifest recording its SHA-256; a file that fails the check is treated as missing.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import config

#: Bump when the on-disk layout changes; older manifests are rebuilt.
STORE_VERSION = 1


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; once the block has written it, it is fsynced and
    renamed onto ``path`` atomically. On any error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and an atomic rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomically write JSON (sorted keys, so equal content gives equal bytes)."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True))


def array_bytes(arr: np.ndarray) -> bytes:
    """Serialise an array to .npy bytes (no pickle)."""
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hash_file(path: Path | str, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in 1 MiB chunks (always reads: for integrity checks)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: Path | str) -> str:
    """SHA-256 of a file's bytes (always reads the file)."""
    return hash_file(path)


@functools.lru_cache(maxsize=200_000)
def _memo_hash(path: str, size: int, mtime_ns: int, algorithm: str) -> str:
    return hash_file(path, algorithm)


def cached_file_hash(path: Path | str, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, memoised on (path as given, size, mtime): the one content
    key of image files and checkpoints. A file rewritten in place gets a new size or mtime."""
    st = os.stat(path)
    return _memo_hash(str(path), st.st_size, st.st_mtime_ns, algorithm)


def clear_file_hashes() -> None:
    """Forget every memoised file hash (benchmarks timing a cold cache)."""
    _memo_hash.cache_clear()


def key_of(*parts: object) -> str:
    """Short stable hash of any JSON-able parts (used for cache folder names)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose output a cached artefact depends on (looked up once
    per process: ``importlib.metadata`` scans site-packages on every call)."""
    return {"store": str(STORE_VERSION), **_library_versions()}  # the store's layout read now, not memoised


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("numpy", "faiss-cpu", "open_clip_torch", "torch", "scikit-image", "scikit-learn", "pillow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def save_array(path: Path, arr: np.ndarray, meta: dict | None = None) -> dict:
    """Atomically save an array with a sidecar manifest ``<path>.json``; returns the manifest."""
    data = array_bytes(arr)
    manifest = {
        "store_version": STORE_VERSION,
        "sha256": sha256_bytes(data),
        "shape": list(arr.shape),
        "dtype": str(arr.dtype),
        **(meta or {}),
    }
    atomic_write_bytes(path, data)
    atomic_write_json(Path(str(path) + ".json"), manifest)
    return manifest


def load_array(path: Path, expect: dict | None = None, mmap: bool = False) -> np.ndarray | None:
    """Load an array saved by ``save_array``; None when missing, damaged or stale.

    ``expect`` holds manifest entries that must match (e.g. encoder key, dim).
    """
    path = Path(path)
    man_path = Path(str(path) + ".json")
    try:
        manifest = json.loads(man_path.read_text())
        if not isinstance(manifest, dict) or manifest.get("store_version") != STORE_VERSION:
            return None
        for k, v in (expect or {}).items():
            if manifest.get(k) != v:
                return None
        if sha256_file(path) != manifest["sha256"]:
            return None
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        if list(arr.shape) != manifest["shape"] or str(arr.dtype) != manifest["dtype"]:
            return None
        return arr
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


def load_json(path: Path) -> Any | None:
    """Read JSON, None when missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold an exclusive lock named ``name`` across threads *and* processes.

    Used so that one build per (corpus, encoder) runs at a time; others wait, then find
    the finished artefacts in the cache.
    """
    with _thread_locks_guard:
        tlock = _thread_locks.setdefault(name, threading.Lock())
    lock_dir = config.cache_dir() / "locks"
    with tlock:
        try:
            lock_dir.mkdir(parents=True, exist_ok=True)
            fh = open(lock_dir / f"{key_of(name)}.lock", "a+")
        except OSError as exc:
            if not _read_only(exc):
                raise
            # a read-only cache: this process cannot write, so readers need no file lock; anything
            # that does have to be written fails later, naming the cache
            yield
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _read_only(exc: OSError) -> bool:
    import errno

    return isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


class VectorStore:
    """Append-only per-item vector cache for one encoder namespace.

    Items are addressed by a content key (SHA-1 of an image file or of a text). Vectors
    are written in shards after every batch, so an interrupted build keeps what it wrote
    and a later build only encodes what is missing. A damaged shard is dropped (only it).
    """

    def __init__(self, namespace: str, dim: int | None = None):
        self.namespace = namespace
        self.dir = config.cache_dir() / "vectors" / key_of(namespace)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self._vectors: dict[str, np.ndarray] = {}
        self.dropped: list[str] = []
        self._load()

    def _shards(self) -> list[Path]:
        return sorted(self.dir.glob("shard-*.npy"))

    def _load(self) -> None:
        for shard in self._shards():
            meta = load_json(Path(str(shard) + ".json"))
            arr = load_array(shard, expect={"namespace": self.namespace})
            damaged = arr is None or not isinstance(meta, dict) or not isinstance(meta.get("keys"), list) \
                or len(meta["keys"]) != len(arr)
            if damaged or (self.dim is not None and (arr.ndim != 2 or arr.shape[1] != self.dim)):
                self._drop(shard)
                continue
            for key, vec in zip(meta["keys"], arr):
                self._vectors[key] = vec

    def _drop(self, shard: Path) -> None:
        """Delete a damaged or mismatched shard and its manifest; remember its name."""
        self.dropped.append(shard.name)
        for p in (shard, Path(str(shard) + ".json")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def __len__(self) -> int:
        return len(self._vectors)

    def missing(self, keys: list[str]) -> list[str]:
        """Keys (deduplicated, order kept) that have no vector yet."""
        seen: set[str] = set()
        out = []
        for k in keys:
            if k not in self._vectors and k not in seen:
                seen.add(k)
                out.append(k)
        return out

    def add(self, keys: list[str], vectors: np.ndarray, meta: dict | None = None) -> None:
        """Persist one batch of vectors as a new shard (atomically) and keep them in memory;
        ``meta`` (e.g. the device that computed them) is recorded in the shard's manifest."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError("keys and vectors differ in length")
        if not keys:
            return
        name = f"shard-{os.getpid()}-{threading.get_ident() % 100000}-{key_of(keys)[:12]}.npy"
        save_array(self.dir / name, vectors, {**(meta or {}), "namespace": self.namespace, "keys": list(keys)})
        for k, v in zip(keys, vectors):
            self._vectors[k] = v

    def get(self, keys: list[str]) -> np.ndarray:
        """Vectors for ``keys`` in order (every key must be present)."""
        if not keys:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)
