"""``python -m bench.readme``: the README's performance table, rendered from one bench report.

Every row comes from ``bench/report.json`` — one ``make bench`` run — and names its section, both
sides, the repetitions, the spread and the machine's load (1-minute load average at the start and
the end of that section's process). The table is written between the markers
``<!-- bench:table -->`` and ``<!-- /bench:table -->`` of README.md (nothing else is touched);
``bench.run`` does this at the end of a full run (all sections, default sizes, default folder).

A section contributes rows through ``Section.extra["headline"]`` (a list of dicts with ``what``,
``ours``, ``baseline``, ``ratio``, optional ``reps``, ``spread``, ``extrapolated``), or through an
extractor here (``EXTRACTORS``) that reads its rows; a section with neither is listed as such.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable

from .common import ROOT

BEGIN, END = "<!-- bench:table -->", "<!-- /bench:table -->"
HEADER = ("| section | what | ours | baseline | ours vs baseline | reps · spread | load (start → end) |\n"
          "| --- | --- | --- | --- | ---: | --- | --- |")


def _x(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}×" if v >= 100 else (f"{v:.1f}×" if v >= 10 else f"{v:.2f}×")


def _s(v: float | None) -> str:
    if v is None:
        return "—"
    if v < 0.01:
        return f"{v * 1e3:.2f} ms"
    if v < 1:
        return f"{v * 1e3:.0f} ms"
    return f"{v:.1f} s" if v < 100 else f"{v:.0f} s"


def _spread(runs: list | None) -> str:
    if not runs:
        return "1 run"
    runs = [r for r in runs if r is not None]
    return f"{len(runs)} · {_s(min(runs))}–{_s(max(runs))}"


# ----------------------------------------------------------------------------- extractors
def _encode(sec: dict) -> list[dict]:
    out = []
    for r in sec.get("rows", []):
        out.append({"what": f"encoding pipeline vs bare forward, {r['encoder']}, {r['images']} figures",
                    "ours": f"{r['pipeline_ips']:.1f} img/s", "baseline": f"{r['forward_ips']:.1f} img/s",
                    "ratio": _x(r["forward_s"] / r["pipeline_s"]) + " throughput",
                    "reps": _spread(r.get("pipeline_runs_s")) + " (pipeline); "
                    + _spread(r.get("forward_runs_s")) + " (forward)"})
    return out


def _eval(sec: dict) -> list[dict]:
    out = []
    for r in sec.get("rows", []):
        base = f"{r['model']}, {r['pairs']} pairs"
        out.append({"what": f"UPAIR evaluation fresh (empty cache), {base}", "ours": _s(r["ours_fresh_s"]),
                    "baseline": f"official run.py {_s(r['official_s'])}",
                    "ratio": f"{_x(r['ratio_fresh'])} (bound {_x(r.get('speedup_bound'))})",
                    "reps": f"{_spread(r.get('ours_fresh_runs_s'))} / {_spread(r.get('official_runs_s'))}"})
        if r.get("bare_forward_s") is not None:
            out.append({"what": f"evaluation encode+score vs bare batched forward over the same "
                                f"{r['unique_images']} figures + {r['unique_texts']} texts, {r['model']}",
                        "ours": _s(r["ours_encode_s"]), "baseline": _s(r["bare_forward_s"]),
                        "ratio": f"{r['forward_share']:.2f} of forward throughput",
                        "reps": f"{_spread(r.get('ours_encode_runs_s'))} / {_spread(r.get('bare_forward_runs_s'))}"})
            slowest = max(r["warm_weight_s"], r["warm_judgements_s"], r["warm_protocol_s"])
            out.append({"what": f"evaluation re-scoring (new weight / judgements / protocol), {r['model']}",
                        "ours": f"{_s(r['warm_weight_s'])} / {_s(r['warm_judgements_s'])} / "
                                f"{_s(r['warm_protocol_s'])}",
                        "baseline": f"official run.py {_s(r['official_s'])}",
                        "ratio": _x(r["official_s"] / slowest) + " (slowest)",
                        "reps": _spread((r.get("warm_runs_s") or {}).get("weight"))})
    return out


def _scale(sec: dict) -> list[dict]:
    rows = [r for r in sec.get("rows", []) if r.get("part") == "encode"]
    local = next((r for r in rows if r["what"] == "local engine"), None)
    out = []
    for r in rows:
        if not r["what"].startswith("Ray") or local is None:
            continue
        out.append({"what": f"`--engine ray` ({r['what']}) vs `--engine local`, {r['n']} figures in shards",
                    "ours": f"{_s(r['seconds'])} (actors ready {_s(r.get('actors_ready_s'))}; "
                            f"ray.init {_s(r.get('ray_init_s'))} once)",
                    "baseline": _s(local["seconds"]),
                    "ratio": _x(local["seconds"] / r["seconds"]) + (" — slower only by start-up"
                                                                     if r.get("within_startup") else
                                                                     " — slower than start-up explains"),
                    "reps": f"{_spread(r.get('runs_s'))} / {_spread(local.get('runs_s'))}"})
    exact10m = next((r for r in sec.get("rows", []) if r.get("part") == "10M (measured)"
                     and r.get("p95_ms") is None), None)
    for r in sec.get("rows", []):  # the 10M index rows come from `python -m bench.index10m` (bench/index10m.json)
        built = r.get("part") == "10M (measured)" and r.get("p95_ms") is not None
        rule = r.get("part", "").startswith("10M (measured, query-time") and "automatic choice" in r["what"]
        if built or rule:
            what = (f"index at 10M: {r['what']}" if built else
                    f"index at 10M, the same built index searched with today's automatic setting: {r['what']}")
            base = (f"exact, streamed (p50 {exact10m['p50_ms']:,.0f} ms)" if exact10m else "exact, streamed")
            out.append({"what": what, "ours": f"p50 {r['p50_ms']:.2f} ms, recall@10 {r['recall_at_10']:.3f}, "
                        f"{r['memory_mb']:,.0f} MB whole", "baseline": base,
                        "ratio": _x(r.get("ratio")) + " p50", "reps": "one run (opt-in `python -m bench.index10m`)"})
    for label in ("hog-geometry", "clustered"):
        t = sec.get("extra", {}).get(f"target_{label}")
        if t:
            out.append({"what": f"search, automatic index at 1M {label} vectors (target recall@10 "
                        f"{'0.95' if label == 'hog-geometry' else '0.99'}, p50 ≤ 2 ms)",
                        "ours": f"p50 {t['p50_ms']:.2f} ms, recall@10 {t['recall_at_10']:.3f}",
                        "baseline": "exact flat (report.md §h)", "ratio": "met" if t["met"] else "NOT met"})
    return out


def _summary_only(key: str, fmt: Callable[[dict], dict | None]) -> Callable[[dict], list[dict]]:
    def get(sec: dict) -> list[dict]:
        row = fmt(sec)
        return [row] if row else []
    return get


def _index(sec: dict) -> dict | None:
    t = sec.get("extra", {}).get("target")
    if not t:
        return None
    return {"what": f"search, automatic index at {t['n']:,} clustered vectors", "ours":
            f"p50 {t['p50_ms']:.2f} ms, recall@10 {t['recall_at_10']:.3f}", "baseline": "exact flat (report.md §c)",
            "ratio": "target met" if t["met"] else "target NOT met", "reps": "1 run"}


def _umap(sec: dict) -> dict | None:
    rows = sec.get("rows") or []
    if not rows:
        return None
    r = rows[-1]
    return {"what": f"UMAP map of {r['n']:,} points, cached vs computed", "ours": _s(r["cached_ms"] / 1e3),
            "baseline": _s(r["compute_s"]), "ratio": _x(r["compute_s"] / max(r["cached_ms"] / 1e3, 1e-9)),
            "reps": "1 run"}


def _sampling(sec: dict) -> dict | None:
    t = sec.get("extra", {}).get("target")
    if not t:
        return None
    return {"what": f"sampling thresholds, {t['n']:,} figures × {t['queries']} queries × {t['indices']} indices",
            "ours": f"{t['ours_s'] / 60:.1f} min", "baseline": "the reference's per-query searches",
            "ratio": _x(t.get("ratio")), "reps": "1 run",
            "extrapolated": f"extrapolated from {t.get('measured_n', 0):,} measured"}


def _dashboard(sec: dict) -> list[dict]:
    rows = {r["step"]: r["seconds"] for r in sec.get("rows", [])}
    first = next((v for k, v in rows.items() if "first page fully rendered" in k), None)
    rerun = next((v for k, v in rows.items() if "re-run, same query" in k), None)
    search = next((v for k, v in rows.items() if "first search" in k), None)
    if first is None:
        return []
    return [{"what": "dashboard, warm cache: server launch → first page fully rendered in Chromium; "
                     "a search re-run (AppTest)", "ours": f"{_s(first)}; re-run {_s(rerun)}",
             "baseline": f"first search {_s(search)}", "ratio": _x(search / rerun) if search and rerun else "—"}]


def _adapt(sec: dict) -> list[dict]:
    return [{"what": f"CLIP adaptation, {r['model']}, batch {r['batch']}: open_clip_train's loop vs bare "
                     "forward + loss + backward + AdamW", "ours": f"{r['ours_pps']:.3g} pairs/s",
             "baseline": f"{r['raw_pps']:.3g} pairs/s", "ratio": _x(r["ours_pps"] / r["raw_pps"]) + " throughput"}
            for r in sec.get("rows", [])]


def _served(sec: dict) -> list[dict]:
    rows = [r for r in sec.get("rows", []) if r.get("driver") == "ws" and r.get("action") == "upload + search"]
    one = {r["think_s"]: r for r in rows if r["n"] == 1}
    out = []
    for r in rows:
        if r["n"] not in (10, 20):
            continue
        base = one.get(r["think_s"])
        out.append({"what": f"served app (`make serve`), {r['n']} concurrent examiner sessions, think "
                            f"{r['think_s']:g} s: upload + search with 3 encoders, p50 / p95; errors; RSS growth",
                    "ours": f"{_s(r['p50_ms'] / 1e3)} / {_s(r['p95_ms'] / 1e3)}; {r['errors']} errors; "
                            f"{r['rss_growth_mb_per_session']:.1f} MB/session",
                    "baseline": (f"1 session: {_s(base['p50_ms'] / 1e3)} / {_s(base['p95_ms'] / 1e3)}"
                                 if base else "—"),
                    "ratio": f"p95 {_x(r['ratio_p95_vs_1'])}", "reps": f"{r['samples']} searches"})
    hostile = (sec.get("extra") or {}).get("hostile") or {}
    if hostile.get("p95_ratio") is not None:
        out.append({"what": "others' search p95 while one session uploads a 19.7 MB image and a decompression bomb",
                    "ours": "beside the hostile uploads", "baseline": "alone", "ratio": _x(hostile["p95_ratio"])})
    return out


def _actions(sec: dict) -> list[dict]:
    rows = sec.get("rows", [])
    if not rows:
        return []
    worst = max(rows, key=lambda r: r["p95_s"])
    cpu = max(rows, key=lambda r: r["cpu_p50_s"])
    had = [r for r in rows if r.get("before_p50_s") is not None and r.get("ratio_p50") is not None]
    over = [r["action"] for r in rows if r["p95_s"] >= 1.0]
    return [{"what": f"server time per click on a warm cache, {len(rows)} actions (star, + query, Use as query, "
                     "view switch, slider steps, pager) in Chromium",
             "ours": f"p50 {_s(min(r['p50_s'] for r in rows))}–{_s(max(r['p50_s'] for r in rows))}; worst p95 "
                     f"{_s(worst['p95_s'])} ({worst['action']}); server CPU p50 ≤ {_s(cpu['cpu_p50_s'])}"
                     + (f"; p95 ≥ 1 s: {', '.join(over)}" if over else "; every p95 < 1 s"),
             "baseline": (f"before partial reruns ({len(had)} of the actions): p50 "
                          f"{_s(min(r['before_p50_s'] for r in had))}–{_s(max(r['before_p50_s'] for r in had))}"
                          if had else "—"),
             "ratio": (f"{_x(min(r['ratio_p50'] for r in had))}–{_x(max(r['ratio_p50'] for r in had))} p50"
                       if had else "—"),
             "reps": f"{rows[0]['n']} per action"}]


def _explain(sec: dict) -> list[dict]:
    return [{"what": f"part-level search, {r['encoder']}, {r['corpus']}: one region query / one heatmap",
             "ours": f"{r['search_ms']:,.0f} ms / {r['explain_ms']:,.0f} ms",
             "baseline": f"building the part index {_s(r['build_s'])}",
             "ratio": f"{_x(r['ratio_build_vs_warm'])} warm load vs build"}
            for r in sec.get("rows", []) if str(r.get("corpus", "")).startswith("demo")]


EXTRACTORS: dict[str, Callable[[dict], list[dict]]] = {
    "encode": _encode, "eval": _eval, "scale": _scale,
    "index": _summary_only("index", _index), "umap": _summary_only("umap", _umap),
    "sampling": _summary_only("sampling", _sampling), "dashboard": _dashboard, "adapt": _adapt,
    "load": _served, "actions": _actions, "explain": _explain,
}


# ----------------------------------------------------------------------------- table
def _load(sec: dict) -> str:
    a, b = sec.get("extra", {}).get("load_start"), sec.get("extra", {}).get("load_end")
    if a is None:
        return "?"
    return f"{a:.1f} → {b:.1f}" if b is not None else f"{a:.1f}"


def _cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_table(report: dict) -> str:
    """The markdown table (header, one row per headline, a provenance line) of one report."""
    meta = report.get("meta", {})
    lines = [HEADER]
    for name, sec in report.get("sections", {}).items():
        title = sec.get("title", name).split(":")[0]
        if sec.get("error"):
            lines.append(f"| {_cell(title)} | the section failed: {_cell(sec['error'][:120])} | — | — | — | — | "
                         f"{_load(sec)} |")
            continue
        rows = sec.get("extra", {}).get("headline") or EXTRACTORS.get(name, lambda s: [])(sec)
        if not rows:
            lines.append(f"| {_cell(title)} | no headline row; see `bench/report.md` | — | — | — | — | "
                         f"{_load(sec)} |")
        for r in rows:
            what = r["what"] + (f" (**{r['extrapolated']}**)" if r.get("extrapolated") else "")
            lines.append("| " + " | ".join(_cell(c) for c in (title, what, r.get("ours", "—"),
                                                                 r.get("baseline", "—"), r.get("ratio", "—"),
                                                                 r.get("reps", "1 run"), _load(sec))) + " |")
    la = meta.get("loadavg") or [None]
    lines.append("")
    lines.append(f"*From one `{meta.get('command', 'make bench')}` run on {meta.get('date', '?')}"
                 f"{' (QUICK sizes)' if meta.get('quick') else ''}: {meta.get('cores', '?')} cores, "
                 f"{meta.get('gpu', '?')}, load {la[0] if la[0] is None else round(la[0], 1)} at the start; "
                 f"{round(meta.get('total_s', 0))} s in all. Both sides of every row ran in that run, interleaved "
                 "where reps > 1 (ours / baseline); spreads are min–max. GPU rows: unmeasured (no GPU).*")
    return "\n".join(lines)


def update_readme(readme: Path, table: str) -> bool:
    """Replace what lies between the markers in ``readme`` with ``table``; False when the
    markers are missing (nothing written). Written atomically."""
    text = readme.read_text()
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < a:
        return False
    new = text[:a + len(BEGIN)] + "\n" + table + "\n" + text[b:]
    if new != text:
        tmp = readme.with_name(f".{readme.name}.tmp")
        tmp.write_text(new)
        os.replace(tmp, readme)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.readme", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", type=Path, default=ROOT / "bench" / "report.json")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    ap.add_argument("--print", action="store_true", help="print the table instead of writing the README")
    args = ap.parse_args(argv)
    try:
        report = json.loads(args.report.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read the bench report {args.report}: {exc}")
    table = render_table(report)
    if args.print:
        print(table)
        return 0
    if not update_readme(args.readme, table):
        raise SystemExit(f"{args.readme} has no {BEGIN} … {END} markers")
    print(f"performance table of {args.report} written into {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

