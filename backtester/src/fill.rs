//! The fill model: at what price and for how many shares an approved order fills. Adverse
//! slippage in basis points, IB-like commissions (per share with a minimum, plus an optional
//! share of notional), and a participation cap: an order takes at most `participation` of the
//! day's volume; the rest is cancelled, as a day order would be.

use ae_rules::costs::{CostModel, within_limit};
use ae_rules::{ApprovedOrder, OrderPrice};
use ae_shared::config::{Config, FillAt};
use ae_shared::contracts::common::Side;

/// How orders fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillModel {
    /// When.
    pub at: FillAt,
    /// Slippage and commissions (per share with a minimum per fill, plus a share of notional).
    pub costs: CostModel,
    /// Largest share of the day's volume one order takes.
    pub participation: f64,
}

/// What one order got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Filled {
    /// Shares filled (may be fewer than ordered).
    pub shares: u32,
    /// Price paid or received per share, slippage included.
    pub price: f64,
    /// Commission.
    pub commission: f64,
}

impl FillModel {
    /// From `[backtest]` and the commissions of `[trading]`.
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            at: cfg.backtest.fill,
            costs: CostModel::new(
                cfg.backtest.slippage_bps,
                cfg.trading.commission_per_share_usd,
                cfg.trading.commission_min_usd,
            )
            .with_commission_bps(cfg.backtest.commission_bps),
            participation: cfg.backtest.participation,
        }
    }

    /// Shares one day's `volume` lets the simulator trade in a name.
    pub fn capacity(&self, volume: f64) -> f64 {
        (self.participation * volume).floor().max(0.0)
    }

    /// Fills `o` at `quote`, taking at most `capacity` shares, with `cash` available. `None` when
    /// nothing fills (no capacity left, a limit not reached, or not enough cash).
    pub fn fill(&self, o: &ApprovedOrder, quote: f64, capacity: f64, cash: f64) -> Option<Filled> {
        if !(quote > 0.0 && quote.is_finite()) {
            return None;
        }
        let price = self.costs.fill_price(o.side(), quote);
        if let OrderPrice::Limit(l) = o.price()
            && !within_limit(o.side(), price, l)
        {
            return None;
        }
        let shares = (o.shares() as f64).min(capacity.max(0.0)) as u32;
        if shares == 0 {
            return None;
        }
        let commission = self.costs.commission_with_notional(shares, price);
        if o.side() == Side::Buy && shares as f64 * price + commission > cash + 1e-6 {
            return None;
        }
        Some(Filled { shares, price, commission })
    }
}
