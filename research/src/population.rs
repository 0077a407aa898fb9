//! The tracked population (~`population_size` names) and its weekly rotation.
//!
//! In order:
//! 1. **exits by rule**: a member that became ineligible (stopped trading, data defects), or whose
//!    score fell below `thesis_collapse_score` (at once), or below `min_long_term_score` once past
//!    `min_tenure_weeks`;
//! 2. **fill** open slots with the best candidates scoring at least `min_long_term_score`;
//! 3. **challengers**: a candidate replaces the weakest member past its tenure when it scores at
//!    least `challenger_score_gap` points more;
//! 4. **rotation floor**: if fewer than `max(1, min_rotation_pct × size)` names rotated, the weakest
//!    members past tenure are replaced by any better-scoring candidates.
//!
//! Steps 3–4 make at most `max_rotations_per_run` replacements. Candidates must be approved by the
//! CIO when one ran.

use std::collections::{BTreeMap, BTreeSet};

use ae_shared::TradingDay;
use ae_shared::contracts::params::ResearchParams;
use ae_shared::contracts::signals::PopulationMember;
use ae_shared::types::Ticker;
use serde::Serialize;

/// A change to the population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Symbol.
    pub ticker: Ticker,
    /// Why (rule and numbers).
    pub reason: String,
}

/// The rotation's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rotation {
    /// The population after rotation, by ticker.
    pub members: Vec<PopulationMember>,
    /// Names that left.
    pub exits: Vec<Change>,
    /// Names that joined.
    pub entries: Vec<Change>,
}

fn tenure_weeks(entered: TradingDay, today: TradingDay) -> u32 {
    (entered.days_until(today).max(0) / 5) as u32
}

/// Rotates `previous` given this week's scores of eligible names and the ranked candidates
/// (shortlisted names, best first); `approved` is the CIO's set when one ran.
pub fn rotate(
    previous: &[PopulationMember],
    scores: &BTreeMap<Ticker, f64>,
    candidates: &[Ticker],
    approved: Option<&BTreeSet<Ticker>>,
    today: TradingDay,
    p: &ResearchParams,
) -> Rotation {
    let mut out = Rotation::default();
    let mut kept: Vec<PopulationMember> = Vec::new();
    for m in previous {
        let tenure = tenure_weeks(m.entered, today);
        let seasoned = tenure >= p.min_tenure_weeks;
        let exit = match scores.get(&m.ticker) {
            None => Some("ineligible this week (stopped trading, data defects or no score)".to_string()),
            Some(s) if *s < p.thesis_collapse_score.get() => {
                Some(format!("thesis collapse: score {s:.1} < {}", p.thesis_collapse_score))
            }
            Some(s) if seasoned && *s < p.min_long_term_score.get() => {
                Some(format!("score degraded: {s:.1} < {} after {tenure} weeks", p.min_long_term_score))
            }
            _ => None,
        };
        match exit {
            Some(reason) => out.exits.push(Change { ticker: m.ticker.clone(), reason }),
            None => kept.push(PopulationMember { ticker: m.ticker.clone(), entered: m.entered, tenure_weeks: tenure }),
        }
    }
    let members: BTreeSet<Ticker> = previous.iter().map(|m| m.ticker.clone()).collect();
    let mut pool: Vec<(Ticker, f64)> = candidates
        .iter()
        .filter(|t| !members.contains(*t))
        .filter(|t| approved.is_none_or(|a| a.contains(*t)))
        .filter_map(|t| scores.get(t).map(|s| (t.clone(), *s)))
        .collect();
    pool.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut pool = pool.into_iter().peekable();
    let size = p.population_size as usize;
    let join = |out: &mut Rotation, kept: &mut Vec<PopulationMember>, t: Ticker, reason: String| {
        kept.push(PopulationMember { ticker: t.clone(), entered: today, tenure_weeks: 0 });
        out.entries.push(Change { ticker: t, reason });
    };
    // 2. Fill open slots.
    while kept.len() < size {
        match pool.peek() {
            Some((_, s)) if *s >= p.min_long_term_score.get() => {
                let (t, s) = pool.next().expect("peeked");
                join(&mut out, &mut kept, t, format!("slot fill: score {s:.1}"));
            }
            _ => break,
        }
    }
    // 3–4. Challengers and the rotation floor.
    let floor = ((p.min_rotation_pct.get() * size as f64).ceil() as usize).max(1);
    let mut rotations = 0usize;
    while rotations < p.max_rotations_per_run as usize {
        let Some(&(ref ct, cs)) = pool.peek() else { break };
        let weakest = kept
            .iter()
            .enumerate()
            .filter(|(_, m)| m.tenure_weeks >= p.min_tenure_weeks && m.entered < today)
            .min_by(|a, b| scores[&a.1.ticker].total_cmp(&scores[&b.1.ticker]).then(a.1.ticker.cmp(&b.1.ticker)));
        let Some((i, w)) = weakest else { break };
        let ws = scores[&w.ticker];
        let by_gap = cs >= ws + p.challenger_score_gap;
        let by_floor = rotations < floor && cs > ws;
        if !(by_gap || by_floor) {
            break;
        }
        let reason = if by_gap {
            format!("superior challenger {ct}: {cs:.1} vs {ws:.1} (gap ≥ {})", p.challenger_score_gap)
        } else {
            format!("rotation floor: challenger {ct} {cs:.1} vs {ws:.1}")
        };
        let out_ticker = kept.remove(i).ticker;
        out.exits.push(Change { ticker: out_ticker.clone(), reason: reason.clone() });
        let (t, s) = pool.next().expect("peeked");
        join(&mut out, &mut kept, t, format!("replaces {out_ticker}: score {s:.1}"));
        rotations += 1;
    }
    kept.sort_by(|a, b| a.ticker.cmp(&b.ticker));
    out.members = kept;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_shared::config::Config;

    fn t(s: &str) -> Ticker {
        Ticker::new(s).unwrap()
    }

    fn params(size: u32) -> ResearchParams {
        let mut p = Config::defaults().research;
        p.population_size = size;
        p
    }

    fn member(s: &str, entered: &str) -> PopulationMember {
        PopulationMember { ticker: t(s), entered: TradingDay::parse(entered).unwrap(), tenure_weeks: 0 }
    }

    #[test]
    fn rotation_table() {
        let today = TradingDay::parse("2010-03-15").unwrap();
        let old = "2010-01-04"; // ten weeks
        let fresh = "2010-03-08"; // one week: protected
        struct Case {
            name: &'static str,
            prev: Vec<PopulationMember>,
            scores: Vec<(&'static str, f64)>,
            cands: Vec<&'static str>,
            size: u32,
            want_members: Vec<&'static str>,
            want_exits: Vec<&'static str>,
        }
        let cases = vec![
            Case {
                name: "TC1: first week fills from the best candidates scoring at least 45",
                prev: vec![],
                scores: vec![("A", 80.0), ("B", 70.0), ("C", 40.0)],
                cands: vec!["A", "B", "C"],
                size: 3,
                want_members: vec!["A", "B"],
                want_exits: vec![],
            },
            Case {
                name: "TC2: thesis collapse exits at once, even a fresh member",
                prev: vec![member("A", fresh), member("B", old)],
                scores: vec![("A", 35.0), ("B", 60.0)],
                cands: vec![],
                size: 2,
                want_members: vec!["B"],
                want_exits: vec!["A"],
            },
            Case {
                name: "TC3: a seasoned member below 45 exits; a fresh one is protected",
                prev: vec![member("A", fresh), member("B", old)],
                scores: vec![("A", 42.0), ("B", 42.0)],
                cands: vec![],
                size: 2,
                want_members: vec!["A"],
                want_exits: vec!["B"],
            },
            Case {
                name: "TC4: a challenger 5+ points better replaces the weakest seasoned member",
                prev: vec![member("A", old), member("B", old)],
                scores: vec![("A", 60.0), ("B", 70.0), ("C", 66.0)],
                cands: vec!["C"],
                size: 2,
                want_members: vec!["B", "C"],
                want_exits: vec!["A"],
            },
            Case {
                name: "TC5: the rotation floor replaces the weakest by any better candidate",
                prev: vec![member("A", old), member("B", old)],
                scores: vec![("A", 60.0), ("B", 70.0), ("C", 61.0)],
                cands: vec!["C"],
                size: 2,
                want_members: vec!["B", "C"],
                want_exits: vec!["A"],
            },
            Case {
                name: "TC6: no candidate beats anyone: nothing rotates",
                prev: vec![member("A", old), member("B", old)],
                scores: vec![("A", 60.0), ("B", 70.0), ("C", 55.0)],
                cands: vec!["C"],
                size: 2,
                want_members: vec!["A", "B"],
                want_exits: vec![],
            },
            Case {
                name: "TC7: a member that stopped trading (no score) leaves",
                prev: vec![member("A", old)],
                scores: vec![],
                cands: vec![],
                size: 1,
                want_members: vec![],
                want_exits: vec!["A"],
            },
        ];
        for c in cases {
            let scores: BTreeMap<Ticker, f64> = c.scores.iter().map(|(k, v)| (t(k), *v)).collect();
            let cands: Vec<Ticker> = c.cands.iter().map(|s| t(s)).collect();
            let r = rotate(&c.prev, &scores, &cands, None, today, &params(c.size));
            let got: Vec<&str> = r.members.iter().map(|m| m.ticker.as_str()).collect();
            let exits: Vec<&str> = r.exits.iter().map(|e| e.ticker.as_str()).collect();
            assert_eq!(got, c.want_members, "{}", c.name);
            assert_eq!(exits, c.want_exits, "{}", c.name);
        }
    }

    #[test]
    fn the_cio_can_veto_entrants() {
        let today = TradingDay::parse("2010-03-15").unwrap();
        let scores: BTreeMap<Ticker, f64> = [(t("A"), 80.0), (t("B"), 70.0)].into_iter().collect();
        let approved: BTreeSet<Ticker> = [t("B")].into_iter().collect();
        let r = rotate(&[], &scores, &[t("A"), t("B")], Some(&approved), today, &params(2));
        assert_eq!(r.members.iter().map(|m| m.ticker.as_str()).collect::<Vec<_>>(), vec!["B"]);
    }
}
