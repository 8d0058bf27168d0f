"""WebDataset corpora: shards written from real figures load with the same ids, texts and labels."""
from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from core.corpora import DatasetError, load_corpus
from core.corpora.webdataset import SEP, ShardedCorpus, parse_labels, patent_of, write_shards
from core.figures import figure_bytes, figure_digest, file_digest, load_figure_image, open_image

REFERENCE_SRC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "upair" / "src"


def _key(f, i):
    return f"{f.patent}_{i}_0"


def _shards_of(corpus, folder: Path, per_shard: int, titles: bool = True) -> str:
    """Write ``corpus`` into UPAIR-layout shards under ``folder``; return the corpus spec."""
    paths = write_shards(list(corpus.figures), str(folder / "shard-%06d.tar"), per_shard, key_of_figure=_key)
    if titles:
        (folder / "pub2title.json").write_text(json.dumps({f.patent: {"title": f.title} for f in corpus.figures}))
    return f"webdataset:{folder}/shard-{{000000..{len(paths) - 1:06d}}}.tar"


@pytest.mark.shared
def test_query_patent_shards_load_with_same_ids_texts_labels(query_patents, cache, tmp_path):
    files = load_corpus(f"query-patents:{query_patents}")
    spec = _shards_of(files, tmp_path / "query" / "w-ref" / "drawing", 30)
    shards = load_corpus(spec)
    assert isinstance(shards, ShardedCorpus) and shards.kind == "webdataset" and len(shards.shards) == 4
    assert [f.id for f in shards.figures] == [f.id for f in files.figures]
    for a, b in zip(files.figures, shards.figures):
        labels = tuple(x for x in a.labels if x != "None")  # the reference drops 'None' labels
        assert (b.patent, b.title, b.description, b.labels) == (a.patent, a.title, a.description, labels)
        assert figure_digest(b) == file_digest(a.path)  # same content key as the file
    a, b = files.figures[7], shards.figures[7]
    assert figure_bytes(b) == Path(a.path).read_bytes()
    assert np.array_equal(np.asarray(load_figure_image(a)), np.asarray(load_figure_image(b)))
    # code that opens figure.path (thumbnails) reads the member inside the shard
    assert str(b.path).endswith(".tar/" + b.member)
    assert np.array_equal(np.asarray(open_image(str(b.path))), np.asarray(load_figure_image(a)))
    assert not shards.warnings
    # reopened from the catalogue: same figures, no image read (digests kept)
    assert load_corpus(spec).figures == shards.figures


@pytest.mark.shared
def test_reference_dataset_reads_the_same_samples(query_patents, cache, tmp_path):
    """The official PatentDataset streams our shards to the same keys, hashcodes, texts and labels."""
    if not (REFERENCE_SRC / "dataset.py").is_file():
        pytest.skip(f"needs the UPAIR reference code at {REFERENCE_SRC}")
    files = load_corpus(f"query-patents:{query_patents}")
    spec = _shards_of(files, tmp_path / "query" / "w-ref" / "drawing", 30)
    ours = load_corpus(spec)
    sys.path.insert(0, str(REFERENCE_SRC))
    try:
        from dataset import PatentDataset
    finally:
        sys.path.remove(str(REFERENCE_SRC))
    ref = PatentDataset(tmp_path, split="query", shuffle=False, figure_types="drawing", reference_dirs="w-ref",
                        outputs={"hashcode.txt": lambda x: x.decode("utf-8"), "desc.txt": lambda x: x.decode("utf-8"),
                                 "labels.txt": lambda x: x.decode("utf-8")})
    rows = list(ref)
    assert [r[1] for r in rows] == [f.id for f in ours.figures]
    assert [r[2] for r in rows] == [f.description for f in ours.figures]
    # the reference's own label joining (index.py): split on __SEP__, drop 'None', join by spaces
    assert [" ".join(y for y in r[3].split(SEP) if y != "None") for r in rows] == [" ".join(f.labels) for f in ours.figures]
    # the reference's title lookup key: ''.join(key.split('_')[:-2])
    assert ["".join(r[0].split("_")[:-2]) for r in rows] == [f.patent for f in ours.figures]


def test_demo_shards_load_with_same_ids_and_pixels(cache, tmp_path):
    demo = load_corpus("demo")
    subset = type(demo)(name="demo", kind="demo", root=demo.root, figures=demo.figures[:40])
    ours = load_corpus(_shards_of(subset, tmp_path, 16))
    assert [f.id for f in ours.figures] == [f.id for f in subset.figures]
    assert [f.labels for f in ours.figures] == [f.labels for f in subset.figures]
    assert [f.title for f in ours.figures] == [f.title for f in subset.figures]
    assert [figure_digest(f) for f in ours.figures] == [file_digest(f.path) for f in subset.figures]


def test_labels_and_publication_numbers_follow_the_reference():
    assert parse_labels("gear__SEP__None__SEP__shaft 12__SEP__") == ("gear", "shaft 12")
    assert parse_labels("None") == ()
    assert patent_of("US10123456B2_3_1") == "US10123456B2"
    assert patent_of("dir/EP3000000A1_12_0") == "EP3000000A1"


def _sample_tar(path: Path, samples: list[dict]) -> None:
    with tarfile.open(path, "w") as tar:
        for s in samples:
            for ext, data in s.items():
                if ext == "__key__":
                    continue
                info = tarfile.TarInfo(f"{s['__key__']}.{ext}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "white").save(buf, "PNG")
    return buf.getvalue()


def test_corrupt_shard_and_sample_without_image_are_skipped_counted_and_named(cache, tmp_path):
    _sample_tar(tmp_path / "shard-000000.tar", [
        {"__key__": "US1_1_0", "hashcode.txt": b"h1", "image.png": _png(), "desc.txt": b"FIG. 1", "labels.txt": b"a"},
        {"__key__": "US1_2_0", "hashcode.txt": b"h2", "desc.txt": b"no image here", "labels.txt": b"None"},
    ])
    good = (tmp_path / "shard-000000.tar").read_bytes()
    (tmp_path / "shard-000001.tar").write_bytes(good[:1600])  # cut inside the image member
    (tmp_path / "shard-000002.tar").write_bytes(b"this is not a tar archive at all" * 40)
    corpus = load_corpus(f"webdataset:{tmp_path}/shard-{{000000..000003}}.tar")
    assert [f.id for f in corpus.figures] == ["h1"]
    assert corpus.skipped_samples == (f"{tmp_path}/shard-000000.tar:US1_2_0",)
    bad = "\n".join(corpus.skipped_shards)
    assert len(corpus.skipped_shards) == 3
    for n in (1, 2, 3):
        assert f"shard-00000{n}.tar" in bad
    assert "not found" in bad
    text = "\n".join(corpus.warnings)
    assert "3 shard(s) unreadable" in text and "1 sample(s) without an image" in text and "US1_2_0" in text


def test_bad_specs_fail_with_plain_messages(cache, tmp_path):
    with pytest.raises(DatasetError, match="no figures"):
        load_corpus(f"webdataset:{tmp_path}/none-{{0..2}}.tar")
    with pytest.raises(DatasetError, match="titles="):
        load_corpus(f"webdataset:{tmp_path}/x.tar#title=y.json")
    _sample_tar(tmp_path / "a.tar", [{"__key__": "US1_1_0", "hashcode.txt": b"h1", "image.png": _png()}])
    with pytest.raises(DatasetError, match="not valid JSON"):
        (tmp_path / "t.json").write_text("{oops")
        load_corpus(f"webdataset:{tmp_path}/a.tar#titles={tmp_path}/t.json")
