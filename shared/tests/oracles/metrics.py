"""Independent performance and forecast metrics on real series (empyrical, scipy, statsmodels).

usage: metrics.py SPX.csv.gz BARS.csv.gz OUT.json
Writes the input series it used next to the values, so the Rust side computes on the same numbers.
"""
import json
import sys

import empyrical as ep
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

spx_path, bars_path, out = sys.argv[1:4]
spx = pd.read_csv(spx_path, parse_dates=["date"]).set_index("date")["close"]
bars = pd.read_csv(bars_path, parse_dates=["date"])
closes = bars.pivot(index="date", columns="ticker", values="close").sort_index()

series = {}
# 1. twenty years of index returns; 2. one stock against the index over the embedded year.
series["spx_1999_2018"] = spx.pct_change().dropna()
year = closes.index
aapl = closes["AAPL"].pct_change().dropna()
bench = spx.reindex(year).pct_change().dropna().reindex(aapl.index)
series["aapl_2009_2010"] = aapl
series["spx_2009_2010"] = bench


def perf(r, b=None):
    r = r.to_numpy()
    d = {
        "total_return": float(ep.cum_returns_final(r)),
        "annual_return": float(ep.annual_return(r)),
        "annual_volatility": float(ep.annual_volatility(r)),
        "sharpe": float(ep.sharpe_ratio(r)),
        "sharpe_rf": float(ep.sharpe_ratio(r, risk_free=0.0001)),
        "sortino": float(ep.sortino_ratio(r)),
        "downside_risk": float(ep.downside_risk(r)),
        "max_drawdown": float(ep.max_drawdown(r)),
        "calmar": float(ep.calmar_ratio(r)),
        "var_5": float(ep.value_at_risk(r, 0.05)),
        "cvar_5": float(ep.conditional_value_at_risk(r, 0.05)),
    }
    if b is not None:
        a, be = ep.alpha_beta(r, b.to_numpy())
        d["alpha"], d["beta"] = float(a), float(be)
    return d


values = {
    "spx_1999_2018": perf(series["spx_1999_2018"]),
    "aapl_2009_2010": perf(series["aapl_2009_2010"], series["spx_2009_2010"]),
}

# Cross-sectional ICs: past 5-day return vs next 5-day return across names, every 5th day.
past = closes.pct_change(5, fill_method=None)
fwd = closes.shift(-5) / closes - 1
ic_inputs, ics, rank_ics = [], [], []
for i in range(30, len(year) - 5, 5):
    x, y = past.iloc[i], fwd.iloc[i]
    ok = x.notna() & y.notna()
    x, y = x[ok].to_numpy(), y[ok].to_numpy()
    ic_inputs.append({"forecast": x.tolist(), "outcome": y.tolist()})
    ics.append(float(stats.pearsonr(x, y)[0]))
    rank_ics.append(float(stats.spearmanr(x, y)[0]))
icir = float(np.mean(rank_ics) / np.std(rank_ics, ddof=1))

wilson = []
for k, n in [(81, 263), (0, 10), (10, 10), (55, 100), (1, 3), (512, 1000)]:
    for conf in (0.90, 0.95, 0.99):
        lo, hi = proportion_confint(k, n, alpha=1 - conf, method="wilson")
        wilson.append({"k": k, "n": n, "confidence": conf, "lo": float(lo), "hi": float(hi)})

with open(out, "w") as f:
    json.dump(
        {
            "series": {k: v.tolist() for k, v in series.items()},
            "values": values,
            "ic": {"inputs": ic_inputs, "ic": ics, "rank_ic": rank_ics, "icir_rank": icir},
            "wilson": wilson,
        },
        f,
    )
