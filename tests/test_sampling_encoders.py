"""The reference's six indices with the seed's encoder kinds (PaECTER-style text, CLIP, PatentNet,
ResNeXt-style timm), as small random-weight models through the real code paths: the reference's
config.yaml with its encoders replaced by these runs end to end, and reproducibly."""
from __future__ import annotations

import pytest
import yaml

from core import load_corpus
from core.annotation.sampling import parse_config, resolve_queries, sample_pools, write_run
from tests.test_encoders_checkpoints import patentnet_file, resnet_checkpoint, tiny_bert, upair_samples_dir  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.shared]


def test_reference_roles_with_small_seed_encoders(cache, query_patents, tmp_path, tiny_clip_arch,
                                                   tiny_clip_checkpoint, tiny_bert, patentnet_file,  # noqa: F811
                                                   resnet_checkpoint):  # noqa: F811
    from tests.sampling_reference import need_reference_sampler

    raw = yaml.safe_load((need_reference_sampler() / "config.yaml").read_text())
    text = f"text:{tiny_bert}@upair"
    encoders = {"title": (text, "title"), "desc": (text, "desc"), "label": (text, "labels"),
                "clip": (f"clip:{tiny_clip_arch}:{tiny_clip_checkpoint}", "image"),
                "patentnet": (f"patentnet:{patentnet_file[0]}:resnet10t@upair", "image"),
                "resnext": (f"timm:resnet10t:{resnet_checkpoint}@upair", "image")}
    for name, (spec, fld) in encoders.items():
        raw["indices"][name].update(encoder=spec, field=fld)
    cfg = parse_config(raw, source="reference config.yaml, small encoders")
    assert (cfg.description_index, cfg.visual_index, cfg.dedup_index) == ("desc", "patentnet", "patentnet")
    corpus = load_corpus(f"query-patents:{query_patents}")
    queries = resolve_queries(corpus)[:4]
    runs = [sample_pools(corpus, queries, cfg, seed=9, show_bar=False) for _ in range(2)]
    for d in runs[0].draws:
        assert set(d.thresholds) == set(encoders)
        for g in d.groups:
            assert set(g.in_band) == set(encoders)
            for c in g.kept:
                assert set(c.scores) == set(encoders) and c.drawn_by
                for name in c.drawn_by:
                    band = g.spec.band_for(cfg.index(name))
                    t = d.thresholds[name].values
                    assert t[band.lower] - 1e-6 <= c.scores[name] <= t[band.upper] + 1e-6
    a, b = write_run(runs[0], tmp_path / "a"), write_run(runs[1], tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
