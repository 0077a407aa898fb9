//! Test builders: the default parameters (from the one default configuration) and plain inputs.

use ae_core::calendar::TradingDay;
use ae_core::contracts::common::{Conviction, Direction, Regime, Sector, SectorRating, SignalAction};
use ae_core::contracts::params::ExecutorParams;
use ae_core::types::{Confidence, Probability, Score, Ticker};

use crate::view::{Book, Candidate, Context, DataQuality, Holding, MarketView, PredictionView};

/// The default executor parameters, read from the embedded default configuration.
pub fn params() -> ExecutorParams {
    let text = include_str!("../../../shared/config/default.toml");
    let table: toml::Table = text.parse().expect("default.toml parses");
    let exec = table.get("executor").expect("an [executor] section").clone();
    exec.try_into().expect("valid executor params")
}

pub fn day(s: &str) -> TradingDay {
    TradingDay::parse(s).unwrap()
}

pub fn tk(s: &str) -> Ticker {
    Ticker::new(s).unwrap()
}

pub fn market(close: f64) -> MarketView {
    MarketView {
        close,
        prev_close: Some(close),
        atr: Some(close * 0.02),
        ret_20d: Some(0.02),
        ret_5d: None,
        rsi_14: Some(55.0),
        sector_relative: Some(0.0),
        adv_usd: Some(50e6),
        support: Some(close * 0.9),
        days_to_earnings: Some(30),
        quality: DataQuality::Active,
        quality_score: 1.0,
    }
}

pub fn holding(t: &str, shares: u32, avg_cost: f64, close: f64) -> Holding {
    Holding {
        ticker: tk(t),
        sector: Some(Sector::InformationTechnology),
        shares,
        working_sells: 0,
        avg_cost,
        entry_date: day("2010-03-01"),
        days_held: 3,
        high_water: close.max(avg_cost),
        profit_taken: false,
        decay_reduced: false,
        market: market(close),
    }
}

pub fn candidate(t: &str, score: f64, close: f64) -> Candidate {
    Candidate {
        ticker: tk(t),
        sector: Some(Sector::HealthCare),
        signal: SignalAction::Enter,
        score: Some(Score::new(score).unwrap()),
        conviction: Conviction::Stable,
        sector_rating: SectorRating::MarketWeight,
        upside: Some(0.15),
        signal_age_days: 1,
        prediction: Some(prediction(0.6)),
        market: market(close),
        correlation: Some(0.3),
        ensemble: None,
    }
}

pub fn prediction(p_up: f64) -> PredictionView {
    let p = Probability::new(p_up).unwrap();
    PredictionView {
        p_up: p,
        direction: if p_up >= 0.5 { Direction::Up } else { Direction::Down },
        confidence: Confidence::from_p_up(p),
        predicted_alpha: (p_up - 0.5) * 0.04,
        gbm_veto: false,
        age_days: 0,
    }
}

pub fn book(nav: f64, cash: f64, holdings: Vec<Holding>) -> Book {
    Book { nav, cash, peak_nav: nav, holdings }
}

pub fn ctx() -> Context {
    Context { date: day("2010-03-15"), regime: Regime::Neutral, kill_switch: false, signals_stale: false }
}
