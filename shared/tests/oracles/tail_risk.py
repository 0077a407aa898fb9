"""An independent block bootstrap of twenty years of index returns, with empyrical's VaR and CVaR.

usage: tail_risk.py SPX.csv.gz OUT.json
The paths are drawn with SplitMix64 (the published generator; the same stream the Rust side
seeds) and Lemire's multiply-shift for the block starts; each path compounds `horizon` sessions
taken in blocks of `block` consecutive sessions, wrapping at the end of the history. Writes the
returns it used next to the values, so the Rust side computes on the same numbers.
"""
import json
import sys

import empyrical as ep
import numpy as np
import pandas as pd
from scipy import stats

spx_path, out = sys.argv[1:3]
r = pd.read_csv(spx_path, parse_dates=["date"]).set_index("date")["close"].pct_change().dropna().to_numpy()
M = 2**64


class SplitMix64:
    def __init__(self, seed):
        self.s = seed % M

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) % M
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % M
        return z ^ (z >> 31)

    def below(self, n):
        return (self.next() * n) >> 64


cases = []
for paths, horizon, block, seed in [(5000, 1, 1, 1), (5000, 10, 5, 42), (3000, 10, 10, 7)]:
    g = SplitMix64(seed)
    n = len(r)
    sample = np.empty(paths)
    for p in range(paths):
        growth = 1.0
        left = horizon
        while left > 0:
            start = g.below(n)
            take = min(block, left)
            for k in range(take):
                growth *= 1.0 + r[(start + k) % n]
            left -= take
        sample[p] = growth - 1.0
    cases.append({
        "paths": paths, "horizon": horizon, "block": block, "seed": seed,
        "first": sample[:5].tolist(),
        "var_1": float(ep.value_at_risk(sample, 0.01)),
        "cvar_1": float(ep.conditional_value_at_risk(sample, 0.01)),
        "var_5": float(ep.value_at_risk(sample, 0.05)),
        "cvar_5": float(ep.conditional_value_at_risk(sample, 0.05)),
    })
kupiec = []
for x, n, p in [(0, 250, 0.01), (3, 250, 0.01), (9, 250, 0.01), (25, 500, 0.05), (60, 500, 0.05), (500, 500, 0.05)]:
    # Kupiec (1995) proportion of failures, written from the paper's likelihood ratio.
    def ll(q):
        a = (n - x) * np.log(1 - q) if n - x > 0 else 0.0
        b = x * np.log(q) if x > 0 else 0.0
        return a + b
    lr = max(-2.0 * (ll(p) - ll(x / n)), 0.0)
    kupiec.append({"x": x, "n": n, "p": p, "lr": float(lr), "pvalue": float(stats.chi2.sf(lr, 1))})
json.dump({"returns": r.tolist(), "cases": cases, "kupiec": kupiec}, open(out, "w"))
