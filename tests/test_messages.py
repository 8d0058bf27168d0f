"""Messages that used to mislead: each names the real cause and only advice that works."""
from __future__ import annotations

import pytest


def test_an_unknown_timm_model_is_called_unknown_not_missing(cache, monkeypatch):
    from core.encoders import get_encoder, timm_image

    monkeypatch.setattr(timm_image, "timm_names", lambda: frozenset({"resnet50", "resnet50d", "vit_base_patch16_224"}))
    av = get_encoder("timm:resnet5O").availability()
    assert not av.ok and av.reason == "unknown timm model 'resnet5O'", av
    assert "not downloaded" not in av.reason and "resnet50" in av.fix and "timm.list_models" in av.fix
    shipped = get_encoder("timm:resnext101_32x8d.tv_in1k").availability()  # shipped names are not looked up
    assert "unknown" not in shipped.reason


@pytest.mark.slow
def test_timm_names_are_timms_own_and_remembered(cache):
    import timm

    from core.encoders import get_encoder
    from core.encoders.timm_image import timm_names

    assert timm_names() == frozenset(timm.list_models())
    assert list((cache / "timm").glob("models-*.json"))
    av = get_encoder("timm:no_such_model_at_all").availability()
    assert av.reason == "unknown timm model 'no_such_model_at_all'" and "timm.list_models" in av.fix
