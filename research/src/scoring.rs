//! From factor and analyst scores to a composite, a rating and a conviction.
//!
//! composite = quant × w_quant + qual × w_qual (a missing qual score gives quant full weight)
//!           + macro shift ((sector modifier − 1) / 0.3 × `macro_max_shift`, so ±10 points at 0.7/1.3)
//!           + event boosts (insider buying clusters), summed and capped at ±`max_aggregate_boost`,
//! clamped to 0..=100. Rating: BUY at or above `buy_threshold`, SELL below `sell_threshold`, HOLD
//! between. Conviction: rising after `conviction_runs` consecutive increases, declining after as
//! many decreases, stable otherwise (or without enough history).

use ae_shared::contracts::common::{Conviction, Rating, SignalAction};
use ae_shared::contracts::params::{ResearchParams, ScoringWeights};
use serde::Serialize;

use crate::fundamentals::Fundamentals;

/// A composite and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Composite {
    /// Quant composite.
    pub quant: f64,
    /// Analyst score, when an analyst scored the name.
    pub qual: Option<f64>,
    /// Points from the sector modifier.
    pub macro_shift: f64,
    /// Points from event boosts, after the cap.
    pub boost: f64,
    /// What the boosts were.
    pub boosts: Vec<String>,
    /// Final score 0..=100.
    pub score: f64,
}

/// Event boosts from insider activity: a cluster of ≥ 3 distinct open-market buyers in 30 days
/// +5, two buyers +2.5, net selling by ≥ 3 insiders over 90 days −2.
pub fn boosts(f: Option<&Fundamentals>) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let Some(f) = f else { return out };
    match f.insider_buyers_30d {
        Some(n) if n >= 3 => out.push((format!("insider cluster: {n} buyers in 30 days"), 5.0)),
        Some(2) => out.push(("insider buying: 2 buyers in 30 days".to_string(), 2.5)),
        _ => {}
    }
    if let Some(net) = f.insider_net_buyers_90d
        && net <= -3
    {
        out.push((format!("insider selling: net {net} over 90 days"), -2.0));
    }
    out
}

/// The composite score.
pub fn composite(
    quant: f64,
    qual: Option<f64>,
    modifier: f64,
    boosts: &[(String, f64)],
    w: &ScoringWeights,
    p: &ResearchParams,
) -> Composite {
    let base = match qual {
        Some(q) => quant * w.quant.get() + q * w.qual.get(),
        None => quant,
    };
    let macro_shift = (modifier - 1.0) / 0.3 * p.macro_max_shift;
    let raw: f64 = boosts.iter().map(|b| b.1).sum();
    let boost = raw.clamp(-p.max_aggregate_boost, p.max_aggregate_boost);
    Composite {
        quant,
        qual,
        macro_shift,
        boost,
        boosts: boosts.iter().map(|b| format!("{} ({:+.1})", b.0, b.1)).collect(),
        score: (base + macro_shift + boost).clamp(0.0, 100.0),
    }
}

/// Rating from a score.
pub fn rating(score: f64, p: &ResearchParams) -> Rating {
    if score >= p.buy_threshold.get() {
        Rating::Buy
    } else if score < p.sell_threshold.get() {
        Rating::Sell
    } else {
        Rating::Hold
    }
}

/// Where a name stands in the population this week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Joined this week.
    Entrant,
    /// Was a member and stays.
    Member,
    /// Shortlisted but not in the population.
    Candidate,
    /// Left the population this week.
    Leaving,
}

/// The signal for a name: EXIT when it leaves the population; for a member rated BUY, REDUCE when
/// it was already a BUY and conviction turned declining, else ENTER; HOLD for everything else
/// (members not rated BUY, candidates that did not join).
pub fn action(standing: Standing, rating: Rating, was_buy: bool, conviction: Conviction) -> SignalAction {
    match (standing, rating) {
        (Standing::Leaving, _) => SignalAction::Exit,
        (Standing::Member, Rating::Buy) if was_buy && conviction == Conviction::Declining => SignalAction::Reduce,
        (Standing::Member | Standing::Entrant, Rating::Buy) => SignalAction::Enter,
        _ => SignalAction::Hold,
    }
}

/// Conviction from scores oldest → newest (the current one last).
pub fn conviction(history: &[f64], runs: u32) -> Conviction {
    let k = runs as usize;
    if history.len() < k + 1 {
        return Conviction::Stable;
    }
    let tail = &history[history.len() - k - 1..];
    let diffs: Vec<f64> = tail.windows(2).map(|w| w[1] - w[0]).collect();
    if diffs.iter().all(|d| *d > 0.0) {
        Conviction::Rising
    } else if diffs.iter().all(|d| *d < 0.0) {
        Conviction::Declining
    } else {
        Conviction::Stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_shared::config::Config;

    #[test]
    fn composite_table() {
        let c = Config::defaults();
        struct Case {
            quant: f64,
            qual: Option<f64>,
            modifier: f64,
            boosts: Vec<(String, f64)>,
            want: f64,
        }
        let cases = [
            // TC1: quant-only at a neutral sector is the quant score.
            Case { quant: 72.0, qual: None, modifier: 1.0, boosts: vec![], want: 72.0 },
            // TC2: with an analyst score, weighted 50/50.
            Case { quant: 70.0, qual: Some(90.0), modifier: 1.0, boosts: vec![], want: 80.0 },
            // TC3: an overweight sector at 1.3 adds the full 10 points.
            Case { quant: 60.0, qual: None, modifier: 1.3, boosts: vec![], want: 70.0 },
            // TC4: an underweight sector at 0.85 takes 5 points.
            Case { quant: 60.0, qual: None, modifier: 0.85, boosts: vec![], want: 55.0 },
            // TC5: boosts are capped at ±10 in total.
            Case {
                quant: 50.0,
                qual: None,
                modifier: 1.0,
                boosts: vec![("a".into(), 8.0), ("b".into(), 7.0)],
                want: 60.0,
            },
            // TC6: the score never leaves 0..=100.
            Case { quant: 98.0, qual: None, modifier: 1.3, boosts: vec![("a".into(), 5.0)], want: 100.0 },
        ];
        for (i, t) in cases.iter().enumerate() {
            let got = composite(t.quant, t.qual, t.modifier, &t.boosts, &c.scoring, &c.research).score;
            assert!((got - t.want).abs() < 1e-9, "TC{}: {got} != {}", i + 1, t.want);
        }
    }

    #[test]
    fn ratings_and_conviction() {
        let p = Config::defaults().research;
        assert_eq!(rating(70.0, &p), Rating::Buy);
        assert_eq!(rating(69.9, &p), Rating::Hold);
        assert_eq!(rating(39.9, &p), Rating::Sell);
        assert_eq!(conviction(&[50.0, 55.0, 60.0], 2), Conviction::Rising);
        assert_eq!(conviction(&[60.0, 55.0, 50.0], 2), Conviction::Declining);
        assert_eq!(conviction(&[50.0, 55.0, 54.0], 2), Conviction::Stable);
        assert_eq!(conviction(&[50.0, 55.0], 2), Conviction::Stable);
    }

    #[test]
    fn signal_actions() {
        use Conviction::*;
        use Standing::*;
        let cases = [
            // TC1: a new member rated BUY enters.
            (Entrant, Rating::Buy, false, Stable, SignalAction::Enter),
            // TC2: a new member not rated BUY is held, not entered.
            (Entrant, Rating::Hold, false, Rising, SignalAction::Hold),
            // TC3: a held BUY whose conviction turns declining is reduced.
            (Member, Rating::Buy, true, Declining, SignalAction::Reduce),
            // TC4: a member newly rated BUY with declining conviction still enters (it was not a BUY).
            (Member, Rating::Buy, false, Declining, SignalAction::Enter),
            // TC5: a steady BUY member stays ENTER.
            (Member, Rating::Buy, true, Stable, SignalAction::Enter),
            // TC6: a member slipping to HOLD is held.
            (Member, Rating::Hold, true, Declining, SignalAction::Hold),
            // TC7: leaving the population exits, whatever the rating.
            (Leaving, Rating::Buy, true, Rising, SignalAction::Exit),
            // TC8: a BUY-rated candidate that did not join is only watched.
            (Candidate, Rating::Buy, false, Rising, SignalAction::Hold),
        ];
        for (i, (st, r, was, c, want)) in cases.into_iter().enumerate() {
            assert_eq!(action(st, r, was, c), want, "TC{}", i + 1);
        }
    }

    #[test]
    fn insider_boosts() {
        let f = Fundamentals { insider_buyers_30d: Some(3), insider_net_buyers_90d: Some(-4), ..Default::default() };
        let b = boosts(Some(&f));
        assert_eq!(b.iter().map(|x| x.1).collect::<Vec<_>>(), vec![5.0, -2.0]);
    }
}
