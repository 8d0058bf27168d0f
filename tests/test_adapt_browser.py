"""The Models page in headless Chromium: a real adapted model, scored before/after and mapped."""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse

import pytest

from tests.browsing import MARKS, SHOTS, STREAMLIT_FLAGS, chromium, streamlit_server

pytestmark = [*MARKS, pytest.mark.shared]

#: Starts the app with the tiny test architecture registered in the server's own process.
LAUNCHER = """
import sys
import open_clip
from pathlib import Path
open_clip.add_model_config(Path(sys.argv[1]))
from streamlit.web import cli
sys.argv = ["streamlit", "run", "dashboard/app.py", *sys.argv[2:-1], "--server.port", sys.argv[-1]]
sys.exit(cli.main())
"""


def test_models_page_in_a_browser(cache, tmp_path, query_patents, upair_samples, tiny_clip_arch, tiny_clip_checkpoint):
    import torch

    from tests.conftest import TINY_CLIP
    from core.adapt import AdaptConfig, adapt
    from core.corpora import load_corpus

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = AdaptConfig(arch=tiny_clip_arch, pretrained=str(tiny_clip_checkpoint), lr=3e-4, batch_size=32,
                          epochs=2, warmup=0, patience=100)
        adapt(load_corpus(f"query-patents:{query_patents}"), "tiny-browser", cfg,
              benchmark=load_corpus(f"upair:{upair_samples}"))
    finally:
        torch.set_num_threads(n)
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / f"{tiny_clip_arch}.json").write_text(json.dumps(TINY_CLIP))
    (tmp_path / "launch.py").write_text(LAUNCHER)
    command = [sys.executable, str(tmp_path / "launch.py"), str(cfg_dir), *STREAMLIT_FLAGS]
    with streamlit_server({**os.environ, "UPAIR_CACHE": str(cache)}, command) as url, chromium() as b:
        page = b.new_page(viewport={"width": 1500, "height": 1000})
        corpus = urllib.parse.quote(f"upair:{upair_samples}", safe="")
        page.goto(f"{url}/models?corpus={corpus}", timeout=120_000)
        page.wait_for_selector("text=Before and after on the benchmark", timeout=240_000)
        page.wait_for_selector("text=Patents left out", timeout=60_000)
        page.get_by_role("button", name="Score before and after").click()
        page.wait_for_selector("text=Holm-corrected over runs", timeout=240_000)
        page.get_by_role("button", name="Draw both maps").click()
        page.wait_for_selector("text=After adaptation", timeout=300_000)
        page.wait_for_selector("canvas", timeout=120_000)
        time.sleep(2)
        assert page.locator("[data-testid=stException]").count() == 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "models.png"))
