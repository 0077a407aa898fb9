//! The shared shape of every promotion decision: a list of gates, each PASS or FAIL with its
//! numbers, promoted only when all pass; and the one train/holdout split (the most recent share
//! held out).

/// PASS/FAIL lines of a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Gates {
    /// One line per gate, `PASS ...` or `FAIL ...`.
    pub lines: Vec<String>,
    /// Every gate so far passed.
    pub passed: bool,
}

impl Default for Gates {
    fn default() -> Self {
        Self { lines: Vec::new(), passed: true }
    }
}

impl Gates {
    /// Records one gate.
    pub fn check(&mut self, ok: bool, text: impl Into<String>) {
        self.lines.push(format!("{} {}", if ok { "PASS" } else { "FAIL" }, text.into()));
        self.passed &= ok;
    }

    /// Records a line that decides nothing (context for the reader).
    pub fn note(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }
}

/// How many of `n` ordered items are training (the rest, the most recent, are the holdout).
pub fn train_len(n: usize, holdout_fraction: f64) -> usize {
    (((n as f64) * (1.0 - holdout_fraction)).round() as usize).min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failing_gate_fails_the_decision() {
        let mut g = Gates::default();
        g.check(true, "a");
        g.note("context");
        assert!(g.passed);
        g.check(false, "b");
        g.check(true, "c");
        assert!(!g.passed);
        assert_eq!(g.lines, vec!["PASS a", "context", "FAIL b", "PASS c"]);
        assert_eq!((train_len(231, 0.33), train_len(3, 0.5), train_len(0, 0.33)), (155, 2, 0));
    }
}
