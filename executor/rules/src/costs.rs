//! The one transaction-cost model: what an execution costs beyond the reference price. Adverse
//! slippage in basis points (buys pay more, sells receive less), IB-like commissions (per share
//! with a per-order minimum) and an optional commission on notional. The paper broker, the
//! TWS-protocol paper gateway and the backtester's fill model all price fills with it, so the
//! same order costs the same everywhere.

use ae_core::contracts::common::Side;
use serde::{Deserialize, Serialize};

/// Slippage and commissions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    /// Adverse slippage of a fill at the reference price, basis points.
    pub slippage_bps: f64,
    /// Commission per share, dollars.
    pub commission_per_share_usd: f64,
    /// Minimum commission per order (or per execution), dollars.
    pub commission_min_usd: f64,
    /// Commission on notional, basis points, on top of the per-share commission (0 for the
    /// brokers; the backtester may charge it).
    pub commission_bps: f64,
}

impl CostModel {
    /// Slippage and a per-share commission with a minimum, nothing on notional.
    pub const fn new(slippage_bps: f64, commission_per_share_usd: f64, commission_min_usd: f64) -> Self {
        Self { slippage_bps, commission_per_share_usd, commission_min_usd, commission_bps: 0.0 }
    }

    /// The same model with `commission_bps` charged on notional too.
    pub const fn with_commission_bps(self, commission_bps: f64) -> Self {
        Self { commission_bps, ..self }
    }

    /// Per-share commission of an order of `shares`, never below the minimum.
    pub fn commission(&self, shares: u32) -> f64 {
        (self.commission_per_share_usd * shares as f64).max(self.commission_min_usd)
    }

    /// Commission of a fill of `shares` at `price`: the per-share commission plus the share of
    /// notional.
    pub fn commission_with_notional(&self, shares: u32, price: f64) -> f64 {
        self.commission(shares) + self.commission_bps / 1e4 * shares as f64 * price
    }

    /// The factor a buy's reference price is multiplied by (1 + slippage): also what cash must
    /// cover per dollar of a buy at the reference price.
    pub fn buy_factor(&self) -> f64 {
        1.0 + self.slippage_bps / 1e4
    }

    /// The price a fill on `side` gets at `reference`, slippage against the order: buys higher,
    /// sells lower.
    pub fn fill_price(&self, side: Side, reference: f64) -> f64 {
        let slip = self.slippage_bps / 1e4;
        match side {
            Side::Buy => reference * (1.0 + slip),
            Side::Sell => reference * (1.0 - slip),
        }
    }
}

/// Whether a fill on `side` at `price` respects `limit`: buys at or below it, sells at or above.
pub fn within_limit(side: Side, price: f64, limit: f64) -> bool {
    match side {
        Side::Buy => price <= limit,
        Side::Sell => price >= limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IB: CostModel = CostModel::new(5.0, 0.005, 1.0);

    #[test]
    fn commissions() {
        struct Case {
            model: CostModel,
            shares: u32,
            price: f64,
            per_order: f64,
            with_notional: f64,
        }
        let cases = [
            // TC1: a small order pays the minimum.
            Case { model: IB, shares: 10, price: 100.0, per_order: 1.0, with_notional: 1.0 },
            // TC2: a large order pays per share.
            Case { model: IB, shares: 1_000, price: 50.0, per_order: 5.0, with_notional: 5.0 },
            // TC3: exactly at the minimum.
            Case { model: IB, shares: 200, price: 50.0, per_order: 1.0, with_notional: 1.0 },
            // TC4: notional bps come on top of the minimum.
            Case {
                model: IB.with_commission_bps(1.0),
                shares: 100,
                price: 100.0,
                per_order: 1.0,
                with_notional: 1.0 + 1.0 / 1e4 * 100.0 * 100.0,
            },
            // TC5: zero shares still pay the minimum (what the brokers always did).
            Case { model: IB, shares: 0, price: 10.0, per_order: 1.0, with_notional: 1.0 },
        ];
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(c.model.commission(c.shares).to_bits(), c.per_order.to_bits(), "TC{}", i + 1);
            assert_eq!(
                c.model.commission_with_notional(c.shares, c.price).to_bits(),
                c.with_notional.to_bits(),
                "TC{}",
                i + 1
            );
        }
    }

    #[test]
    fn fill_prices_move_against_the_order() {
        struct Case {
            side: Side,
            reference: f64,
            price: f64,
        }
        let cases = [
            // TC1: a buy pays 5 bp more.
            Case { side: Side::Buy, reference: 100.0, price: 100.0 * (1.0 + 5.0 / 1e4) },
            // TC2: a sell receives 5 bp less.
            Case { side: Side::Sell, reference: 100.0, price: 100.0 * (1.0 - 5.0 / 1e4) },
            // TC3: an odd price, bit for bit the formula the three fill models used.
            Case { side: Side::Buy, reference: 37.13, price: 37.13 * (1.0 + 5.0 / 1e4) },
        ];
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(IB.fill_price(c.side, c.reference).to_bits(), c.price.to_bits(), "TC{}", i + 1);
        }
        assert_eq!(IB.buy_factor(), 1.0 + 5.0 / 1e4);
        assert_eq!(CostModel::new(0.0, 0.0, 0.0).fill_price(Side::Sell, 42.0), 42.0, "no slippage, no change");
    }

    #[test]
    fn limits() {
        struct Case {
            side: Side,
            price: f64,
            limit: f64,
            ok: bool,
        }
        let cases = [
            // TC1: a buy below its limit fills.
            Case { side: Side::Buy, price: 99.0, limit: 100.0, ok: true },
            // TC2: a buy at its limit fills.
            Case { side: Side::Buy, price: 100.0, limit: 100.0, ok: true },
            // TC3: a buy above its limit does not.
            Case { side: Side::Buy, price: 100.01, limit: 100.0, ok: false },
            // TC4: a sell above its limit fills.
            Case { side: Side::Sell, price: 101.0, limit: 100.0, ok: true },
            // TC5: a sell below its limit does not.
            Case { side: Side::Sell, price: 99.99, limit: 100.0, ok: false },
        ];
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(within_limit(c.side, c.price, c.limit), c.ok, "TC{}", i + 1);
        }
    }
}
