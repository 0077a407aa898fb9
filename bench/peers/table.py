#!/usr/bin/env python3
"""Merges the engines' JSON lines into results.json and results.md (and the results block of
README.md), and prints the Markdown table.

    python table.py out/alpha-engine.json out/backtrader.json out/vectorbt.json

A file that is missing or empty is left out (e.g. `run.sh --only-peers` without our JSON); the
ratio columns need our line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def read_line(path: Path) -> dict | None:
    if not path.is_file():
        return None
    lines = [ln for ln in path.read_text().splitlines() if ln.strip().startswith("{")]
    return json.loads(lines[-1]) if lines else None


def our_version() -> str:
    try:
        v = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        v = "?"
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        return f"{v} ({rev})"
    except (OSError, subprocess.CalledProcessError):
        return v


def cpu_model() -> str:
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def secs(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def times(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 1 else f"{x:.2f}×"


def grid_time(e: dict) -> tuple[float | None, bool]:
    if e.get("grid_s") is not None:
        return float(e["grid_s"]), False
    if e.get("grid_s_estimated") is not None:
        return float(e["grid_s_estimated"]), True
    return None, False


def build(engines: list[dict]) -> tuple[dict, str]:
    ours = next((e for e in engines if e.get("engine") == "alpha-engine"), None)
    if ours is not None and not ours.get("version"):
        ours["version"] = our_version()
    rows = []
    for e in engines:
        g, est = grid_time(e)
        row = dict(e)
        if ours is not None and e is not ours:
            og, _ = grid_time(ours)
            row["ours_vs_peer_run"] = (ours["bar_events_per_s"] / e["bar_events_per_s"]) if e.get("bar_events_per_s") else None
            row["ours_vs_peer_grid"] = (g / og) if (g and og) else None
            row["ours_vs_peer_grid_estimated"] = est
        rows.append(row)
    meta = dict(
        measured_utc=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        cpu=cpu_model(),
        cores=os.cpu_count(),
        loadavg=Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None,
        python=platform.python_version(),
        data="data/sp500_2009_2010_ohlcv.csv.gz (524 names, 2009-08-21..2010-08-20)",
    )
    result = dict(meta=meta, engines=rows)

    head = ("| engine | version | bar-events | one run (s) | bar-events/s | grid points | grid (s) | threads "
            "| trades | ours vs peer, run | ours vs peer, grid |")
    out = [head, "|" + "---|" * 11]
    for r in rows:
        g, est = grid_time(r)
        gs = (f"~{secs(g)} (est.)" if est else secs(g))
        vr = times(r.get("ours_vs_peer_run")) if "ours_vs_peer_run" in r else "—"
        vg = r.get("ours_vs_peer_grid")
        vg = ("~" + times(vg) if r.get("ours_vs_peer_grid_estimated") and vg else times(vg)) if "ours_vs_peer_grid" in r else "—"
        out.append(
            f"| {r['engine']} | {r.get('version', '?')} | {r.get('bar_events', 0):,} | {secs(r.get('one_run_s'))} "
            f"| {r.get('bar_events_per_s', 0):,.0f} | {r.get('grid_points', 0):,} | {gs} | {r.get('threads', '?')} "
            f"| {r.get('trades', '—') if r.get('trades') is not None else '—'} | {vr} | {vg} |"
        )
    notes = []
    for r in rows:
        if r["engine"] == "alpha-engine":
            bits = []
            if r.get("prepare_s") is not None:
                bits.append(f"the prepare step (market views, candidates) took {secs(r['prepare_s'])} s and is "
                            "not part of the one run")
            if r.get("repeats"):
                bits.append(f"the one run is the best of {r['repeats']}")
            if r.get("peak_rss_mb") is not None:
                bits.append(f"peak memory {r['peak_rss_mb']:,.0f} MB")
            if bits:
                notes.append("- alpha-engine: " + "; ".join(bits) + ".")
        if r["engine"] == "vectorbt":
            notes.append(
                f"- vectorbt {r.get('version')} (numba {r.get('numba', '?')}): the numba JIT took "
                f"{secs(r.get('compile_s'))} s before the timed runs (not counted); the one run (best of "
                f"{r.get('repeats', 1)}) is {secs(r.get('indicators_s'))} s of indicators and score and "
                f"{secs(r.get('sim_s'))} s of simulation; grid: {r.get('grid_method')}; "
                f"one process {secs(r.get('grid_s_single'))} s"
                + (f", {r.get('jobs')} processes {secs(r.get('grid_s_jobs'))} s" if r.get("grid_s_jobs") else "")
                + "."
            )
        elif r["engine"] == "backtrader":
            notes.append(
                f"- backtrader {r.get('version')}: one run (indicators are computed inside `cerebro.run()`); "
                f"the grid is not run (about {secs(r.get('grid_s_single_estimated'))} s in one process); "
                f"{r.get('grid_method')}."
            )
        if r.get("load_s") is not None:
            what = (
                "importing the CSV into a bus and replaying research's weekly signals"
                if r["engine"] == "alpha-engine"
                else "reading the CSV"
            )
            notes.append(f"- {r['engine']}: {what} took {secs(r['load_s'])} s (not counted).")
    if ours is None:
        notes.append("- alpha-engine: no result (run without `--only-peers`, or pass our JSON); no ratios.")
    la = meta["loadavg"]
    md = "\n".join(
        [
            f"Measured {meta['measured_utc']} on {meta['cpu']}, {meta['cores']} cores"
            + (f" (load average at the end {' '.join(la)})" if la else "")
            + f", Python {meta['python']}.",
            "",
            *out,
            "",
            "Ratios: run = our bar-events/s ÷ the peer's; grid = the peer's grid seconds ÷ ours (above 1: ours "
            "is faster). Trades: sell fills in the default-parameter run.",
            "",
            *notes,
        ]
    )
    return result, md


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--no-readme", action="store_true", help="leave README.md's results block alone")
    args = ap.parse_args()
    engines = [e for e in (read_line(p) for p in args.files) if e]
    if not engines:
        print("table.py: no results to merge", file=sys.stderr)
        return 1
    result, md = build(engines)
    (HERE / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (HERE / "results.md").write_text("# Speed: alpha-engine vs backtrader and vectorbt\n\n" + md + "\n")
    readme = HERE / "README.md"
    if not args.no_readme and readme.is_file():
        text = readme.read_text()
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: f"{BEGIN}\n{md}\n{END}", text, flags=re.S)
            readme.write_text(text)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
