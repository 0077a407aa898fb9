"""The factor model's cross-sectional regressions refitted by statsmodels, and its exponentially
weighted factor covariance and specific variances recomputed with numpy.

usage: risk_model.py IN.json OUT.json
IN holds, from the Rust side's model of the embedded year: some sessions' regressand y and design
columns X; every fitted session's factor returns, names and residuals; the half-life, the number
of sessions and the fewest residuals for a name's own specific variance. OUT holds, per case,
statsmodels' params, resid and rsquared (OLS without an added constant: the sector dummies span
it, which statsmodels detects), the covariance and the specific variances (None for names with
too few residuals, which the model floors at the cross-sectional median).
"""
import json
import sys

import numpy as np
import statsmodels.api as sm

src, out = sys.argv[1:3]
d = json.load(open(src))

cases = []
for c in d["cases"]:
    y = np.asarray(c["y"])
    X = np.column_stack([np.asarray(col) for col in c["x"]])
    fit = sm.OLS(y, X).fit()
    cases.append({
        "session": c["session"],
        "params": fit.params.tolist(),
        "resid": fit.resid.tolist(),
        "rsquared": float(fit.rsquared),
        "k_constant": int(fit.model.k_constant),
    })

# Weight 0.5 ** (age / half-life), age in sessions before the panel's last session.
last = d["sessions"] - 1
days = d["days"]
w = np.array([0.5 ** ((last - day["session"]) / d["half_life"]) for day in days])
f = np.array([day["factor_returns"] for day in days])
cov = (f * w[:, None]).T @ f / w.sum()

num = np.zeros(d["n_names"])
den = np.zeros(d["n_names"])
cnt = np.zeros(d["n_names"], dtype=int)
for wt, day in zip(w, days):
    idx = np.asarray(day["names"], dtype=int)
    e = np.asarray(day["residuals"])
    np.add.at(num, idx, wt * e * e)
    np.add.at(den, idx, wt)
    np.add.at(cnt, idx, 1)
specific = [float(num[i] / den[i]) if cnt[i] >= d["min_specific_obs"] else None for i in range(d["n_names"])]

json.dump({"cases": cases, "covariance": cov.tolist(), "specific": specific}, open(out, "w"))
