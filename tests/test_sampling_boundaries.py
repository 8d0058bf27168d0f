"""Boundaries of candidate sampling, each compared with what the reference's own code does:
a score exactly on a band's bounds, merges whose intersection holds exactly 1, 2, 4 and 5
figures, a near-duplicate exactly at the dedup threshold, cited pools of exactly 5 and 6, an
image whose vertical padding is odd, underscores in ``clean_text``, and ``adapt --protocol
upair`` preparing training images as the upair protocol reads them."""
from __future__ import annotations

import random

import numpy as np
import pytest

from core.annotation.sampling.bands import FaissRows, in_band
from core.annotation.sampling.select import ALL, PARTIAL, FaissNearest, NumpyNearest, deduplicate, merge

from .sampling_reference import SeededSample, import_reference, load_src_utils, need_reference_sampler


@pytest.fixture(scope="module")
def ref():
    need_reference_sampler()
    return import_reference()


def _on_circle(scores) -> np.ndarray:
    """2-d unit vectors whose inner product with (1, 0) is exactly each score (float32)."""
    s = np.asarray(scores, dtype=np.float32)
    return np.stack([s, np.sqrt(1 - s.astype(np.float64) ** 2).astype(np.float32)], axis=1)


def test_a_score_exactly_on_a_bound_lower_out_upper_in(ref):
    """(lower, upper]: a score equal to the lower bound is out, equal to the upper bound in —
    in the reference's range_search + ``<= max``, the faiss path and the numpy path alike."""
    _, PatentIndex = ref
    scores = [0.25, 0.5, 0.5, 0.625, 0.75, 0.75, 0.875]  # exact in float32 (and in 6 decimals)
    x, q = _on_circle(scores), np.array([1, 0], np.float32)
    pi = PatentIndex(dim=2)
    ids = [f"f{i}" for i in range(len(x))]
    pi.add(x, ids, ids, ids)
    want = {r["hashcode"] for r in pi.search_top_k_within_threshold(q, min_threshold=0.5, max_threshold=0.75)}
    assert want == {"f3", "f4", "f5"}
    assert {ids[p] for p in FaissRows(x).band(q, 0.5, 0.75)[0]} == want
    assert {ids[p] for p in in_band(x @ q, 0.5, 0.75)} == want


def _ref_in(bands):
    return {n: {h: {"metadata": {"id": 0, "key": h, "patent": "p", "hashcode": h, "score": s}, "score": s}
                for h, s in b.items()} for n, b in bands.items()}


@pytest.mark.parametrize("common", [1, 2, 4, 5])
def test_merge_at_intersections_of_1_2_4_and_5(ref, common):
    """Partial below 5 common figures (the description ∩ visual figures added with their
    description score), all-index from 5: the reference's candidates and sums, exactly."""
    cs, _ = ref
    rng = random.Random(common)
    names = ("title", "desc", "label", "clip", "patentnet", "resnext")
    bands = {n: {f"{n}{i}": round(rng.random(), 6) for i in range(6)} for n in names}
    for i in range(common):
        for n in names:
            bands[n][f"c{i}"] = round(rng.random(), 6)
    for i in range(3):  # in desc and patentnet only
        bands["desc"][f"dp{i}"] = round(rng.random(), 6)
        bands["patentnet"][f"dp{i}"] = round(rng.random(), 6)
    want = cs.CandidateSampler.merge_results(None, _ref_in(bands))
    got = merge(bands, "desc", "patentnet", random.Random(0))
    assert got.case == (ALL if common >= 5 else PARTIAL)
    assert got.scores == {h: r["sum_score"] for h, r in want.items()}  # same sums, same order of addition
    assert len(got.scores) == common + (3 if common < 5 else 0)


@pytest.mark.parametrize("nearest", [FaissNearest, NumpyNearest])
def test_duplicate_exactly_at_the_threshold(ref, nearest):
    """A cosine of exactly float32(0.9) against threshold 0.90: the reference's is_duplicate
    (faiss k=1, its float32 score compared with the Python float) and ours decide alike."""
    cs, _ = ref
    import faiss

    a, b = _on_circle([1.0, 0.9])
    index = faiss.IndexFlatIP(2)
    index.add(a.reshape(1, -1))
    want = bool(cs.CandidateSampler.is_duplicate(None, index, b, 0.90))
    assert want == bool(np.float32(0.9) >= 0.90)  # numpy compares a float32 scalar with a float in float32
    vecs = {"a": a, "b": b}
    d = deduplicate(["b"], 5, vecs.__getitem__, random.Random(0), 0.90, seeds=["a"], nearest=nearest)
    assert (d.kept == ()) == want and [x.id for x in d.dropped] == (["b"] if want else [])
    just_below = _on_circle([np.nextafter(np.float32(0.9), np.float32(0))])[0]
    vecs["b"] = just_below
    assert not cs.CandidateSampler.is_duplicate(None, index, just_below, 0.90)
    assert deduplicate(["b"], 5, vecs.__getitem__, random.Random(0), 0.90, seeds=["a"], nearest=nearest).kept == ("b",)


@pytest.mark.parametrize("n_cited", [5, 6])
def test_cited_pool_of_exactly_5_is_kept_and_6_deduplicated(ref, n_cited, tmp_path):
    """Five cited figures, all near-copies: the reference keeps all five as they are; six: it
    deduplicates them down to one. Ours, under upair, the same (cited_found, kept)."""
    cs, PatentIndex = ref
    rng = np.random.default_rng(n_cited)
    base = rng.standard_normal(512).astype(np.float32)
    x = base + 0.01 * rng.standard_normal((n_cited + 20, 512)).astype(np.float32)
    x[n_cited:] = rng.standard_normal((20, 512))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"h{i:02d}" for i in range(len(x))]
    patents = ["CITED"] * n_cited + [f"P{i}" for i in range(20)]
    sampler = object.__new__(cs.CandidateSampler)
    pi = PatentIndex(dim=512)
    pi.add(x, ids, patents, ids)
    sampler.indices = {"patentnet": pi}
    sampler.citations_data = {"Q": ["CITED"]}
    sampler.config = {"cited_sample_size": 5}
    sampler.current_cited_candidates = None
    rnd = SeededSample()  # harness changes 1 and 2 of tests/sampling_reference.py (sorted draws, loop fix)
    by_bytes = {v.tobytes(): h for v, h in zip(x, ids)}

    def is_duplicate(index, vector, threshold):
        dup = cs.CandidateSampler.is_duplicate(sampler, index, vector, threshold)
        if dup:
            rnd.pool.discard(by_bytes[np.asarray(vector, np.float32).tobytes()])
        return dup

    sampler.is_duplicate = is_duplicate
    saved = cs.random
    cs.random = rnd
    try:
        q = rng.standard_normal(512).astype(np.float32)
        want = sampler.select_cited_candidates({"patent": "Q", "patentnet": q / np.linalg.norm(q)})
    finally:
        cs.random = saved
    assert len(want) == (5 if n_cited == 5 else 1)

    from core.annotation.sampling.config import parse_config
    from core.annotation.sampling.sampler import _Context, _draw_cited, _QueryScores
    from core.corpora.base import Corpus
    from core.figures import Figure

    figs = tuple(Figure(id=i, path=tmp_path / f"{i}.png", patent=p) for i, p in zip(ids, patents))
    corpus = Corpus(name="c", kind="folder", root=tmp_path, figures=figs)
    cfg = parse_config({"indices": {"patentnet": {"encoder": "hog", "field": "image"}},
                        "groups": {"positive": {"easy": {"text_percentile_range": ["100", "97"],
                                                         "image_percentile_range": ["100", "97"], "size": 5}}}})
    by_patent: dict[str, list[int]] = {}
    for p, f in enumerate(figs):
        by_patent.setdefault(f.patent, []).append(p)
    ctx = _Context(cfg, "upair", corpus, x, {"Q": {"CITED"}}, by_patent, {}, options=cfg.options)
    qs = _QueryScores()
    qs.known["patentnet"] = (np.arange(len(x)), x @ (q / np.linalg.norm(q)))
    query = Figure(id="q", path=tmp_path / "q.png", patent="Q")
    kept, dropped, found = _draw_cited(ctx, query, qs, random.Random(0))
    assert found == n_cited and len(kept) == len(want) and len(kept) + len(dropped) == n_cited


def test_odd_vertical_padding_is_split_as_the_reference_splits_it():
    """A 40 × 25 drawing is padded by 15 rows: 7 above, 8 below in the reference's ``pad``;
    the upair preprocessing and adapt's training images put them in the same place."""
    from PIL import Image

    from core.protocols import get_protocol, upair_preprocess

    utils = load_src_utils()
    arr = np.zeros((25, 40), np.uint8)
    arr[:, ::3] = 200
    im = Image.fromarray(arr, mode="L").convert("RGB")
    padded = np.asarray(utils.pad(im).convert("L"))
    assert padded.shape == (40, 40) and (padded[:7] == 255).all() and (padded[7] != 255).any()
    assert (padded[32:] == 255).all() and (padded[31] != 255).any()
    ours = upair_preprocess([im], 40, 3)[0]
    want = utils.preprocess(im.copy(), size=(40, 40), num_output_channels=3)
    assert float((ours - want).abs().max()) <= 1e-6
    train = np.asarray(get_protocol("upair").training_image_from(im, 40).convert("L"))
    assert (train == padded).all()


def test_underscores_in_clean_text_as_the_reference():
    """The reference keeps underscores (``[^\\w\\s]`` spares them); the upair cleaning too."""
    from core.protocols import clean_text, upair_clean_text

    utils = load_src_utils()
    for s in ["snake_case part_12", "FIG_2 shows __init__", "_", "a _ b", "fig_ 3_a", "under_score_"]:
        assert upair_clean_text(s) == utils.clean_text(s), s
    assert "snake_case" in upair_clean_text("snake_case part_12")
    assert "_" not in clean_text("snake_case part_12")  # the clean protocol's own choice (documented)


def test_adapt_upair_training_images_are_read_as_stored(tmp_path):
    """``adapt --protocol upair``: training images are read as the upair protocol reads files
    (alpha ignored, as the reference's ``pad`` pastes without a mask), ``clean`` composites
    transparency on white; each equals that protocol's own preprocessing."""
    from PIL import Image

    from core.adapt.data import prepared_image
    from core.protocols import upair_preprocess

    utils = load_src_utils()
    rgba = np.zeros((30, 50, 4), np.uint8)
    rgba[..., :3] = 40
    rgba[:, :25, 3] = 0  # left half transparent (dark pixels underneath)
    rgba[:, 25:, 3] = 255
    src = tmp_path / "fig.png"
    Image.fromarray(rgba, mode="RGBA").save(src)
    up = np.asarray(Image.open(prepared_image(src, 32, "upair")).convert("L"))
    cl = np.asarray(Image.open(prepared_image(src, 32, "clean")).convert("L"))
    assert up[16, 4] < 100 and cl[16, 4] > 200  # as stored: the transparent half stays dark
    ref = utils.preprocess(Image.open(src), size=(32, 32), num_output_channels=3)
    ours = (np.asarray(Image.open(prepared_image(src, 32, "upair")), np.float32) / 255.0)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    norm = (ours - mean) / std
    assert np.abs(norm.transpose(2, 0, 1) - ref.numpy()).max() <= 1e-5
    assert float((upair_preprocess([Image.open(src)], 32, 3)[0] - ref).abs().max()) <= 1e-6
