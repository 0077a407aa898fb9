//! The position sizer: `1/n × sector × conviction × upside × drawdown × ATR × confidence ×
//! staleness × breakers`, capped by the largest position, the earnings cap (within the window, a
//! share of the largest position), the ATR volatility cap, 10% of average
//! daily dollar volume and the cash available; below the minimum position it is skipped; whole
//! shares. Every factor is recorded. With `ensemble` above 0 the confidence factor blends in the
//! ensemble's probability and its fractional-Kelly weight caps the size ([`crate::ensemble`]).

use ae_core::contracts::common::{Conviction, SectorRating};
use ae_core::contracts::order_book::SizingFactors;
use ae_core::contracts::params::SizingParams;
use ae_core::types::{Fraction, Usd};

use crate::reason::Reason;
use crate::view::Candidate;

/// The sizer's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Size {
    /// Every factor, the caps that bound it, the dollars.
    pub factors: SizingFactors,
    /// Whole shares (0 when skipped).
    pub shares: u32,
    /// Why the size is zero, when it is.
    pub skipped: Option<Reason>,
    /// The caps that bound the size.
    pub caps: Vec<Reason>,
}

/// Inputs of one sizing beyond the candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizingInputs {
    /// Entries planned today (≥ 1).
    pub n_enter: usize,
    /// NAV.
    pub nav: f64,
    /// Cash that may still be committed.
    pub cash_available: f64,
    /// Drawdown multiplier.
    pub drawdown_multiplier: f64,
    /// The circuit breakers' multiplier ([`crate::breakers::Breakers::multiplier`]).
    pub breaker_multiplier: f64,
    /// Largest position weight in force.
    pub max_position: f64,
    /// Whether the prediction is fresh enough to size with.
    pub prediction_fresh: bool,
}

/// Sector multiplier.
pub fn sector_adj(rating: SectorRating, p: &SizingParams) -> f64 {
    match rating {
        SectorRating::Overweight => p.sector_overweight,
        SectorRating::MarketWeight => p.sector_market_weight,
        SectorRating::Underweight => p.sector_underweight,
    }
}

/// Confidence multiplier from the calibrated probability: `min + range × p_up` (1.0 at
/// p_up = 0.5 with the defaults, larger for a likely UP, smaller for a likely DOWN). The
/// direction comes from `p_up`, never from the magnitude of the predicted return.
pub fn confidence_adj(p_up: Option<f64>, p: &SizingParams) -> f64 {
    match p_up {
        Some(x) => p.confidence_min + p.confidence_range * x,
        None => 1.0,
    }
}

/// Staleness multiplier: `max(floor, 1 − rate × max(0, age − grace))`.
pub fn staleness_adj(age_days: u32, p: &SizingParams) -> f64 {
    let over = age_days.saturating_sub(p.staleness_grace_days) as f64;
    (1.0 - p.staleness_per_day.get() * over).max(p.staleness_floor.get())
}

/// Sizes one candidate.
pub fn size(c: &Candidate, x: &SizingInputs, p: &SizingParams) -> Size {
    let base = 1.0 / x.n_enter.max(1) as f64;
    let sector = sector_adj(c.sector_rating, p);
    let conviction = if c.conviction == Conviction::Declining { p.conviction_declining.get() } else { 1.0 };
    let upside = match c.upside {
        Some(u) if u < p.min_upside.get() => p.upside_fail.get(),
        _ => 1.0,
    };
    let atr = match c.market.atr_pct() {
        Some(a) => (p.atr_target_risk.get() / a).clamp(p.atr_min, p.atr_max),
        None => 1.0,
    };
    let p_up = c.prediction.filter(|_| x.prediction_fresh).map(|q| q.p_up.get());
    let blend = p.ensemble.get();
    let ensemble = c.ensemble.as_ref().filter(|_| blend > 0.0);
    let confidence = match ensemble {
        Some(e) => (1.0 - blend) * confidence_adj(p_up, p) + blend * confidence_adj(e.p_outperform, p),
        None => confidence_adj(p_up, p),
    };
    let staleness = staleness_adj(c.signal_age_days, p);
    let dd = x.drawdown_multiplier;
    let raw = base * sector * conviction * upside * dd * atr * confidence * staleness * x.breaker_multiplier;
    let mut w = raw;
    let mut caps = Vec::new();
    if w > x.max_position {
        w = x.max_position;
        caps.push(Reason::MaxPositionCapped);
    }
    // ATR volatility cap: a volatile name never gets more than its de-risked base weight.
    if atr < 1.0 && w > base * atr * dd {
        w = base * atr * dd;
        caps.push(Reason::AtrCapped);
    }
    // The ensemble's fractional-Kelly weight caps the size when the sizer uses the ensemble.
    if let Some(k) = ensemble.and_then(|e| e.kelly)
        && w > k
    {
        w = k;
        caps.push(Reason::KellyCapped);
    }
    // Within the earnings window the size itself is capped (the position cap cannot erase it).
    let mut earnings = 1.0;
    if c.market.days_to_earnings.is_some_and(|d| d <= p.earnings_window_days) {
        let cap = p.earnings_cap.get() * x.max_position;
        if w > cap {
            earnings = if w > 0.0 { cap / w } else { 1.0 };
            w = cap;
            caps.push(Reason::EarningsCapped);
        }
    }
    let mut dollars = w * x.nav;
    if let Some(adv) = c.market.adv_usd
        && dollars > p.adv_cap_pct.get() * adv
    {
        dollars = p.adv_cap_pct.get() * adv;
        caps.push(Reason::AdvCapped);
    }
    if dollars > x.cash_available {
        dollars = x.cash_available.max(0.0);
        caps.push(Reason::CashCapped);
    }
    let price = c.market.close;
    // The minimum applies to what whole shares actually buy, not to the target before rounding down.
    let (shares, skipped) = if !(price > 0.0 && price.is_finite()) {
        (0, Some(Reason::NoPrice))
    } else {
        let whole = (dollars / price).floor() as u32;
        if whole == 0 || whole as f64 * price < p.min_position_usd.get() {
            (0, Some(Reason::BelowMinDollars))
        } else {
            (whole, None)
        }
    };
    let invested = shares as f64 * price;
    let factors = SizingFactors {
        base_weight: Fraction::saturating(base),
        sector,
        conviction,
        upside,
        drawdown: dd,
        atr,
        confidence,
        staleness,
        earnings,
        breakers: x.breaker_multiplier,
        raw_weight: raw,
        final_weight: Fraction::saturating(if x.nav > 0.0 { invested / x.nav } else { 0.0 }),
        dollars: Usd::saturating(invested),
        capped_by: caps.iter().map(|r| r.code().to_string()).collect(),
    };
    Size { factors, shares, skipped, caps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{candidate, params, prediction};

    fn inputs() -> SizingInputs {
        SizingInputs {
            n_enter: 4,
            nav: 1_000_000.0,
            cash_available: 1_000_000.0,
            drawdown_multiplier: 1.0,
            breaker_multiplier: 1.0,
            max_position: 0.05,
            prediction_fresh: true,
        }
    }

    #[test]
    fn every_factor_of_the_design_table() {
        let p = params().sizing;
        type Setup = fn(&mut Candidate, &mut SizingInputs);
        // (name, setup, factor name, expected value)
        let table: &[(&str, Setup, &str, f64)] = &[
            ("base is 1/n", |_, _| {}, "base", 0.25),
            ("overweight sector", |c, _| c.sector_rating = SectorRating::Overweight, "sector", 1.05),
            ("underweight sector", |c, _| c.sector_rating = SectorRating::Underweight, "sector", 0.85),
            ("declining conviction", |c, _| c.conviction = Conviction::Declining, "conviction", 0.70),
            ("upside below 8%", |c, _| c.upside = Some(0.05), "upside", 0.70),
            ("unknown upside is neutral", |c, _| c.upside = None, "upside", 1.0),
            ("ATR 4% of price halves", |c, _| c.market.atr = Some(c.market.close * 0.04), "atr", 0.5),
            ("ATR 1% of price: clamped at 1.5", |c, _| c.market.atr = Some(c.market.close * 0.01), "atr", 1.5),
            ("p_up 0.75 sizes up", |c, _| c.prediction = Some(prediction(0.75)), "confidence", 0.70 + 0.60 * 0.75),
            (
                "a likely DOWN sizes down",
                |c, _| c.prediction = Some(prediction(0.25)),
                "confidence",
                0.70 + 0.60 * 0.25,
            ),
            (
                "a stale prediction is neutral",
                |c, x| {
                    c.prediction = Some(prediction(0.9));
                    x.prediction_fresh = false
                },
                "confidence",
                1.0,
            ),
            ("signals within grace", |c, _| c.signal_age_days = 7, "staleness", 1.0),
            ("signals 10 days old", |c, _| c.signal_age_days = 10, "staleness", 0.91),
            ("staleness floor", |c, _| c.signal_age_days = 40, "staleness", 0.70),
            ("earnings in 5 days", |c, _| c.market.days_to_earnings = Some(5), "earnings", 0.5),
            ("earnings in 6 days", |c, _| c.market.days_to_earnings = Some(6), "earnings", 1.0),
            ("drawdown band", |_, x| x.drawdown_multiplier = 0.5, "drawdown", 0.5),
            ("a breaker sizes down", |_, x| x.breaker_multiplier = 0.7, "breakers", 0.7),
        ];
        for (name, setup, factor, want) in table {
            let mut c = candidate("CAND", 80.0, 50.0);
            let mut x = inputs();
            setup(&mut c, &mut x);
            let s = size(&c, &x, &p).factors;
            let got = match *factor {
                "base" => s.base_weight.get(),
                "sector" => s.sector,
                "conviction" => s.conviction,
                "upside" => s.upside,
                "atr" => s.atr,
                "confidence" => s.confidence,
                "staleness" => s.staleness,
                "earnings" => s.earnings,
                "drawdown" => s.drawdown,
                "breakers" => s.breakers,
                _ => unreachable!(),
            };
            assert!((got - want).abs() < 1e-9, "{name}: {factor} = {got}, want {want}");
        }
    }

    #[test]
    fn caps_minimum_and_whole_shares() {
        let p = params().sizing;
        let c = candidate("CAND", 80.0, 33.0);
        // 1/4 × … is far above 5%: capped at the largest position, whole shares.
        let s = size(&c, &inputs(), &p);
        assert!(s.caps.contains(&Reason::MaxPositionCapped));
        assert_eq!(s.shares, (50_000.0f64 / 33.0).floor() as u32);
        assert!(s.factors.dollars.get() <= 50_000.0);
        // ADV: 10% of 200k a day.
        let mut thin = c.clone();
        thin.market.adv_usd = Some(200_000.0);
        let s = size(&thin, &inputs(), &p);
        assert!(s.caps.contains(&Reason::AdvCapped) && s.factors.dollars.get() <= 20_000.0);
        // Cash.
        let s = size(&c, &SizingInputs { cash_available: 10_000.0, ..inputs() }, &p);
        assert!(s.caps.contains(&Reason::CashCapped) && s.factors.dollars.get() <= 10_000.0);
        // Earnings in 3 days: at most half the 5% cap, even when the position cap binds too.
        let mut near = c.clone();
        near.market.days_to_earnings = Some(3);
        let s = size(&near, &inputs(), &p);
        assert!(s.caps.contains(&Reason::EarningsCapped) && s.factors.dollars.get() <= 25_000.0, "{s:?}");
        assert!(s.factors.dollars.get() > 25_000.0 - 33.0, "whole shares just under the cap: {s:?}");
        // Below $500: skipped.
        let s = size(&c, &SizingInputs { cash_available: 499.0, ..inputs() }, &p);
        assert_eq!((s.shares, s.skipped), (0, Some(Reason::BelowMinDollars)));
        // $520 is above the minimum but 15 whole shares at $33 buy only $495: skipped too.
        let s = size(&c, &SizingInputs { cash_available: 520.0, ..inputs() }, &p);
        assert_eq!((s.shares, s.skipped), (0, Some(Reason::BelowMinDollars)));
        // A price above the dollars: no fractional share.
        let mut dear = candidate("CAND", 80.0, 900.0);
        dear.market.adv_usd = Some(6_000.0);
        assert_eq!(size(&dear, &inputs(), &p).shares, 0);
    }

    #[test]
    fn the_ensemble_is_blended_into_the_confidence_and_its_kelly_weight_caps_the_size_only_when_switched_on() {
        use ae_core::contracts::ensemble::NameEnsemble;
        let mut p = params().sizing;
        let mut c = candidate("CAND", 80.0, 33.0);
        c.prediction = Some(prediction(0.5));
        c.ensemble = Some(NameEnsemble {
            ticker: c.ticker.clone(),
            expected_alpha: 0.004,
            confidence: 0.8,
            disagreement: 0.1,
            kelly: Some(0.01),
            p_outperform: Some(1.0),
            views: Vec::new(),
        });
        let off = size(&c, &inputs(), &p);
        assert!((off.factors.confidence - 1.0).abs() < 1e-12, "switched off: the predictor alone");
        assert!(!off.caps.contains(&Reason::KellyCapped));
        p.ensemble = Fraction::saturating(0.5);
        let half = size(&c, &inputs(), &p);
        // (1.0 + (0.70 + 0.60 × 1.0)) / 2
        assert!((half.factors.confidence - 1.15).abs() < 1e-12, "{:?}", half.factors);
        assert!(half.caps.contains(&Reason::KellyCapped));
        assert!(half.factors.dollars.get() <= 10_000.0 && half.shares > 0, "1% of NAV at most");
        // An ensemble that expects the name to lag: no Kelly weight, no entry.
        if let Some(e) = c.ensemble.as_mut() {
            e.kelly = Some(0.0);
        }
        assert_eq!(size(&c, &inputs(), &p).skipped, Some(Reason::BelowMinDollars));
    }
}
