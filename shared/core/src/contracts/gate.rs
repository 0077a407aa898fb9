//! The one shape of a promotion decision, for the predictor's model promotion, the executor
//! sweep, the scoring-weight step and the veto calibration: named checks, each a measured value
//! against its threshold with a sentence for the operator, promoted only when every check passes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One gate: a measured value against its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateCheck {
    /// Gate name (`median_ic`, `holdout_retention`, `deflated_sharpe`, ...).
    pub name: String,
    /// Measured value (1 or 0 for a yes/no gate).
    pub value: f64,
    /// Threshold.
    pub threshold: f64,
    /// Whether it passed.
    pub passed: bool,
    /// The check in a sentence, with its numbers (empty: the name and numbers say it all).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl GateCheck {
    /// Passes when `value >= threshold` (a NaN value fails).
    pub fn at_least(name: &str, value: f64, threshold: f64) -> Self {
        Self { name: name.into(), value, threshold, passed: value >= threshold, detail: String::new() }
    }

    /// Passes when `value <= threshold` (a NaN value fails).
    pub fn at_most(name: &str, value: f64, threshold: f64) -> Self {
        Self { name: name.into(), value, threshold, passed: value <= threshold, detail: String::new() }
    }

    /// A yes/no gate: passes when `ok` (value 1 or 0, threshold 1).
    pub fn holds(name: &str, ok: bool) -> Self {
        Self { name: name.into(), value: f64::from(u8::from(ok)), threshold: 1.0, passed: ok, detail: String::new() }
    }

    /// With a sentence for the operator.
    pub fn because(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// `PASS ...` or `FAIL ...`: the sentence, else the name and numbers.
    pub fn line(&self) -> String {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        if self.detail.is_empty() {
            format!("{verdict} {}: {} (threshold {})", self.name, self.value, self.threshold)
        } else {
            format!("{verdict} {}", self.detail)
        }
    }
}

/// The checks of one decision in order, with context lines between them for the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Gates {
    /// The checks.
    pub checks: Vec<GateCheck>,
    /// One line per check (`PASS ...`/`FAIL ...`) and per note, in order.
    pub lines: Vec<String>,
    /// Every check so far passed.
    pub passed: bool,
}

impl Default for Gates {
    fn default() -> Self {
        Self { checks: Vec::new(), lines: Vec::new(), passed: true }
    }
}

impl Gates {
    /// Records one check.
    pub fn check(&mut self, c: GateCheck) {
        self.lines.push(c.line());
        self.passed &= c.passed;
        self.checks.push(c);
    }

    /// Records a line that decides nothing (context for the reader).
    pub fn note(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failing_gate_fails_the_decision() {
        let mut g = Gates::default();
        g.check(GateCheck::holds("a", true).because("a"));
        g.note("context");
        assert!(g.passed);
        g.check(GateCheck::at_least("b", 1.0, 2.0).because("b"));
        g.check(GateCheck::at_most("c", 1.0, 2.0));
        assert!(!g.passed);
        assert_eq!(g.lines, vec!["PASS a", "context", "FAIL b", "PASS c: 1 (threshold 2)"]);
        assert_eq!(g.checks.len(), 3);
    }

    #[test]
    fn a_nan_measure_fails_either_way() {
        assert!(!GateCheck::at_least("x", f64::NAN, 0.0).passed);
        assert!(!GateCheck::at_most("x", f64::NAN, 0.0).passed);
    }
}
