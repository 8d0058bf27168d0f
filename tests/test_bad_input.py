"""The tool under bad input: each test reproduces one cause found by an attack (it failed before the fix).

Data loss, wrong-without-a-word results, crashes and misleading messages under bad input;
the property/fuzz layer over parsers and flags lives in ``tests/test_fuzz.py``.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import download as dl
from core.download import DownloadError
from core.errors import DatasetError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_cache(cache):
    return cache


def _png(color=(0, 0, 0), size=(32, 32)) -> bytes:
    img = Image.new("RGB", size, "white")
    for x in range(4, size[0] - 4):
        img.putpixel((x, size[1] // 2), color)
        img.putpixel((size[0] // 2, x), color)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _upair_zip(path: Path) -> Path:
    meta = {"x": {"query": {"hashcode": "x", "title": "Widget"}, "candidates": [{"hashcode": "y"}]}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta))
        zf.writestr("test/images/x.png", _png())
        zf.writestr("test/images/y.png", _png((0, 0, 255)))
        zf.writestr("test/qrels_visual.txt", "x 0 y 1\n")
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout)


# --------------------------------------------------------------------------- loses data


def test_unpack_into_a_users_folder_deletes_nothing(tmp_path):
    z = _upair_zip(tmp_path / "upair.zip")
    dest = tmp_path / "mine"
    (dest / "test").mkdir(parents=True)
    (dest / "test" / "thesis.tex").write_text("my own work")
    before = _tree(dest)
    with pytest.raises(DownloadError, match=r"mine/test already exists and was not created"):
        dl.download_upair(dest, url=str(z), progress=False)
    assert _tree(dest) == before
    with pytest.raises(DownloadError, match="not created by an earlier unpack"):
        dl.safe_extract(z, dest)
    assert _tree(dest) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_unpack_refuses_a_non_empty_folder_and_a_file(tmp_path):
    z = _upair_zip(tmp_path / "upair.zip")
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep")
    with pytest.raises(DownloadError, match="notes.txt already exists.*empty folder"):
        dl.download_upair(dest, url=str(z), progress=False)
    assert _tree(dest) == {"notes.txt": b"keep"}
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DownloadError, match="not a folder"):
        dl.download_upair(tmp_path / "afile", url=str(z), progress=False)


def test_a_previous_unpack_is_recognised_and_repaired(tmp_path):
    z = _upair_zip(tmp_path / "upair.zip")
    dest = tmp_path / "d"
    root = dl.download_upair(dest, url=str(z), progress=False)
    assert (root / "metadata.json").is_file() and (dest / dl.UNPACK_MARKER).is_file()
    (dest / "metadata.json").unlink()  # damaged: the dataset is no longer found
    (dest / "test" / "extra.txt").write_text("x")
    root = dl.download_upair(dest, url=str(z), progress=False)  # its own entries may be replaced
    assert (root / "metadata.json").is_file() and not (dest / "test" / "extra.txt").exists()


# --------------------------------------------------------------------------- small corpora


def _drawing(seed: int, size: int = 64) -> bytes:
    """A distinct line drawing per seed (HOG tells them apart)."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(2, size - 2, 4))
        d.line((x0, y0, x1, y1), fill="black", width=2)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _bomb_png() -> bytes:
    """A valid PNG header claiming 30000 x 30000 pixels (refused from the header alone)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + chunk(b"IEND", b""))


BAD_IMAGES = {"corrupt": b"this is text, not a png", "empty": b"", "bomb": None, "truncated": None}


def _bad_bytes(kind: str) -> bytes:
    if kind == "bomb":
        return _bomb_png()
    if kind == "truncated":
        data = _drawing(99)
        return data[: len(data) // 2]
    return BAD_IMAGES[kind]


WORDS = ["toothed gear wheel", "helical spring coil", "door hinge pin", "threaded bolt nut", "roller bearing race",
         "drive shaft coupling", "pulley belt drive", "lever arm pivot"]


def upair_folder(root: Path, bad: dict[str, str] | None = None, n: int = 8) -> Path:
    """A UPAIR-layout benchmark: queries q0, q1; candidates c0..c{n-1}; visual qrels. ``bad``
    maps ids to a kind of unreadable image."""
    img = root / "test" / "images"
    img.mkdir(parents=True)
    ids = ["q0", "q1", *(f"c{i}" for i in range(n))]
    for i, fid in enumerate(ids):
        kind = (bad or {}).get(fid)
        (img / f"{fid}.png").write_bytes(_bad_bytes(kind) if kind else _drawing(i))
    cands = [{"hashcode": f"c{i}", "title": WORDS[i % len(WORDS)]} for i in range(n)]
    meta = {q: {"query": {"hashcode": q, "title": q}, "candidates": cands} for q in ("q0", "q1")}
    (root / "metadata.json").write_text(json.dumps(meta))
    lines = [f"{q} 0 c{i} {int((i + k) % 3 == 0)}\n" for k, q in enumerate(("q0", "q1")) for i in range(n)]
    (root / "test" / "qrels_visual.txt").write_text("".join(lines))
    return root


# --------------------------------------------------------------------------- unreadable figures


@pytest.mark.parametrize("kind", ["corrupt", "empty", "bomb", "truncated"])
def test_an_unreadable_figure_is_named_and_kept_out_of_the_index(tmp_path, kind):
    from core.corpora import load_corpus
    from core.embed import build_embeddings
    from core.search import search

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u', {'c3': kind})}")
    emb = build_embeddings(corpus, "hog", show_bar=False)
    assert emb.excluded == ("c3",)
    assert len(emb.problems) == 1 and "c3" in emb.problems[0] and "left out" in emb.problems[0]
    assert np.isfinite(emb.vectors).all() and not emb.vectors[corpus.position["c3"]].any()
    again = build_embeddings(corpus, "hog", show_bar=False)  # from the cache: still named, not re-encoded
    assert again.excluded == ("c3",) and again.problems == emb.problems
    res = search(corpus, "q0", ["hog"], k=50)["hog"]
    assert "c3" not in res.ids and len(res.ids) == len(corpus) - 2  # every other figure, never the bad one
    with pytest.raises(Exception, match="c3 cannot be a query: its image is unreadable"):
        search(corpus, "c3", ["hog"], k=3)


def test_unreadable_figures_are_left_out_of_evaluation_and_counted(tmp_path):
    from core.corpora import load_corpus
    from core.evaluation import evaluate
    from core.integrity import without_figures

    bad = load_corpus(f"upair:{upair_folder(tmp_path / 'u', {'c2': 'corrupt'})}")
    res = evaluate(bad, ["hog"], runs=["image"], metrics=["AP"])
    assert any("1 unreadable figure" in s and "c2" in r for s, r in res.skipped)
    # equal to the corpus in which that figure never existed (judgements of it dropped too)
    good = load_corpus(f"upair:{upair_folder(tmp_path / 'g')}")
    ref = evaluate(without_figures(good, {"c2"}), ["hog"], runs=["image"], metrics=["AP"])
    got = res.per_query.sort_values("qid")["value"].to_numpy()
    want = ref.per_query.sort_values("qid")["value"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_cli_names_each_unreadable_figure_once(tmp_path):
    root = upair_folder(tmp_path / "u", {"c1": "corrupt", "c4": "empty"})
    info = run_cli("info", "--corpus", f"upair:{root}")
    assert info.returncode == 0, info.stderr
    assert info.stdout.count("unreadable  figure c1") == 1 and info.stdout.count("unreadable  figure c4") == 1
    build = run_cli("build", "--corpus", f"upair:{root}", "--encoders", "hog,ahdh")
    assert build.returncode == 0, build.stderr
    assert build.stdout.count("figure c1") == 1 and build.stdout.count("figure c4") == 1
    assert "8 x" in build.stdout and "2 unreadable figure(s) left out" in build.stdout


@pytest.mark.slow
def test_a_damaged_figure_of_the_cached_demo_is_redrawn(cache):
    from core.corpora import load_corpus

    corpus = load_corpus("demo")
    fig = corpus.figures[5]
    good = fig.path.read_bytes()
    fig.path.write_bytes(good[: len(good) // 2])  # truncated in the cache
    again = load_corpus("demo")
    assert again.by_id[fig.id].path.read_bytes() == good
    assert again.fingerprint == corpus.fingerprint


# --------------------------------------------------------------------------- blank queries


def _flat(color, size=(64, 64)) -> Image.Image:
    return Image.new("RGB", size, color)


@pytest.mark.parametrize("query", [
    _flat("white"), _flat("black"), _flat((128, 128, 128)), _flat("black", (1, 1)),
    Image.fromarray(np.full((40, 40), np.nan, dtype=np.float32), mode="F"),
])
def test_a_blank_query_is_refused_with_a_reason(tmp_path, query):
    from core.corpora import load_corpus
    from core.figures import ImageError
    from core.search import search

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    with pytest.raises(ImageError, match="no drawn content|too small to hold a drawing"):
        search(corpus, query, ["hog"], k=3)
    assert search(corpus, Image.open(io.BytesIO(_drawing(0))), ["hog"], k=3)["hog"].ids[0] == "q0"


# --------------------------------------------------------------------------- fusion weight


@pytest.mark.parametrize("w", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_fusion_weight_is_refused(tmp_path, w):
    from core.corpora import load_corpus
    from core.evaluation import evaluate

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    with pytest.raises(ValueError, match="finite"):
        evaluate(corpus, ["hog"], runs=["image"], fusion_weight=w)


@pytest.mark.parametrize("flag", ["nan", "inf", "-inf", "x"])
def test_cli_refuses_a_non_finite_weight(flag):
    r = run_cli("evaluate", "--encoders", "hog", f"--weight={flag}")
    assert r.returncode == 2 and "--weight" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- qrels


def test_qrels_ambiguities_are_reported_with_file_and_line(tmp_path):
    from core.qrels import read_qrels

    p = tmp_path / "q.txt"
    p.write_text("a 0 x 1\nb 0 y 0\na 0 x 0\na 0 x 0\n")
    qrels, problems = read_qrels(p)
    assert qrels == {"a": {"x": 0}, "b": {"y": 0}}
    assert problems == [f"{p}:3: a x judged again with relevance 0 (line 1 said 1); the later line is used"]
    with pytest.raises(DatasetError, match="is a folder"):
        read_qrels(tmp_path)


def test_an_empty_or_folder_qrels_is_not_listed_as_judged(tmp_path):
    from core.corpora import load_corpus

    root = upair_folder(tmp_path / "u")
    (root / "test" / "qrels_semantic.txt").write_text("")
    (root / "test" / "qrels_part_whole.txt").mkdir()
    corpus = load_corpus(f"upair:{root}")
    assert set(corpus.benchmark.qrels) == {"visual"}
    assert any("qrels_semantic.txt: holds no judgements" in w for w in corpus.warnings)
    assert any("qrels_part_whole.txt is a folder" in w for w in corpus.warnings)


@pytest.mark.parametrize("grade", ["99999999999999999999", "-99999999999999999999", "2147483648"])
def test_an_out_of_range_grade_is_a_file_line_error(tmp_path, grade):
    from core.corpora import load_corpus
    from core.evaluation import evaluate
    from core.qrels import read_qrels

    p = tmp_path / "q.txt"
    p.write_text(f"a 0 x 1\na 0 y {grade}\n")
    with pytest.raises(DatasetError, match=rf"q.txt:2: relevance .* is out of range"):
        read_qrels(p)
    root = upair_folder(tmp_path / "u")
    with open(root / "test" / "qrels_visual.txt", "a") as fh:
        fh.write(f"q0 0 c1 {grade}\n")
    corpus = load_corpus(f"upair:{root}")
    assert any("qrels_visual.txt:17: relevance" in w for w in corpus.warnings)
    res = evaluate(corpus, ["hog"], runs=["image"], metrics=["AP"])
    assert len(res.table) == 1 and np.isfinite(res.table["value"]).all()


# --------------------------------------------------------------------------- corpus specs


@pytest.mark.parametrize("spec, match", [
    ("upair:", "names no folder.*metadata.json"),
    ("upair:   ", "names no folder"),
    ("query-patents:", "names no folder.*sections/"),
    ("folder:", "names no folder"),
    ("webdataset:", "names no shards"),
    ("query-patents:/", "no sections/ folder"),
    ("demo:/etc", "takes no path"),
    ("demo:", "takes no path"),
    ("", "unknown corpus"),
    ("nope:thing", "unknown corpus"),
])
def test_every_spec_kind_validates_its_argument(spec, match):
    from core.corpora import load_corpus

    with pytest.raises(DatasetError, match=match) as info:
        load_corpus(spec)
    assert "delete" not in str(info.value)


def test_a_spec_naming_a_file_says_what_layout_it_expected(tmp_path):
    from core.corpora import load_corpus

    f = tmp_path / "x.txt"
    f.write_text("x")
    for kind in ("query-patents", "folder"):
        with pytest.raises(DatasetError, match="is not a folder; expected"):
            load_corpus(f"{kind}:{f}")


def test_query_patents_on_a_folder_without_sections_loads_nothing(tmp_path):
    from core.corpora import load_corpus

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.png").write_bytes(_drawing(1))
    with pytest.raises(DatasetError, match="sections/<S>/<patent>/<hash>.png"):
        load_corpus(f"query-patents:{tmp_path}")


# --------------------------------------------------------------------------- metadata.json


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"x": {"query": {"hashcode": "q0", "title": ' + "[" * 50_000 + "]" * 50_000 + "}}}",
])
def test_pathologically_nested_metadata_names_the_file(tmp_path, text):
    from core.corpora import load_corpus

    root = upair_folder(tmp_path / "u")
    (root / "metadata.json").write_text(text)
    with pytest.raises(DatasetError, match=r"metadata\.json"):
        load_corpus(f"upair:{root}")


def test_a_deeply_nested_sidecar_is_skipped_with_a_warning(tmp_path):
    from core.corpora import load_corpus

    d = tmp_path / "f"
    d.mkdir()
    for i in range(2):
        (d / f"{i}.png").write_bytes(_drawing(i))
    (d / "0.json").write_text("[" * 100_000 + "]" * 100_000)
    corpus = load_corpus(f"folder:{d}")
    assert len(corpus) == 2 and any("0.json: nested too deeply" in w for w in corpus.warnings)


# --------------------------------------------------------------------------- environment


@pytest.mark.parametrize("env, name", [
    ({"UPAIR_MAX_IMAGE_PIXELS": "lots"}, "UPAIR_MAX_IMAGE_PIXELS"),
    ({"UPAIR_MAX_IMAGE_PIXELS": "-5"}, "UPAIR_MAX_IMAGE_PIXELS"),
    ({"UPAIR_CACHE": "FILE"}, "UPAIR_CACHE"),
])
def test_a_bad_environment_variable_is_one_line_naming_it(tmp_path, env, name):
    if env.get("UPAIR_CACHE") == "FILE":
        (tmp_path / "afile").write_text("x")
        env = {"UPAIR_CACHE": str(tmp_path / "afile")}
    r = run_cli("info", "--corpus", "folder:/nonexistent", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and name in r.stderr


def test_a_bad_upair_encoders_entry_is_listed_and_everything_else_works(tmp_path, monkeypatch):
    from core.encoders import default_encoders, known_encoders

    monkeypatch.setenv("UPAIR_ENCODERS", "bogus:thing,hog")
    assert "bogus:thing" in known_encoders() and "hog" in default_encoders()
    r = run_cli("info", "--corpus", f"upair:{upair_folder(tmp_path / 'i')}", env={"UPAIR_ENCODERS": "bogus:thing"})
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("bogus:thing"))
    assert "invalid" in line and "UPAIR_ENCODERS" in line
    root = upair_folder(tmp_path / "u")
    r = run_cli("search", "--corpus", f"upair:{root}", "--encoders", "hog", "-k", "2", "q0",
                env={"UPAIR_ENCODERS": "bogus:thing"})
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 6, r.stderr


# --------------------------------------------------------------------------- CLI selections


@pytest.mark.parametrize("args, match", [
    (["search", "-k", "0", "x"], "-k: 0 is not allowed"),
    (["search", "-k", "-1", "x"], "-k: -1 is not allowed"),
    (["search", "--encoders", ",,,", "x"], "names no encoder"),
    (["build", "--encoders", " , "], "names no encoder"),
    (["evaluate", "--encoders", "hog", "--runs", ","], "--runs ',' names nothing"),
    (["evaluate", "--encoders", "hog", "--metrics", ","], "--metrics ',' names nothing"),
    (["build", "--engine", "local", "--workers", "0"], "--workers: 0 is not allowed"),
])
def test_empty_or_out_of_range_selections_are_refused(args, match):
    r = run_cli(*args)
    assert r.returncode == 2 and match in r.stderr and "Traceback" not in r.stderr, (r.stdout, r.stderr)


def test_search_api_refuses_k_below_one(tmp_path):
    from core.corpora import load_corpus
    from core.search import search, search_text

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    for k in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="k must be"):
            search(corpus, "q0", ["hog"], k=k)
    with pytest.raises(ValueError, match="k must be"):
        search_text(corpus, "a gear", ["tfidf"], k=0)
    with pytest.raises(ValueError, match="query text is empty"):
        search_text(corpus, "   ", ["tfidf"], k=3)


def test_evaluate_never_exits_zero_after_evaluating_nothing(tmp_path):
    root = upair_folder(tmp_path / "u")
    r = run_cli("evaluate", "--corpus", f"upair:{root}", "--encoders", "clip:ViT-B-32:openai")
    assert r.returncode == 2 and "nothing was evaluated" in r.stderr
    assert "skipped  clip:ViT-B-32:openai" in r.stdout


def test_build_and_search_never_exit_zero_after_doing_nothing(tmp_path):
    root = upair_folder(tmp_path / "u")
    r = run_cli("build", "--corpus", f"upair:{root}", "--encoders", "clip:ViT-B-32:openai")
    assert r.returncode == 2 and "no index was built" in r.stderr
    r = run_cli("search", "--corpus", f"upair:{root}", "--encoders", "clip:ViT-B-32:openai", "q0")
    assert r.returncode == 2 and "no encoder returned neighbours" in r.stderr


# --------------------------------------------------------------------------- read-only cache


def test_search_works_from_a_cache_it_cannot_write(tmp_path, cache, monkeypatch):
    import builtins

    from core.corpora import load_corpus
    from core.search import search

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    want = search(corpus, "q0", ["hog", "ahdh"], k=3)
    root = str(cache)

    def inside(path) -> bool:
        return str(os.fspath(path) if not isinstance(path, int) else "").startswith(root)

    def deny(path):
        raise PermissionError(13, "Read-only file system", str(path))

    real_open, real_os_open = builtins.open, os.open

    def ro_open(path, mode="r", *a, **kw):
        if inside(path) and any(m in mode for m in "wax+"):
            deny(path)
        return real_open(path, mode, *a, **kw)

    def ro_os_open(path, flags, *a, **kw):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            deny(path)
        return real_os_open(path, flags, *a, **kw)

    monkeypatch.setattr(builtins, "open", ro_open)
    monkeypatch.setattr(os, "open", ro_os_open)
    for name in ("mkdir", "replace", "rename", "unlink", "rmdir"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda p, *a, _r=real, **kw: deny(p) if inside(p) else _r(p, *a, **kw))
    got = search(load_corpus(f"upair:{tmp_path / 'u'}"), "q0", ["hog", "ahdh"], k=3)
    assert {s: r.ids for s, r in got.items()} == {s: r.ids for s, r in want.items()}
    assert all(not r.error for r in got.values())


def test_a_cache_that_cannot_be_written_says_to_set_upair_cache(tmp_path, monkeypatch, capsys):
    from core.cli import main

    def fail(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro" / "locks"))

    monkeypatch.setattr("core.cli.basic.cmd_info", fail)
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "set UPAIR_CACHE to a writable folder" in err


# --------------------------------------------------------------------------- encoders


@pytest.mark.slow
def test_an_unknown_open_clip_tag_is_called_unknown_with_close_matches():
    from core.encoders import get_encoder

    av = get_encoder("clip:ViT-B-32:laion2b_s34b_b80").availability()
    assert not av.ok and "unknown pretrained tag 'laion2b_s34b_b80'" in av.reason
    assert "did you mean laion2b_s34b_b79k" in av.fix and "fetch-weights" not in av.fix
    r = run_cli("fetch-weights", "clip:ViT-B-32:laion2b_s34b_b80")
    assert r.returncode == 2 and "unknown pretrained tag" in r.stdout and "did you mean laion2b_s34b_b79k" in r.stdout


class _Evil:
    def __init__(self, sentinel: str):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


@pytest.mark.slow
@pytest.mark.parametrize("content", ["garbage", "truncated", "pickle"])
def test_damaged_weights_at_a_tags_path_fail_that_encoder_only(tmp_path, cache, content):
    import torch

    from core.corpora import load_corpus
    from core.encoders import get_encoder
    from core.encoders.clip import _hf_candidates, open_clip_cache_dir
    from core.search import search

    spec = "clip:ViT-B-32:openai"
    enc = get_encoder(spec)
    repo, names = _hf_candidates(enc._pretrained_cfg()["hf_hub"])
    target = open_clip_cache_dir() / f"models--{repo.replace('/', '--')}" / "snapshots" / "0" / names[-1]
    target.parent.mkdir(parents=True)
    sentinel = tmp_path / "pwned"
    if content == "garbage":
        target.write_bytes(b"\x00not weights" * 100)
    else:
        obj = _Evil(str(sentinel)) if content == "pickle" else {"w": torch.zeros(1000)}
        torch.save(obj, target)
        if content == "truncated":
            target.write_bytes(target.read_bytes()[:300])
    assert get_encoder(spec).availability().ok
    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    res = search(corpus, "q0", ["hog", spec], k=3)
    assert res["hog"].ids and not res["hog"].error
    err = res[spec].error
    assert f"damaged weights for ViT-B-32/openai at {target}" in err and f"delete {target}" in err
    assert not sentinel.exists()


def test_an_unreadable_figure_has_no_place_on_the_map(tmp_path):
    from core.corpora import load_corpus
    from core.embed import build_embeddings
    from core.maps import cached_map_exists, map_coords, place_query, visible_points

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u', {'c2': 'corrupt'}, n=3)}")  # 4 readable: PCA
    emb = build_embeddings(corpus, "hog", show_bar=False)
    assert not cached_map_exists(emb)
    xy = map_coords(emb)
    bad = corpus.position["c2"]
    assert np.isnan(xy[bad]).all() and np.isfinite(np.delete(xy, bad, axis=0)).all()
    assert cached_map_exists(emb) and np.array_equal(map_coords(emb), xy, equal_nan=True)
    assert bad not in visible_points(xy, max_points=2) and bad not in visible_points(xy)
    assert np.isfinite(place_query(emb.vectors[0] + 0.01, emb, xy, k=10)).all()


@pytest.mark.slow
def test_the_demo_loaded_through_a_upair_spec_keeps_its_synthetic_label(cache):
    from core.corpora import load_corpus

    demo = load_corpus("demo")
    for spec in (f"upair:{demo.root}", f"upair:{cache}", str(demo.root)):
        c = load_corpus(spec)
        assert c.synthetic and any("generated demo corpus" in w for w in c.warnings), spec
        assert len(c) == len(demo)


def test_a_blank_query_with_a_description_still_searches_text_only_encoders(tmp_path):
    from core.corpora import load_corpus
    from core.search import search

    corpus = load_corpus(f"upair:{upair_folder(tmp_path / 'u')}")
    res = search(corpus, _flat("white"), ["hog", "tfidf"], k=3, text="threaded bolt")
    assert "no drawn content" in res["hog"].error and not res["hog"].ids
    assert not res["tfidf"].error and res["tfidf"].ids[0] == "c3"


def _all_drawn(run) -> set[str]:
    ids = set()
    for d in run.draws:
        ids |= {c.id for c in d.cited} | {c.id for g in d.groups for c in g.kept}
    return ids


def _patented(root: Path) -> Path:
    """Give the figures of ``upair_folder`` patents: q0 → EP-Q, c<i> → EP-<i // 4>."""
    meta = json.loads((root / "metadata.json").read_text())
    for entry in meta.values():
        for rec in [entry["query"], *entry["candidates"]]:
            rec["patent"] = "EP-Q" if rec["hashcode"] == "q0" else f"EP-{int(rec['hashcode'][1:]) // 4}"
    (root / "metadata.json").write_text(json.dumps(meta))
    return root


def test_candidate_sampling_never_draws_an_unreadable_figure(tmp_path):
    from core.annotation.sampling.config import load_config
    from core.annotation.sampling.sampler import sample_pools
    from core.corpora import load_corpus

    bad = {"c1": "corrupt", "c4": "empty", "c7": "bomb", "c10": "truncated"}
    corpus = load_corpus(f"upair:{_patented(upair_folder(tmp_path / 'u', bad, n=40))}")
    # q0's patent cites EP-0 (c0..c3, c1 unreadable): cited figures are drawn whatever their score
    from core.annotation.sampling.config import with_protocol

    cfg = with_protocol(load_config(None), options={"index_figures": "all"})  # upair, but these figures have no text
    run = sample_pools(corpus, [corpus.by_id["q0"], corpus.by_id["q1"]], cfg, seed=1,
                       citations={"EP-Q": ["EP-0"], "EP-0": []}, show_bar=False)  # upair: every query patent listed
    drawn = _all_drawn(run)
    assert {"c0", "c2", "c3"} <= drawn and not drawn & set(bad)
