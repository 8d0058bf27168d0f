"""The encoder registry as data: grammars, capabilities, presets, protocol suffixes."""
from __future__ import annotations

import sys

import pytest

from core import encoders as E
from core.encoders import (
    CAPABILITIES, DOWNLOADABLE, ENCODER_KINDS, FIT_ON_CORPUS, IMAGE, PRESETS, PROTOCOLS, TEXT, TEXT_TO_IMAGE,
    expand_specs, get_encoder, has_capability, parse_spec,
)


def test_capabilities_are_declared_not_probed(tmp_path):
    assert get_encoder("hog").capabilities == frozenset({IMAGE})
    assert get_encoder("ahdh").capabilities == frozenset({IMAGE})
    assert {TEXT, FIT_ON_CORPUS} <= get_encoder("tfidf").capabilities
    assert not {IMAGE, TEXT_TO_IMAGE, DOWNLOADABLE} & get_encoder("tfidf").capabilities
    tag = get_encoder("clip:ViT-B-16:laion400m_e32")
    assert {IMAGE, TEXT, TEXT_TO_IMAGE, DOWNLOADABLE, PROTOCOLS} <= tag.capabilities
    ckpt = get_encoder(f"clip:ViT-B-16:{tmp_path / 'x.pt'}")
    assert DOWNLOADABLE not in ckpt.capabilities and TEXT_TO_IMAGE in ckpt.capabilities
    for spec in ("hog", "tfidf", "clip:ViT-B-16:laion400m_e32"):
        assert get_encoder(spec).capabilities <= CAPABILITIES
    assert has_capability("clip:ViT-B-16:laion400m_e32", TEXT_TO_IMAGE)
    assert not has_capability("tfidf", IMAGE) and has_capability("tfidf", FIT_ON_CORPUS)
    with pytest.raises(ValueError, match="unknown capability 'colour'.*image"):
        has_capability("hog", "colour")


def test_unknown_specs_list_what_exists():
    with pytest.raises(ValueError) as exc:
        get_encoder("resnet50")
    msg = str(exc.value)
    for kind in ENCODER_KINDS.values():
        assert kind.grammar in msg
    for preset in PRESETS:
        assert preset in msg
    with pytest.raises(ValueError, match="hog takes no arguments"):
        get_encoder("hog:big")
    with pytest.raises(ValueError, match="clip:<arch>:<pretrained"):
        get_encoder("clip:ViT-B-16")


def test_protocol_suffix_is_parsed_and_checked():
    kind, rest, protocol = parse_spec("clip:ViT-B-16:laion400m_e32@upair")
    assert (kind.name, rest, protocol) == ("clip", "ViT-B-16:laion400m_e32", "upair")
    assert parse_spec("clip:ViT-B-16:/w/a@b/c.pt")[2] is None  # an @ inside a path is no protocol
    with pytest.raises(ValueError, match="unknown protocol 'nope'.*clean.*upair|unknown protocol 'nope'.*upair.*clean"):
        parse_spec("clip:ViT-B-16:laion400m_e32@nope")
    with pytest.raises(ValueError, match="hog encoders have no preprocessing protocols"):
        get_encoder("hog@upair")


def test_presets_expand_to_valid_specs():
    assert set(PRESETS) == {"upair-sampling", "field"}
    assert len(PRESETS["upair-sampling"]) == 4
    out = expand_specs(["hog", "upair-sampling", "hog"])
    assert out[0] == "hog" and out.count("hog") == 1 and len(out) == 5
    for spec in (*PRESETS["upair-sampling"], *PRESETS["field"]):
        kind, _, protocol = parse_spec(spec)  # every preset member parses
        assert protocol in (None, "upair")


def test_listing_does_not_import_torch():
    import subprocess

    code = ("import sys; from core.encoders import known_encoders, get_encoder, has_capability, IMAGE;"
            "[get_encoder(s).availability() for s in known_encoders()];"
            "[has_capability(s, IMAGE) for s in known_encoders()];"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"UPAIR_CACHE": "/nonexistent-upair-cache-for-test", "PATH": ""})
    assert out.stdout.strip() == "False", out.stderr


def test_fitted_keeps_non_default_parameters(upair_samples):
    from core.corpora import load_corpus
    from core.embed import _fitted
    from core.encoders.text import TfidfEncoder

    corpus = load_corpus(f"upair:{upair_samples}")
    shared = TfidfEncoder(max_features=50, ngram_range=(1, 1), min_df=1)
    shared.spec = "tfidf-test-50"
    fitted = _fitted(shared, corpus)
    assert fitted is not shared and not shared.fitted  # the shared instance is never mutated
    assert (fitted.max_features, fitted.ngram_range, fitted.min_df) == (50, (1, 1), 1)
    assert fitted.dim == 50 and all(" " not in t for t in fitted.vocabulary)  # unigrams only
    assert _fitted(shared, corpus) is fitted  # one fitted copy per corpus content
    assert not hasattr(TfidfEncoder, "fitted_copy")


def test_device_choice_and_override(monkeypatch):
    from core.encoders import compute_device
    from core.encoders.device import batch_size_for

    monkeypatch.setenv("UPAIR_DEVICE", "cpu")
    assert compute_device() == "cpu"
    monkeypatch.setenv("UPAIR_DEVICE", "cuda")  # asked for: a GPU, or an error naming the variable
    import torch

    if torch.cuda.is_available():
        assert compute_device() == "cuda"
    else:
        with pytest.raises(ValueError, match="UPAIR_DEVICE=cuda"):
            compute_device()
    monkeypatch.delenv("UPAIR_DEVICE")
    assert compute_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert batch_size_for("cuda") > batch_size_for("cpu")
    enc = get_encoder("clip:ViT-B-16:laion400m_e32")
    assert enc.device == compute_device() and enc.batch_size == batch_size_for(enc.device, 32, 256)


def test_info_and_fetch_weights_say_what_to_do(cache, tmp_path, capsys, monkeypatch):
    from PIL import Image

    from core.cli import main

    root = tmp_path / "figs"
    root.mkdir()
    Image.new("L", (64, 48), 255).save(root / "a.png")
    monkeypatch.setenv("UPAIR_ENCODERS", "bogus:1")
    assert main(["info", "--corpus", f"folder:{root}"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.split() and ":" in ln.split()[0]}
    for spec in PRESETS["upair-sampling"]:
        assert "unavailable" in rows[spec], spec
    assert "python -m core fetch-weights timm:resnext101_32x8d.tv_in1k" in rows["timm:resnext101_32x8d.tv_in1k@upair"]
    assert "swin-arcface-test_epoch19.pth" in rows[PRESETS["upair-sampling"][0]]
    from core.encoders import compute_device

    assert "invalid" in rows["bogus:1"] and f"device   {compute_device()}" in out
    # PatentNet cannot be downloaded: fetch-weights names the file and where it goes.
    assert main(["fetch-weights", "patentnet:"]) == 2
    out = capsys.readouterr().out
    assert "cannot be downloaded" in out and str(cache / "weights" / "swin-arcface-test_epoch19.pth") in out
    assert main(["fetch-weights", "hog"]) == 0
    assert "ready, nothing to fetch" in capsys.readouterr().out
