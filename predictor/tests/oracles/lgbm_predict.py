"""Loads a LightGBM text model with the Python package and predicts a feature matrix.

usage: lgbm_predict.py MODEL.txt FEATURES.csv  (CSV: one row per line, NaN for missing)
Prints one prediction per line (repr, full precision).
"""
import sys

import lightgbm as lgb
import numpy as np

booster = lgb.Booster(model_file=sys.argv[1])
x = np.loadtxt(sys.argv[2], delimiter=",", dtype=np.float64, ndmin=2)
for p in booster.predict(x, num_threads=1):
    print(repr(float(p)))
