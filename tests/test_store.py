"""The one file hasher, the cache switch and the shard clean-up of core.store / core.config."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from core import config, store


def test_cached_file_hash_equals_hashlib_and_follows_rewrites(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"first")
    assert store.cached_file_hash(f) == hashlib.sha256(b"first").hexdigest() == store.sha256_file(f)
    assert store.cached_file_hash(f, "sha1") == hashlib.sha1(b"first").hexdigest()
    f.write_bytes(b"second, longer")  # new size: a new memo entry
    assert store.cached_file_hash(f) == hashlib.sha256(b"second, longer").hexdigest()
    st = f.stat()
    f.write_bytes(b"SECOND, LONGER")  # same size; a new mtime makes a new entry
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert store.cached_file_hash(f) == hashlib.sha256(b"SECOND, LONGER").hexdigest()


def test_memo_is_used_until_cleared(tmp_path):
    f = tmp_path / "b.bin"
    f.write_bytes(b"abc")
    before = store.cached_file_hash(f)
    st = f.stat()
    f.write_bytes(b"xyz")  # same size, same mtime: the memo answers (that is its contract)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert store.cached_file_hash(f) == before
    store.clear_file_hashes()
    assert store.cached_file_hash(f) == hashlib.sha256(b"xyz").hexdigest()


def test_figure_and_checkpoint_digests_use_the_one_hasher(tmp_path):
    from core.encoders.clip import checkpoint_digest
    from core.figures import file_digest

    f = tmp_path / "c.png"
    f.write_bytes(b"\x89PNG not really")
    assert file_digest(f) == hashlib.sha1(f.read_bytes()).hexdigest()
    assert checkpoint_digest(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_use_cache_switches_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "outer"))
    with config.use_cache(tmp_path / "inner") as inner:
        assert inner == (tmp_path / "inner").resolve() == config.cache_dir()
        assert inner.is_dir()
    assert config.cache_dir() == (tmp_path / "outer").resolve()
    monkeypatch.delenv("UPAIR_CACHE")
    with pytest.raises(RuntimeError):
        with config.use_cache(tmp_path / "inner"):
            raise RuntimeError("boom")
    assert "UPAIR_CACHE" not in os.environ


def test_damaged_and_mismatched_shards_are_dropped(cache):
    vs = store.VectorStore("ns", dim=3)
    vs.add(["a", "b"], np.ones((2, 3), dtype=np.float32))
    vs.add(["c"], np.zeros((1, 3), dtype=np.float32))
    shards = sorted(vs.dir.glob("shard-*.npy"))
    assert len(shards) == 2
    victim = next(s for s in shards if "c" in store.load_json(s.with_name(s.name + ".json"))["keys"])
    victim.write_bytes(victim.read_bytes()[:-4])  # truncated: fails its checksum
    again = store.VectorStore("ns", dim=3)
    assert again.dropped == [victim.name] and len(again) == 2 and "c" not in again
    assert not victim.exists() and not victim.with_name(victim.name + ".json").exists()
    other_dim = store.VectorStore("ns", dim=4)  # every remaining shard has dim 3: all dropped
    assert len(other_dim) == 0 and len(other_dim.dropped) == 1
    assert list(vs.dir.glob("shard-*")) == []
