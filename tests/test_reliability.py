"""Reliability: damaged datasets, damaged caches, interrupted and concurrent builds, security.

Hostile *image* inputs to ``open_image`` are in ``test_images.py``; the same files sent
through the dashboard's upload widget are in ``test_uploads_app.py``; archive extraction
(``..`` members, absolute paths, symlinks, zip bombs) is in ``test_download.py``
(``test_escaping_members_are_refused_and_nothing_is_written``,
``test_symlink_member_is_refused``, ``test_zip_bomb_limits``).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import config
from core.corpora import DatasetError, load_corpus
from core.embed import build_embeddings
from core.encoders import get_encoder
from core.encoders.classic import HOGEncoder
from core.figures import ImageError, store_upload
from core.qrels import read_qrels
from core.search import get_index, search

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers


def make_drawings(root: Path, n: int, seed: int = 0, size: int = 96) -> Path:
    """``n`` distinct line drawings (black on white PNGs) named d000.png, d001.png, ..."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        im = Image.new("L", (size, size), 255)
        draw = ImageDraw.Draw(im)
        for _ in range(4 + i % 5):
            x0, y0, x1, y1 = (int(v) for v in rng.integers(4, size - 4, 4))
            if rng.random() < 0.5:
                draw.line((x0, y0, x1, y1), fill=0, width=2)
            else:
                draw.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), outline=0, width=2)
        im.save(root / f"d{i:03d}.png")
    return root


def count_encodes(monkeypatch, *specs: str, delay: float = 0.0) -> dict[str, list[int]]:
    """Record the batch sizes each encoder's ``encode_images`` is called with."""
    calls: dict[str, list[int]] = {}
    for spec in specs:
        cls = type(get_encoder(spec))
        original = cls.encode_images
        record: list[int] = []
        calls[spec] = record

        def counting(self, images, _original=original, _record=record):
            _record.append(len(images))
            if delay:
                time.sleep(delay)
            return _original(self, images)

        monkeypatch.setattr(cls, "encode_images", counting)
    return calls


def snapshot(cache: Path) -> dict[str, tuple[int, str]]:
    """(mtime_ns, sha256) of every cached vector shard and index file, by relative path."""
    out = {}
    for sub in ("vectors", "indices"):
        for p in sorted((cache / sub).rglob("*")):
            if p.is_file():
                out[str(p.relative_to(cache))] = (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def shard_files(cache: Path) -> list[Path]:
    return sorted((cache / "vectors").rglob("shard-*.npy"))


def shard_rows(cache: Path) -> int:
    return sum(len(json.loads(Path(str(p) + ".json").read_text())["keys"]) for p in shard_files(cache))


# --------------------------------------------------------------------------- datasets


def write_upair(root: Path, meta: dict | bytes, images=("q1", "q2", "c1", "c2", "c3"), qrels=None) -> Path:
    (root / "test" / "images").mkdir(parents=True, exist_ok=True)
    for i, h in enumerate(images):
        Image.new("L", (20 + i, 20), 255).save(root / "test" / "images" / f"{h}.png")
    data = meta if isinstance(meta, bytes) else json.dumps(meta, indent=1).encode()
    (root / "test" / "metadata.json").write_bytes(data)
    for axis, text in (qrels or {}).items():
        (root / "test" / f"qrels_{axis}.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def rec(h: str, **kw) -> dict:
    return {"hashcode": h, "patent": f"EP{h}", "title": f"title {h}", **kw}


GOOD_META = {"q1": {"query": rec("q1"), "candidates": [rec("c1"), rec("c2")]},
             "q2": {"query": rec("q2"), "candidates": [rec("c3")]}}


def test_malformed_metadata_json_names_file_line_and_column(tmp_path):
    root = write_upair(tmp_path / "u", b'{\n "q1": {"query": {"hashcode": "q1"},\n  "candidates": [,]\n }\n}\n')
    with pytest.raises(DatasetError) as err:
        load_corpus(f"upair:{root}")
    msg = str(err.value)
    assert str(root / "test" / "metadata.json") in msg and "line 3" in msg and "column" in msg


def test_metadata_of_the_wrong_shape_names_the_file(tmp_path):
    root = write_upair(tmp_path / "u", b'[1, 2, 3]')
    with pytest.raises(DatasetError, match=re.escape(str(root / "test" / "metadata.json"))):
        load_corpus(f"upair:{root}")
    root2 = write_upair(tmp_path / "v", {"q1": {"query": {"no": "hashcode"}}})
    with pytest.raises(DatasetError, match="no usable figures"):
        load_corpus(f"upair:{root2}")


def test_qrels_bad_lines_name_file_and_line(tmp_path):
    p = tmp_path / "qrels_visual.txt"
    p.write_text("q1 0 c1 1\nq1 0 c2\n# comment\n\nq1 0 c3 yes\nq2 0 c3 0 extra\nq2 0 c1 0\n")
    with pytest.raises(DatasetError) as err:
        read_qrels(p)  # strict: the first bad line stops it, naming file and line
    assert f"{p}:2" in str(err.value) and "expected 4 fields" in str(err.value)
    qrels, problems = read_qrels(p, strict=False)
    assert qrels == {"q1": {"c1": 1}, "q2": {"c1": 0}}
    assert [m.split(": ")[0] for m in problems] == [f"{p}:2", f"{p}:5", f"{p}:6"]
    assert "'yes' is not an integer" in problems[1]


def test_upair_skips_each_bad_record_and_counts_it(tmp_path):
    meta = {
        "q1": {"query": rec("q1"), "candidates": [rec("c1"), rec("missing1"), {"title": "no hashcode"}]},
        "q2": {"query": rec("q2"), "candidates": [rec("c2"), rec("c3"), rec("c1", title="other title")]},
        "q3": {"query": rec("missing2"), "candidates": [rec("c1")]},  # query image absent
        "q4": {"not": "a query"},
        "q5": {"query": rec("../../etc/passwd"), "candidates": []},
        "q6": {"query": rec("q6"), "candidates": "c1,c2"},
        "q7": {"query": rec("q1"), "candidates": [rec("c3")]},  # the same query again
    }
    qrels = {
        "visual": "q1 0 c1 1\nq1 0 c2\nq2 0 c2 maybe\nq2 0 c3 1\nq1 0 ghost 1\nghostq 0 c1 1\n",
        "semantic": "q1 0 c1 0\nq2 0 c2 1\n",
    }
    root = write_upair(tmp_path / "u", meta, images=("q1", "q2", "q6", "c1", "c2", "c3"), qrels=qrels)
    c = load_corpus(f"upair:{root}")
    assert sorted(f.id for f in c.figures) == ["c1", "c2", "c3", "q1", "q2", "q6"]
    assert c.benchmark.queries == ("q1", "q2", "q6") and c.benchmark.candidates["q6"] == ()
    assert c.by_id["c1"].title == "title c1"  # the first of the duplicate records is kept
    assert c.benchmark.candidates["q1"] == ("c1",) and c.benchmark.candidates["q2"] == ("c2", "c3", "c1")
    assert c.benchmark.qrels["visual"] == {"q1": {"c1": 1}, "q2": {"c3": 1}}
    assert c.benchmark.qrels["semantic"] == {"q1": {"c1": 0}, "q2": {"c2": 1}}
    meta_path = str(root / "test" / "metadata.json")
    qv = str(root / "test" / "qrels_visual.txt")
    expected = [  # one warning per bad record, each naming the file and the id or line
        (meta_path, "missing1"), (meta_path, "candidate 2 of query q1"), (meta_path, "duplicate id c1"),
        (meta_path, "missing2"), (meta_path, "'q4'"), (meta_path, "../../etc/passwd"),
        (meta_path, "candidates of query q6"), (meta_path, "'q7' repeats query q1"), (f"{qv}:2", "expected 4 fields"), (f"{qv}:3", "'maybe'"),
        (qv, "2 judgement(s) name unknown ids"),
    ]
    assert len(c.warnings) == len(expected), "\n".join(c.warnings)
    for where, what in expected:
        assert any(w.startswith(where) and what in w for w in c.warnings), (where, what, c.warnings)


def test_non_utf8_text_is_repaired_and_reported(tmp_path):
    meta = json.dumps({"q1": {"query": rec("q1", title="Gehäuse"), "candidates": [rec("c1")]}}, ensure_ascii=False)
    root = write_upair(tmp_path / "u", meta.encode("latin-1"), qrels={"visual": b"q1 0 c1 1\nq1 0 c\xe91 1\n"})
    c = load_corpus(f"upair:{root}")
    assert c.by_id["q1"].title == "Geh\ufffduse" and len(c) == 2
    assert any(w.startswith(str(root / "test" / "metadata.json")) and "not valid UTF-8" in w and "0xe4" in w
               for w in c.warnings), c.warnings
    assert any(w.startswith(str(root / "test" / "qrels_visual.txt")) and "not valid UTF-8" in w for w in c.warnings)
    assert c.benchmark.qrels["visual"] == {"q1": {"c1": 1}}

    # sidecars of a folder / query-patents corpus: same treatment
    d = tmp_path / "qp" / "sections" / "B" / "EP1"
    d.mkdir(parents=True)
    Image.new("L", (10, 10), 255).save(d / "h1.png")
    (d / "h1.json").write_bytes('{"title": "Ventil für Öl"}'.encode("cp1252"))
    qp = load_corpus(f"query-patents:{tmp_path / 'qp'}")
    assert qp.by_id["h1"].title.startswith("Ventil f\ufffdr")
    assert len(qp.warnings) == 1 and qp.warnings[0].startswith(str(d / "h1.json")) and "UTF-8" in qp.warnings[0]


def test_utf8_bom_is_accepted(tmp_path):
    root = write_upair(tmp_path / "u", b"\xef\xbb\xbf" + json.dumps(GOOD_META).encode(),
                       qrels={"visual": b"\xef\xbb\xbfq1 0 c1 1\n"})
    c = load_corpus(f"upair:{root}")
    assert not c.warnings and len(c) == 5 and c.benchmark.qrels["visual"] == {"q1": {"c1": 1}}


def test_sidecars_duplicates_bad_json_and_broken_links_in_folders(tmp_path):
    root = tmp_path / "f"
    (root / "a").mkdir(parents=True)
    for name in ("x.png", "a/y.png", "a/z.png"):
        Image.new("L", (10, 10), 255).save(root / name)
    (root / "x.json").write_text('{"hashcode": "same", "title": "X"}')
    (root / "a" / "y.json").write_text('{"hashcode": "same", "title": "Y"}')  # duplicate id
    (root / "a" / "z.json").write_text('{"title": "Z",\n "fig_desc": oops}')  # bad JSON: metadata ignored
    os.symlink(tmp_path / "nowhere.png", root / "dangling.png")
    c = load_corpus(f"folder:{root}")
    assert sorted(f.id for f in c.figures) == ["a/z", "same"]
    assert c.by_id["same"].title == "Y"  # files are read in sorted path order: a/y.png first
    assert c.by_id["a/z"].title == ""
    w = "\n".join(c.warnings)
    assert len(c.warnings) == 3, w
    assert "duplicate id same; skipped" in w
    assert f"{root / 'a' / 'z.json'}: not valid JSON (line 2)" in w
    assert f"{root / 'dangling.png'}: broken symbolic link" in w


def test_query_patents_duplicate_hash_in_two_patents(tmp_path):
    for pat in ("EP1", "EP2"):
        d = tmp_path / "sections" / "C" / pat
        d.mkdir(parents=True)
        Image.new("L", (10, 10), 255).save(d / "h.png")
    c = load_corpus(f"query-patents:{tmp_path}")
    assert len(c) == 1 and len(c.warnings) == 1
    assert "EP2" in c.warnings[0] and "duplicate id h" in c.warnings[0]


def test_image_missing_after_loading_is_a_clear_error(cache, tmp_path):
    root = make_drawings(tmp_path / "f", 5)
    c = load_corpus(f"folder:{root}")
    (root / "d002.png").unlink()
    with pytest.raises(OSError) as err:
        get_index(c, "hog", show_bar=False)
    assert "d002.png" in str(err.value)
    # reloading sees the folder as it is now and builds fine
    assert len(get_index(load_corpus(f"folder:{root}"), "hog", show_bar=False).embeddings.ids) == 4


# --------------------------------------------------------------------------- caches


@pytest.fixture
def built(cache, tmp_path, monkeypatch):
    """40 drawings; HOG in batches of 8 (5 shards) and AHDH (1 shard), both indexed."""
    monkeypatch.setattr(HOGEncoder, "batch_size", 8)
    root = make_drawings(tmp_path / "figs", 40)
    corpus = load_corpus(f"folder:{root}")
    ref = {spec: get_index(corpus, spec, show_bar=False) for spec in ("hog", "ahdh")}
    assert len(shard_files(cache)) == 6
    return root, corpus, ref


def _hog_shards(cache: Path) -> list[Path]:
    return [p for p in shard_files(cache) if json.loads(Path(str(p) + ".json").read_text())["namespace"].startswith("hog")]


def _damage_shard(shard: Path, how: str) -> None:
    man_path = Path(str(shard) + ".json")
    if how == "truncated":
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    elif how == "bytes-flipped":
        data = bytearray(shard.read_bytes())
        data[200:260] = bytes(b ^ 0xFF for b in data[200:260])
        shard.write_bytes(bytes(data))
    elif how == "manifest-missing":
        man_path.unlink()
    elif how == "manifest-garbage":
        man_path.write_text('{"store_version": 1, "sha')
    elif how == "manifest-not-an-object":
        man_path.write_text("[1, 2]")
    elif how == "manifest-binary":
        man_path.write_bytes(b"\x00\xff\xfe" * 50)
    elif how == "older-store-version":
        man = json.loads(man_path.read_text())
        man["store_version"] -= 1
        man_path.write_text(json.dumps(man))
    elif how == "wrong-dimension":
        # A self-consistent shard (valid checksum) whose vectors no longer have the encoder's
        # dimension, as if the encoder changed without changing its cache key.
        from core.store import save_array

        man = json.loads(man_path.read_text())
        save_array(shard, np.ones((len(man["keys"]), 100), np.float32), {"namespace": man["namespace"], "keys": man["keys"]})
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "bytes-flipped", "manifest-missing", "manifest-garbage",
                                 "manifest-not-an-object", "manifest-binary", "older-store-version",
                                 "wrong-dimension"])
def test_damaged_vector_shard_is_dropped_and_only_it_is_reencoded(built, cache, monkeypatch, how):
    root, corpus, ref = built
    victim = _hog_shards(cache)[2]
    victim_rows = len(json.loads(Path(str(victim) + ".json").read_text())["keys"])
    _damage_shard(victim, how)
    before = snapshot(cache)
    calls = count_encodes(monkeypatch, "hog", "ahdh")
    idx = get_index(load_corpus(f"folder:{root}"), "hog", show_bar=False)
    assert sum(calls["hog"]) == victim_rows == 8 and calls["ahdh"] == []
    assert np.array_equal(idx.embeddings.vectors, ref["hog"].embeddings.vectors)
    after = snapshot(cache)
    damaged = {str(victim.relative_to(cache)), str(victim.relative_to(cache)) + ".json"}
    untouched = {k: v for k, v in before.items() if k not in damaged}
    assert untouched and all(after.get(k) == v for k, v in untouched.items())  # nothing else rewritten
    assert len(_hog_shards(cache)) == 5 and shard_rows(cache) == 80


@pytest.mark.parametrize("how", ["truncated", "bytes-flipped", "manifest-missing", "wrong-dimension"])
def test_damaged_index_is_rebuilt_from_cached_vectors(built, cache, monkeypatch, how):
    import faiss

    root, corpus, ref = built
    index_file = next(p for p in (cache / "indices").rglob("index.faiss") if ref["hog"].embeddings.key in str(p))
    man_path = index_file.parent / "manifest.json"
    if how == "truncated":
        index_file.write_bytes(index_file.read_bytes()[:100])
    elif how == "bytes-flipped":
        data = bytearray(index_file.read_bytes())
        data[-64:] = bytes(b ^ 0xFF for b in data[-64:])
        index_file.write_bytes(bytes(data))
    elif how == "manifest-missing":
        man_path.unlink()
    else:  # a valid faiss file of the wrong dimension, with a manifest that matches its bytes
        other = faiss.IndexFlatIP(32)
        other.add(np.eye(40, 32, dtype=np.float32))
        data = faiss.serialize_index(other).tobytes()
        index_file.write_bytes(data)
        man = json.loads(man_path.read_text())
        man.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        man_path.write_text(json.dumps(man))
    before = snapshot(cache)
    calls = count_encodes(monkeypatch, "hog", "ahdh")
    q = corpus.figures[7].id
    res = search(load_corpus(f"folder:{root}"), q, ["hog"], k=5)["hog"]
    assert calls["hog"] == [] and not res.error
    expected = ref["hog"].neighbours(ref["hog"].embeddings.vectors[7][None, :], 5, exclude={q})
    assert res.ids == [fid for fid, _ in expected] and len(res.ids) == 5
    reloaded = faiss.read_index(str(index_file))
    assert reloaded.d == ref["hog"].embeddings.dim and reloaded.ntotal == 40
    after = snapshot(cache)
    mine = {str(index_file.relative_to(cache)), str(man_path.relative_to(cache))}
    assert all(after.get(k) == v for k, v in before.items() if k not in mine)


def test_index_manifest_that_is_not_an_object_is_rebuilt(built, cache, monkeypatch):
    root, corpus, ref = built
    man_path = next(p for p in (cache / "indices").rglob("manifest.json") if ref["hog"].embeddings.key in str(p))
    man_path.write_text("[1, 2]")
    calls = count_encodes(monkeypatch, "hog")
    idx = get_index(load_corpus(f"folder:{root}"), "hog", show_bar=False)
    assert calls["hog"] == [] and idx.index.ntotal == 40
    assert isinstance(json.loads(man_path.read_text()), dict)


def test_store_version_bump_rebuilds_without_reading_or_deleting_old_files(built, cache, monkeypatch):
    import core.store

    root, corpus, ref = built
    before = snapshot(cache)
    monkeypatch.setattr(core.store, "STORE_VERSION", core.store.STORE_VERSION + 1)
    calls = count_encodes(monkeypatch, "hog")
    idx = get_index(load_corpus(f"folder:{root}"), "hog", show_bar=False)
    assert sum(calls["hog"]) == 40  # nothing of the old layout was trusted
    assert np.array_equal(idx.embeddings.vectors, ref["hog"].embeddings.vectors)
    after = snapshot(cache)
    assert all(after.get(k) == v for k, v in before.items())  # ... and nothing of it was deleted
    new_manifests = [json.loads(Path(str(p) + ".json").read_text()) for p in shard_files(cache)]
    assert sum(m["store_version"] == core.store.STORE_VERSION for m in new_manifests) == 5


# --------------------------------------------------------------------------- interrupted builds


_HOOK = '''
# Test hook (tests/test_reliability.py): slow HOG down and log what each process encodes.
import os
if os.environ.get("UPAIR_TEST_LOG"):
    import time
    from core.encoders import classic as _classic

    with open(os.environ["UPAIR_TEST_LOG"] + ".start", "a") as _fh:
        _fh.write("%d %f\\n" % (os.getpid(), time.time()))

    _original = _classic.HOGEncoder.encode_images
    _classic.HOGEncoder.batch_size = int(os.environ["UPAIR_TEST_BATCH"])

    def _slow(self, images):
        out = _original(self, images)
        time.sleep(float(os.environ["UPAIR_TEST_SLEEP"]))
        fd = os.open(os.environ["UPAIR_TEST_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, ("%d %d %f\\n" % (os.getpid(), len(images), time.time())).encode())
        os.close(fd)
        return out

    _classic.HOGEncoder.encode_images = _slow
'''

N_INTERRUPT = 150
BATCH = 10


@pytest.fixture(scope="module")
def drawings_150(tmp_path_factory):
    return make_drawings(tmp_path_factory.mktemp("interrupt") / "figs", N_INTERRUPT, seed=1)


@pytest.fixture(scope="module")
def reference_150(drawings_150, tmp_path_factory):
    """HOG vectors of the 150 drawings from one uninterrupted in-process build (own cache)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UPAIR_CACHE", str(tmp_path_factory.mktemp("ref_cache")))
        emb = build_embeddings(load_corpus(f"folder:{drawings_150}"), "hog", show_bar=False)
        return emb.vectors.copy()


def _build_cmd(folder: Path) -> list[str]:
    return [sys.executable, "-m", "core", "build", "--corpus", f"folder:{folder}", "--encoders", "hog"]


def _hook_env(tmp_path: Path, cache: Path, log: Path, sleep: float) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_HOOK)
    env = dict(os.environ)
    env.update(UPAIR_CACHE=str(cache), PYTHONPATH=f"{hook}{os.pathsep}{ROOT}", UPAIR_TEST_LOG=str(log),
               UPAIR_TEST_BATCH=str(BATCH), UPAIR_TEST_SLEEP=str(sleep), OMP_NUM_THREADS="1")
    return env


def _log(log: Path) -> list[tuple[int, int, float]]:
    """(pid, items, time) per batch encoded by the hooked processes."""
    if not log.exists():
        return []
    return [(int(a), int(b), float(t)) for a, b, t in (line.split() for line in log.read_text().splitlines())]


def _completed_shards(cache: Path) -> int:
    return len(list((cache / "vectors").rglob("shard-*.npy.json")))


def _load_built(cache: Path, folder: Path, monkeypatch) -> np.ndarray:
    """The cached HOG vectors of ``folder`` in ``cache``, asserting nothing is encoded."""
    monkeypatch.setenv("UPAIR_CACHE", str(cache))
    calls = count_encodes(monkeypatch, "hog")
    vec = build_embeddings(load_corpus(f"folder:{folder}"), "hog", show_bar=False).vectors
    assert calls["hog"] == []
    return vec


@pytest.mark.slow
def test_killed_build_resumes_and_ends_identical(drawings_150, reference_150, tmp_path, monkeypatch):
    cache, log = tmp_path / "cache", tmp_path / "encoded.log"
    env = _hook_env(tmp_path, cache, log, sleep=0.15)
    proc = subprocess.Popen(_build_cmd(drawings_150), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while _completed_shards(cache) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the build never wrote a shard"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    kept = shard_rows(cache)
    assert 3 * BATCH <= kept < N_INTERRUPT, "the kill did not land mid-way"
    first_run = sum(n for _, n, _ in _log(log))
    log.unlink()

    done = subprocess.run(_build_cmd(drawings_150), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"ready    hog: {N_INTERRUPT} x 1764" in done.stdout
    second_run = sum(n for _, n, _ in _log(log))
    assert second_run == N_INTERRUPT - kept  # only what the killed run had not written
    assert first_run >= kept  # (the batch in flight when killed was encoded but lost)
    assert shard_rows(cache) == N_INTERRUPT  # each item stored exactly once
    assert np.array_equal(_load_built(cache, drawings_150, monkeypatch), reference_150)


@pytest.mark.slow
def test_two_processes_building_at_once_encode_each_item_once(drawings_150, reference_150, tmp_path, monkeypatch):
    cache, log = tmp_path / "cache", tmp_path / "encoded.log"
    env = _hook_env(tmp_path, cache, log, sleep=0.1)
    procs = [subprocess.Popen(_build_cmd(drawings_150), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert f"ready    hog: {N_INTERRUPT} x 1764" in out
    entries = _log(log)
    starts = {int(a): float(t) for a, t in (line.split() for line in Path(f"{log}.start").read_text().splitlines())}
    assert set(starts) == {p.pid for p in procs}
    assert max(starts.values()) < entries[-1][2]  # both were running while the encoding went on
    assert sum(n for _, n, _ in entries) == N_INTERRUPT
    assert len({pid for pid, _, _ in entries}) == 1  # the other process waited, then found it all cached
    assert shard_rows(cache) == N_INTERRUPT
    assert np.array_equal(_load_built(cache, drawings_150, monkeypatch), reference_150)


# --------------------------------------------------------------------------- concurrency


def _run_ops(corpus, ops, parallel: bool):
    """Run (kind, spec, figure row) operations, in threads started together or one by one."""
    results: list[object] = [None] * len(ops)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(ops)) if parallel else None

    def work(i: int) -> None:
        kind, spec, row = ops[i]
        try:
            if barrier:
                barrier.wait()
            if kind == "build":
                results[i] = get_index(corpus, spec, show_bar=False).embeddings.vectors.copy()
            else:
                res = search(corpus, corpus.figures[row].id, [spec], k=5)[spec]
                results[i] = ([n.id for n in res.neighbours], [round(n.score, 6) for n in res.neighbours], res.error)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    if parallel:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(ops))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    else:
        for i in range(len(ops)):
            work(i)
    assert not errors, errors
    return results


def test_threads_building_and_searching_at_once(tmp_path, monkeypatch):
    root = make_drawings(tmp_path / "figs", 48, seed=2)
    monkeypatch.setattr(HOGEncoder, "batch_size", 8)
    ops = [("build", "hog", 0), ("search", "hog", 3), ("search", "hog", 11),
           ("build", "ahdh", 0), ("search", "ahdh", 3), ("search", "ahdh", 20)]

    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "seq_cache"))
    expected = _run_ops(load_corpus(f"folder:{root}"), ops, parallel=False)

    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "par_cache"))
    corpus = load_corpus(f"folder:{root}")
    calls = count_encodes(monkeypatch, "hog", "ahdh", delay=0.02)  # widen the window for races
    got = _run_ops(corpus, ops, parallel=True)
    assert sum(calls["hog"]) == 48 and sum(calls["ahdh"]) == 48  # each item encoded exactly once
    assert shard_rows(tmp_path / "par_cache") == 96
    for (kind, spec, _), e, g in zip(ops, expected, got):
        if kind == "build":
            assert np.array_equal(e, g), spec
        else:
            assert e == g and not g[2] and len(g[0]) == 5, spec


# --------------------------------------------------------------------------- security


@pytest.mark.slow
def test_malicious_pickle_checkpoint_is_refused(tiny_clip_arch, tmp_path):
    import torch

    from core.encoders.clip import ClipEncoder

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('owned')",))

    ckpt = tmp_path / "evil.pt"
    torch.save({"state_dict": {"visual.proj": Payload()}}, ckpt)
    enc = ClipEncoder(tiny_clip_arch, str(ckpt))
    assert enc.availability().ok  # it is a file; what is inside shows on loading
    with pytest.raises(RuntimeError) as err:
        enc.load()
    msg = str(err.value)
    assert str(ckpt) in msg and "refused to load CLIP checkpoint" in msg, msg
    assert "weights_only=False" not in msg and "\x1b[" not in msg  # no advice to disable the guard
    assert re.search(r"weights.only|unpickl", msg, re.I), msg
    assert not marker.exists()


_FORBIDDEN = [
    (re.compile(r"\bpickle\.loads?\s*\("), "pickle.load"),
    (re.compile(r"\b(cPickle|dill|joblib|shelve|marshal)\b"), "pickle-like module"),
    (re.compile(r"(?<![\w.])eval\s*\("), "eval("),
    (re.compile(r"(?<![\w.])exec\s*\("), "exec("),
    (re.compile(r"allow_pickle\s*=\s*True"), "allow_pickle=True"),
    (re.compile(r"weights_only\s*=\s*False"), "weights_only=False"),
    (re.compile(r"\byaml\.load\s*\((?![^)]*SafeLoader)"), "yaml.load"),
    (re.compile(r"shell\s*=\s*True"), "shell=True"),
]


def test_no_pickle_or_eval_of_untrusted_content():
    files = [p for d in ("core", "dashboard", "pages") for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 10
    hits = []
    for p in files:
        for lineno, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in _FORBIDDEN:
                if pattern.search(code):
                    hits.append(f"{p.relative_to(ROOT)}:{lineno}: {what}: {line.strip()}")
            if "torch.load(" in code and "weights_only=True" not in code:
                hits.append(f"{p.relative_to(ROOT)}:{lineno}: torch.load without weights_only=True")
    assert not hits, "\n".join(hits)


def test_server_upload_limit_equals_the_app_limit():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] == config.MAX_UPLOAD_MB


def test_upload_names_never_become_paths(cache):
    data = b"\x89PNG\r\n\x1a\n"  # a PNG signature and nothing else
    with pytest.raises(ImageError, match=r"\.\./\.\./x\.png"):
        store_upload(data, "../../x.png")
    buf = io.BytesIO()
    Image.new("L", (12, 12), 255).save(buf, "PNG")
    path = store_upload(buf.getvalue(), "../../../etc/cron.d/x.png")
    assert path.parent == cache / "uploads" and path.name == hashlib.sha1(buf.getvalue()).hexdigest() + ".png"
    with pytest.raises(ImageError, match="limit is"):
        store_upload(b"\0" * (config.MAX_UPLOAD_MB * 2**20 + 1), "big.png")
    assert [p.name for p in (cache / "uploads").iterdir()] == [path.name]


def test_user_paths_are_resolved_and_symlinks_documented(tmp_path):
    root = make_drawings(tmp_path / "data" / "figs", 2)
    outside = make_drawings(tmp_path / "elsewhere", 2, seed=5)
    os.symlink(outside / "d000.png", root / "linked.png")  # symlinked file: included
    os.symlink(outside, root / "linked_dir")  # symlinked folder: not descended into
    (tmp_path / "data" / "x").mkdir()
    c = load_corpus(f"folder:{tmp_path / 'data' / 'x' / '..' / 'figs'}")
    assert c.root == root.resolve() and c.root.is_absolute() and ".." not in c.root.parts
    assert c.name == f"folder:{root.resolve()}"
    assert sorted(f.id for f in c.figures) == ["d000", "d001", "linked"]
    for f in c.figures:
        assert f.path.is_absolute() and f.path.parent == c.root  # the link's own path, inside the root
    assert c.by_id["linked"].path.resolve() == (outside / "d000.png").resolve()
    # a bare relative path with ".." is resolved too
    rel = os.path.relpath(root, Path.cwd())
    assert load_corpus(rel).root == root.resolve()
