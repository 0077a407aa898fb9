"""The stand-in rules in backtrader: one feed per name, backtrader's own indicators (ATR, RSI, MACD,
SMA, ROC), a commission scheme of $0.005/share with a $1 minimum, 5 bps slippage through
`set_slippage_perc`, market orders decided on the close and filled by backtrader at the next open.

A name's feed holds only its own bars (backtrader aligns feeds by date): the strategy is stepped on
every session of the union calendar (`prenext` forwards to `next`), and a name takes part in a
session's decisions only when its feed delivered a bar that session.
"""

from __future__ import annotations

import math
import time

import backtrader as bt
import numpy as np

from rules import Data, Rules, ma_score, macd_score, percentiles, rsi_score

PROFIT, DECAY, EXIT, TRIM = "profit", "decay", "exit", "trim"


class _Nan:
    """Stands for an indicator a short feed cannot fill: every value is NaN."""

    def __getitem__(self, k):
        return float("nan")


class _NanMacd:
    macd = _Nan()
    signal = _Nan()


NAN = _Nan()
NAN_MACD = _NanMacd()


class IBCommission(bt.CommInfoBase):
    """$0.005 per share, at least $1 per fill ([trading] commission_per_share_usd / _min_usd)."""

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_FIXED), ("per_share", 0.005), ("minimum", 1.0))

    def _getcommission(self, size, price, pseudoexec):
        return max(self.p.minimum, abs(size) * self.p.per_share)


class StandIn(bt.Strategy):
    params = (("rules", None), ("sessions", None))

    def __init__(self):
        r: Rules = self.p.rules
        self.r = r
        self.session_of = self.p.sessions  # date -> session index
        # backtrader's batch (runonce) indicators fail on a feed shorter than their period, so a
        # name gets only the indicators its bars can fill; the others read as NaN.
        for d in self.datas:
            n = d.nbars
            d.atr = bt.ind.ATR(d, period=r.atr_period) if n > r.atr_period else NAN
            d.rsi = bt.ind.RSI(d.close, period=14, safediv=True) if n > 14 else NAN
            d.macd = bt.ind.MACD(d.close, period_me1=12, period_me2=26, period_signal=9) if n >= 34 else NAN_MACD
            d.sma50 = bt.ind.SMA(d.close, period=50) if n >= 50 else NAN
            d.sma200 = bt.ind.SMA(d.close, period=200) if n >= 200 else NAN
            d.ret20 = bt.ind.ROC(d.close, period=r.sector_relative_days) if n > r.sector_relative_days else NAN
            d.ret21 = bt.ind.ROC(d.close, period=21) if n > 21 else NAN
            d.adv = bt.ind.SMA(d.close * d.volume, period=r.adv_days) if n >= r.adv_days else NAN
        self.seen = [0] * len(self.datas)
        self.state = {}  # data -> dict(entry, hw, profit, decay)
        self.pending = []
        self.k = -1
        self.entries = 0
        self.sells = 0

    def prenext(self):
        self.next()

    def notify_order(self, o):
        if o.status == o.Completed:
            d = o.data
            day = self.session_of[bt.num2date(o.executed.dt).date()]
            if o.isbuy():
                self.entries += 1
                self.state[d] = dict(entry=day, hw=o.executed.price, profit=False, decay=False)
            else:
                self.sells += 1
                st = self.state.get(d)
                if st is not None:
                    if self.getposition(d).size == 0:
                        del self.state[d]
                    elif o.info.kind == PROFIT:
                        st["profit"] = True
                    elif o.info.kind == DECAY:
                        st["decay"] = True

    def _has_bar(self, i, d):
        n = len(d)
        fresh = n > self.seen[i]
        self.seen[i] = n
        return fresh

    def next(self):
        r = self.r
        self.k += 1
        # Day orders: whatever did not fill at this open is cancelled.
        for o in self.pending:
            if o.alive():
                self.cancel(o)
        self.pending = []
        today = [d for i, d in enumerate(self.datas) if self._has_bar(i, d)]
        # The stand-in research score over eligible names with a bar today.
        elig = [d for d in today if d.sector >= 0]
        r21 = np.array([d.ret21[0] for d in elig], dtype=float)
        mom = percentiles(r21)
        w_rsi, w_macd, w_ma50, w_ma200, w_mom = r.tech_weights
        score = {}
        for d, m in zip(elig, mom):
            c = d.close[0]
            num = den = 0.0
            v = d.rsi[0]
            if v == v:
                num += rsi_score(v) * w_rsi
                den += w_rsi
            sig = d.macd.signal[0]
            if sig == sig:
                line = d.macd.macd[0]
                cross = 0
                for k in range(3):
                    if len(d) < 35 + k:
                        break
                    dn = d.macd.macd[-k] - d.macd.signal[-k]
                    dp = d.macd.macd[-k - 1] - d.macd.signal[-k - 1]
                    if dp != dp:
                        break
                    if dn > 0 and dp <= 0:
                        cross = k + 1
                        break
                    if dn < 0 and dp >= 0:
                        cross = -(k + 1)
                        break
                num += macd_score(line, cross) * w_macd
                den += w_macd
            v = d.sma50[0]
            if v == v and v > 0:
                num += ma_score(c / v - 1.0) * w_ma50
                den += w_ma50
            v = d.sma200[0]
            if v == v and v > 0:
                num += ma_score(c / v - 1.0) * w_ma200
                den += w_ma200
            if m == m:
                num += m * w_mom
                den += w_mom
            if den > 0:
                score[d] = min(max(num / den, 0.0), 100.0)
        liquid = [d for d in score if d.close[0] >= r.min_price and (d.adv[0] == d.adv[0]) and d.adv[0] >= r.min_adv_usd]
        liquid.sort(key=lambda d: (-score[d], d._name))
        population = liquid[: r.population]
        enter = {d for d in population if score[d] >= r.min_score}
        # Sector-relative 20-day return (names with a bar today).
        sums = {}
        for d in today:
            v = d.ret20[0]
            if d.sector >= 0 and v == v:
                s = sums.setdefault(d.sector, [0.0, 0])
                s[0] += v
                s[1] += 1
        nav = self.broker.getvalue()
        cash = self.broker.getcash()
        equity = 0.0
        sector_exp = {}
        fresh = set(today)
        sells = []
        # Exits first, on every holding.
        for d, st in list(self.state.items()):
            pos = self.getposition(d).size
            if pos <= 0:
                continue
            px = d.close[0]
            sell, kind = 0, None
            if d in fresh and px > 0:
                st["hw"] = max(st["hw"], px)
                ac = self.getposition(d).price
                full, reduce = False, None
                pc = d.close[-1] if len(d) >= 2 else float("nan")
                a = d.atr[0]
                if pc == pc and pc > 0 and px / pc - 1.0 <= -r.catastrophic_gap_pct:
                    full = True
                elif ac > 0 and px / ac - 1.0 <= -r.loss_floor_pct:
                    full = True
                else:
                    if a == a and a > 0:
                        stop = max(st["hw"], px) - a * r.atr_multiple
                        if px < stop:
                            v = d.ret20[0]
                            rel = None
                            if v == v and d.sector in sums:
                                s = sums[d.sector]
                                rel = v - s[0] / s[1]
                            if not (rel is not None and rel > r.sector_relative_veto_pct):
                                full = True
                    elif px <= ac * (1.0 - r.fallback_stop_pct):
                        full = True
                    if not full:
                        r20, rs = d.ret20[0], d.rsi[0]
                        if not st["profit"] and ac > 0 and px / ac - 1.0 >= r.reduce_on_gain_pct:
                            reduce = PROFIT
                        elif r20 == r20 and rs == rs and r20 < r.momentum_exit_return and rs < r.momentum_exit_rsi:
                            full = True
                        elif d not in enter:
                            days = self.k + 1 - st["entry"]
                            if days >= r.exit_days:
                                full = True
                            elif days >= r.reduce_days and not st["decay"]:
                                reduce = DECAY
                if full:
                    sell, kind = pos, EXIT
                elif reduce is not None:
                    sell = min(max(math.floor(pos * r.reduce_fraction), 1), pos)
                    kind = EXIT if sell >= pos else reduce
                if sell == 0 and nav > 0 and pos * px / nav > r.trim_position_pct:
                    keep = math.floor(r.max_position_pct * nav / px)
                    if pos - keep > 0:
                        sell, kind = pos - keep, TRIM
            if sell > 0:
                sells.append((d, sell, kind))
            left = pos - sell
            if left > 0:
                mv = left * px
                equity += mv
                sector_exp[d.sector] = sector_exp.get(d.sector, 0.0) + mv
        for d, n, kind in sells:
            o = self.sell(data=d, size=n)
            o.addinfo(kind=kind)
            self.pending.append(o)
        # Entries, best score first.
        held = lambda d: self.getposition(d).size != 0  # noqa: E731
        cands = [d for d in population if score[d] >= r.min_score]
        n_enter = max(sum(1 for d in cands if not held(d)), 1)
        cash_avail = cash
        for d in cands:
            if held(d):
                continue
            px = d.close[0]
            r20 = d.ret20[0]
            if r20 == r20 and r20 < r.momentum_gate_return:
                continue
            a = d.atr[0]
            adj = min(max(r.atr_target_risk / (a / px), r.atr_min), r.atr_max) if a == a and a > 0 else 1.0
            w = min(adj / n_enter, r.max_position_pct)
            dollars = w * nav
            ad = d.adv[0]
            if ad == ad and dollars > r.adv_cap_pct * ad:
                dollars = r.adv_cap_pct * ad
            if dollars > cash_avail:
                dollars = max(cash_avail, 0.0)
            shares = math.floor(dollars / px)
            if shares == 0 or shares * px < r.min_position_usd:
                continue
            if d.sector >= 0 and (sector_exp.get(d.sector, 0.0) + dollars) / nav > r.max_sector_pct + 1e-9:
                continue
            if (equity + dollars) / nav > r.max_equity_pct + 1e-9:
                continue
            cost = shares * px
            cash_avail -= cost
            equity += cost
            sector_exp[d.sector] = sector_exp.get(d.sector, 0.0) + cost
            o = self.buy(data=d, size=shares)
            o.addinfo(kind="enter")
            self.pending.append(o)


def run(d: Data, r: Rules) -> dict:
    """One backtrader run at `r`: feeds, cerebro and run() are all timed."""
    frames = {t: g.set_index("date")[["open", "high", "low", "close", "volume"]] for t, g in d.long.groupby("ticker", sort=True)}
    sector = dict(zip(d.tickers, d.sector))
    sessions = {ts.date(): i for i, ts in enumerate(d.dates)}
    t0 = time.perf_counter()
    cerebro = bt.Cerebro(stdstats=False)
    for t, df in frames.items():
        feed = bt.feeds.PandasData(dataname=df, openinterest=None, name=t)
        feed.sector = int(sector[t])
        feed.nbars = len(df)
        cerebro.adddata(feed, name=t)
    cerebro.broker.setcash(r.start_cash)
    cerebro.broker.set_checksubmit(False)  # cash is checked at the fill, as the Rust fill model does
    cerebro.broker.set_slippage_perc(r.slippage, slip_open=True, slip_limit=True, slip_match=True, slip_out=True)
    cerebro.broker.addcommissioninfo(IBCommission(per_share=r.commission_per_share, minimum=r.commission_min))
    cerebro.addstrategy(StandIn, rules=r, sessions=sessions)
    strat = cerebro.run()[0]
    seconds = time.perf_counter() - t0
    return dict(
        one_run_s=seconds,
        final_value=float(cerebro.broker.getvalue()),
        entries=strat.entries,
        trades=strat.sells,
        sessions=strat.k + 1,
    )
