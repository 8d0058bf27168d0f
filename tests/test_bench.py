"""`python -m bench.run --quick` runs every section end to end and writes a complete report."""
from __future__ import annotations

import json

import pytest

from tests.bench_runs import quick_bench


def test_parse_only_accepts_names_and_letters():
    from bench.run import SECTIONS, parse_only

    assert parse_only(None) == list(SECTIONS)
    assert parse_only("umap,index") == ["index", "umap"]  # report order, not argument order
    assert parse_only("a, e") == ["encode", "dashboard"]
    with pytest.raises(SystemExit):
        parse_only("index,bogus")


def _section_names():
    from bench.run import SECTIONS

    return list(SECTIONS)


@pytest.mark.slow
@pytest.mark.parametrize("name", _section_names())
def test_quick_bench_writes_every_section(name, tmp_path_factory):
    """Each section of ``python -m bench.run --quick`` on its own (``--only``; a section's own time
    limit, so one slow section cannot eat another's): it runs, has rows of numbers and a positive
    ratio column (every figure is a comparison), and its title is in the report. (One run per
    section and test run: a section's own tests read the same report, see tests/bench_runs.py.)"""
    proc, out = quick_bench(tmp_path_factory, name)
    assert (out / "report.json").is_file(), proc["stdout"][-3000:] + proc["stderr"][-3000:]
    data = json.loads((out / "report.json").read_text())
    assert list(data["sections"]) == [name]
    sec = data["sections"][name]
    assert not sec["error"], f"{name}: {sec['error']}"
    assert sec["rows"], f"{name} has no rows"
    keys = [k for k, _ in sec["columns"]]
    ratio_keys = [k for k in keys if k.startswith("ratio")]
    assert ratio_keys, f"{name} has no ratio column"
    for row in sec["rows"]:
        numeric = [k for k in keys if isinstance(row.get(k), (int, float)) and not isinstance(row.get(k), bool)]
        assert numeric, f"{name}: row without numbers: {row}"
        for k in ratio_keys:
            assert isinstance(row[k], (int, float)) and row[k] > 0, f"{name}: {k} = {row.get(k)!r}"
    meta = data["meta"]
    assert meta["cores"] >= 1 and meta["ram_gib"] > 0 and meta["versions"]["faiss-cpu"] and meta["date"]
    assert sec["title"] in (out / "report.md").read_text()
    assert proc["returncode"] == 0, proc["stderr"][-3000:]
