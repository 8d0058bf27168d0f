"""Section k: the Map page with pictures drawn at the points, at 50k points.

What the page does for one map, outside Streamlit: ``pages.map_widgets.map_figure`` (above
``core.maps.MAX_DRAWN`` points a density layer plus a bounded, region-keeping set of markers),
``core.map_overlays.spread_sample`` + ``pages.map_pictures.place_images`` (at most 150 PNG data
URIs as layout images), then the figure's JSON (what ``st.plotly_chart`` sends). The JSON is
then drawn by plotly.js (the copy shipped with the plotly package) in headless Chromium: time to
the first ``plotly_afterplot``, then a zoom (``Plotly.relayout`` of both axes) and a pan, each
to its next ``plotly_afterplot``.
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .common import Section, log, timer

SIZES_FULL = (5_000, 50_000)
SIZES_QUICK = (2_000,)
GL_ARGS = ["--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def _pictures(n: int, px: int = 96) -> list[str]:
    """``n`` distinct generated drawings as PNG data URIs (the size the Map page draws)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        im = Image.new("RGB", (px, px), "white")
        d = ImageDraw.Draw(im)
        for _ in range(4):
            x0, y0 = rng.integers(0, px - 30, 2)
            d.rectangle([x0, y0, x0 + rng.integers(8, 30), y0 + rng.integers(8, 30)], outline="black", width=2)
        buf = io.BytesIO()
        im.save(buf, "PNG")
        out.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return out


def _frame(n: int):
    import pandas as pd

    rng = np.random.default_rng(n)
    centres = rng.uniform(-0.8, 0.8, size=(40, 2))
    xy = np.clip(centres[rng.integers(0, 40, n)] + 0.06 * rng.normal(size=(n, 2)), -1, 1)
    return pd.DataFrame({"id": [f"f{i}" for i in range(n)], "x": xy[:, 0], "y": xy[:, 1],
                         "patent": [f"US{i}" for i in range(n)], "section": list("ABCDEFGH" * (n // 8 + 1))[:n],
                         "title": ["a figure"] * n})


def _figure_json(frame, pool: list[str], pictures: bool = True) -> tuple[str, int, float]:
    from core.map_overlays import spread_sample
    from pages.map_pictures import place_images
    from pages.map_widgets import map_figure

    t0 = time.perf_counter()
    fig = map_figure(None, frame, "CPC section", None, None, None, set())
    xy = frame[["x", "y"]].to_numpy()
    rows, side = spread_sample(xy, across=12)
    ids = frame["id"].to_numpy()[rows]
    uris = {i: pool[k % len(pool)] for k, i in enumerate(ids)}
    placed = place_images(fig, xy[rows], ids, side, uris) if pictures else 0
    text = fig.to_json()
    return text, placed, time.perf_counter() - t0


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="plotly.min.js"></script></head>
<body style="margin:0"><div id="map" style="width:900px;height:560px"></div><script>
window.timings = {};
function next(gd) { return new Promise(r => gd.once("plotly_afterplot", r)); }
async function go(spec) {
  const gd = document.getElementById("map");
  let t = performance.now();
  await Plotly.newPlot(gd, spec.data, spec.layout, {responsive: false});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  window.timings.first_ms = performance.now() - t;
  t = performance.now();
  let p = next(gd); Plotly.relayout(gd, {"xaxis.range": [-0.3, 0.3], "yaxis.range": [-0.3, 0.3]}); await p;
  window.timings.zoom_ms = performance.now() - t;
  t = performance.now();
  p = next(gd); Plotly.relayout(gd, {"xaxis.range": [-0.1, 0.5], "yaxis.range": [-0.1, 0.5]}); await p;
  window.timings.pan_ms = performance.now() - t;
  window.timings.webgl = !!document.querySelector("canvas.gl-canvas");
  window.timings.images = gd.querySelectorAll(".layer-above image, image").length;
}
</script></body></html>"""


def _render(work: Path, text: str) -> dict | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    import plotly
    from playwright.sync_api import sync_playwright

    site = work / "mapsite"
    site.mkdir(exist_ok=True)
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", site / "plotly.min.js")
    (site / "index.html").write_text(_PAGE)
    (site / "spec.json").write_text(text)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=GL_ARGS, headless=True)
        try:
            page = b.new_page(viewport={"width": 1000, "height": 700})
            page.goto((site / "index.html").as_uri())
            page.wait_for_function("typeof Plotly !== 'undefined'", timeout=60_000)
            page.evaluate("(s) => go(JSON.parse(s))", text)
            return page.evaluate("window.timings")
        finally:
            b.close()


def run(work: Path, quick: bool) -> Section:
    sec = Section(
        name="mappics", title="k. Map with pictures at the points: figure JSON, payload, render in Chromium",
        method=__doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        columns=[("n", "points"), ("drawn", "markers drawn"), ("pictures", "pictures"),
                 ("build_ms", "build figure JSON ms"), ("payload_kb", "payload KiB"),
                 ("ratio_payload_vs_dots", "payload vs dots only"),
                 ("first_ms", "first render ms"), ("zoom_ms", "zoom ms"), ("pan_ms", "pan ms")],
    )
    pool = _pictures(20 if quick else 150)
    for n in (SIZES_QUICK if quick else SIZES_FULL):
        log(f"mappics: {n:,} points")
        frame = _frame(n)
        _figure_json(frame, pool)  # warm imports
        builds = []
        for _ in range(1 if quick else 3):
            text, placed, s = _figure_json(frame, pool)
            builds.append(s)
        spec = json.loads(text)
        drawn = sum(len(tr.get("customdata", [])) for tr in spec["data"] if tr.get("customdata") is not None)
        dots = _figure_json(frame, pool, pictures=False)[0]
        row = {"n": n, "drawn": drawn, "pictures": placed, "build_ms": sorted(builds)[len(builds) // 2] * 1e3,
               "payload_kb": len(text.encode()) / 1024, "ratio_payload_vs_dots": len(text) / len(dots)}
        with timer() as t:
            got = _render(work, text)
        if got:
            row.update({k: got.get(k) for k in ("first_ms", "zoom_ms", "pan_ms")})
            sec.extra[f"render_{n}"] = got
            if not got.get("webgl"):
                sec.notes.append(f"{n:,} points: no WebGL canvas was created (software GL unavailable?).")
        else:
            sec.notes.append("No chromium on the PATH: render times not measured.")
        log(f"mappics: {n:,} done in {t['s']:.1f} s")
        sec.rows.append(row)
    sec.notes.append("Chromium runs headless with SwiftShader (software WebGL: " + " ".join(GL_ARGS[1:]) +
                     "), so render times are an upper bound for a desktop browser with a GPU.")
    sec.notes.append(f"Load while measuring: {os.getloadavg()[0]:.1f} (1-min average; a shared 2-core machine).")
    return sec
