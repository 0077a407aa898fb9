//! `produced_by`: which job, version and run made a document, from which inputs.
//!
//! Every number on the bus can be traced back: a document lists the keys it read with their
//! SHA-256, and its `run_id` is derived from exactly those (job, version, date, input hashes), so
//! a re-run over the same inputs has the same id and is recognised as a no-op.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calendar::TradingDay;

/// The job that wrote a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// Weekly research.
    Research,
    /// Predictor training and inference.
    Predictor,
    /// Planner, daemon and EOD.
    Executor,
    /// Weekly backtester.
    Backtester,
    /// An operator command (`alpha-engine ...`).
    Operator,
}

impl Job {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Job::Research => "research",
            Job::Predictor => "predictor",
            Job::Executor => "executor",
            Job::Backtester => "backtester",
            Job::Operator => "operator",
        }
    }
}

/// One input a document was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputRef {
    /// Bus key (or a local path for files outside the bus).
    pub key: String,
    /// Hex SHA-256 of the bytes read.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// The backend's version tag when it reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// Where a document came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lineage {
    /// The writing job.
    pub job: Job,
    /// The writing build's version (crate version).
    #[schemars(length(min = 1))]
    pub version: String,
    /// Identifier of the run: derived from job, version, date and inputs (see [`Lineage::new`]).
    #[schemars(length(min = 1))]
    pub run_id: String,
    /// Everything read to produce the document, sorted by key.
    pub inputs: Vec<InputRef>,
}

impl Lineage {
    /// Lineage for a run of `job` at `version` for `date` over `inputs`; the run id is a hash of
    /// all of them, so the same computation always has the same id.
    pub fn new(job: Job, version: &str, date: Option<TradingDay>, mut inputs: Vec<InputRef>) -> Self {
        inputs.sort_by(|a, b| a.key.cmp(&b.key));
        inputs.dedup_by(|a, b| a.key == b.key && a.sha256 == b.sha256);
        let mut h = Sha256::new();
        h.update(job.name());
        h.update([0]);
        h.update(version);
        h.update([0]);
        if let Some(d) = date {
            h.update(d.to_string());
        }
        for i in &inputs {
            h.update([0]);
            h.update(&i.key);
            h.update([1]);
            h.update(&i.sha256);
        }
        let digest = hex::encode(h.finalize());
        let day = date.map(|d| d.to_string()).unwrap_or_else(|| "undated".into());
        Self { job, version: version.to_string(), run_id: format!("{}-{}-{}", job.name(), day, &digest[..12]), inputs }
    }

    /// Same writer version and the same inputs (keys and content hashes).
    pub fn same_inputs(&self, other: &Lineage) -> bool {
        let strip = |l: &Lineage| l.inputs.iter().map(|i| (i.key.clone(), i.sha256.clone())).collect::<Vec<_>>();
        self.job == other.job && self.version == other.version && strip(self) == strip(other)
    }
}

/// Hex SHA-256 of `bytes` (the content hash lineage records).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(k: &str, c: &str) -> InputRef {
        InputRef { key: k.into(), sha256: sha256_hex(c.as_bytes()), etag: None }
    }

    #[test]
    fn run_id_is_a_function_of_the_computation() {
        let d = TradingDay::parse("2010-03-15").unwrap();
        let a = Lineage::new(Job::Research, "0.1.0", Some(d), vec![input("b", "1"), input("a", "2")]);
        let b = Lineage::new(Job::Research, "0.1.0", Some(d), vec![input("a", "2"), input("b", "1")]);
        assert_eq!(a.run_id, b.run_id);
        assert!(a.run_id.starts_with("research-2010-03-15-"));
        assert!(a.same_inputs(&b));
        let c = Lineage::new(Job::Research, "0.1.0", Some(d), vec![input("a", "2"), input("b", "changed")]);
        assert_ne!(a.run_id, c.run_id);
        assert!(!a.same_inputs(&c));
        let v2 = Lineage::new(Job::Research, "0.2.0", Some(d), vec![input("a", "2"), input("b", "1")]);
        assert!(!a.same_inputs(&v2));
    }
}
