#!/usr/bin/env python3
"""Runs the price-only stand-in rules (rules.py, README.md) in one peer engine on the embedded year
and prints ONE JSON line on stdout, in the shape `backtester bench --json` prints:

    {"engine", "version", "bar_events", "one_run_s", "bar_events_per_s", "grid_points", "grid_s",
     "threads", ...}

plus what only a peer has: load_s (reading the CSV, never counted in a run), compile_s (vectorbt:
the numba JIT warm-up), grid_s_single (the grid in one process), grid_s_estimated (backtrader,
whose grid_s is null: one run × grid points / processes, not measured),
trades (sell fills in the default run: each closes a FIFO slice of a position, as the Rust
simulator's Trade records do), entries (buy fills) and final_value.

    python peers.py --engine vectorbt
    python peers.py --engine backtrader --names 50     # development: the first 50 tickers
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rules import grid_points, load, load_config  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", required=True, choices=["backtrader", "vectorbt"])
    ap.add_argument("--names", type=int, default=None, help="only the first N tickers (development)")
    ap.add_argument("--chunk", type=int, default=16, help="vectorbt: grid points per from_order_func call")
    ap.add_argument("--grid-limit", type=int, default=None, help="vectorbt: run only the first N grid points")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="processes for the grid (vectorbt: measured; backtrader: the estimate assumes perfect "
                         "scaling over this many optstrategy processes); default: every core")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON line to this file")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    rules, grid = load_config()
    points = grid_points(grid)
    data, load_s = load(args.names)
    bar_events = data.bar_events
    out: dict = {"engine": args.engine}

    if args.engine == "vectorbt":
        import numba
        import vectorbt as vbt
        import vbt_peer

        res = vbt_peer.run(data, rules, points, chunk=args.chunk, jobs=args.jobs, grid_limit=args.grid_limit)
        one = res["one"]
        # The faster of one process and `jobs` processes is the peer's grid time; both are kept.
        fast_jobs = res["jobs"] if res["grid_s"] < res["grid_s_single"] else 1
        grid_s = min(res["grid_s"], res["grid_s_single"])
        out.update(
            version=vbt.__version__,
            numba=numba.__version__,
            bar_events=bar_events,
            one_run_s=res["one_run_s"],
            bar_events_per_s=bar_events / res["one_run_s"],
            grid_points=res["grid_points"],
            grid_s=grid_s,
            grid_s_estimated=None,
            grid_s_single=res["grid_s_single"],
            grid_s_jobs=res["grid_s"] if res["jobs"] > 1 else None,
            jobs=res["jobs"],
            grid_method=(f"Portfolio.from_order_func (flexible, numba), {res['chunk']} points per call as "
                         f"cash-sharing groups, {fast_jobs} process(es) (the faster of 1 and {res['jobs']})"),
            threads=fast_jobs,
            compile_s=res["compile_s"],
            indicators_s=one["indicators_s"],
            sim_s=one["sim_s"],
            repeats=one["repeats"],
            trades=one["trades"],
            entries=one["entries"],
            final_value=one["final_value"],
            grid_final_value_range=[res["grid_final_min"], res["grid_final_max"]],
            grid_distinct_outcomes=res["grid_distinct_outcomes"],
        )
    else:
        import backtrader as bt
        import bt_peer

        res = bt_peer.run(data, rules)
        assert res["sessions"] == len(data.dates), (res["sessions"], len(data.dates))
        one_run_s = res["one_run_s"]
        out.update(
            version=bt.__version__,
            bar_events=bar_events,
            one_run_s=one_run_s,
            bar_events_per_s=bar_events / one_run_s,
            grid_points=len(points),
            grid_s=None,
            grid_s_estimated=one_run_s * len(points) / args.jobs,
            grid_s_single=None,
            grid_s_single_estimated=one_run_s * len(points),
            grid_method=(f"estimated as one run x {len(points)} points / {args.jobs} process(es) "
                         "(cerebro.optstrategy with maxcpus, perfect scaling assumed)"),
            threads=args.jobs,
            compile_s=0.0,
            repeats=1,
            trades=res["trades"],
            entries=res["entries"],
            final_value=res["final_value"],
        )
    out.update(load_s=load_s, names=len(data.tickers), sessions=len(data.dates))
    line = json.dumps(out)
    print(line, flush=True)
    if args.out:
        args.out.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
