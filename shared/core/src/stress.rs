//! Stress scenarios: what today's book would gain or lose if a past crash, or a documented shock,
//! happened to it now. Pure functions of the positions, the NAV and (for the historical windows)
//! the S&P 500 index closes the caller passes in.
//!
//! The scenarios ([`standard`] builds them all, in this order):
//!
//! | Scenario | Kind | Move | Source |
//! |---|---|---|---|
//! | 2008 crisis | historical | index, 2008-09-15..=2009-03-09 | seeds (stress tester) |
//! | 2011 US downgrade | historical | index, 2011-07-22..=2011-10-03 | added window |
//! | 2015 China devaluation | historical | index, 2015-08-17..=2015-08-25 | added window |
//! | Q4 2018 sell-off | historical | index, 2018-09-20..=2018-12-24 | added window |
//! | 2020 COVID crash | documented | S&P 500 −33.9% | seeds; published closes |
//! | 2022 rate shock | documented | S&P 500 −25.4% | seeds; published closes |
//! | largest sector −30% | synthetic | the book's largest sector by gross −30% | seeds |
//! | momentum reversal | synthetic | top momentum quintile −20%, bottom +20% | seeds |
//! | short squeeze | synthetic | every short +30% | seeds |
//!
//! **Market scenarios** (historical and documented) move each name by `beta × market move`. Every
//! shock to a price is floored at −100% (a price cannot fall below zero). A historical window's market move is the
//! deepest peak-to-trough decline of the index closes inside the window's fixed bounds
//! ([`peak_to_trough`]); a window the series does not cover is an error, never a zero. The two
//! documented shocks fall after the embedded index series (1999–2018) and carry the published
//! closes. **No sector tilt** is applied: the seeds give none, and the repository holds no sector
//! index series for these windows, so a name's sector enters only through the largest-sector
//! shock and the by-sector sums.
//!
//! A position's P&L is its signed market value times the shock to its price: a short gains when
//! the price falls.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::calendar::trading_days_between;
use crate::contracts::common::Sector;
use crate::types::{Ticker, Usd};

/// A position of the book, as the stress test sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// The name.
    pub ticker: Ticker,
    /// Market value in dollars: positive long, negative short.
    pub market_value: Usd,
    /// Beta to the S&P 500. `None`: 1.0 is assumed, and the result says so.
    pub beta: Option<f64>,
    /// GICS sector. `None`: unclassified (never the largest sector; summed apart).
    pub sector: Option<Sector>,
    /// The name's percentile in the universe's cross-section of 120-5 session momentum (the
    /// return from 120 sessions ago to 5 sessions ago), in [0, 1]: the share of the universe with
    /// lower momentum, 0 the weakest. The quintile is `min(floor(5 × percentile), 4)`: the top
    /// quintile is a percentile ≥ 0.8, the bottom one < 0.2. `None`: not ranked, no momentum
    /// shock.
    pub momentum: Option<f64>,
}

/// The index's move over a window: from a peak close to the lowest close after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketMove {
    /// Session of the peak close.
    pub peak: NaiveDate,
    /// The peak close (index points).
    pub peak_close: f64,
    /// Session of the trough close.
    pub trough: NaiveDate,
    /// The trough close (index points).
    pub trough_close: f64,
    /// `trough_close / peak_close − 1` (−0.2 = a 20% fall).
    pub change: f64,
}

impl MarketMove {
    /// The move from `peak_close` on `peak` to `trough_close` on `trough`.
    pub fn new(peak: NaiveDate, peak_close: f64, trough: NaiveDate, trough_close: f64) -> Self {
        Self { peak, peak_close, trough, trough_close, change: trough_close / peak_close - 1.0 }
    }
}

/// What a scenario does to the book's prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shock {
    /// A window of the index series replayed: every name moves `beta × market.change`.
    Historical {
        /// The move measured from the index closes.
        market: MarketMove,
    },
    /// A documented market move outside the index series: every name moves `beta × market.change`.
    Documented {
        /// The move from the published closes.
        market: MarketMove,
    },
    /// Every position of the book's largest sector (by gross exposure, the sum of absolute market
    /// values) moves by `shock`; the others do not move. A tie in gross goes to the larger net
    /// exposure (the larger loss when the shock is a fall), then to the sector listed first in
    /// [`Sector::ALL`]. Unclassified positions are never the largest sector.
    LargestSector {
        /// The price move of the sector's names (−0.3 = −30%).
        shock: f64,
    },
    /// Names in the top momentum quintile move by `top`, names in the bottom quintile by
    /// `bottom`, the others (and unranked names) do not move.
    MomentumReversal {
        /// Price move of the top quintile (−0.2).
        top: f64,
        /// Price move of the bottom quintile (+0.2).
        bottom: f64,
    },
    /// Every short's price moves by `shock`; longs do not move.
    ShortSqueeze {
        /// The price move of the shorted names (+0.3).
        shock: f64,
    },
}

impl Shock {
    fn numbers(&self) -> Vec<f64> {
        match self {
            Shock::Historical { market } | Shock::Documented { market } => {
                vec![market.peak_close, market.trough_close, market.change]
            }
            Shock::LargestSector { shock } | Shock::ShortSqueeze { shock } => vec![*shock],
            Shock::MomentumReversal { top, bottom } => vec![*top, *bottom],
        }
    }
}

/// A named stress scenario with its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name ("2008 crisis").
    pub name: String,
    /// Where its definition and numbers come from.
    pub source: String,
    /// What it does to prices.
    pub shock: Shock,
}

impl Scenario {
    /// The 2020 COVID crash: the S&P 500 from its record close of 3386.15 on 2020-02-19 to
    /// 2237.40 on 2020-03-23, −33.9%. Not in the embedded index series (which ends in 2018).
    pub fn covid_2020() -> Self {
        Self {
            name: "2020 COVID crash".into(),
            source: "seeds (stress tester: 2020 Covid); S&P 500 closes published by S&P Dow Jones Indices, \
                     3386.15 on 2020-02-19 to 2237.40 on 2020-03-23"
                .into(),
            shock: Shock::Documented {
                market: MarketMove::new(date(2020, 2, 19), 3386.15, date(2020, 3, 23), 2237.40),
            },
        }
    }

    /// The 2022 rate shock: the S&P 500 from its record close of 4796.56 on 2022-01-03 to
    /// 3577.03 on 2022-10-12, −25.4%. Beta only, no sector tilt (see the module notes).
    pub fn rate_shock_2022() -> Self {
        Self {
            name: "2022 rate shock".into(),
            source: "seeds (stress tester: 2022 Rate Hikes); S&P 500 closes published by S&P Dow Jones Indices, \
                     4796.56 on 2022-01-03 to 3577.03 on 2022-10-12"
                .into(),
            shock: Shock::Documented {
                market: MarketMove::new(date(2022, 1, 3), 4796.56, date(2022, 10, 12), 3577.03),
            },
        }
    }

    /// The book's largest sector by gross exposure falls 30%.
    pub fn largest_sector() -> Self {
        Self {
            name: "largest sector -30%".into(),
            source: "seeds (stress tester: sector shock -30% on the most concentrated sector)".into(),
            shock: Shock::LargestSector { shock: -0.30 },
        }
    }

    /// Momentum reverses: the top momentum quintile falls 20%, the bottom quintile rises 20%.
    pub fn momentum_reversal() -> Self {
        Self {
            name: "momentum reversal".into(),
            source: "seeds (stress tester: top-quintile momentum -20%, bottom quintile +20%)".into(),
            shock: Shock::MomentumReversal { top: -0.20, bottom: 0.20 },
        }
    }

    /// Every shorted name rises 30%.
    pub fn short_squeeze() -> Self {
        Self {
            name: "short squeeze".into(),
            source: "seeds (stress tester: every short +30%)".into(),
            shock: Shock::ShortSqueeze { shock: 0.30 },
        }
    }
}

/// A historical window of the S&P 500, replayed from the index closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The 2008 crisis, from Lehman Brothers' bankruptcy filing (2008-09-15) to the bear-market
    /// closing low (2009-03-09). Embedded data: 1255.08 on 2008-09-19 to 676.53 on 2009-03-09,
    /// −46.1%. (Bounds from 2008-09-01 would take the 2008-09-02 close of 1277.58, −47.0%.)
    Crisis2008,
    /// The US downgrade (S&P cut the US to AA+ on 2011-08-05) and the euro debt crisis, from the
    /// late-July high (2011-07-22) to the closing low of 2011-10-03. Embedded data: 1345.02 to
    /// 1099.23, −18.3%.
    Downgrade2011,
    /// China's yuan devaluation (2015-08-11) and the sell-off that followed, 2015-08-17 to the
    /// closing low of 2015-08-25. Embedded data: 2102.44 to 1867.61, −11.2%.
    Devaluation2015,
    /// The Q4 2018 sell-off (rate hikes, trade war), from the record close of 2018-09-20 to
    /// 2018-12-24. Embedded data: 2930.75 to 2351.10, −19.8%.
    Q4Of2018,
}

impl Window {
    /// The four windows, oldest first.
    pub const ALL: [Window; 4] = [Window::Crisis2008, Window::Downgrade2011, Window::Devaluation2015, Window::Q4Of2018];

    /// The scenario's name.
    pub fn name(self) -> &'static str {
        match self {
            Window::Crisis2008 => "2008 crisis",
            Window::Downgrade2011 => "2011 US downgrade",
            Window::Devaluation2015 => "2015 China devaluation",
            Window::Q4Of2018 => "Q4 2018 sell-off",
        }
    }

    /// First and last date of the window (both included).
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        match self {
            Window::Crisis2008 => (date(2008, 9, 15), date(2009, 3, 9)),
            Window::Downgrade2011 => (date(2011, 7, 22), date(2011, 10, 3)),
            Window::Devaluation2015 => (date(2015, 8, 17), date(2015, 8, 25)),
            Window::Q4Of2018 => (date(2018, 9, 20), date(2018, 12, 24)),
        }
    }

    /// Where the window comes from.
    pub fn source(self) -> &'static str {
        match self {
            Window::Crisis2008 => "seeds (stress tester: 2008 Crisis); bounds: Lehman filing to the March 2009 low",
            Window::Downgrade2011 => "added window: US downgrade of 2011-08-05; late-July high to the October low",
            Window::Devaluation2015 => "added window: yuan devaluation of 2015-08-11; sell-off to the August 25 low",
            Window::Q4Of2018 => "added window: Q4 2018; record close of September 20 to the December 24 low",
        }
    }

    /// The window replayed from `closes` (S&P 500 closes, any order): its market move is
    /// [`peak_to_trough`] inside [`Window::bounds`].
    pub fn scenario(self, closes: &[(NaiveDate, f64)]) -> Result<Scenario, StressError> {
        let (from, to) = self.bounds();
        Ok(Scenario {
            name: self.name().into(),
            source: self.source().into(),
            shock: Shock::Historical { market: peak_to_trough(closes, from, to)? },
        })
    }
}

/// Why a stress test could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StressError {
    /// The NAV is not a positive number.
    #[error("NAV {0} is not a positive number")]
    Nav(f64),
    /// A position's beta is NaN or infinite.
    #[error("{ticker}: beta {beta} is not a finite number")]
    Beta {
        /// The position.
        ticker: Ticker,
        /// Its beta.
        beta: f64,
    },
    /// A position's momentum percentile is outside [0, 1].
    #[error("{ticker}: momentum percentile {value} is not in [0, 1]")]
    Momentum {
        /// The position.
        ticker: Ticker,
        /// Its percentile.
        value: f64,
    },
    /// A scenario carries a number that is NaN or infinite.
    #[error("scenario {0:?} has a number that is not finite")]
    Scenario(String),
    /// The window has no NYSE session (its bounds are reversed or outside the calendar).
    #[error("the window {from}..={to} has no NYSE session")]
    NoSessions {
        /// First date.
        from: NaiveDate,
        /// Last date.
        to: NaiveDate,
    },
    /// The index series has no close for a session of the window.
    #[error("the index series does not cover the window {from}..={to}: no close for the session {date}")]
    NotCovered {
        /// First date of the window.
        from: NaiveDate,
        /// Last date of the window.
        to: NaiveDate,
        /// The first session without a close.
        date: NaiveDate,
    },
    /// A close inside the window is not a positive number.
    #[error("the index close {close} on {date} is not a positive number")]
    BadClose {
        /// The session.
        date: NaiveDate,
        /// The close.
        close: f64,
    },
    /// Two closes for one date inside the window.
    #[error("the index series has two closes for {0}")]
    Duplicate(NaiveDate),
}

/// The deepest decline of the index inside `from..=to`: the peak close and the lowest close after
/// it (the largest drawdown of the window; equal closes keep the earlier date). Every NYSE session
/// of the window must have a positive close in `closes` (any order; closes on other dates are
/// ignored), else an error names the first missing session. A window where the index only rose
/// gives a change of 0 at the first session.
pub fn peak_to_trough(closes: &[(NaiveDate, f64)], from: NaiveDate, to: NaiveDate) -> Result<MarketMove, StressError> {
    let mut inside = BTreeMap::new();
    for &(date, close) in closes.iter().filter(|(d, _)| (from..=to).contains(d)) {
        if !(close.is_finite() && close > 0.0) {
            return Err(StressError::BadClose { date, close });
        }
        if inside.insert(date, close).is_some() {
            return Err(StressError::Duplicate(date));
        }
    }
    let mut peak: Option<(NaiveDate, f64)> = None;
    let mut worst: Option<MarketMove> = None;
    for day in trading_days_between(from, to) {
        let date = day.date();
        let close = *inside.get(&date).ok_or(StressError::NotCovered { from, to, date })?;
        let (peak_date, peak_close) = match peak {
            Some(p) if p.1 >= close => p,
            _ => *peak.insert((date, close)),
        };
        let here = MarketMove::new(peak_date, peak_close, date, close);
        if worst.is_none_or(|w| here.change < w.change) {
            worst = Some(here);
        }
    }
    worst.ok_or(StressError::NoSessions { from, to })
}

/// All the scenarios of the module table, in its order: the four [`Window`]s replayed from
/// `closes` (S&P 500 closes), then the documented and synthetic shocks. An error when the series
/// does not cover a window (build the others one by one to run without it).
pub fn standard(closes: &[(NaiveDate, f64)]) -> Result<Vec<Scenario>, StressError> {
    let mut out = Window::ALL.iter().map(|w| w.scenario(closes)).collect::<Result<Vec<_>, _>>()?;
    out.extend(documented());
    Ok(out)
}

/// The documented and synthetic scenarios, which need no history.
pub fn documented() -> [Scenario; 5] {
    [
        Scenario::covid_2020(),
        Scenario::rate_shock_2022(),
        Scenario::largest_sector(),
        Scenario::momentum_reversal(),
        Scenario::short_squeeze(),
    ]
}

/// Point in time: the historical windows `closes` covers, then [`documented`]; each window left
/// out with why (on a 2010 morning, the 2011, 2015 and 2018 windows have not happened yet).
pub fn available(closes: &[(NaiveDate, f64)]) -> (Vec<Scenario>, Vec<String>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for w in Window::ALL {
        match w.scenario(closes) {
            Ok(s) => out.push(s),
            Err(e) => missing.push(format!("{}: {e}", w.name())),
        }
    }
    out.extend(documented());
    (out, missing)
}

/// One position's outcome under a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionPnl {
    /// The name.
    pub ticker: Ticker,
    /// Its market value (negative: short).
    pub market_value: Usd,
    /// The beta the market scenarios use.
    pub beta: f64,
    /// Whether that beta is the assumed 1.0 (the position gave none).
    pub beta_assumed: bool,
    /// The move applied to its price (−0.24 = −24%).
    pub shock: f64,
    /// `market_value × shock`.
    pub pnl: Usd,
}

/// A sector's outcome under a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectorPnl {
    /// The sector; `None` for the unclassified positions.
    pub sector: Option<Sector>,
    /// Gross exposure: the sum of the absolute market values.
    pub gross: Usd,
    /// Summed P&L of its positions.
    pub pnl: Usd,
}

/// The book's outcome under one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The market's (S&P 500) move, a fraction, for the market scenarios; `None` for the
    /// synthetic ones, which move no index.
    pub market_move: Option<f64>,
    /// The sector the largest-sector shock hit; `None` for other scenarios, or when no position
    /// has a sector.
    pub shocked_sector: Option<Sector>,
    /// The book's P&L in dollars.
    pub pnl: Usd,
    /// The P&L as a fraction of NAV (−0.05 = −5%).
    pub pnl_of_nav: f64,
    /// By position, in the order given.
    pub positions: Vec<PositionPnl>,
    /// By sector, for the sectors held, in the order of [`Sector::ALL`], unclassified last.
    pub sectors: Vec<SectorPnl>,
}

/// Each scenario applied to the book: P&L in dollars and as a share of `nav`, by position and by
/// sector. An error for a NAV that is not positive, a beta that is not finite, a momentum
/// percentile outside [0, 1] or a scenario with a number that is not finite.
pub fn run(positions: &[Position], nav: Usd, scenarios: &[Scenario]) -> Result<Vec<StressResult>, StressError> {
    if nav.get() <= 0.0 {
        return Err(StressError::Nav(nav.get()));
    }
    for p in positions {
        if let Some(beta) = p.beta.filter(|b| !b.is_finite()) {
            return Err(StressError::Beta { ticker: p.ticker.clone(), beta });
        }
        if let Some(value) = p.momentum.filter(|m| !(0.0..=1.0).contains(m)) {
            return Err(StressError::Momentum { ticker: p.ticker.clone(), value });
        }
    }
    if let Some(s) = scenarios.iter().find(|s| s.shock.numbers().iter().any(|x| !x.is_finite())) {
        return Err(StressError::Scenario(s.name.clone()));
    }
    let largest = largest_sector(positions);
    Ok(scenarios.iter().map(|s| one(positions, nav, s, largest)).collect())
}

fn one(positions: &[Position], nav: Usd, scenario: &Scenario, largest: Option<Sector>) -> StressResult {
    let (market_move, shocked_sector) = match &scenario.shock {
        Shock::Historical { market } | Shock::Documented { market } => (Some(market.change), None),
        Shock::LargestSector { .. } => (None, largest),
        Shock::MomentumReversal { .. } | Shock::ShortSqueeze { .. } => (None, None),
    };
    let rows: Vec<PositionPnl> = positions
        .iter()
        .map(|p| {
            let beta = p.beta.unwrap_or(1.0);
            let shock = match &scenario.shock {
                Shock::Historical { market } | Shock::Documented { market } => beta * market.change,
                Shock::LargestSector { shock } => match p.sector {
                    Some(s) if Some(s) == largest => *shock,
                    _ => 0.0,
                },
                Shock::MomentumReversal { top, bottom } => match p.momentum.map(quintile) {
                    Some(4) => *top,
                    Some(0) => *bottom,
                    _ => 0.0,
                },
                Shock::ShortSqueeze { shock } => {
                    if p.market_value.get() < 0.0 {
                        *shock
                    } else {
                        0.0
                    }
                }
            }
            .max(-1.0); // a price falls at most to zero
            PositionPnl {
                ticker: p.ticker.clone(),
                market_value: p.market_value,
                beta,
                beta_assumed: p.beta.is_none(),
                shock,
                pnl: p.market_value * shock,
            }
        })
        .collect();
    let pnl: Usd = rows.iter().map(|r| r.pnl).sum();
    let sectors = Sector::ALL
        .iter()
        .map(|s| Some(*s))
        .chain([None])
        .filter_map(|sector| {
            let mut held = positions.iter().zip(&rows).filter(|(p, _)| p.sector == sector).peekable();
            held.peek()?;
            let (gross, pnl) =
                held.fold((0.0, Usd::ZERO), |(g, l), (p, r)| (g + p.market_value.get().abs(), l + r.pnl));
            Some(SectorPnl { sector, gross: Usd::saturating(gross), pnl })
        })
        .collect();
    StressResult {
        scenario: scenario.clone(),
        market_move,
        shocked_sector,
        pnl,
        pnl_of_nav: pnl.get() / nav.get(),
        positions: rows,
        sectors,
    }
}

/// The largest sector by gross exposure; ties to the larger net exposure (the larger loss when
/// the sector falls), then to the order of [`Sector::ALL`].
fn largest_sector(positions: &[Position]) -> Option<Sector> {
    let mut best: Option<(Sector, f64, f64)> = None;
    for s in Sector::ALL {
        let mut held = positions.iter().filter(|p| p.sector == Some(s)).peekable();
        if held.peek().is_none() {
            continue;
        }
        let (gross, net) =
            held.fold((0.0, 0.0), |(g, n), p| (g + p.market_value.get().abs(), n + p.market_value.get()));
        if best.is_none_or(|(_, g, n)| gross > g || (gross == g && net > n)) {
            best = Some((s, gross, net));
        }
    }
    best.map(|(s, _, _)| s)
}

/// The momentum quintile of a percentile in [0, 1]: 0 (bottom) to 4 (top).
fn quintile(percentile: f64) -> u8 {
    ((percentile * 5.0).floor() as u8).min(4)
}

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("a valid calendar date"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(
        ticker: &str,
        market_value: f64,
        beta: Option<f64>,
        sector: Option<Sector>,
        momentum: Option<f64>,
    ) -> Position {
        Position {
            ticker: Ticker::new(ticker).unwrap(),
            market_value: Usd::new(market_value).unwrap(),
            beta,
            sector,
            momentum,
        }
    }

    fn nav(x: f64) -> Usd {
        Usd::new(x).unwrap()
    }

    fn close_to(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// The S&P 500 closes of the embedded series, 1999..2018.
    fn embedded_index() -> Vec<(NaiveDate, f64)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/spx_index_1999_2018.csv.gz");
        let mut raw = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()), &mut raw)
            .unwrap();
        let mut lines = raw.lines();
        assert_eq!(lines.next(), Some("date,open,high,low,close,adj_close,volume"));
        lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (NaiveDate::parse_from_str(f[0], "%Y-%m-%d").unwrap(), f[4].parse().unwrap())
            })
            .collect()
    }

    /// Closes on consecutive sessions from `start`.
    fn series(start: NaiveDate, closes: &[f64]) -> Vec<(NaiveDate, f64)> {
        trading_days_between(start, date(2050, 12, 31)).zip(closes).map(|(d, c)| (d.date(), *c)).collect()
    }

    #[test]
    fn a_small_book_in_a_twenty_percent_fall_by_hand() {
        // Index over five sessions: 100, 110 (peak), 99, 88 (trough), 95 → 88 / 110 − 1 = −20%.
        let closes = series(date(2018, 10, 1), &[100.0, 110.0, 99.0, 88.0, 95.0]);
        let market = peak_to_trough(&closes, date(2018, 10, 1), date(2018, 10, 5)).unwrap();
        assert_eq!((market.peak, market.trough), (date(2018, 10, 2), date(2018, 10, 4)));
        assert!(close_to(market.change, -0.2));
        let scenario = Scenario { name: "-20%".into(), source: "test".into(), shock: Shock::Historical { market } };
        let book = [
            // $100k long, beta 1.2: shock 1.2 × −20% = −24%, P&L −$24,000.
            pos("AAA", 100_000.0, Some(1.2), Some(Sector::InformationTechnology), None),
            // $50k long, no beta (1.0 assumed): −20%, −$10,000.
            pos("BBB", 50_000.0, None, None, None),
            // $40k short, beta 0.8: −16% on the price, P&L −$40,000 × −0.16 = +$6,400.
            pos("CCC", -40_000.0, Some(0.8), Some(Sector::Energy), None),
            // $30k long, beta 2.5: −50%, −$15,000.
            pos("DDD", 30_000.0, Some(2.5), Some(Sector::InformationTechnology), None),
        ];
        let r = &run(&book, nav(500_000.0), &[scenario]).unwrap()[0];
        // Total −24,000 − 10,000 + 6,400 − 15,000 = −42,600; / NAV 500,000 = −8.52%.
        assert!(close_to(r.pnl.get(), -42_600.0), "{}", r.pnl);
        assert!(close_to(r.pnl_of_nav, -0.0852));
        assert!(close_to(r.market_move.unwrap(), -0.2));
        assert_eq!(r.shocked_sector, None);
        let got: Vec<(&str, f64, bool, f64, f64)> =
            r.positions.iter().map(|p| (p.ticker.as_str(), p.beta, p.beta_assumed, p.shock, p.pnl.get())).collect();
        let want = [
            ("AAA", 1.2, false, -0.24, -24_000.0),
            ("BBB", 1.0, true, -0.2, -10_000.0),
            ("CCC", 0.8, false, -0.16, 6_400.0),
            ("DDD", 2.5, false, -0.5, -15_000.0),
        ];
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.0 == w.0 && g.1 == w.1 && g.2 == w.2 && close_to(g.3, w.3) && close_to(g.4, w.4),
                "{g:?} vs {w:?}"
            );
        }
        // By sector, in GICS order, unclassified last: IT −24,000 − 15,000 = −39,000 on a gross
        // of 130,000; Energy +6,400 on 40,000; unclassified −10,000 on 50,000.
        let sectors: Vec<(Option<Sector>, f64, f64)> =
            r.sectors.iter().map(|s| (s.sector, s.gross.get(), s.pnl.get())).collect();
        let want = [
            (Some(Sector::InformationTechnology), 130_000.0, -39_000.0),
            (Some(Sector::Energy), 40_000.0, 6_400.0),
            (None, 50_000.0, -10_000.0),
        ];
        assert_eq!(sectors.len(), want.len());
        for (g, w) in sectors.iter().zip(&want) {
            assert!(g.0 == w.0 && close_to(g.1, w.1) && close_to(g.2, w.2), "{g:?} vs {w:?}");
        }
    }

    #[test]
    fn a_price_falls_at_most_to_zero() {
        // Beta 3 in a −46% market would be −138%: the long loses its whole value, no more.
        let market = MarketMove::new(date(2008, 9, 19), 100.0, date(2009, 3, 9), 54.0);
        let s = Scenario { name: "deep".into(), source: "test".into(), shock: Shock::Historical { market } };
        let book = [pos("AAA", 10_000.0, Some(3.0), None, None), pos("BBB", -10_000.0, Some(3.0), None, None)];
        let r = &run(&book, nav(100_000.0), &[s]).unwrap()[0];
        assert_eq!(r.positions[0].shock, -1.0);
        assert!(close_to(r.positions[0].pnl.get(), -10_000.0));
        assert!(close_to(r.positions[1].pnl.get(), 10_000.0));
    }

    #[test]
    fn each_documented_shock_on_one_book() {
        let book = [
            // Beta dollars: 100k × 1.2 + 50k × 1.0 − 40k × 0.8 + 30k × 1.0 = 168,000.
            // IT gross 130k (the largest), Financials 50k, Energy 40k.
            pos("AAA", 100_000.0, Some(1.2), Some(Sector::InformationTechnology), Some(0.95)), // top quintile
            pos("BBB", 50_000.0, None, Some(Sector::Financials), Some(0.10)),                  // bottom quintile
            pos("CCC", -40_000.0, Some(0.8), Some(Sector::Energy), Some(0.80)), // top (0.8 is the top's edge)
            pos("DDD", 30_000.0, Some(1.0), Some(Sector::InformationTechnology), None), // unranked
        ];
        let covid = 2237.40 / 3386.15 - 1.0; // −33.92%
        let rates = 3577.03 / 4796.56 - 1.0; // −25.43%
        let table: [(Scenario, f64, Option<f64>, Option<Sector>); 5] = [
            // 168,000 × −0.339250 = −56,993.93.
            (Scenario::covid_2020(), 168_000.0 * covid, Some(covid), None),
            // 168,000 × −0.254251 = −42,714.16.
            (Scenario::rate_shock_2022(), 168_000.0 * rates, Some(rates), None),
            // IT −30%: (100,000 + 30,000) × −0.3 = −39,000.
            (Scenario::largest_sector(), -39_000.0, None, Some(Sector::InformationTechnology)),
            // AAA 100,000 × −0.2 = −20,000; CCC −40,000 × −0.2 = +8,000; BBB 50,000 × 0.2 = +10,000.
            (Scenario::momentum_reversal(), -2_000.0, None, None),
            // CCC −40,000 × 0.3 = −12,000.
            (Scenario::short_squeeze(), -12_000.0, None, None),
        ];
        assert!(close_to(covid, -0.339_249_590_242_605_9) && close_to(rates, -0.254_250_963_190_286_4));
        let scenarios: Vec<Scenario> = table.iter().map(|t| t.0.clone()).collect();
        let results = run(&book, nav(1_000_000.0), &scenarios).unwrap();
        assert_eq!(results.len(), table.len());
        for (r, (s, pnl, market, sector)) in results.iter().zip(&table) {
            assert_eq!(&r.scenario, s);
            assert!(close_to(r.pnl.get(), *pnl), "{}: {} vs {pnl}", s.name, r.pnl);
            assert!(close_to(r.pnl_of_nav, pnl / 1_000_000.0), "{}", s.name);
            assert_eq!(r.market_move.is_some(), market.is_some(), "{}", s.name);
            assert!(r.market_move.zip(*market).is_none_or(|(a, b)| close_to(a, b)), "{}", s.name);
            assert_eq!(r.shocked_sector, *sector, "{}", s.name);
            let summed: f64 = r.sectors.iter().map(|x| x.pnl.get()).sum();
            assert!(close_to(summed, r.pnl.get()), "{}: sectors add up", s.name);
        }
    }

    #[test]
    fn the_largest_sector_tie_goes_to_the_larger_net_then_to_gics_order() {
        let shock = [Scenario::largest_sector()];
        let hit = |book: &[Position]| run(book, nav(1e6), &shock).unwrap()[0].shocked_sector;
        // Gross tie at 100k: Financials is 60k long + 40k short (net 20k), IT 100k long (net 100k):
        // IT, whose fall loses more.
        let book = [
            pos("FIN1", 60_000.0, None, Some(Sector::Financials), None),
            pos("FIN2", -40_000.0, None, Some(Sector::Financials), None),
            pos("TECH", 100_000.0, None, Some(Sector::InformationTechnology), None),
        ];
        assert_eq!(hit(&book), Some(Sector::InformationTechnology));
        // Gross and net tied: the first of Sector::ALL (Health Care before Energy), whatever the
        // order of the book.
        let book = [
            pos("OIL", 100_000.0, None, Some(Sector::Energy), None),
            pos("PHARM", 100_000.0, None, Some(Sector::HealthCare), None),
        ];
        assert_eq!(hit(&book), Some(Sector::HealthCare));
        let r = &run(&book, nav(1e6), &shock).unwrap()[0];
        assert!(close_to(r.pnl.get(), -30_000.0));
        // Shorts count in gross: a 150k short Energy book beats a 100k long Health Care one.
        let book = [
            pos("OIL", -150_000.0, None, Some(Sector::Energy), None),
            pos("PHARM", 100_000.0, None, Some(Sector::HealthCare), None),
        ];
        let r = &run(&book, nav(1e6), &shock).unwrap()[0];
        assert_eq!(r.shocked_sector, Some(Sector::Energy));
        assert!(close_to(r.pnl.get(), 45_000.0), "the short gains: −150,000 × −0.3");
        // Unclassified positions are never the largest sector; none classified, nothing is hit.
        let book =
            [pos("XYZ", 500_000.0, None, None, None), pos("PHARM", 1_000.0, None, Some(Sector::HealthCare), None)];
        assert_eq!(hit(&book), Some(Sector::HealthCare));
        let r = &run(&book[..1], nav(1e6), &shock).unwrap()[0];
        assert_eq!((r.shocked_sector, r.pnl), (None, Usd::ZERO));
    }

    #[test]
    fn a_window_the_series_does_not_cover_is_an_error() {
        // Closes for Q4 2018 only.
        let closes = series(date(2018, 9, 20), &[2930.75; 66]);
        assert!(Window::Q4Of2018.scenario(&closes).is_ok());
        let err = Window::Crisis2008.scenario(&closes).unwrap_err();
        assert_eq!(
            err,
            StressError::NotCovered { from: date(2008, 9, 15), to: date(2009, 3, 9), date: date(2008, 9, 15) }
        );
        assert!(standard(&closes).is_err());
        // One session missing inside the window names that session.
        let gap: Vec<_> = closes.iter().copied().filter(|(d, _)| *d != date(2018, 11, 23)).collect();
        assert_eq!(
            Window::Q4Of2018.scenario(&gap).unwrap_err(),
            StressError::NotCovered { from: date(2018, 9, 20), to: date(2018, 12, 24), date: date(2018, 11, 23) }
        );
        // The series ends before the window's last session.
        assert!(matches!(Window::Q4Of2018.scenario(&closes[..60]), Err(StressError::NotCovered { .. })));
        // Bad closes and duplicates inside the window, reversed bounds.
        let mut bad = closes.clone();
        bad[3].1 = f64::NAN;
        assert!(matches!(Window::Q4Of2018.scenario(&bad), Err(StressError::BadClose { .. })));
        let mut twice = closes.clone();
        twice.push(closes[5]);
        assert_eq!(Window::Q4Of2018.scenario(&twice).unwrap_err(), StressError::Duplicate(closes[5].0));
        assert!(matches!(
            peak_to_trough(&closes, date(2018, 12, 24), date(2018, 9, 20)),
            Err(StressError::NoSessions { .. })
        ));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let s = [Scenario::short_squeeze()];
        let ok = pos("AAA", 1.0, Some(1.0), None, Some(0.5));
        assert_eq!(run(std::slice::from_ref(&ok), Usd::ZERO, &s).unwrap_err(), StressError::Nav(0.0));
        let nan_beta = Position { beta: Some(f64::NAN), ..ok.clone() };
        assert!(matches!(run(&[nan_beta], nav(1.0), &s), Err(StressError::Beta { .. })));
        let mom = Position { momentum: Some(1.5), ..ok.clone() };
        assert!(matches!(run(&[mom], nav(1.0), &s), Err(StressError::Momentum { value: 1.5, .. })));
        let inf = Scenario { shock: Shock::ShortSqueeze { shock: f64::INFINITY }, ..Scenario::short_squeeze() };
        assert_eq!(run(&[ok], nav(1.0), &[inf]).unwrap_err(), StressError::Scenario("short squeeze".into()));
    }

    #[test]
    fn the_embedded_index_gives_the_four_windows() {
        let closes = embedded_index();
        // (window, peak, peak close, trough, trough close): the closes of the embedded series.
        let want = [
            (Window::Crisis2008, date(2008, 9, 19), 1255.079956, date(2009, 3, 9), 676.530029), // −46.1%
            (Window::Downgrade2011, date(2011, 7, 22), 1345.02002, date(2011, 10, 3), 1099.22998), // −18.3%
            (Window::Devaluation2015, date(2015, 8, 17), 2102.439941, date(2015, 8, 25), 1867.609985), // −11.2%
            (Window::Q4Of2018, date(2018, 9, 20), 2930.75, date(2018, 12, 24), 2351.100098),    // −19.8%
        ];
        for (w, peak, peak_close, trough, trough_close) in want {
            let Shock::Historical { market } = w.scenario(&closes).unwrap().shock else { panic!("historical") };
            assert_eq!(market, MarketMove::new(peak, peak_close, trough, trough_close), "{}", w.name());
        }
        let change = |w: Window| match w.scenario(&closes).unwrap().shock {
            Shock::Historical { market } => market.change,
            _ => unreachable!(),
        };
        assert!((change(Window::Crisis2008) + 0.461).abs() < 5e-4);
        assert!((change(Window::Downgrade2011) + 0.183).abs() < 5e-4);
        assert!((change(Window::Devaluation2015) + 0.112).abs() < 5e-4);
        assert!((change(Window::Q4Of2018) + 0.198).abs() < 5e-4);
        // The whole standard set runs on the embedded series: a beta-1 $1M long loses the move.
        let all = standard(&closes).unwrap();
        assert_eq!(all.len(), 9);
        let r = run(&[pos("SPY", 1_000_000.0, None, None, None)], nav(1_000_000.0), &all).unwrap();
        assert!(close_to(r[0].pnl_of_nav, 676.530029 / 1255.079956 - 1.0));
    }

    #[test]
    fn the_result_round_trips_through_json_and_has_a_schema() {
        let book = [pos("AAA", 100_000.0, Some(1.2), Some(Sector::InformationTechnology), Some(0.9))];
        let scenarios = [Scenario::covid_2020(), Scenario::largest_sector(), Scenario::momentum_reversal()];
        let results = run(&book, nav(1e6), &scenarios).unwrap();
        let json = serde_json::to_value(&results).unwrap();
        assert_eq!(json[0]["scenario"]["shock"]["kind"], "documented");
        assert_eq!(json[1]["shocked_sector"], "Information Technology");
        assert_eq!(serde_json::from_value::<Vec<StressResult>>(json.clone()).unwrap(), results);
        let schema = serde_json::to_value(schemars::schema_for!(Vec<StressResult>)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(validator.is_valid(&json));
    }
}
