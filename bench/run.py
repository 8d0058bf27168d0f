"""``python -m bench.run``: the performance benchmark; writes bench/report.md and bench/report.json.

Sections (each runs in its own child process, one after the other, on its own empty cache)::

    encode     a. encoding throughput: full pipeline vs the model's forward pass
    eval       b. UPAIR evaluation: core.evaluation vs the official script's way
    index      c. nearest-neighbour search: exact flat vs the automatic index
    umap       d. UMAP maps: compute vs cached
    dashboard  e. server start-up to first render in Chromium; search re-runs
    sampling   f. candidate sampling: exact percentile bands vs the reference's per-query searches
    encoders   g. timm, PatentNet, sentence-transformers encoders: pipeline vs forward pass
    scale      h. shards on Ray vs local, indices at 1M (10M: the rows of `python -m bench.index10m`), maps of 100k / 1M points
    adapt      i. CLIP adaptation: training throughput vs the raw forward+backward pass
    load       j. the served app under N concurrent examiners (Streamlit websocket sessions), a hostile upload
    mappics    k. the Map with pictures at the points at 50k points: figure JSON, payload, render in Chromium
    explain    l. where two figures agree: part index build, part-level search, heatmaps
    actions    m. server time per click on a warm cache (star, + query, Use as query, view switch, slider, pager)

``--only index,umap`` picks sections (letters a-m work too); ``--quick`` uses small sizes
(about a minute in all) for smoke tests; ``--out DIR`` writes the report elsewhere.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .common import ROOT, Section, fmt, log, machine, md_table

SECTIONS = {
    "encode": "bench.encode",
    "eval": "bench.evaluation",
    "index": "bench.search",
    "umap": "bench.umap_bench",
    "dashboard": "bench.dashboard",
    "sampling": "bench.sampling",
    "encoders": "bench.encoders",
    "scale": "bench.scale",
    "adapt": "bench.adapt",
    "load": "bench.load",
    "mappics": "bench.map_pictures",
    "explain": "bench.explain",
    "actions": "bench.actions",
}
ALIASES = {"a": "encode", "b": "eval", "c": "index", "d": "umap", "e": "dashboard",
           "encoding": "encode", "evaluate": "eval", "evaluation": "eval", "search": "index", "maps": "umap",
           "map": "umap", "app": "dashboard", "f": "sampling", "sample": "sampling",
           "g": "encoders", "h": "scale", "ray": "scale", "i": "adapt", "adaptation": "adapt",
           "j": "load", "serve": "load", "k": "mappics", "pictures": "mappics", "l": "explain", "parts": "explain",
           "m": "actions", "clicks": "actions"}
DEFAULT_OUT = ROOT / "bench"


def parse_only(value: str | None) -> list[str]:
    if not value:
        return list(SECTIONS)
    names = []
    for part in value.split(","):
        part = part.strip().lower()
        if not part:
            continue
        name = ALIASES.get(part, part)
        if name not in SECTIONS:
            raise SystemExit(f"unknown section {part!r}; choose from {', '.join(SECTIONS)} (or a-m)")
        if name not in names:
            names.append(name)
    return [n for n in SECTIONS if n in names]


# ----------------------------------------------------------------------------- child
def _child(name: str, work: Path, result: Path, quick: bool) -> int:
    import importlib

    mod = importlib.import_module(SECTIONS[name])
    t0 = time.perf_counter()
    try:
        sec = mod.run(work, quick)
    except Exception as exc:  # noqa: BLE001 - reported in the report
        traceback.print_exc()
        sec = Section(name=name, title=name, error=f"{type(exc).__name__}: {exc}")
    sec.seconds = time.perf_counter() - t0
    result.write_text(json.dumps(sec.to_json(), default=_jsonable, indent=1))
    return 0


def _jsonable(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-able: {type(o).__name__}")


def _run_section(name: str, work: Path, quick: bool, timeout: float) -> Section:
    result = work / f"result-{name}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.run", "--child", name, "--work", str(work), "--result", str(result)]
    if quick:
        cmd.append("--quick")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("UPAIR_INDEX", None)
    t0 = time.perf_counter()
    load_start = os.getloadavg()[0]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
    wall = time.perf_counter() - t0
    if result.is_file():
        sec = Section.from_json(json.loads(result.read_text()))
    else:
        sec = Section(name=name, title=name, error=f"section process ended without a result (exit {rc})")
    sec.extra.update(process_s=wall, load_start=load_start, load_end=os.getloadavg()[0])
    return sec


# ----------------------------------------------------------------------------- report
def _summary(sections: dict[str, Section]) -> list[str]:
    out = []
    enc = sections.get("encode")
    if enc and enc.rows:
        out.append("Encoding pipeline vs forward pass: " + ", ".join(
            f"{r['encoder']} {fmt(r['ratio_pipeline_vs_forward'], 'ratio')}" for r in enc.rows))
    ev = sections.get("eval")
    if ev and ev.rows:
        out.append("Evaluation speed-up over the official way: " + ", ".join(
            f"{r['corpus']}/{r['model']} {fmt(r['ratio_fresh'], 'ratio')} fresh (bound "
            f"{fmt(r.get('speedup_bound'), 'ratio')}; {fmt(r.get('forward_share'), 'ratio')} of the bare forward's "
            f"throughput), {fmt(r.get('ratio_rescore_x'), 'ratio')} re-scoring, {fmt(r['ratio_warm'], 'ratio')} stored"
            for r in ev.rows))
    ix = sections.get("index")
    if ix and ix.extra.get("target"):
        t = ix.extra["target"]
        out.append(f"Search at {t['n']:,} clustered vectors: p50 {t['p50_ms']:.2f} ms, recall@10 "
                   f"{t['recall_at_10']:.3f} (target ≤ 5 ms and ≥ 0.95: {'met' if t['met'] else 'NOT met'})")
    um = sections.get("umap")
    if um and um.rows:
        r = um.rows[-1]
        out.append(f"UMAP {r['n']:,} points: {r['compute_s']:.1f} s to compute, {r['cached_ms']:.1f} ms cached")
    da = sections.get("dashboard")
    if da and da.rows:
        first = next((r for r in da.rows if r["step"].startswith("server launch → first page")), None)
        if first:
            out.append(f"Dashboard: first page rendered {first['seconds']:.1f} s after launching the server")
    sa = sections.get("sampling")
    if sa and sa.extra.get("target"):
        t = sa.extra["target"]
        out.append(f"Sampling thresholds at 1M figures × 120 queries × 6 indices (extrapolated from "
                   f"{t['measured_n']:,}): {t['ours_s'] / 60:.1f} min, {fmt(t['ratio'], 'ratio')} the reference's way")
    lo = sections.get("load")
    if lo and lo.rows:
        main = [r for r in lo.rows if not r["action"].startswith("search,") and r.get("driver", "ws") != "chromium"
                and not r.get("think_s")] or [r for r in lo.rows if not r["action"].startswith("search,")]
        top = max(r["n"] for r in main)
        srch = next((r for r in main if r["n"] == top and r["action"] == "upload + search"), None)
        hostile = lo.extra.get("hostile", {}).get("p95_ratio")
        if srch and srch["p95_ms"] is not None:
            out.append(f"Served app, {top} concurrent examiners: upload + search p95 {srch['p95_ms'] / 1e3:.1f} s "
                       f"({fmt(srch['ratio_p95_vs_1'], 'ratio')} the p95 of one), RSS growth "
                       f"{srch['rss_growth_mb_per_session']:.0f} MB/session"
                       + (f"; a hostile upload slows others' search p95 {fmt(hostile, 'ratio')}" if hostile else ""))
    return out


def write_report(out: Path, meta: dict, sections: dict[str, Section]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "sections": {k: v.to_json() for k, v in sections.items()}}
    tmp = out / ".report.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, default=_jsonable))
    os.replace(tmp, out / "report.json")
    v = meta["versions"]
    lines = [
        "# UPAIR Explorer — performance report",
        "",
        f"*Generated by `{meta['command']}` on {meta['date']}" + (" — QUICK mode (small sizes)" if meta["quick"] else "")
        + ".*",
        "",
        f"- **Machine**: {meta['cores']} cores ({meta['cpu'] or 'unknown CPU'}), {meta['ram_gib']} GiB RAM, "
        f"{meta['gpu']}; {meta['os']}, Python {meta['python']}",
        f"- **Load average** (1/5/15 min) at start {_la(meta['loadavg'])}, at end {_la(meta.get('loadavg_end'))} "
        "— the machine is shared, so timings carry that noise",
        "- **Versions**: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- **Total time**: {meta.get('total_s', 0):.0f} s; sections: "
        + ", ".join(f"{k} {s.extra.get('process_s', s.seconds):.0f} s" for k, s in sections.items()),
        "",
    ]
    summary = _summary(sections)
    if summary:
        lines += ["## Summary", ""] + [f"- {s}" for s in summary] + [""]
    for sec in sections.values():
        lines += [f"## {sec.title}", ""]
        if sec.error:
            lines += [f"**This section failed:** `{sec.error}`", ""]
        if sec.method:
            lines += [sec.method, ""]
        if sec.rows:
            lines += [md_table(sec), ""]
        for n in sec.notes:
            lines.append(f"- {n}")
        if sec.notes:
            lines.append("")
    tmp = out / ".report.md.tmp"
    tmp.write_text("\n".join(lines))
    os.replace(tmp, out / "report.md")


def _la(v) -> str:
    return "/".join(f"{x:.2f}" for x in v) if v else "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated sections: " + ", ".join(SECTIONS) + " (or a-m)")
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute) for smoke tests")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for report.md and report.json")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a new temporary folder, removed after)")
    ap.add_argument("--keep-work", action="store_true", help="keep the scratch folder (caches, checkpoints)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per section (default 600 quick, 3600 full)")
    ap.add_argument("--no-readme", action="store_true",
                    help="do not rewrite README.md's performance table (a full default run does)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        return _child(args.child, args.work, args.result, args.quick)

    names = parse_only(args.only)
    work = args.work or Path(tempfile.mkdtemp(prefix="upair-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    meta = machine()
    meta["quick"] = bool(args.quick)
    meta["command"] = "python -m bench.run" + (f" --only {','.join(names)}" if args.only else "") + \
        (" --quick" if args.quick else "")
    timeout = args.timeout or (600 if args.quick else 3600)
    t0 = time.perf_counter()
    sections: dict[str, Section] = {}
    try:
        for name in names:
            log(f"section {name} ...")
            sec = _run_section(name, work, args.quick, timeout)
            sections[name] = sec
            log(f"section {name}: {'FAILED ' + sec.error if sec.error else 'done'} "
                f"({sec.extra.get('process_s', 0):.0f} s)")
            meta["total_s"] = time.perf_counter() - t0
            meta["loadavg_end"] = list(os.getloadavg())
            write_report(args.out, meta, sections)
    finally:
        if not args.keep_work and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    log(f"report written to {args.out / 'report.md'} and report.json ({time.perf_counter() - t0:.0f} s)")
    if not args.quick and not args.only and args.out == DEFAULT_OUT and not args.no_readme:
        from .readme import main as readme_main  # one full run regenerates the README's table

        readme_main(["--report", str(args.out / "report.json")])
    return 1 if any(s.error for s in sections.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
