"""Match heatmaps and part-level search on constructed cases whose matching region is known.

A distinctive component (a framed zig-zag spring with a ring, 96 x 96 px) is pasted into a
256 x 256 drawing of random lines and circles at a known box; the heat's maximum must fall in
that box, and part-level search over a folder of such drawings must rank that drawing first
with a box overlapping the pasted one (IoU > 0.5). Checked for HOG and for an open_clip ViT with
random weights (128 px input, 16 px patches: an 8 x 8 token grid; the box is patch-aligned).

Why the random ViT's assertions are honest: the pasted pixels are identical, so the patch
embeddings of those cells are identical; what differs is position and context, which reach a
token only through the positional embedding and two random attention layers whose residual
stream keeps each token's own patch embedding dominant. The assertions need only that the
pasted window scores above every other window (margin ≥ 0.05 in cosine, measured 0.10–0.20 over
seeds 0–4); the exact values are not asserted.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.encoders import get_encoder
from core.explain import (NoSpatialMap, best_windows, build_part_index, cell_grid, cell_heat, explain, overlay_png,
                          search_parts, spatial_support)
from core.explain.grids import square_frame
from core.explain.match import Template, window_scores
from core.explain.parts import grid_cache_dir

PASTE = (128, 96)  # top-left of the pasted component on the 256 px drawing
SIDE = 96
TRUE_BOX = (PASTE[0] / 256, PASTE[1] / 256, (PASTE[0] + SIDE) / 256, (PASTE[1] + SIDE) / 256)

TINY_VIT = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 128, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def background(seed: int, size: int = 256) -> Image.Image:
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    for _ in range(8):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, size, 4))
        d.line([x0, y0, x1, y1], fill="black", width=2)
    for _ in range(3):
        x, y, r = int(rng.integers(20, size - 20)), int(rng.integers(20, size - 20)), int(rng.integers(8, 30))
        d.ellipse([x - r, y - r, x + r, y + r], outline="black", width=2)
    return im


def component(size: int = SIDE) -> Image.Image:
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, size - 1, size - 1], outline="black", width=2)
    d.line([(8 + i * 10, 20 if i % 2 else 76) for i in range(9)], fill="black", width=2)
    d.ellipse([30, 30, 60, 60], outline="black", width=2)
    return im


def with_component(seed: int, at=PASTE) -> Image.Image:
    im = background(seed)
    im.paste(component(), at)
    return im


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def inside(pt, box) -> bool:
    return box[0] <= pt[0] <= box[2] and box[1] <= pt[1] <= box[3]


@pytest.fixture(scope="module")
def vit_spec(tmp_path_factory) -> str:
    import open_clip
    import torch

    d = tmp_path_factory.mktemp("tiny_vit_explain")
    (d / "TinyViT-Explain.json").write_text(json.dumps(TINY_VIT))
    open_clip.add_model_config(d)
    torch.manual_seed(0)
    model = open_clip.create_model("TinyViT-Explain", pretrained=None)
    path = d / "random.pt"
    torch.save(model.state_dict(), path)
    return f"clip:TinyViT-Explain:{path}"


def _corpus(tmp_path, n_other: int = 5):
    from core.corpora import load_corpus

    root = tmp_path / "figs"
    root.mkdir()
    for i in range(n_other):
        background(100 + i).save(root / f"other{i}.png")
    with_component(10).save(root / "target.png")
    # the component's query: drawn elsewhere on another drawing, searched by its region
    return load_corpus(f"folder:{root}")


# --------------------------------------------------------------------------- which encoders
def test_spatial_support_says_why_not():
    assert spatial_support(get_encoder("hog"))[0] == "cells"
    for spec in ("ahdh", "tfidf"):
        src, why = spatial_support(get_encoder(spec))
        assert src == "" and why and "\n" not in why
        with pytest.raises(NoSpatialMap):
            cell_grid(get_encoder(spec), [background(0)])


def test_square_frame_maps_padding():
    assert square_frame((200, 100)) == (0.0, -0.5, 1.0, 1.5)
    assert square_frame((50, 100)) == (-0.5, 0.0, 1.5, 1.0)
    g = cell_grid(get_encoder("hog"), [Image.new("RGB", (200, 100), "white")])[0]
    assert g.cell_box(0, 0, 16, 16) == (0.0, 0.0, 1.0, 1.0)  # clipped to the figure
    assert g.cell_box(4, 0, 8, 16) == pytest.approx((0.0, 0.0, 1.0, 0.5))


# --------------------------------------------------------------------------- the arithmetic, by brute force
def test_window_scores_equal_brute_force_cosines():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(3, 6, 5, 4)).astype(np.float32)
    ink = rng.random((3, 6, 5)) > 0.3
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
    feats[~ink] = 0
    t = rng.normal(size=(2, 3, 4)).astype(np.float32)
    t /= np.linalg.norm(t, axis=-1, keepdims=True)
    t[0, 1] = 0
    got = window_scores(Template(t, 0.5), feats, ink)
    assert got.shape == (3, 5, 3)
    for n in range(3):
        for u in range(5):
            for v in range(3):
                w = feats[n, u:u + 2, v:v + 3].ravel()
                want = 0.0 if not w.any() else float(w @ t.ravel() / np.linalg.norm(w) / np.linalg.norm(t.ravel()))
                assert got[n, u, v] == pytest.approx(want, abs=1e-5)


def test_cell_heat_equals_brute_force():
    g = cell_grid(get_encoder("hog"), [with_component(1), component()])
    heat = cell_heat(g[1], g[0])
    q = g[1].feats[g[1].ink]
    for r in range(16):
        for c in range(16):
            want = max(0.0, float((q @ g[0].feats[r, c]).max())) if g[0].ink[r, c] else 0.0
            assert heat[r, c] == pytest.approx(want, abs=1e-6)


def test_hog_cells_of_identical_aligned_pixels_are_identical():
    """HOG cells are local: the pasted component's interior cells equal on two different drawings."""
    a, b = cell_grid(get_encoder("hog"), [with_component(1), with_component(2)])
    r0, c0, n = PASTE[1] // 16, PASTE[0] // 16, SIDE // 16
    inner = (slice(r0 + 1, r0 + n - 1), slice(c0 + 1, c0 + n - 1))  # border cells see their neighbours
    np.testing.assert_array_equal(a.feats[inner], b.feats[inner])
    assert a.ink[inner].any()


# --------------------------------------------------------------------------- heatmaps on a known paste
ENCODERS = ["hog", pytest.param("vit", marks=pytest.mark.slow)]  # the ViT imports torch (seconds)


def _spec(which: str, request) -> str:
    return "hog" if which == "hog" else request.getfixturevalue("vit_spec")


@pytest.mark.parametrize("which", ENCODERS)
def test_region_heat_peaks_inside_the_pasted_box(which, request):
    from core.examiner import Region

    enc = get_encoder(_spec(which, request))
    query = with_component(3, at=(32, 128))  # the same component elsewhere on another drawing
    region = Region(32 / 256, 128 / 256, (32 + SIDE) / 256, (128 + SIDE) / 256)
    ex = explain(enc, query, with_component(10), region=region)
    assert ex.mode == "window"
    assert inside(ex.peak, TRUE_BOX), (ex.peak, TRUE_BOX)
    assert iou(ex.box, TRUE_BOX) > 0.5
    png = overlay_png(with_component(10), ex)
    assert Image.open(__import__("io").BytesIO(png)).size == (256, 256)


def test_whole_query_heat_is_one_on_the_pasted_cells_for_hog():
    """A whole query holding only the component: the hit's cells inside the paste have a match of
    cosine 1 (the same pixels), and the heat never exceeds 1."""
    canvas = Image.new("RGB", (256, 256), "white")
    canvas.paste(component(), (0, 0))
    ex = explain(get_encoder("hog"), canvas, with_component(10))
    assert ex.mode == "cells" and ex.heat.max() <= 1.0 + 1e-6
    r0, c0, n = PASTE[1] // 16, PASTE[0] // 16, SIDE // 16
    inner = ex.heat[r0 + 1:r0 + n - 1, c0 + 1:c0 + n - 1]
    assert inner[inner > 0].min() == pytest.approx(1.0, abs=1e-5)


# --------------------------------------------------------------------------- part-level search
@pytest.mark.parametrize("which", ENCODERS)
def test_part_search_finds_the_figure_with_the_component(which, request, cache, tmp_path):
    spec = _spec(which, request)
    corpus = _corpus(tmp_path)
    seen = []
    index = build_part_index(corpus, spec, progress=lambda d, t: seen.append((d, t)))
    assert index.computed == 6 and len(index.ids) == 6 and seen[-1] == (6, 6)
    hits = search_parts(index, component(), k=6)
    assert hits[0].figure == "target", hits
    assert iou(hits[0].box, TRUE_BOX) > 0.5, hits[0]
    assert hits[0].score - hits[1].score >= 0.05
    # the index is cached per figure: a second build computes nothing and answers the same
    again = build_part_index(corpus, spec)
    assert again.computed == 0 and again.ids == index.ids
    np.testing.assert_allclose(again.feats, index.feats)
    assert search_parts(again, component(), k=1)[0].figure == "target"


def test_part_index_resumes_and_repairs(cache, tmp_path):
    corpus = _corpus(tmp_path)
    part = build_part_index(corpus, "hog", limit=3)  # as if killed after three figures
    assert part.computed == 3
    full = build_part_index(corpus, "hog")
    assert full.computed == 3  # only the rest
    enc = get_encoder("hog")
    victim = sorted(grid_cache_dir(enc).glob("*.npy"))[0]
    victim.write_bytes(victim.read_bytes()[:-7] + b"garbage")  # damaged: fails its checksum, recomputed
    assert build_part_index(corpus, "hog").computed == 1


def test_part_search_excludes_and_handles_blank(cache, tmp_path):
    corpus = _corpus(tmp_path, n_other=2)
    index = build_part_index(corpus, "hog")
    hits = search_parts(index, component(), k=5, exclude=("target",))
    assert "target" not in [h.figure for h in hits]
    blank = search_parts(index, Image.new("RGB", (64, 64), "white"), k=5)
    assert all(h.score == 0.0 for h in blank)


def test_best_windows_prefers_first_and_larger_on_ties():
    feats = np.zeros((1, 4, 4, 2), np.float32)
    ink = np.zeros((1, 4, 4), bool)
    feats[0, 1, 1] = feats[0, 2, 2] = [1, 0]
    ink[0, 1, 1] = ink[0, 2, 2] = True
    t1 = Template(np.array([[[1, 0]]], np.float32), 0.25)
    w = best_windows([t1], feats, ink)[0]
    assert (w.r0, w.c0, w.score) == (1, 1, pytest.approx(1.0))


# --------------------------------------------------------------------------- the command line
def test_examine_explain_writes_pictures_into_its_own_folder_and_finds_parts(cache, tmp_path, capsys):
    from core.cli import main

    root = tmp_path / "figs"
    root.mkdir()
    for i in range(3):
        background(100 + i).save(root / f"other{i}.png")
    with_component(10).save(root / "target.png")
    with_component(3, at=(32, 128)).save(root / "query.png")
    box = f"{32 / 256},{128 / 256},{(32 + SIDE) / 256},{(128 + SIDE) / 256}"
    out = tmp_path / "explained"
    args = ["examine", "query", "--corpus", f"folder:{root}", "--encoders", "hog,ahdh", "-k", "3",
            "--region", box, "--parts", "--explain", str(out), "--explain-top", "2"]
    assert main(args) == 0
    text = capsys.readouterr().out
    part_lines = text.split("part-level search:")[1].splitlines()
    first = next(line for line in part_lines if line.startswith("1 "))
    assert first.split()[1] == "target"
    assert "no parts  ahdh:" in text
    summary = json.loads((out / "explain.json").read_text())
    assert "no common grid" in summary["encoders"]["ahdh"]["none"]
    hits = summary["encoders"]["hog"]["hits"]
    assert len(hits) == 2 and all((out / h["file"]).is_file() for h in hits)
    if "target" in [h["figure"] for h in hits]:
        assert iou(next(h for h in hits if h["figure"] == "target")["box"], TRUE_BOX) > 0.5
    assert main(args) == 0  # its own folder: claimed again
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert main(args[:-4] + ["--explain", str(stranger)]) == 2  # not a folder it made: refused
    assert (stranger / "notes.txt").read_text() == "mine" and len(list(stranger.iterdir())) == 1
