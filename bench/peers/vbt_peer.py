"""The stand-in rules in vectorbt: indicators in numba, the simulation through vectorbt's own engine
(`Portfolio.from_order_func`, flexible mode, one cash-sharing group per grid point).

Decisions are made in `pre_segment_nb` on the close of session i−1 (the morning plan over the book
marked at the last close) and sent as orders that vectorbt fills at the open of session i with its
slippage, fixed-fee and cash checks (`allow_partial=False`: a buy the cash cannot cover is rejected,
as the Rust fill model rejects it). `post_order_nb` keeps what vectorbt's records do not: entry
session, high water and the profit-take / time-decay flags.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings

import numpy as np
import pandas as pd
from numba import njit

import vectorbt as vbt
from vectorbt.portfolio.enums import Direction, SizeType
from vectorbt.portfolio.nb import order_nb, order_nothing_nb

from rules import Data, Rules

# Order kinds kept in the order buffer.
BUY, EXIT, PROFIT, DECAY, TRIM = 0, 1, 2, 3, 4
# Bits of the per-position flags.
PROFIT_TAKEN, DECAY_REDUCED = 1, 2


# ---------------------------------------------------------------------------------------------
# Indicators: each name's own bars (gaps skipped, as a per-name series is), TA-Lib seeding.


@njit
def _ema_seeded(x, n, seed, out):
    """EMA whose seed is the SMA of the n values ending at `seed` (ae-core's ema_seeded_at)."""
    m = len(x)
    if n == 0 or seed + 1 < n or m <= seed:
        return
    k = 2.0 / (n + 1.0)
    s = 0.0
    for q in range(seed + 1 - n, seed + 1):
        s += x[q]
    prev = s / n
    out[seed] = prev
    for q in range(seed + 1, m):
        prev = (x[q] - prev) * k + prev
        out[q] = prev


@njit
def features_nb(high, low, close, volume, atr_n, adv_n, rel_n):
    T, N = close.shape
    nan = np.nan
    atr = np.full((T, N), nan)
    rsi = np.full((T, N), nan)
    mline = np.full((T, N), nan)
    mcross = np.full((T, N), nan)
    sma50 = np.full((T, N), nan)
    sma200 = np.full((T, N), nan)
    ret_rel = np.full((T, N), nan)  # ret over sector_relative_days (= the rules' 20-day return)
    ret21 = np.full((T, N), nan)
    adv = np.full((T, N), nan)
    prevc = np.full((T, N), nan)
    idx = np.empty(T, np.int64)
    for j in range(N):
        m = 0
        for t in range(T):
            if close[t, j] == close[t, j]:
                idx[m] = t
                m += 1
        if m == 0:
            continue
        c = np.empty(m)
        h = np.empty(m)
        lo = np.empty(m)
        v = np.empty(m)
        for q in range(m):
            c[q] = close[idx[q], j]
            h[q] = high[idx[q], j]
            lo[q] = low[idx[q], j]
            v[q] = volume[idx[q], j]
        for q in range(1, m):
            prevc[idx[q], j] = c[q - 1]
        # ATR (Wilder)
        if m > atr_n:
            s = 0.0
            for q in range(1, atr_n + 1):
                pc = c[q - 1]
                s += max(h[q] - lo[q], abs(h[q] - pc), abs(lo[q] - pc))
            prev = s / atr_n
            atr[idx[atr_n], j] = prev
            for q in range(atr_n + 1, m):
                pc = c[q - 1]
                tr = max(h[q] - lo[q], abs(h[q] - pc), abs(lo[q] - pc))
                prev = (prev * (atr_n - 1) + tr) / atr_n
                atr[idx[q], j] = prev
        # RSI(14) (Wilder)
        n = 14
        if m > n:
            g = 0.0
            ls = 0.0
            for q in range(1, n + 1):
                d = c[q] - c[q - 1]
                if d < 0:
                    ls -= d
                else:
                    g += d
            g /= n
            ls /= n
            tot = g + ls
            rsi[idx[n], j] = 100.0 * g / tot if abs(tot) > 1e-14 else 0.0
            for q in range(n + 1, m):
                d = c[q] - c[q - 1]
                g *= n - 1
                ls *= n - 1
                if d < 0:
                    ls -= d
                else:
                    g += d
                g /= n
                ls /= n
                tot = g + ls
                rsi[idx[q], j] = 100.0 * g / tot if abs(tot) > 1e-14 else 0.0
        # MACD(12, 26, 9): line and signal from index 33, the cross within 3 sessions
        if m >= 26 + 9 - 1:
            start = 25
            f = np.full(m, nan)
            sl = np.full(m, nan)
            _ema_seeded(c, 12, start, f)
            _ema_seeded(c, 26, start, sl)
            line = np.empty(m - start)
            for q in range(start, m):
                line[q - start] = f[q] - sl[q]
            sig = np.full(m - start, nan)
            _ema_seeded(line, 9, 8, sig)
            first = start + 8
            for q in range(first, m):
                mline[idx[q], j] = line[q - start]
                cross = 0
                for k in range(3):
                    a = q - k
                    b = q - 1 - k
                    if b < first:
                        break
                    d_now = line[a - start] - sig[a - start]
                    d_prev = line[b - start] - sig[b - start]
                    if d_now > 0.0 and d_prev <= 0.0:
                        cross = k + 1
                        break
                    if d_now < 0.0 and d_prev >= 0.0:
                        cross = -(k + 1)
                        break
                mcross[idx[q], j] = cross
        # SMAs 50/200, returns, ADV
        s50 = 0.0
        s200 = 0.0
        sadv = 0.0
        for q in range(m):
            s50 += c[q]
            s200 += c[q]
            sadv += c[q] * v[q]
            if q >= 50:
                s50 -= c[q - 50]
            if q >= 200:
                s200 -= c[q - 200]
            if q >= adv_n:
                sadv -= c[q - adv_n] * v[q - adv_n]
            if q >= 49:
                sma50[idx[q], j] = s50 / 50.0
            if q >= 199:
                sma200[idx[q], j] = s200 / 200.0
            if q >= adv_n - 1:
                adv[idx[q], j] = sadv / adv_n
            if q >= rel_n and c[q - rel_n] > 0:
                ret_rel[idx[q], j] = c[q] / c[q - rel_n] - 1.0
            if q >= 21 and c[q - 21] > 0:
                ret21[idx[q], j] = c[q] / c[q - 21] - 1.0
    return atr, rsi, mline, mcross, sma50, sma200, ret_rel, ret21, adv, prevc


def _ma_score(vs: np.ndarray) -> np.ndarray:
    xs = np.array([-0.15, -0.05, 0.0, 0.05, 0.15])
    ys = np.array([0.0, 30.0, 50.0, 80.0, 100.0])
    out = np.interp(vs, xs, ys)  # clamps to 0 / 100 outside, as ma_score does
    out[~np.isfinite(vs)] = np.nan
    return out


def features(d: Data, r: Rules) -> dict:
    """Indicators, the stand-in research score, the daily population and the sector-relative return."""
    atr, rsi, mline, mcross, sma50, sma200, ret20, ret21, adv, prevc = features_nb(
        d.high, d.low, d.close, d.volume, r.atr_period, r.adv_days, r.sector_relative_days
    )
    close = d.close
    has_bar = np.isfinite(close)
    eligible = has_bar & (d.sector >= 0)[None, :]
    # Research's technical score (Neutral regime), weights renormalised over present components.
    w_rsi, w_macd, w_ma50, w_ma200, w_mom = r.tech_weights
    rsi_s = np.where(rsi <= 30.0, 100.0, np.where(rsi >= 70.0, 20.0, 100.0 - (rsi - 30.0) / 40.0 * 80.0))
    rsi_s[~np.isfinite(rsi)] = np.nan
    above = mline > 0.0
    sign = np.sign(mcross)
    macd_s = np.where(sign > 0, np.where(above, 100.0, 70.0), np.where(sign < 0, np.where(above, 30.0, 0.0), np.where(above, 60.0, 40.0)))
    macd_s[~(np.isfinite(mline) & np.isfinite(mcross))] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        ma50_s = _ma_score(np.where(sma50 > 0, close / sma50 - 1.0, np.nan))
        ma200_s = _ma_score(np.where(sma200 > 0, close / sma200 - 1.0, np.nan))
    r21 = np.where(eligible, ret21, np.nan)
    ranks = pd.DataFrame(r21).rank(axis=1, method="average").to_numpy()
    n = np.isfinite(r21).sum(axis=1, keepdims=True)
    mom_s = (ranks - 1.0) / (np.maximum(n, 2) - 1.0) * 100.0
    num = np.zeros_like(close)
    den = np.zeros_like(close)
    for comp, w in ((rsi_s, w_rsi), (macd_s, w_macd), (ma50_s, w_ma50), (ma200_s, w_ma200), (mom_s, w_mom)):
        ok = np.isfinite(comp)
        num += np.where(ok, comp * w, 0.0)
        den += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.clip(num / den, 0.0, 100.0)
    score[~eligible | (den <= 0)] = np.nan
    # The population: the best `population` liquid names by score (ties by ticker).
    liquid = np.isfinite(score) & (close >= r.min_price) & (adv >= r.min_adv_usd)
    key = np.where(liquid, -score, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, : r.population]
    cand = np.where(np.take_along_axis(liquid, order, axis=1), order, -1).astype(np.int64)
    inpop = np.zeros(close.shape, dtype=np.bool_)
    rows = np.repeat(np.arange(close.shape[0]), cand.shape[1])
    cols = cand.ravel()
    inpop[rows[cols >= 0], cols[cols >= 0]] = True
    # Own 20-day return minus its sector's equal-weight mean (names with a bar that day).
    srel = np.full(close.shape, np.nan)
    for s in range(len(d.sector_names)):
        m = d.sector == s
        if not m.any():
            continue
        sub = np.where(has_bar[:, m], ret20[:, m], np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a day where no member has the return
            srel[:, m] = sub - np.nanmean(sub, axis=1, keepdims=True)
    c = np.ascontiguousarray
    return dict(
        open=c(d.open), close=c(close), atr=c(atr), rsi=c(rsi), ret20=c(ret20), adv=c(adv), prevc=c(prevc),
        srel=c(srel), score=c(score), cand=c(cand), inpop=c(inpop), sector=c(d.sector),
    )


# ---------------------------------------------------------------------------------------------
# The simulation callbacks.


@njit
def pre_segment_nb(c, open_, close, atr, rsi, ret20, adv, prevc, srel, score, cand, inpop, sector, pts, fx,
                   avg_cost, entry_i, hw, flags, buf_col, buf_size, buf_kind, nbuf, sec_exp):
    nbuf[0] = 0
    i = c.i
    if i == 0:
        return ()
    t = i - 1
    g = c.group
    base = c.from_col
    N = c.group_len
    min_score = pts[g, 0]
    max_pos = pts[g, 1]
    atr_mult = pts[g, 2]
    red_days = pts[g, 3]
    exit_days = pts[g, 4]
    gain = pts[g, 5]
    (fallback, red_frac, mom_ret, mom_rsi, veto, gap, floor_, max_sector, max_equity, gate,
     atr_target, atr_min, atr_max, adv_cap, min_usd, trim_pct) = (
        fx[0], fx[1], fx[2], fx[3], fx[4], fx[5], fx[6], fx[7], fx[8], fx[9], fx[10], fx[11], fx[12], fx[13],
        fx[14], fx[15])
    nav = c.last_value[g]
    cash = c.last_cash[g]
    equity = 0.0
    sec_exp[:] = 0.0
    nb = 0
    # Exits first, on every holding (ae_rules::exits::evaluate_exit), then trims.
    for j in range(N):
        col = base + j
        pos = c.last_position[col]
        if pos <= 0.0:
            continue
        px = close[t, j]
        last_px = c.last_val_price[col]
        sell = 0.0
        kind = -1
        if px == px and px > 0.0:
            if px > hw[col]:
                hw[col] = px
            ac = avg_cost[col]
            research_enter = inpop[t, j] and score[t, j] >= min_score
            full = False
            reduce = -1
            pc = prevc[t, j]
            a = atr[t, j]
            if pc == pc and pc > 0.0 and px / pc - 1.0 <= -gap:
                full = True
            elif ac > 0.0 and px / ac - 1.0 <= -floor_:
                full = True
            else:
                if a == a and a > 0.0:
                    stop = max(hw[col], px) - a * atr_mult
                    if px < stop:
                        r = srel[t, j]
                        if not (r == r and r > veto):
                            full = True
                elif px <= ac * (1.0 - fallback):
                    full = True
                if not full:
                    if (flags[col] & PROFIT_TAKEN) == 0 and ac > 0.0 and px / ac - 1.0 >= gain:
                        reduce = PROFIT
                    elif ret20[t, j] == ret20[t, j] and rsi[t, j] == rsi[t, j] and ret20[t, j] < mom_ret and rsi[t, j] < mom_rsi:
                        full = True
                    elif not research_enter:
                        days = i - entry_i[col]
                        if days >= exit_days:
                            full = True
                        elif days >= red_days and (flags[col] & DECAY_REDUCED) == 0:
                            reduce = DECAY
            if full:
                sell = pos
                kind = EXIT
            elif reduce >= 0:
                want = max(np.floor(pos * red_frac), 1.0)
                sell = min(want, pos)
                kind = EXIT if sell >= pos else reduce
            if sell == 0.0 and nav > 0.0 and pos * px / nav > trim_pct:
                keep = np.floor(max_pos * nav / px)
                if pos - keep > 0.0:
                    sell = pos - keep
                    kind = TRIM
        if sell > 0.0:
            buf_col[nb] = col
            buf_size[nb] = -sell
            buf_kind[nb] = kind
            nb += 1
        keep_sh = pos - sell
        if keep_sh > 0.0:
            mv = keep_sh * (px if px == px else last_px)
            equity += mv
            if sector[j] >= 0:
                sec_exp[sector[j]] += mv
    # Entries, best score first (ae_rules::plan::plan_day, sizing::size, risk::check_entry).
    P = cand.shape[1]
    n_enter = 0
    for k in range(P):
        j = cand[t, k]
        if j < 0 or score[t, j] < min_score:
            break
        if c.last_position[base + j] == 0.0:
            n_enter += 1
    base_w = 1.0 / max(n_enter, 1)
    cash_avail = cash
    for k in range(P):
        j = cand[t, k]
        if j < 0 or score[t, j] < min_score:
            break
        col = base + j
        if c.last_position[col] != 0.0:
            continue
        px = close[t, j]
        r20 = ret20[t, j]
        if r20 == r20 and r20 < gate:
            continue
        a = atr[t, j]
        atr_adj = 1.0
        if a == a and a > 0.0:
            atr_adj = min(max(atr_target / (a / px), atr_min), atr_max)
        w = base_w * atr_adj
        if w > max_pos:
            w = max_pos
        dollars = w * nav
        ad = adv[t, j]
        if ad == ad and dollars > adv_cap * ad:
            dollars = adv_cap * ad
        if dollars > cash_avail:
            dollars = max(cash_avail, 0.0)
        shares = np.floor(dollars / px)
        if shares == 0.0 or shares * px < min_usd:
            continue
        s = sector[j]
        if s >= 0 and (sec_exp[s] + dollars) / nav > max_sector + 1e-9:
            continue
        if (equity + dollars) / nav > max_equity + 1e-9:
            continue
        cost = shares * px
        cash_avail -= cost
        equity += cost
        if s >= 0:
            sec_exp[s] += cost
        buf_col[nb] = col
        buf_size[nb] = shares
        buf_kind[nb] = BUY
        nb += 1
    nbuf[0] = nb
    return ()


@njit
def flex_order_nb(c, open_, buf_col, buf_size, nbuf, slippage, per_share, min_comm):
    k = c.call_idx
    if k < nbuf[0]:
        col = buf_col[k]
        px = open_[c.i, col - c.from_col]
        if px == px and px > 0.0:
            size = buf_size[k]
            return col, order_nb(
                size=size,
                price=px,
                size_type=SizeType.Amount,
                direction=Direction.LongOnly,
                fixed_fees=max(min_comm, per_share * abs(size)),
                slippage=slippage,
                allow_partial=False,
                raise_reject=False,
            )
        # No bar today: the day order is cancelled (a placeholder keeps call_idx aligned).
        return col, order_nothing_nb()
    return -1, order_nothing_nb()


@njit
def post_order_nb(c, buf_kind, avg_cost, entry_i, hw, flags):
    if c.order_result.status != 0:
        return None
    col = c.col
    if c.order_result.side == 0:
        avg_cost[col] = c.order_result.price
        entry_i[col] = c.i
        hw[col] = c.order_result.price
        flags[col] = 0
    elif c.position_now == 0.0:
        flags[col] = 0
    else:
        kind = buf_kind[c.call_idx]
        if kind == PROFIT:
            flags[col] |= PROFIT_TAKEN
        elif kind == DECAY:
            flags[col] |= DECAY_REDUCED
    return None


def _fixed(r: Rules) -> np.ndarray:
    return np.array([
        r.fallback_stop_pct, r.reduce_fraction, r.momentum_exit_return, r.momentum_exit_rsi,
        r.sector_relative_veto_pct, r.catastrophic_gap_pct, r.loss_floor_pct, r.max_sector_pct,
        r.max_equity_pct, r.momentum_gate_return, r.atr_target_risk, r.atr_min, r.atr_max, r.adv_cap_pct,
        r.min_position_usd, r.trim_position_pct,
    ], dtype=np.float64)


def _points_array(points: list[dict]) -> np.ndarray:
    return np.array([[p["min_score"], p["max_position_pct"], p["atr_multiple"], p["reduce_days"], p["exit_days"],
                      p["reduce_on_gain_pct"]] for p in points], dtype=np.float64)


def simulate(f: dict, r: Rules, points: list[dict], orders_per_point: int = 6000):
    """One from_order_func call over len(points) cash-sharing groups of all names."""
    T, N = f["close"].shape
    K = len(points)
    cols = N * K
    close = np.tile(f["close"], (1, K)) if K > 1 else f["close"]
    state = (
        np.zeros(cols), np.zeros(cols, np.int64), np.zeros(cols), np.zeros(cols, np.int64),
    )
    buf_col = np.zeros(N * 2, np.int64)
    buf_size = np.zeros(N * 2)
    buf_kind = np.zeros(N * 2, np.int64)
    nbuf = np.zeros(1, np.int64)
    sec_exp = np.zeros(64)
    pts = _points_array(points)
    seg_args = (f["open"], f["close"], f["atr"], f["rsi"], f["ret20"], f["adv"], f["prevc"], f["srel"], f["score"],
                f["cand"], f["inpop"], f["sector"], pts, _fixed(r), *state, buf_col, buf_size, buf_kind, nbuf, sec_exp)
    return vbt.Portfolio.from_order_func(
        close,
        flex_order_nb,
        f["open"], buf_col, buf_size, nbuf, r.slippage, r.commission_per_share, r.commission_min,
        flexible=True,
        init_cash=r.start_cash,
        cash_sharing=True,
        group_by=np.repeat(np.arange(K), N),
        call_pre_segment=True,
        pre_segment_func_nb=pre_segment_nb,
        pre_segment_args=seg_args,
        post_order_func_nb=post_order_nb,
        post_order_args=(buf_kind, *state),
        max_orders=orders_per_point * K,
        max_logs=0,
        fill_pos_record=False,  # open-position stats are never read: vectorbt's own switch to skip them
        freq="1D",
    )


def summary(pf, N: int, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Final value, buy fills and sell fills per group."""
    rec = pf.orders.values
    grp = rec["col"] // N
    buys = np.bincount(grp[rec["side"] == 0], minlength=K)
    sells = np.bincount(grp[rec["side"] == 1], minlength=K)
    final = np.asarray(pf.final_value()).reshape(-1)
    return final, buys, sells


_G: dict = {}


def _grid_task(bounds):
    """Points [s, e) of the grid (in a worker forked after the JIT warm-up: nothing recompiles)."""
    s, e = bounds
    f, r, pts, N = _G["f"], _G["r"], _G["pts"], _G["N"]
    part = pts[s:e]
    fv, _, se = summary(simulate(f, r, part), N, len(part))
    return fv, se


def grid(d: Data, r: Rules, pts: list[dict], chunk: int, jobs: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Indicators once (no swept parameter touches them), then the points in chunks, in `jobs`
    processes. Returns the seconds, the final values and the sell fills per point."""
    t0 = time.perf_counter()
    f = features(d, r)
    _G.update(f=f, r=r, pts=pts, N=d.close.shape[1])
    tasks = [(s, min(s + chunk, len(pts))) for s in range(0, len(pts), chunk)]
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            parts = pool.map(_grid_task, tasks, chunksize=1)
    else:
        parts = [_grid_task(t) for t in tasks]
    seconds = time.perf_counter() - t0
    _G.clear()
    return seconds, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def run(d: Data, r: Rules, points: list[dict], chunk: int, jobs: int = 1, grid_limit: int | None = None,
        repeats: int = 5) -> dict:
    """Warm-up (JIT), one run at the defaults, then the grid in one process and, when jobs > 1, in
    `jobs` processes. Everything timed with perf_counter."""
    N = d.close.shape[1]
    # JIT: every numba function compiles on first call; a small slice with the same dtypes and
    # layouts compiles them all (counted as compile_s, never in the timed runs).
    t0 = time.perf_counter()
    small = Data(d.dates[:60], d.tickers[:8], *(np.ascontiguousarray(a[:60, :8]) for a in (d.open, d.high, d.low, d.close, d.volume)),
                 d.sector[:8].copy(), d.sector_names, d.long.iloc[:0])
    fs = features(small, r)
    for k in (1, 2):  # one point and a chunk of points take different paths through vectorbt
        summary(simulate(fs, r, points[:k]), 8, k)
    compile_s = time.perf_counter() - t0

    # One run at the defaults: indicators + score + simulation, best of `repeats` (as ours reports).
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        f = features(d, r)
        t_feat = time.perf_counter() - t0
        pf = simulate(f, r, [r.swept()])
        final, buys, sells = summary(pf, N, 1)
        total = time.perf_counter() - t0
        if best is None or total < best[0]:
            best = (total, t_feat)
        del pf, f
    one_run_s, t_feat = best
    one = dict(final_value=float(final[0]), entries=int(buys[0]), trades=int(sells[0]), indicators_s=t_feat,
               sim_s=one_run_s - t_feat, repeats=repeats)

    pts = points[:grid_limit] if grid_limit else points
    grid_s_single, finals, trades = grid(d, r, pts, chunk, 1)
    grid_s = grid_s_single
    if jobs > 1:
        grid_s, finals_j, _ = grid(d, r, pts, chunk, jobs)
        assert np.array_equal(finals, finals_j), "the grid differs between one and several processes"
    return dict(
        compile_s=compile_s,
        one_run_s=one_run_s,
        grid_s=grid_s,
        grid_s_single=grid_s_single,
        jobs=jobs,
        grid_points=len(pts),
        chunk=chunk,
        one=one,
        grid_final_min=float(finals.min()),
        grid_final_max=float(finals.max()),
        grid_distinct_outcomes=int(len(np.unique(np.round(finals, 2)))),
        grid_trades_min=int(trades.min()),
        grid_trades_max=int(trades.max()),
    )
