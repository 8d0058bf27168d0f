"""bench.readme: the README's performance table comes from one bench report, between markers."""
from __future__ import annotations

from bench.readme import BEGIN, END, render_table, update_readme


def _report():
    eval_row = {"model": "CLIP ViT-B-16", "pairs": 108, "ours_fresh_s": 9.0, "official_s": 27.0, "ratio_fresh": 3.0,
                "speedup_bound": 4.4, "ours_fresh_runs_s": [8.0, 9.0, 11.0], "official_runs_s": [25.0, 27.0, 30.0],
                "bare_forward_s": 7.2, "ours_encode_s": 8.0, "forward_share": 0.9, "unique_images": 55,
                "unique_texts": 109, "ours_encode_runs_s": [8, 8, 9], "bare_forward_runs_s": [7, 7.2, 8],
                "warm_weight_s": 0.004, "warm_judgements_s": 0.005, "warm_protocol_s": 0.02,
                "warm_runs_s": {"weight": [0.004, 0.004, 0.005]}}
    ray_rows = [{"part": "encode", "what": "local engine", "n": 360, "seconds": 20.0, "runs_s": [19, 20, 22]},
                {"part": "encode", "what": "Ray, 2 actors", "n": 360, "seconds": 30.0, "runs_s": [29, 30, 31],
                 "actors_ready_s": 9.0, "ray_init_s": 4.0, "within_startup": False}]
    return {"meta": {"command": "python -m bench.run", "date": "2026-12-02 05:30:00 UTC", "cores": 2,
                     "gpu": "none (CPU only)", "loadavg": [0.4, 0.3, 0.2], "total_s": 1500, "quick": False},
            "sections": {
                "eval": {"title": "b. UPAIR evaluation: x", "rows": [eval_row],
                         "extra": {"load_start": 0.4, "load_end": 1.9}},
                "scale": {"title": "h. Scale-out: y", "rows": ray_rows, "extra": {"load_start": 1.0, "load_end": 2.0}},
                "umap": {"title": "d. UMAP", "rows": [], "extra": {}, "error": "ValueError: boom"},
                "mine": {"title": "z. New", "rows": [], "extra": {"headline": [
                    {"what": "a thing", "ours": "1 s", "baseline": "2 s", "ratio": "2.00×", "reps": "3 · 1–2 s",
                     "extrapolated": "extrapolated from 10k, 100k"}]}},
            }}


def test_every_row_names_section_sides_reps_and_load():
    table = render_table(_report())
    rows = [ln for ln in table.splitlines() if ln.startswith("| b.")]
    assert len(rows) == 3  # fresh, vs bare forward, re-scoring
    fresh = rows[0].split(" | ")
    assert fresh[2] == "9.0 s" and fresh[3] == "official run.py 27.0 s" and "3.00×" in fresh[4] and "4.40×" in fresh[4]
    assert fresh[5] == "3 · 8.0 s–11.0 s / 3 · 25.0 s–30.0 s" and fresh[6].startswith("0.4 → 1.9")
    assert "0.90 of forward throughput" in rows[1]
    assert "1,350×" in rows[2]  # 27 s / the slowest re-score (20 ms)
    ray = next(ln for ln in table.splitlines() if "Ray, 2 actors" in ln)
    assert "0.67×" in ray and "slower than start-up explains" in ray and "3 · 29.0 s–31.0 s / 3 · 19.0 s–22.0 s" in ray
    assert "the section failed: ValueError: boom" in table
    assert "(**extrapolated from 10k, 100k**)" in table  # said in its cell, with its measured points
    assert "From one `python -m bench.run` run on 2026-12-02 05:30:00 UTC" in table


def test_only_the_text_between_the_markers_changes(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\nbefore\n{BEGIN}\nold | table\n{END}\nafter\n")
    assert update_readme(readme, "| new |")
    assert readme.read_text() == f"# t\n\nbefore\n{BEGIN}\n| new |\n{END}\nafter\n"
    assert update_readme(readme, "| new |")  # idempotent
    assert readme.read_text().count(BEGIN) == 1


def test_missing_markers_write_nothing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert not update_readme(readme, "| x |")
    assert readme.read_text() == "# no markers\n"


def test_served_and_click_rows_name_the_goal_numbers():
    ws = [{"driver": "ws", "think_s": 0.0, "n": n, "action": "upload + search", "p50_ms": p50, "p95_ms": p95,
           "ratio_p95_vs_1": p95 / 300, "samples": 20, "errors": 0, "rss_growth_mb_per_session": 4.5}
          for n, p50, p95 in ((1, 200, 300), (5, 700, 800), (10, 1700, 1800))]
    acts = [{"action": a, "n": 6, "before_p50_s": b, "before_p95_s": b * 2, "p50_s": p, "p95_s": p * 1.5,
             "cpu_p50_s": p / 3, "ratio_p50": b / p} for a, b, p in (("star", 0.8, 0.4), ("slider", 2.0, 0.5))]
    # an action with no before measurement counts in the times, not in the before/after range
    acts.append({"action": "new weight", "n": 6, "before_p50_s": None, "before_p95_s": None, "p50_s": 0.45,
                 "p95_s": 1.0, "cpu_p50_s": 0.1, "ratio_p50": None})
    table = render_table({"meta": {}, "sections": {
        "load": {"title": "j. Served app", "rows": ws, "extra": {"hostile": {"p95_ratio": 1.08}}},
        "actions": {"title": "m. Interaction speed", "rows": acts, "extra": {}}}})
    served = [ln for ln in table.splitlines() if ln.startswith("| j.")]
    assert len(served) == 2  # N = 10 (N = 5 is left to the report) and the hostile upload
    assert "1.7 s / 1.8 s; 0 errors; 4.5 MB/session" in served[0] and "1 session: 200 ms / 300 ms" in served[0]
    assert "p95 6.00×" in served[0] and "1.08×" in served[1]
    click = next(ln for ln in table.splitlines() if ln.startswith("| m."))
    assert "p50 400 ms–500 ms" in click and "worst p95 1.0 s (new weight)" in click and "2.00×–4.00× p50" in click
    assert "p95 ≥ 1 s: new weight" in click and "(2 of the actions)" in click  # 1.0 s is not under 1 s
