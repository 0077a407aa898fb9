//! The CSV backups on the bus: `trades/trades_full.csv` and `trades/eod_pnl.csv`.

use super::{Ledger, Result};

impl Ledger {
    /// Every order with its fills, one row per order (`trades/trades_full.csv`).
    pub fn trades_csv(&self) -> Result<String> {
        let mut st = self
            .conn
            .prepare(
                "SELECT o.id, o.date, o.ticker, o.side, o.intent, o.shares, o.order_type, o.reference_price, o.state, o.filled_shares,
                        o.avg_fill_price, COALESCE(SUM(f.commission), 0), SUM(f.realized_pnl), o.reasons, o.broker_order_id, o.detail
                 FROM orders o LEFT JOIN fills f ON f.order_id = o.id GROUP BY o.id ORDER BY o.date, o.created_at, o.id",
            )
            .map_err(|e| self.err(e))?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "order_id",
            "date",
            "ticker",
            "side",
            "intent",
            "shares",
            "order_type",
            "reference_price",
            "state",
            "filled_shares",
            "avg_fill_price",
            "slippage_bps",
            "commission",
            "realized_pnl",
            "reasons",
            "broker_order_id",
            "detail",
        ])
        .expect("in memory");
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let side: String = r.get(3).map_err(|e| self.err(e))?;
            let reference: Option<f64> = r.get(7).map_err(|e| self.err(e))?;
            let fill: Option<f64> = r.get(10).map_err(|e| self.err(e))?;
            let slip = slippage_bps(&side, reference, fill);
            let opt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_default();
            let get_s = |i: usize| -> Result<String> {
                r.get::<_, Option<String>>(i).map(Option::unwrap_or_default).map_err(|e| self.err(e))
            };
            let shares: u32 = r.get(5).map_err(|e| self.err(e))?;
            let filled: u32 = r.get(9).map_err(|e| self.err(e))?;
            let commission: f64 = r.get(11).map_err(|e| self.err(e))?;
            let realized: Option<f64> = r.get(12).map_err(|e| self.err(e))?;
            w.write_record([
                get_s(0)?,
                get_s(1)?,
                get_s(2)?,
                side.clone(),
                get_s(4)?,
                shares.to_string(),
                get_s(6)?,
                opt(reference),
                get_s(8)?,
                filled.to_string(),
                opt(fill),
                slip.map(|s| format!("{s:.2}")).unwrap_or_default(),
                format!("{commission:.2}"),
                opt(realized),
                get_s(13)?,
                get_s(14)?,
                get_s(15)?,
            ])
            .expect("in memory");
        }
        Ok(String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8"))
    }

    /// Every P&L row (`trades/eod_pnl.csv`).
    pub fn eod_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "date",
            "portfolio_nav",
            "total_cash",
            "daily_return_pct",
            "spy_return_pct",
            "daily_alpha_pct",
            "benchmark_close",
            "realized_pnl",
            "unrealized_pnl",
            "commission_usd",
            "traded_notional_usd",
            "positions_snapshot",
        ])
        .expect("in memory");
        for r in self.eod_history()? {
            w.write_record([
                r.date.to_string(),
                format!("{:.2}", r.nav),
                format!("{:.2}", r.cash),
                format!("{:.6}", r.daily_return * 100.0),
                format!("{:.6}", r.benchmark_return * 100.0),
                format!("{:.6}", r.alpha * 100.0),
                format!("{:.4}", r.benchmark_close),
                format!("{:.2}", r.realized_pnl),
                format!("{:.2}", r.unrealized_pnl),
                format!("{:.2}", r.commission),
                format!("{:.2}", r.traded_notional),
                r.positions,
            ])
            .expect("in memory");
        }
        Ok(String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8"))
    }
}

/// Adverse slippage of a fill against the reference price, basis points (positive = worse): a
/// buy above the reference or a sell below it.
pub fn slippage_bps(side: &str, reference: Option<f64>, fill: Option<f64>) -> Option<f64> {
    let (r, f) = (reference.filter(|r| *r > 0.0)?, fill?);
    let sign = if side == "SELL" { -1.0 } else { 1.0 };
    Some(sign * (f - r) / r * 1e4)
}
