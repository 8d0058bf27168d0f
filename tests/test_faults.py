"""Faults from issue 11: each test reproduces one cause (it failed before the fix).

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
