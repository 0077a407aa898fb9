"""Independent indicator values for every symbol of a daily OHLCV file (TA-Lib, pandas, ta).

usage: indicators.py BARS.csv[.gz] OUT.json
"""
import json
import sys

import numpy as np
import pandas as pd
import talib
from ta.volume import VolumeWeightedAveragePrice

src, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(src).sort_values(["ticker", "date"])
result = {}
for ticker, g in df.groupby("ticker", sort=True):
    o, h, l, c, v = (g[x].to_numpy(dtype=float) for x in ["open", "high", "low", "close", "volume"])
    cs, hs, ls, vs = pd.Series(c), pd.Series(h), pd.Series(l), pd.Series(v)
    r = {}
    r["sma20"] = talib.SMA(c, 20)
    r["ema12"] = talib.EMA(c, 12)
    r["rsi14"] = talib.RSI(c, 14)
    r["macd"], r["macd_signal"], r["macd_hist"] = talib.MACD(c, 12, 26, 9)
    r["bb_upper"], r["bb_middle"], r["bb_lower"] = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    r["atr14"] = talib.ATR(h, l, c, 14)
    r["obv"] = talib.OBV(c, v)
    r["rvol20"] = (np.log(cs).diff().rolling(20).std() * np.sqrt(252)).to_numpy()
    r["vwap14"] = VolumeWeightedAveragePrice(hs, ls, cs, vs, window=14).volume_weighted_average_price().to_numpy()
    r["ret5"] = talib.ROCP(c, 5)
    r["dist_high"] = (cs / hs.rolling(252, min_periods=20).max() - 1).to_numpy()
    r["dist_low"] = (cs / ls.rolling(252, min_periods=20).min() - 1).to_numpy()
    # Session VWAP: every close of the year as one long session of prints with its volume.
    r["session_vwap"] = ((cs * vs).cumsum() / vs.cumsum()).to_numpy()
    result[ticker] = {k: [None if np.isnan(x) else float(x) for x in a] for k, a in r.items()}
with open(out, "w") as f:
    json.dump(result, f)
