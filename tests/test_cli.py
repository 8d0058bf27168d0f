"""The command line on hand-made folders (no network, no shared data needed)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from core.cli import main


def _drawings(root, n=6):
    root.mkdir()
    for i in range(n):
        im = Image.new("L", (200, 160), 255)
        d = ImageDraw.Draw(im)
        d.rectangle([20 + 5 * i, 20, 120 + 8 * i, 100 + 4 * i], outline=0, width=3)
        d.ellipse([40, 40 + 3 * i, 90 + 6 * i, 90], outline=0, width=2)
        im.save(root / f"fig{i}.png")
    return root


def test_info_build_search(cache, tmp_path, capsys):
    root = _drawings(tmp_path / "figs")
    spec = f"folder:{root}"
    assert main(["info", "--corpus", spec]) == 0
    out = capsys.readouterr().out
    assert "figures  6" in out and "hog" in out and "unavailable" in out  # CLIP weights are not here
    assert main(["build", "--corpus", spec, "--encoders", "hog,ahdh"]) == 0
    out = capsys.readouterr().out
    assert "ready    hog: 6 x 1764, index flat" in out and "ready    ahdh" in out
    assert main(["search", str(root / "fig2.png"), "--corpus", spec, "--encoders", "hog", "-k", "3"]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.strip().startswith(("1 ", "2 ", "3 "))]
    assert len(lines) == 3 and lines[0].split()[2] == "fig2"  # the file itself is the top hit
    assert float(lines[0].split()[1]) > 0.999


def test_errors_are_one_line_messages(cache, tmp_path, capsys):
    assert main(["info", "--corpus", f"folder:{tmp_path / 'missing'}"]) == 2
    assert "not found" in capsys.readouterr().err
    root = _drawings(tmp_path / "figs", 2)
    assert main(["search", "nope.png", "--corpus", f"folder:{root}"]) == 2
    assert "neither a figure id" in capsys.readouterr().err
    assert main(["build", "--corpus", f"folder:{root}", "--encoders", "bogus"]) == 2
    assert "unknown encoder 'bogus'" in capsys.readouterr().err


def test_evaluate_writes_runs(cache, tmp_path, capsys):
    out_dir = tmp_path / "runs"
    assert main(["evaluate", "--corpus", "demo", "--encoders", "hog", "--runs", "image", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "visual" in out and "semantic" in out and "part_whole" in out
    run_files = list(out_dir.glob("*.run"))
    assert len(run_files) == 1
    rows = [ln.split() for ln in run_files[0].read_text().splitlines()]
    assert all(len(r) == 6 and r[1] == "Q0" for r in rows)
    assert np.all(np.diff([int(r[3]) for r in rows if r[0] == rows[0][0]]) == 1)


def test_evaluate_protocol_is_chosen_and_recorded(cache, tmp_path, capsys):
    """--protocol: printed, in every run-file tag and in results.csv; the demo defaults to clean."""
    import csv

    import pytest

    from core.evaluation import evaluate
    from core.corpora import load_corpus

    for protocol in (None, "upair"):
        out_dir = tmp_path / f"runs-{protocol}"
        args = ["evaluate", "--corpus", "demo", "--encoders", "hog", "--runs", "image,image+desc", "--out", str(out_dir)]
        assert main(args + (["--protocol", protocol] if protocol else [])) == 0
        want = protocol or "clean"
        out = capsys.readouterr().out
        assert f"protocol {want}:" in out
        for path in out_dir.glob("*.run"):
            assert {ln.split()[5].rsplit(".", 1)[1] for ln in path.read_text().splitlines()} == {want}
        with open(out_dir / "results.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and {r["protocol"] for r in rows} == {want}
        expected = evaluate(load_corpus("demo"), ["hog"], runs=("image", "image+desc"), protocol=want).table
        for r, e in zip(rows, expected.itertuples()):
            assert float(r["value"]) == e.value  # written with full precision
    with pytest.raises(SystemExit):
        main(["evaluate", "--corpus", "demo", "--encoders", "hog", "--protocol", "official"])


def test_build_hashes_every_figure_so_a_search_hashes_none(cache, tmp_path, capsys, monkeypatch):
    """`build` leaves every figure's pHash in the cache (the Search page folds family copies with
    them): afterwards a fresh process hashes nothing, and the stored hashes are the images' own;
    `--no-hashes` leaves them to be computed on first sight."""
    from core.corpora import load_corpus
    from core.families import hashes as fh
    from core.figures import load_figure_image

    root = _drawings(tmp_path / "figs")
    spec = f"folder:{root}"
    assert main(["build", "--corpus", spec, "--encoders", "hog", "--no-hashes"]) == 0
    assert "family hashes" not in capsys.readouterr().out
    assert not list((cache / "families").glob("*.json")) if (cache / "families").exists() else True
    assert main(["build", "--corpus", spec, "--encoders", "hog"]) == 0
    assert "ready    family hashes: 6 figure(s)" in capsys.readouterr().out
    corpus = load_corpus(spec)
    expected = {f.id: fh.image_hash(load_figure_image(f)) for f in corpus.figures}
    fh._MEMO.clear()  # as a fresh process: only the cache file is left

    def no_hashing(_image):
        raise AssertionError("a figure was hashed after build")

    monkeypatch.setattr(fh, "image_hash", no_hashing)
    assert fh.corpus_hashes(corpus, [f.id for f in corpus.figures[:3]]) == \
        {f.id: expected[f.id] for f in corpus.figures[:3]}
    assert fh.corpus_hashes(corpus) == expected
