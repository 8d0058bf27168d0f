"""Light imports: pages that only browse, search or list must not pay for torch/umap/open_clip."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "open_clip", "umap", "numba", "pynndescent", "streamlit")


def _imported(code: str) -> list[str]:
    probe = code + f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("modules", [
    "core, core.corpora, core.search, core.index",
    "core.embed, core.encoders, core.encoders.clip, core.encoders.classic, core.encoders.text",
    "core.maps, core.evaluation, core.metrics, core.store, core.config",
])
def test_core_imports_no_heavy_library(modules):
    assert _imported(f"import {modules}") == []


def test_listing_encoders_and_loading_a_corpus_stay_light(upair_samples):
    code = (
        "import core\n"
        "from core.encoders import known_encoders, get_encoder\n"
        "[get_encoder(s) for s in known_encoders()]\n"
        f"core.load_corpus('upair:{upair_samples}')\n"
    )
    assert _imported(code) == []


def test_checking_encoder_availability_stays_light():
    code = (
        "from core.encoders import known_encoders, get_encoder\n"
        "[get_encoder(s).availability() for s in known_encoders()]\n"
    )
    assert _imported(code) == []
