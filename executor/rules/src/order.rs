//! Risk-approved orders. An [`ApprovedOrder`] can only be made here, by the pre-trade gates below;
//! brokers and the OMS accept nothing else. Entries pass the live entry gate (the right day, no
//! kill switch, not already held, cash, per-order and position limits); sells pass the sell guard
//! (never more than held minus working sells) and are never blocked by entry rules.

use ae_core::calendar::TradingDay;
use ae_core::contracts::common::{Side, SignalAction};
use ae_core::types::Ticker;
use serde::Serialize;

use crate::reason::Reason;
use crate::sells::sellable;

/// How an order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum OrderPrice {
    /// At market.
    Market,
    /// At this limit or better.
    Limit(f64),
}

/// An order that passed the pre-trade gates. Fields are private: it cannot be built or altered
/// outside this module.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovedOrder {
    id: String,
    ticker: Ticker,
    side: Side,
    shares: u32,
    price: OrderPrice,
    intent: SignalAction,
    reasons: Vec<Reason>,
    reference_price: Option<f64>,
}

impl ApprovedOrder {
    /// Deterministic client order id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Symbol.
    pub fn ticker(&self) -> &Ticker {
        &self.ticker
    }
    /// Buy or sell.
    pub fn side(&self) -> Side {
        self.side
    }
    /// Whole shares.
    pub fn shares(&self) -> u32 {
        self.shares
    }
    /// Market or limit.
    pub fn price(&self) -> OrderPrice {
        self.price
    }
    /// ENTER, EXIT or REDUCE.
    pub fn intent(&self) -> SignalAction {
        self.intent
    }
    /// Why.
    pub fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
    /// The planner's reference price, for slippage.
    pub fn reference_price(&self) -> Option<f64> {
        self.reference_price
    }
}

/// Why an order was not approved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    /// The rule.
    pub reason: Reason,
    /// With the numbers.
    pub detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// The id of an order the daemon decides intraday: `{date}:{ticker}:{REASON}` (one per rule, name
/// and day, so a restart can never send it twice).
pub fn intraday_order_id(date: TradingDay, ticker: &Ticker, reason: Reason) -> String {
    format!("{date}:{ticker}:{reason}")
}

/// The live state an entry is checked against when it is about to be sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryGate {
    /// Today.
    pub today: TradingDay,
    /// The order book's date.
    pub book_date: TradingDay,
    /// Kill switch set.
    pub kill_switch: bool,
    /// NAV.
    pub nav: f64,
    /// Cash not committed to working buys.
    pub cash_available: f64,
    /// Shares of this name held now.
    pub held: u32,
    /// Shares of this name in working buys.
    pub working_buys: u32,
    /// Largest single order, dollars.
    pub max_order_usd: f64,
    /// Largest position weight in force.
    pub max_position: f64,
}

/// Approves a planned entry for sending at `price_now` (shares shrink, never grow, to respect cash
/// and the position limit at today's price).
#[allow(clippy::too_many_arguments)]
pub fn approve_entry(
    id: &str,
    ticker: &Ticker,
    planned_shares: u32,
    price_now: f64,
    reference_price: f64,
    trigger: Reason,
    order_price: OrderPrice,
    g: &EntryGate,
) -> Result<ApprovedOrder, Refusal> {
    let refuse = |reason, detail: String| Err(Refusal { reason, detail });
    if g.book_date != g.today {
        return refuse(Reason::WrongDay, format!("the order book is for {}, today is {}", g.book_date, g.today));
    }
    if g.kill_switch {
        return refuse(Reason::KillSwitch, "the kill switch is set".into());
    }
    if g.held > 0 || g.working_buys > 0 {
        return refuse(Reason::AlreadyHeld, format!("{} held, {} in working buys", g.held, g.working_buys));
    }
    if !(price_now > 0.0 && price_now.is_finite()) {
        return refuse(Reason::NoPrice, format!("price {price_now}"));
    }
    let by_cash = (g.cash_available.max(0.0) / price_now).floor() as u32;
    let by_position = (g.max_position * g.nav / price_now).floor() as u32;
    let shares = planned_shares.min(by_cash).min(by_position);
    if shares == 0 {
        return refuse(
            Reason::InsufficientCash,
            format!(
                "{planned_shares} planned; cash {:.2} and position limit allow none at {price_now}",
                g.cash_available
            ),
        );
    }
    let value = shares as f64 * price_now;
    if value > g.max_order_usd {
        return refuse(Reason::OrderTooLarge, format!("{value:.2} above the {:.2} per-order limit", g.max_order_usd));
    }
    Ok(ApprovedOrder {
        id: id.to_string(),
        ticker: ticker.clone(),
        side: Side::Buy,
        shares,
        price: order_price,
        intent: SignalAction::Enter,
        reasons: vec![trigger],
        reference_price: Some(reference_price),
    })
}

/// Approves a sell: clamped to held minus working sells; refused when nothing is left. Entry rules
/// (kill switch, drawdown, ...) never apply here.
pub fn approve_sell(
    id: &str,
    ticker: &Ticker,
    requested: u32,
    held: u32,
    working_sells: u32,
    intent: SignalAction,
    reasons: &[Reason],
) -> Result<ApprovedOrder, Refusal> {
    let free = sellable(held, working_sells);
    if free == 0 || requested == 0 {
        return Err(Refusal {
            reason: Reason::NothingToSell,
            detail: format!("requested {requested}, held {held}, working sells {working_sells}"),
        });
    }
    let shares = requested.min(free);
    let mut reasons = reasons.to_vec();
    if shares < requested {
        reasons.push(Reason::SellClamped);
    }
    let intent = if shares >= held { SignalAction::Exit } else { intent };
    Ok(ApprovedOrder {
        id: id.to_string(),
        ticker: ticker.clone(),
        side: Side::Sell,
        shares,
        price: OrderPrice::Market,
        intent,
        reasons,
        reference_price: None,
    })
}

/// An order approved and written ahead earlier, as the ledger recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<'a> {
    /// Its id.
    pub id: &'a str,
    /// Symbol.
    pub ticker: &'a Ticker,
    /// Side.
    pub side: Side,
    /// Shares.
    pub shares: u32,
    /// Pricing.
    pub price: OrderPrice,
    /// ENTER, EXIT, REDUCE.
    pub intent: SignalAction,
    /// Why.
    pub reasons: Vec<Reason>,
    /// Planner's reference price.
    pub reference_price: Option<f64>,
}

/// Issues a recorded order again, unchanged and under the same id, when the broker never received
/// it (a crash or a dropped connection between the write-ahead record and the broker). A buy was
/// approved when recorded, but is refused while entries are blocked (the kill switch); a sell must
/// still fit in held minus the other working sells, else it is refused (never a short, never more
/// than held). Sells are never blocked by the kill switch.
pub fn reissue(
    r: &Recorded<'_>,
    held: u32,
    other_working_sells: u32,
    entries_blocked: bool,
) -> Result<ApprovedOrder, Refusal> {
    if r.side == Side::Buy && entries_blocked {
        return Err(Refusal {
            reason: Reason::KillSwitch,
            detail: format!("recorded buy {} is not re-sent: the kill switch blocks entries", r.id),
        });
    }
    if r.side == Side::Sell && r.shares > sellable(held, other_working_sells) {
        return Err(Refusal {
            reason: Reason::NothingToSell,
            detail: format!(
                "recorded sell of {} no longer fits: held {held}, other working sells {other_working_sells}",
                r.shares
            ),
        });
    }
    Ok(ApprovedOrder {
        id: r.id.to_string(),
        ticker: r.ticker.clone(),
        side: r.side,
        shares: r.shares,
        price: r.price,
        intent: r.intent,
        reasons: r.reasons.clone(),
        reference_price: r.reference_price,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{day, tk};

    fn gate() -> EntryGate {
        EntryGate {
            today: day("2010-03-15"),
            book_date: day("2010-03-15"),
            kill_switch: false,
            nav: 1_000_000.0,
            cash_available: 100_000.0,
            held: 0,
            working_buys: 0,
            max_order_usd: 1_000_000.0,
            max_position: 0.05,
        }
    }

    fn entry(g: &EntryGate, shares: u32, px: f64) -> Result<ApprovedOrder, Refusal> {
        approve_entry("2010-03-15:AAA:ENTER", &tk("AAA"), shares, px, 50.0, Reason::Pullback, OrderPrice::Market, g)
    }

    #[test]
    fn entry_gate_table() {
        assert_eq!(entry(&gate(), 900, 50.0).unwrap().shares(), 900);
        // Price rose: the position limit at today's price shrinks the order (50k / 60 = 833).
        assert_eq!(entry(&gate(), 900, 60.0).unwrap().shares(), 833);
        // An order book dated for another day is refused.
        let other = EntryGate { book_date: day("2010-03-12"), ..gate() };
        assert_eq!(entry(&other, 900, 50.0).unwrap_err().reason, Reason::WrongDay);
        let killed = EntryGate { kill_switch: true, ..gate() };
        assert_eq!(entry(&killed, 900, 50.0).unwrap_err().reason, Reason::KillSwitch);
        let held = EntryGate { held: 10, ..gate() };
        assert_eq!(entry(&held, 900, 50.0).unwrap_err().reason, Reason::AlreadyHeld);
        let broke = EntryGate { cash_available: 20.0, ..gate() };
        assert_eq!(entry(&broke, 900, 50.0).unwrap_err().reason, Reason::InsufficientCash);
        let small = EntryGate { max_order_usd: 10_000.0, ..gate() };
        assert_eq!(entry(&small, 900, 50.0).unwrap_err().reason, Reason::OrderTooLarge);
    }

    #[test]
    fn sells_are_clamped_never_short_and_ignore_entry_rules() {
        let s = approve_sell("id", &tk("AAA"), 100, 100, 0, SignalAction::Exit, &[Reason::ResearchExit]).unwrap();
        assert_eq!((s.shares(), s.side(), s.intent()), (100, Side::Sell, SignalAction::Exit));
        let s = approve_sell("id", &tk("AAA"), 100, 100, 60, SignalAction::Exit, &[Reason::ResearchExit]).unwrap();
        assert_eq!(s.shares(), 40);
        assert!(s.reasons().contains(&Reason::SellClamped));
        let e = approve_sell("id", &tk("AAA"), 100, 100, 100, SignalAction::Exit, &[Reason::ResearchExit]).unwrap_err();
        assert_eq!(e.reason, Reason::NothingToSell);
        let e = approve_sell("id", &tk("AAA"), 5, 0, 0, SignalAction::Reduce, &[]).unwrap_err();
        assert_eq!(e.reason, Reason::NothingToSell, "nothing held: never a short");
    }
    #[test]
    fn a_recorded_sell_is_reissued_only_while_it_still_fits() {
        let t = tk("AAA");
        let r = Recorded {
            id: "x",
            ticker: &t,
            side: Side::Sell,
            shares: 60,
            price: OrderPrice::Market,
            intent: SignalAction::Reduce,
            reasons: vec![Reason::ResearchReduce],
            reference_price: None,
        };
        assert_eq!(reissue(&r, 100, 40, false).unwrap().shares(), 60);
        assert_eq!(reissue(&r, 100, 41, false).unwrap_err().reason, Reason::NothingToSell);
        assert_eq!(reissue(&r, 100, 40, true).unwrap().shares(), 60, "the kill switch never blocks a sell");
        let buy = Recorded { side: Side::Buy, intent: SignalAction::Enter, ..r.clone() };
        assert_eq!(reissue(&buy, 0, 0, false).unwrap().id(), "x");
        assert_eq!(reissue(&buy, 0, 0, true).unwrap_err().reason, Reason::KillSwitch, "re-sent buys are gated");
    }
}
