"""Loaders on the real UPAIR data and on hand-made folders."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from core.corpora import DatasetError, detect_kind, load_corpus, parse_spec


@pytest.mark.shared
def test_upair_samples_loads_queries_candidates_and_qrels(upair_samples):
    c = load_corpus(f"upair:{upair_samples}")
    assert c.kind == "upair" and len(c) == 10 and not c.warnings
    b = c.benchmark
    assert len(b.queries) == 5
    assert set(b.qrels) == {"visual", "semantic", "part_whole"}
    q = "d192db7d9585c90501fc590975b897c6f9d688bf"
    assert b.candidates[q] == ("0781300557854d2adbc1b0bb9fb1c7834ca28556",)
    assert b.judgement("visual", q, "0781300557854d2adbc1b0bb9fb1c7834ca28556") == 1
    assert b.judgement("semantic", q, "0781300557854d2adbc1b0bb9fb1c7834ca28556") == 1
    assert b.judgement("part_whole", q, "nope") is None
    fig = c.by_id["b7d03e316beb49cc33d90d57b0a8e5e4e8702720"]
    assert fig.patent == "WO2022034013A1" and "heat exchanger" in fig.description
    assert "collector pipe" in fig.labels and fig.path.is_file()
    assert c.candidates_for(q) == ("0781300557854d2adbc1b0bb9fb1c7834ca28556",)


@pytest.mark.shared
def test_query_patents_loads_all_sections(query_patents):
    c = load_corpus(str(query_patents))  # layout detected from the bare path
    assert c.kind == "query-patents" and len(c) == 120
    assert c.sections == list("ABCDEFGH")
    fig = c.by_id["50fb5acf146b6cf468df1fd8dce2e84e20c5f03f"]
    assert fig.patent == "WO2022038251A1" and fig.section == "G"
    assert fig.title.startswith("ELECTRON MICROSCOPY GRIDS")
    assert "binding unit" in fig.labels and fig.description.startswith("Figure 3")
    # no benchmark: a query ranks every other figure
    assert len(c.candidates_for(fig.id)) == 119


def test_labels_as_string_and_tolerant_metadata_location(tmp_path):
    root = tmp_path / "bench"
    (root / "test" / "images").mkdir(parents=True)
    for h in ("q1", "c1"):
        Image.new("RGB", (20, 20), "white").save(root / "test" / "images" / f"{h}.png")
    meta = {"q1": {"query": {"hashcode": "q1", "patent": "EP1A1", "title": "t", "description": "FIG. 1 d",
                             "component_labels": "gear, shaft; spring"},
                   "candidates": [{"hashcode": "c1", "component_labels": ["a"]},
                                  {"hashcode": "missing"}]}}
    (root / "test" / "metadata.json").write_text(json.dumps(meta))
    (root / "test" / "qrels_visual.txt").write_text("q1 0 c1 1\nq1 0 ghost 1\nbroken line\n")
    c = load_corpus(f"upair:{root}")
    assert c.by_id["q1"].labels == ("gear", "shaft", "spring")
    assert c.benchmark.candidates["q1"] == ("c1",)
    assert c.benchmark.qrels["visual"] == {"q1": {"c1": 1}}
    text = "\n".join(c.warnings)
    assert "missing" in text and "qrels_visual.txt:3" in text and "unknown ids" in text


def test_malformed_metadata_names_the_file(tmp_path):
    (tmp_path / "metadata.json").write_text('{"q": [1, 2')
    with pytest.raises(DatasetError, match="metadata.json is not valid JSON"):
        load_corpus(f"upair:{tmp_path}")


def test_folder_recursive_with_sidecars_and_formats(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    Image.new("RGB", (10, 10)).save(tmp_path / "x.png")
    Image.new("RGB", (10, 10)).save(tmp_path / "a" / "y.jpg")
    Image.new("L", (10, 10)).save(tmp_path / "a" / "b" / "z.tif")
    Image.new("RGB", (10, 10)).save(tmp_path / "a" / "w.webp")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "x.json").write_text(json.dumps({"title": "T", "fig_desc": "D", "component_labels": "p, q"}))
    c = load_corpus(f"folder:{tmp_path}")
    assert sorted(f.id for f in c.figures) == ["a/b/z", "a/w", "a/y", "x"]
    x = c.by_id["x"]
    assert (x.title, x.description, x.labels) == ("T", "D", ("p", "q"))
    assert detect_kind(tmp_path) == "folder"


def test_unknown_spec_and_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="unknown corpus"):
        parse_spec("nonsense-that-is-not-a-path")
    with pytest.raises(DatasetError, match="not found"):
        load_corpus(f"folder:{tmp_path / 'nope'}")


def test_fingerprint_changes_with_content(tmp_path):
    Image.new("RGB", (10, 10), "white").save(tmp_path / "a.png")
    fp1 = load_corpus(f"folder:{tmp_path}").fingerprint
    Image.new("RGB", (10, 10), "black").save(tmp_path / "a.png")
    assert load_corpus(f"folder:{tmp_path}").fingerprint != fp1
