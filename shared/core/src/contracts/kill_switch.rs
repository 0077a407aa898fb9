//! `executor/kill_switch.json`: while present, no new entries anywhere; in `flatten` mode the
//! daemon also sells every position at market. The planner reads it, the daemon re-reads it at
//! every step, the backtester's breakers may set it; clearing it is an operator's action with a
//! reason (the cleared document is archived under `executor/kill_switch/history/`).
//!
//! A kill switch object that is present but unreadable still blocks entries (somebody meant to
//! stop trading); `flatten` acts only from a valid document an operator confirmed.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Checker, DocKind, Document, Lineage};
use crate::calendar::TradingDay;

/// What the kill switch stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KillMode {
    /// No new entries: planned entries are refused, working entry orders are cancelled, recorded
    /// buys are not re-sent. Exits run.
    Entries,
    /// Everything in `entries`, and every position is sold at market. Needs an operator's
    /// confirmation.
    Flatten,
}

impl KillMode {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            KillMode::Entries => "entries",
            KillMode::Flatten => "flatten",
        }
    }
}

/// Who set the kill switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SetBy {
    /// An operator at the command line.
    Operator {
        /// Who (login name or what they typed).
        #[schemars(length(min = 1))]
        name: String,
    },
    /// A circuit breaker.
    Breaker {
        /// The breaker's rule code.
        #[schemars(length(min = 1))]
        rule: String,
    },
}

/// The kill switch document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillSwitch {
    /// Contract version.
    pub schema_version: u32,
    /// Lineage.
    pub produced_by: Lineage,
    /// What it stops.
    pub mode: KillMode,
    /// Why (shown in reports and alerts).
    #[schemars(length(min = 1))]
    pub reason: String,
    /// When.
    pub set_at: DateTime<Utc>,
    /// Who.
    pub set_by: SetBy,
    /// An operator confirmed it at a terminal (required for `flatten`).
    pub confirmed: bool,
}

impl KillSwitch {
    /// Entries only, set by `set_by` for `reason`.
    pub fn entries(reason: &str, set_at: DateTime<Utc>, set_by: SetBy, version: &str) -> Self {
        Self::new(KillMode::Entries, reason, set_at, set_by, false, version)
    }

    /// A kill switch document.
    pub fn new(
        mode: KillMode,
        reason: &str,
        set_at: DateTime<Utc>,
        set_by: SetBy,
        confirmed: bool,
        version: &str,
    ) -> Self {
        Self {
            schema_version: Self::SCHEMA_VERSION,
            produced_by: Lineage::new(super::Job::Operator, version, None, Vec::new()),
            mode,
            reason: reason.to_string(),
            set_at,
            set_by,
            confirmed,
        }
    }
}

impl Document for KillSwitch {
    const KIND: DocKind = DocKind::KillSwitch;
    const SCHEMA_VERSION: u32 = 1;

    fn lineage(&self) -> &Lineage {
        &self.produced_by
    }

    fn date(&self) -> Option<TradingDay> {
        None
    }

    fn check(&self, c: &mut Checker) {
        if self.reason.trim().is_empty() {
            c.push("reason", "is empty: say why trading stops");
        }
        if self.mode == KillMode::Flatten {
            if !self.confirmed {
                c.push("confirmed", "false: flatten sells every position and needs an operator's confirmation");
            }
            if !matches!(self.set_by, SetBy::Operator { .. }) {
                c.push("set_by", "flatten can only be set by an operator");
            }
        }
    }
}

/// What clearing the kill switch leaves behind (`executor/kill_switch/history/{stamp}.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillSwitchCleared {
    /// The kill switch as it was (raw JSON: it may have been unreadable).
    pub previous: serde_json::Value,
    /// When it was cleared.
    pub cleared_at: DateTime<Utc>,
    /// Who cleared it.
    pub cleared_by: String,
    /// Why trading may resume.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2010, 3, 15, 15, 0, 0).unwrap()
    }

    #[test]
    fn flatten_needs_a_confirmed_operator() {
        let op = SetBy::Operator { name: "ops".into() };
        let ok = KillSwitch::new(KillMode::Flatten, "broker outage", at(), op.clone(), true, "0.1.0");
        assert!(super::super::to_json_checked(&ok).is_ok());
        let unconfirmed = KillSwitch::new(KillMode::Flatten, "x", at(), op, false, "0.1.0");
        let e = super::super::to_json_checked(&unconfirmed).unwrap_err().to_string();
        assert!(e.contains("confirmed"), "{e}");
        let by_breaker =
            KillSwitch::new(KillMode::Flatten, "x", at(), SetBy::Breaker { rule: "DD".into() }, true, "0.1.0");
        assert!(super::super::to_json_checked(&by_breaker).unwrap_err().to_string().contains("set_by"));
        let entries = KillSwitch::entries("drawdown 8%", at(), SetBy::Breaker { rule: "DD".into() }, "0.1.0");
        let bytes = super::super::to_json_checked(&entries).unwrap();
        assert_eq!(super::super::parse::<KillSwitch>(&bytes).unwrap(), entries);
    }
}
