"""The backtester's tear sheet recomputed with empyrical-reloaded on the same return series.

usage: tearsheet.py IN.json OUT.json   (IN: {"returns": [...], "benchmark": [...]})
"""
import json
import sys

import empyrical as ep
import numpy as np

src, out = sys.argv[1:3]
d = json.load(open(src))
r = np.array(d["returns"], dtype=float)
b = np.array(d["benchmark"], dtype=float)
alpha, beta = ep.alpha_beta(r, b)
json.dump(
    {
        "total_return": float(ep.cum_returns_final(r)),
        "benchmark_total_return": float(ep.cum_returns_final(b)),
        "annual_return": float(ep.annual_return(r)),
        "annual_volatility": float(ep.annual_volatility(r)),
        "sharpe": float(ep.sharpe_ratio(r)),
        "sortino": float(ep.sortino_ratio(r)),
        "max_drawdown": float(ep.max_drawdown(r)),
        "calmar": float(ep.calmar_ratio(r)),
        "alpha": float(alpha),
        "beta": float(beta),
    },
    open(out, "w"),
)
