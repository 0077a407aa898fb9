"""The price-only stand-in rules both peers run, and the data they run on.

Everything here is read from the repo: the parameters from shared/config/default.toml
([executor.*], [research], [research.technical], [trading], [backtest] and the declared
[[backtest.sweep]] grid), the bars from data/sp500_2009_2010_ohlcv.csv.gz and the sectors from
data/sp500_sectors_2014.csv. README.md maps every rule to the Rust function it approximates.
"""

from __future__ import annotations

import gzip
import itertools
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "shared" / "config" / "default.toml"
BARS = ROOT / "data" / "sp500_2009_2010_ohlcv.csv.gz"
SECTORS = ROOT / "data" / "sp500_sectors_2014.csv"

# The sweep's axes, in the declared order (the first varies slowest), and the names the peers use.
AXES = {
    "risk.min_score": "min_score",
    "risk.max_position_pct": "max_position_pct",
    "exits.atr_multiple": "atr_multiple",
    "exits.time_decay_reduce_days": "reduce_days",
    "exits.time_decay_exit_days": "exit_days",
    "exits.reduce_on_gain_pct": "reduce_on_gain_pct",
}


@dataclass(frozen=True)
class Rules:
    """Every number the stand-in rules use; the six swept ones first."""

    min_score: float
    max_position_pct: float
    atr_multiple: float
    reduce_days: int
    exit_days: int
    reduce_on_gain_pct: float
    # [executor.exits]
    atr_period: int
    fallback_stop_pct: float
    reduce_fraction: float
    momentum_exit_return: float
    momentum_exit_rsi: float
    sector_relative_veto_pct: float
    sector_relative_days: int
    catastrophic_gap_pct: float
    loss_floor_pct: float
    # [executor.risk]
    max_sector_pct: float
    max_equity_pct: float
    momentum_gate_return: float
    # [executor.sizing]
    atr_target_risk: float
    atr_min: float
    atr_max: float
    adv_cap_pct: float
    adv_days: int
    min_position_usd: float
    # [executor.breakers]
    trim_position_pct: float
    # [research]: the stand-in for research's population and liquidity filter
    population: int
    min_price: float
    min_adv_usd: float
    tech_weights: tuple  # rsi, macd, ma50, ma200, momentum
    # fills: [backtest] slippage, [trading] commissions and starting cash
    slippage: float
    commission_per_share: float
    commission_min: float
    start_cash: float

    def with_point(self, point: dict) -> "Rules":
        d = dict(self.__dict__)
        d.update(point)
        return Rules(**d)

    def swept(self) -> dict:
        return {k: getattr(self, k) for k in AXES.values()}


def load_config(path: Path = CONFIG) -> tuple[Rules, list[tuple[str, list]]]:
    """The default rules and the declared sweep grid (axis name, values) from default.toml."""
    cfg = tomllib.loads(path.read_text())
    ex = cfg["executor"]
    e, r, s, b = ex["exits"], ex["risk"], ex["sizing"], ex["breakers"]
    rs, tw = cfg["research"], cfg["research"]["technical"]
    tr, bt = cfg["trading"], cfg["backtest"]
    rules = Rules(
        min_score=float(r["min_score"]),
        max_position_pct=float(r["max_position_pct"]),
        atr_multiple=float(e["atr_multiple"]),
        reduce_days=int(e["time_decay_reduce_days"]),
        exit_days=int(e["time_decay_exit_days"]),
        reduce_on_gain_pct=float(e["reduce_on_gain_pct"]),
        atr_period=int(e["atr_period"]),
        fallback_stop_pct=float(e["fallback_stop_pct"]),
        reduce_fraction=float(e["reduce_fraction"]),
        momentum_exit_return=float(e["momentum_exit_return"]),
        momentum_exit_rsi=float(e["momentum_exit_rsi"]),
        sector_relative_veto_pct=float(e["sector_relative_veto_pct"]),
        sector_relative_days=int(e["sector_relative_days"]),
        catastrophic_gap_pct=float(e["catastrophic_gap_pct"]),
        loss_floor_pct=float(e["loss_floor_pct"]),
        max_sector_pct=float(r["max_sector_pct"]),
        max_equity_pct=float(r["max_equity_pct"]),
        momentum_gate_return=float(r["momentum_gate_return"]),
        atr_target_risk=float(s["atr_target_risk"]),
        atr_min=float(s["atr_min"]),
        atr_max=float(s["atr_max"]),
        adv_cap_pct=float(s["adv_cap_pct"]),
        adv_days=int(s["adv_days"]),
        min_position_usd=float(s["min_position_usd"]),
        trim_position_pct=float(b["trim_position_pct"]),
        population=int(rs["population_size"]),
        min_price=float(rs["min_price"]),
        min_adv_usd=float(rs["min_avg_dollar_volume"]),
        tech_weights=(float(tw["rsi"]), float(tw["macd"]), float(tw["ma50"]), float(tw["ma200"]), float(tw["momentum"])),
        slippage=float(bt["slippage_bps"]) / 1e4,
        commission_per_share=float(tr["commission_per_share_usd"]),
        commission_min=float(tr["commission_min_usd"]),
        start_cash=float(tr["paper_starting_cash_usd"]),
    )
    grid = []
    for axis in bt["sweep"]:
        if axis["path"] not in AXES:
            raise SystemExit(f"sweep axis {axis['path']} has no mapping in bench/peers/rules.py")
        grid.append((AXES[axis["path"]], list(axis["values"])))
    return rules, grid


def grid_points(grid: list[tuple[str, list]]) -> list[dict]:
    """The grid's points, the first axis varying slowest (as the Rust sweep enumerates them)."""
    names = [g[0] for g in grid]
    out = []
    for combo in itertools.product(*[g[1] for g in grid]):
        p = dict(zip(names, combo))
        p["reduce_days"] = int(p.get("reduce_days", 0))
        p["exit_days"] = int(p.get("exit_days", 0))
        out.append(p)
    return out


def commission(shares: float, r: Rules) -> float:
    """IB-like: per share with a minimum per fill ([trading] commission_*; commission_bps is 0)."""
    return max(r.commission_min, r.commission_per_share * abs(shares))


@dataclass
class Data:
    """The embedded year, wide: sessions × names, NaN where a name has no bar."""

    dates: pd.DatetimeIndex
    tickers: list
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    sector: np.ndarray  # int per name, -1 without a sector
    sector_names: list
    long: pd.DataFrame  # the rows as read (date, ticker, open, high, low, close, volume)

    @property
    def bar_events(self) -> int:
        return int(np.isfinite(self.close).sum())


def load(names: int | None = None) -> tuple[Data, float]:
    """Reads the bars once; `names` keeps the first N tickers (development). Returns the seconds."""
    t0 = time.perf_counter()
    with gzip.open(BARS, "rt") as f:
        df = pd.read_csv(f, parse_dates=["date"])
    df = df.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    if names:
        keep = sorted(df["ticker"].unique())[:names]
        df = df[df["ticker"].isin(keep)].reset_index(drop=True)
    wide = {k: df.pivot(index="date", columns="ticker", values=k) for k in ("open", "high", "low", "close", "volume")}
    tickers = list(wide["close"].columns)
    sec = pd.read_csv(SECTORS)
    sector_names = sorted(sec["sector"].unique())
    sid = dict(zip(sec["ticker"], sec["sector"].map({s: i for i, s in enumerate(sector_names)})))
    sector = np.array([sid.get(t, -1) for t in tickers], dtype=np.int64)
    # Writable C-ordered copies (pandas hands out read-only views, which numba types apart).
    arr = {k: np.array(v.to_numpy(dtype=np.float64), order="C", copy=True) for k, v in wide.items()}
    data = Data(
        dates=wide["close"].index,
        tickers=tickers,
        open=arr["open"],
        high=arr["high"],
        low=arr["low"],
        close=arr["close"],
        volume=arr["volume"],
        sector=sector,
        sector_names=sector_names,
        long=df,
    )
    return data, time.perf_counter() - t0


# The research technical score's components (research/src/technical.rs), Neutral regime.
def rsi_score(rsi: float) -> float:
    over, under, top = 70.0, 30.0, 100.0
    if rsi <= under:
        return top
    if rsi >= over:
        return 20.0
    return top - (rsi - under) / (over - under) * (top - 20.0)


def macd_score(line: float, cross: int) -> float:
    above = line > 0.0
    sign = (cross > 0) - (cross < 0)
    if sign == 1:
        return 100.0 if above else 70.0
    if sign == -1:
        return 30.0 if above else 0.0
    return 60.0 if above else 40.0


_MA_PTS = ((-0.15, 0.0), (-0.05, 30.0), (0.0, 50.0), (0.05, 80.0), (0.15, 100.0))


def ma_score(vs: float) -> float:
    if vs <= _MA_PTS[0][0]:
        return 0.0
    for (x0, y0), (x1, y1) in zip(_MA_PTS, _MA_PTS[1:]):
        if vs <= x1:
            return y0 + (vs - x0) / (x1 - x0) * (y1 - y0)
    return 100.0


def percentiles(values: np.ndarray) -> np.ndarray:
    """(average rank − 1) / (n − 1) × 100 over the finite values (research's momentum percentile)."""
    out = np.full(len(values), np.nan)
    ok = np.isfinite(values)
    n = int(ok.sum())
    if n == 0:
        return out
    ranks = pd.Series(values[ok]).rank(method="average").to_numpy()
    out[ok] = (ranks - 1.0) / (max(n, 2) - 1) * 100.0
    return out
