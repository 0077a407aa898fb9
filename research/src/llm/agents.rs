//! The four agents: their versioned prompts (in `research/prompts/`), answer shapes and validation.
//!
//! - **macro economist**: regime (bull/neutral/bear) and all eleven sector ratings with modifiers;
//! - **sector analyst** (one per candidate): qualitative score 0–100, thesis, catalysts, upside;
//! - **CIO**: advance or reject each proposed new name, with a reason;
//! - **consolidator**: the brief's headline, summary and risks.

use std::collections::{BTreeMap, BTreeSet};

use ae_shared::contracts::common::{Regime, Sector, SectorRating};
use serde::Deserialize;

/// A prompt template and its version (the file name).
#[derive(Debug, Clone, Copy)]
pub struct Prompt {
    /// Agent name.
    pub agent: &'static str,
    /// Version, part of the cache key.
    pub version: &'static str,
    /// Template with `{{name}}` placeholders.
    pub template: &'static str,
}

/// Macro economist, v1.
pub const MACRO: Prompt = Prompt {
    agent: "macro_economist",
    version: "macro_economist.v1",
    template: include_str!("../../prompts/macro_economist.v1.md"),
};
/// Sector analyst, v1.
pub const ANALYST: Prompt = Prompt {
    agent: "sector_analyst",
    version: "sector_analyst.v1",
    template: include_str!("../../prompts/sector_analyst.v1.md"),
};
/// CIO, v1.
pub const CIO: Prompt = Prompt { agent: "cio", version: "cio.v1", template: include_str!("../../prompts/cio.v1.md") };
/// Consolidator, v1.
pub const CONSOLIDATOR: Prompt = Prompt {
    agent: "consolidator",
    version: "consolidator.v1",
    template: include_str!("../../prompts/consolidator.v1.md"),
};

impl Prompt {
    /// Fills the placeholders; an unfilled one is a bug and panics in tests.
    pub fn render(&self, vars: &[(&str, String)]) -> String {
        let mut out = self.template.to_string();
        for (k, v) in vars {
            out = out.replace(&format!("{{{{{k}}}}}"), v);
        }
        debug_assert!(!out.contains("{{"), "{} has an unfilled placeholder", self.version);
        out
    }
}

/// One sector in the macro answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SectorAnswer {
    /// Rating.
    pub rating: SectorRating,
    /// Modifier 0.7..=1.3.
    pub modifier: f64,
    /// Why.
    pub rationale: String,
}

/// The macro economist's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MacroAnswer {
    /// Regime.
    pub market_regime: Regime,
    /// Sector name → view.
    pub sectors: BTreeMap<String, SectorAnswer>,
    /// Summary.
    #[serde(default)]
    pub summary: String,
}

impl MacroAnswer {
    /// Checks every sector is present once, modifiers are in range and agree with ratings.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for (name, s) in &self.sectors {
            let sector: Sector = name.parse().map_err(|e: String| e)?;
            if !seen.insert(sector) {
                return Err(format!("{name} appears twice"));
            }
            if !(0.7..=1.3).contains(&s.modifier) || !s.modifier.is_finite() {
                return Err(format!("{name}: modifier {} is outside 0.7..1.3", s.modifier));
            }
            let agrees = match s.rating {
                SectorRating::Overweight => s.modifier >= 1.0,
                SectorRating::Underweight => s.modifier <= 1.0,
                SectorRating::MarketWeight => (0.9..=1.1).contains(&s.modifier),
            };
            if !agrees {
                return Err(format!("{name}: rating {:?} disagrees with modifier {}", s.rating, s.modifier));
            }
            if s.rationale.trim().is_empty() {
                return Err(format!("{name}: empty rationale"));
            }
        }
        let missing: Vec<&str> = Sector::ALL.iter().filter(|s| !seen.contains(s)).map(|s| s.name()).collect();
        if !missing.is_empty() {
            return Err(format!("sectors missing: {}", missing.join(", ")));
        }
        Ok(())
    }

    /// The views by sector (after validation).
    pub fn by_sector(&self) -> BTreeMap<Sector, &SectorAnswer> {
        self.sectors.iter().filter_map(|(k, v)| k.parse::<Sector>().ok().map(|s| (s, v))).collect()
    }
}

/// A sector analyst's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnalystAnswer {
    /// Must be the ticker asked about.
    pub ticker: String,
    /// 0..=100.
    pub score: f64,
    /// Thesis.
    pub thesis: String,
    /// Catalysts.
    #[serde(default)]
    pub catalysts: Vec<String>,
    /// Upside to the price target, as a fraction.
    #[serde(default)]
    pub price_target_upside: Option<f64>,
}

impl AnalystAnswer {
    /// Checks the answer is about `ticker` and in range.
    pub fn validate(&self, ticker: &str) -> Result<(), String> {
        if self.ticker != ticker {
            return Err(format!("answered about {:?}, asked about {ticker}", self.ticker));
        }
        if !(0.0..=100.0).contains(&self.score) {
            return Err(format!("score {} is outside 0..100", self.score));
        }
        let thesis = self.thesis.trim();
        if thesis.is_empty() || thesis.len() > 1500 {
            return Err(format!("thesis of {} characters (1..1500 allowed)", thesis.len()));
        }
        if self.catalysts.len() > 5 {
            return Err(format!("{} catalysts (at most 5)", self.catalysts.len()));
        }
        if let Some(u) = self.price_target_upside
            && !(-0.9..=3.0).contains(&u)
        {
            return Err(format!("price_target_upside {u} is outside -0.9..3.0"));
        }
        Ok(())
    }
}

/// A CIO decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Joins the population.
    Advance,
    /// Does not.
    Reject,
}

/// One CIO decision.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CioDecision {
    /// Ticker.
    pub ticker: String,
    /// Decision.
    pub decision: Decision,
    /// Why.
    pub reason: String,
}

/// The CIO's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CioAnswer {
    /// One per proposal.
    pub decisions: Vec<CioDecision>,
}

impl CioAnswer {
    /// Checks there is exactly one decision per proposed ticker.
    pub fn validate(&self, proposed: &[String]) -> Result<(), String> {
        let want: BTreeSet<&str> = proposed.iter().map(String::as_str).collect();
        let mut got = BTreeSet::new();
        for d in &self.decisions {
            if !want.contains(d.ticker.as_str()) {
                return Err(format!("decision on {} which was not proposed", d.ticker));
            }
            if !got.insert(d.ticker.as_str()) {
                return Err(format!("two decisions on {}", d.ticker));
            }
        }
        let missing: Vec<&&str> = want.iter().filter(|t| !got.contains(**t)).collect();
        if !missing.is_empty() {
            return Err(format!("no decision on {missing:?}"));
        }
        Ok(())
    }
}

/// The consolidator's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BriefAnswer {
    /// Headline.
    pub headline: String,
    /// Summary paragraph.
    pub summary: String,
    /// Risks.
    #[serde(default)]
    pub risks: Vec<String>,
}

impl BriefAnswer {
    /// Checks lengths.
    pub fn validate(&self) -> Result<(), String> {
        if self.headline.trim().is_empty() || self.summary.trim().is_empty() {
            return Err("empty headline or summary".into());
        }
        if self.summary.len() > 2000 || self.risks.len() > 6 {
            return Err("summary over 2000 characters or more than 6 risks".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macro_answer(skip: Option<Sector>) -> serde_json::Value {
        let mut sectors = serde_json::Map::new();
        for s in Sector::ALL.iter().filter(|s| Some(**s) != skip) {
            sectors.insert(
                s.name().into(),
                serde_json::json!({"rating": "market_weight", "modifier": 1.0, "rationale": "steady"}),
            );
        }
        serde_json::json!({"market_regime": "neutral", "sectors": sectors, "summary": "ok"})
    }

    #[test]
    fn macro_validation() {
        let ok: MacroAnswer = serde_json::from_value(macro_answer(None)).unwrap();
        ok.validate().unwrap();
        let missing: MacroAnswer = serde_json::from_value(macro_answer(Some(Sector::Energy))).unwrap();
        assert_eq!(missing.validate().unwrap_err(), "sectors missing: Energy");
        let mut v = macro_answer(None);
        v["sectors"]["Energy"] = serde_json::json!({"rating": "overweight", "modifier": 0.8, "rationale": "x"});
        let bad: MacroAnswer = serde_json::from_value(v).unwrap();
        assert!(bad.validate().unwrap_err().contains("disagrees"));
    }

    #[test]
    fn analyst_and_cio_validation() {
        let a = AnalystAnswer {
            ticker: "AAPL".into(),
            score: 120.0,
            thesis: "x".into(),
            catalysts: vec![],
            price_target_upside: None,
        };
        assert!(a.validate("AAPL").unwrap_err().contains("outside 0..100"));
        assert!(a.validate("MSFT").unwrap_err().contains("asked about MSFT"));
        let c = CioAnswer {
            decisions: vec![CioDecision { ticker: "A".into(), decision: Decision::Advance, reason: "r".into() }],
        };
        assert!(c.validate(&["A".into(), "B".into()]).unwrap_err().contains("no decision"));
        c.validate(&["A".into()]).unwrap();
    }

    #[test]
    fn prompts_render_every_placeholder() {
        let p = CIO.render(&[
            ("as_of", "2010-03-12".into()),
            ("regime", "neutral".into()),
            ("population_sectors", "none".into()),
            ("proposals", "AAPL 80".into()),
        ]);
        assert!(p.contains("2010-03-12") && !p.contains("{{"));
    }
}
