"""Build engines: the local and Ray engines write the cache a plain build reads, unit by unit."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.corpora import DatasetError, load_corpus
from core.corpora.webdataset import write_shards
from core.embed import build_embeddings
from core.encoders.classic import HOGEncoder
from core.engine import EngineOptions, encode_corpus, run_build, work_units


class Stop(Exception):
    pass


@pytest.fixture
def shards(query_patents, cache, tmp_path):
    """40 real query figures in 4 shards of 10 (plus the folder corpus they came from)."""
    files = load_corpus(f"query-patents:{query_patents}")
    subset = type(files)(name="qp", kind="query-patents", root=files.root, figures=files.figures[:40])
    folder = tmp_path / "shards"
    write_shards(list(subset.figures), str(folder / "shard-%06d.tar"), 10)
    (folder / "pub2title.json").write_text(json.dumps({f.patent: f.title for f in subset.figures}))
    return subset, load_corpus(f"webdataset:{folder}/shard-{{000000..000003}}.tar")


@pytest.fixture
def encoded(monkeypatch):
    """Counts the images HOG encodes in this process."""
    count = {"images": 0}
    original = HOGEncoder.encode_images

    def counting(self, images):
        count["images"] += len(images)
        return original(self, images)

    monkeypatch.setattr(HOGEncoder, "encode_images", counting)
    return count


def _plain(corpus):
    return build_embeddings(corpus, "hog", show_bar=False)


@pytest.mark.shared
def test_local_engine_fills_the_cache_the_plain_build_reads(shards, encoded):
    files, sharded = shards
    assert [u.shard for u in work_units(sharded)] == list(sharded.shards)
    report = encode_corpus(sharded, "hog", "local")
    assert (report.units, report.units_cached, report.items_encoded) == (4, 0, 40)
    assert encoded["images"] == 40
    emb = _plain(sharded)
    assert encoded["images"] == 40  # nothing encoded again
    # the folder corpus holds the same images: same content keys, same vectors, no encoding
    ref = _plain(files)
    assert encoded["images"] == 40
    assert ref.ids == emb.ids and np.abs(ref.vectors - emb.vectors).max() == 0.0


@pytest.mark.shared
def test_stopped_build_resumes_without_re_encoding_finished_shards(shards, encoded):
    _, sharded = shards

    def stop_after_two(done, total, message):
        if done == 2:
            raise Stop(message)

    with pytest.raises(Stop):
        encode_corpus(sharded, "hog", "local", progress=stop_after_two)
    assert encoded["images"] == 20
    report = encode_corpus(sharded, "hog", "local")
    assert report.units_cached == 2 and report.units_encoded == sharded.shards[2:]
    assert encoded["images"] == 40 and report.items_encoded == 20


def test_undecodable_image_is_named_and_the_rest_encoded(cache, tmp_path, encoded):
    import io
    import tarfile

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buf, "PNG")
    members = {"US1_1_0.hashcode.txt": b"good", "US1_1_0.image.png": buf.getvalue(),
               "US1_2_0.hashcode.txt": b"bad", "US1_2_0.image.png": b"\x89PNG not really"}
    with tarfile.open(tmp_path / "s.tar", "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    corpus = load_corpus(f"webdataset:{tmp_path}/s.tar")
    report = encode_corpus(corpus, "hog", "local")
    assert report.items_encoded == 2 and len(report.problems) == 1
    assert "US1_2_0.image.png" in report.problems[0] and "s.tar" in report.problems[0]
    out = run_build(corpus, ["hog"], "local")
    # the unreadable image is never encoded (no blank page): only the good one reaches the encoder,
    # and the bad figure is marked excluded, so no search returns it (issue 11)
    assert out["hog"].ntotal == 2 and encoded["images"] == 1
    assert out["hog"].embeddings.excluded == ("bad",)


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    from core.engine.ray import connect

    connect(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.shared
def test_ray_build_equals_local_and_leaves_a_reusable_cache(shards, encoded, ray_local, tmp_path, monkeypatch):
    files, sharded = shards
    # a driver stopped after 3 of 4 shards keeps them; the rerun sends only the last one
    with pytest.raises(Stop):
        encode_corpus(sharded, "hog", "ray", EngineOptions(workers=2),
                      progress=lambda d, t, m: _raise(Stop()) if d == 3 else None)
    report = encode_corpus(sharded, "hog", "ray", EngineOptions(workers=2))
    assert report.units_cached == 3 and len(report.units_encoded) == 1 and report.items_encoded == 10
    assert encoded["images"] == 0  # every image was encoded by the actors
    emb = _plain(sharded)
    assert encoded["images"] == 0  # the plain build found every vector in the cache
    # independent local encoding in a fresh cache
    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "fresh"))
    local = _plain(files)
    assert encoded["images"] == 40
    assert local.ids == emb.ids and np.abs(local.vectors - emb.vectors).max() <= 1e-6


def _raise(exc):
    raise exc


@pytest.mark.shared
def test_cli_build_with_the_local_engine_reports_units(shards, encoded, capsys):
    from core.cli import main

    _, sharded = shards
    assert main(["build", "--corpus", sharded.name, "--encoders", "hog", "--engine", "local"]) == 0
    out = capsys.readouterr().out
    assert "encoded  hog with local: 4 of 4 unit(s), 40 item(s); 0 unit(s) already cached" in out
    assert "ready    hog: 40 x" in out
    assert main(["build", "--corpus", sharded.name, "--encoders", "hog", "--engine", "local"]) == 0
    assert "0 of 4 unit(s), 0 item(s); 4 unit(s) already cached" in capsys.readouterr().out
    assert encoded["images"] == 40


def test_pipe_shards_are_refused_not_streamed(tmp_path):
    """``pipe:`` (like URLs) never reaches a shell: refused before anything runs
    (every entry point is tried in tests/test_corpus_specs.py)."""
    spec = "webdataset:pipe:cat " + str(tmp_path / "shards" / "shard-{000000..000003}.tar")
    with pytest.raises(DatasetError, match="shell command"):
        load_corpus(spec)
