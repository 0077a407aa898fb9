//! The parameters in force: the one place a job learns which value of each tunable parameter it
//! acts on, and where that value came from.
//!
//! Precedence, per parameter path: a path the backtester tuned (listed in the `tuned` field of
//! `config/{name}.json` on the bus) takes the bus document's value; every other path takes the
//! operator's configuration (embedded defaults, then the `--config` file, then `ALPHA_ENGINE__*`
//! environment overrides). So a configuration edit of a parameter no tuner touches takes effect
//! at once, and a tuned value holds until the backtester writes another. Which paths a tuner
//! writes: the executor sweep, the grid's paths (`backtest.sweep`); the weight step, `factors`;
//! the veto calibration, `veto_confidence`. Nothing tunes `research_params` today, so only a
//! document an operator writes with a `tuned` list changes it.
//!
//! A document that is invalid, or whose tuned values the configuration's other values make
//! inconsistent (a cross-field rule fails), is ignored with a note: a job never acts on an invalid
//! set and never fails for want of tuning. The result records its sources for the output's
//! lineage: the configuration's section (by hash) and the bus document (key and hash) when a tuned
//! value was taken from it.

use std::fmt;

use serde_json::Value;

use crate::bus::{Bus, keys};
use crate::calendar::TradingDay;
use crate::contracts::InputRef;
use crate::contracts::lineage::sha256_hex;
use crate::contracts::params::{Params, ParamsDoc, copy_path};

/// Where one parameter's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The operator's configuration (defaults, file, environment).
    Configuration,
    /// A tuned value of a bus document.
    Bus {
        /// The document's key.
        key: String,
        /// Hex SHA-256 of the bytes read.
        sha256: String,
        /// The day the document was written for.
        updated_at: TradingDay,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Configuration => f.write_str("configuration"),
            Origin::Bus { key, sha256, updated_at } => {
                write!(f, "{key} (sha256 {}, tuned {updated_at})", &sha256[..12.min(sha256.len())])
            }
        }
    }
}

/// A parameter set in force, with where each value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct InForce<P> {
    /// The values to act on.
    pub value: P,
    /// The configuration's section, as a lineage input (`configuration/{name}`, hash of its JSON).
    pub configured: InputRef,
    /// The bus document whose tuned values were taken (absent when none was).
    pub document: Option<(InputRef, TradingDay)>,
    /// The paths taken from the bus document.
    pub tuned: Vec<String>,
    /// What the operator should know (an ignored document and why).
    pub notes: Vec<String>,
}

impl<P: Params> InForce<P> {
    /// The configuration alone (no bus document).
    pub fn configured(configured: &P) -> Self {
        Self {
            value: configured.clone(),
            configured: configuration_input(configured),
            document: None,
            tuned: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// `configured` with the tuned paths of `doc` (read as `input`) taken from it, or why not.
    pub fn resolve(configured: &P, doc: &ParamsDoc<P>, input: InputRef) -> Result<Self, String> {
        let mut json = serde_json::to_value(configured).map_err(|e| e.to_string())?;
        let tuned_json = serde_json::to_value(&doc.params).map_err(|e| e.to_string())?;
        for path in &doc.tuned {
            if !copy_path(&mut json, &tuned_json, path) {
                return Err(format!("tuned path {path:?} is not a parameter of {}", P::NAME));
            }
        }
        let value: P = serde_json::from_value(json).map_err(|e| e.to_string())?;
        let mut c = crate::contracts::Checker::default();
        value.check(&mut c, "");
        let problems = c.finish();
        if !problems.is_empty() {
            return Err(format!(
                "its tuned values do not fit the configuration's other values: {}",
                crate::contracts::Problems(problems)
            ));
        }
        let document = (!doc.tuned.is_empty()).then_some((input, doc.updated_at));
        Ok(Self {
            value,
            configured: configuration_input(configured),
            document,
            tuned: doc.tuned.clone(),
            notes: vec![],
        })
    }

    /// Where the value at `path` came from (a path inside a tuned section counts as tuned).
    pub fn origin(&self, path: &str) -> Origin {
        let tuned = self.tuned.iter().any(|t| path == t || path.starts_with(&format!("{t}.")));
        match (&self.document, tuned) {
            (Some((input, updated_at)), true) => {
                Origin::Bus { key: input.key.clone(), sha256: input.sha256.clone(), updated_at: *updated_at }
            }
            _ => Origin::Configuration,
        }
    }

    /// The lineage inputs: the configuration's section and the bus document when one was used.
    pub fn inputs(&self) -> Vec<InputRef> {
        std::iter::once(self.configured.clone()).chain(self.document.iter().map(|(i, _)| i.clone())).collect()
    }

    /// Adds the sources to `inputs` and the notes to `notes`; returns the values.
    pub fn record(self, inputs: &mut Vec<InputRef>, notes: &mut Vec<String>) -> P {
        inputs.extend(self.inputs());
        notes.extend(self.notes);
        self.value
    }
}

/// The lineage input standing for the configuration's section of `P`.
fn configuration_input<P: Params>(configured: &P) -> InputRef {
    let bytes = serde_json::to_vec(&serde_json::to_value(configured).unwrap_or(Value::Null)).unwrap_or_default();
    InputRef { key: format!("configuration/{}", P::NAME), sha256: sha256_hex(&bytes), etag: None }
}

/// The parameters in force: the configuration's `configured`, with the tuned paths of
/// `config/{P::NAME}.json` when that document is present and valid (see the module doc).
pub async fn params<P: Params>(bus: &Bus, configured: &P) -> InForce<P> {
    let key = keys::config(P::NAME);
    let ignored = |why: String| {
        tracing::warn!("{key} ignored: {why}");
        let mut f = InForce::configured(configured);
        f.notes.push(format!("{key} ignored (defaults used): {why}"));
        f
    };
    match bus.get_doc::<ParamsDoc<P>>(&key).await {
        Ok(Some(l)) => InForce::resolve(configured, &l.doc, l.input).unwrap_or_else(ignored),
        Ok(None) => InForce::configured(configured),
        Err(e) => ignored(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::contracts::params::{ExecutorParams, with_values};
    use crate::contracts::{Job, Lineage};

    fn doc(params: ExecutorParams, tuned: &[&str]) -> ParamsDoc<ExecutorParams> {
        let day = TradingDay::parse("2010-03-05").unwrap();
        let lineage = Lineage::new(Job::Backtester, "test", Some(day), vec![]);
        ParamsDoc::new(lineage, day, None, tuned.iter().map(|s| s.to_string()).collect(), params)
    }

    fn input() -> InputRef {
        InputRef { key: "config/executor_params.json".into(), sha256: "ab".repeat(32), etag: None }
    }

    #[test]
    fn tuned_paths_come_from_the_bus_and_every_other_from_the_configuration() {
        let cfg = Config::defaults().executor;
        let tuned = with_values(&cfg, &[("exits.atr_multiple", 3.5), ("exits.atr_period", 20.0)]).unwrap();
        let mut edited = cfg.clone();
        edited.risk.max_position_pct = crate::types::Fraction::new(0.04).unwrap();
        let f = InForce::resolve(&edited, &doc(tuned, &["exits.atr_multiple"]), input()).unwrap();
        assert_eq!(f.value.exits.atr_multiple, 3.5, "tuned: from the bus");
        assert_eq!(f.value.exits.atr_period, 14, "not tuned: the bus copy is only a record");
        assert_eq!(f.value.risk.max_position_pct.get(), 0.04, "an operator edit takes effect");
        assert!(matches!(f.origin("exits.atr_multiple"), Origin::Bus { .. }));
        assert_eq!(f.origin("exits.atr_period"), Origin::Configuration);
        assert_eq!(f.inputs().len(), 2);
    }

    #[test]
    fn a_tuned_section_covers_its_parameters() {
        let cfg = Config::defaults().scoring;
        let mut tuned = cfg.clone();
        tuned.factors.momentum_3m = 0.9;
        tuned.quant = crate::types::Fraction::new(0.5).unwrap();
        tuned.qual = crate::types::Fraction::new(0.5).unwrap();
        let day = TradingDay::parse("2010-03-05").unwrap();
        let d = ParamsDoc::new(
            Lineage::new(Job::Backtester, "test", Some(day), vec![]),
            day,
            None,
            vec!["factors".into()],
            tuned,
        );
        let f = InForce::resolve(&cfg, &d, input()).unwrap();
        assert_eq!((f.value.factors.momentum_3m, f.value.quant), (0.9, cfg.quant));
        assert!(matches!(f.origin("factors.momentum_3m"), Origin::Bus { .. }));
        assert_eq!(f.origin("quant"), Origin::Configuration);
    }

    #[test]
    fn a_document_that_tunes_nothing_decides_nothing() {
        let cfg = Config::defaults().executor;
        let other = with_values(&cfg, &[("exits.atr_multiple", 3.5)]).unwrap();
        let f = InForce::resolve(&cfg, &doc(other, &[]), input()).unwrap();
        assert_eq!(f.value, cfg);
        assert_eq!(f.inputs().len(), 1, "only the configuration is a source");
    }

    #[test]
    fn tuned_values_the_configuration_contradicts_are_refused() {
        let cfg = Config::defaults().executor;
        let tuned =
            with_values(&cfg, &[("exits.time_decay_exit_days", 20.0), ("exits.time_decay_reduce_days", 16.0)]).unwrap();
        let err = InForce::resolve(&cfg, &doc(tuned, &["exits.time_decay_reduce_days"]), input()).unwrap_err();
        assert!(err.contains("must be below time_decay_exit_days"), "{err}");
    }

    #[test]
    fn values_are_set_by_path_and_whole_numbers_stay_whole() {
        let base = Config::defaults().executor;
        let p = with_values(&base, &[("exits.atr_multiple", 3.5), ("exits.time_decay_exit_days", 20.0)]).unwrap();
        assert_eq!((p.exits.atr_multiple, p.exits.time_decay_exit_days), (3.5, 20));
    }

    #[test]
    fn unknown_paths_out_of_bounds_values_and_refused_sets_are_errors() {
        let base = Config::defaults().executor;
        let cases: [(&[(&str, f64)], &str); 4] = [
            (&[("exits.no_such", 1.0)], "is not a numeric parameter of executor_params"),
            (&[("exits.atr_multiple", 99.0)], "outside exits.atr_multiple's bounds [0.5, 10]"),
            (&[("exits.time_decay_exit_days", 7.5)], "not a whole number"),
            (&[("exits.time_decay_reduce_days", 30.0)], "must be below time_decay_exit_days"),
        ];
        for (values, want) in cases {
            let err = with_values(&base, values).unwrap_err();
            assert!(err.contains(want), "{values:?}: {err}");
        }
    }
}
