//! The executor's alerts: every risk event that needs the operator (a reconcile break, a rejected
//! order, a kill-switch change, a missing order book, ...) becomes an [`Alert`] with a severity and
//! what to do, raised once ([`ae_shared::alerts`] deduplicates across processes). The rules that
//! only explain a skipped entry (MIN_SCORE, ...) stay in the ledger and the reports.

use ae_rules::Reason;
use ae_shared::alerts::{Alert, Alerter, Severity};
use chrono::{DateTime, Utc};

use crate::ledger::{Ledger, LedgerError, RiskEventRow};

/// The alert a risk event deserves, if any: (severity, title, what to do).
pub fn classify(rule: &str) -> Option<(Severity, &'static str, &'static str)> {
    use Severity::{Critical, Info, Warning};
    let r = Reason::from_code(rule);
    Some(match r {
        Some(Reason::ShortPosition) => {
            (Critical, "short position at the broker", "cover the short at the broker today; the ledger holds zero")
        }
        Some(Reason::PositionBreak) => (
            Critical,
            "the broker's position differs from the ledger's",
            "check the account for a transfer or corporate action; the ledger now follows the broker",
        ),
        Some(Reason::SellBeyondLedger) => (
            Critical,
            "the broker sold more than the ledger held",
            "compare positions at the broker with `executor eod --dry-run`; look for another client trading the account",
        ),
        Some(Reason::Overfill) => (
            Critical,
            "more shares executed than ordered",
            "check the order at the broker; the excess is booked as external",
        ),
        Some(Reason::BrokerError) => (
            Critical,
            "an order was given up after repeated broker errors",
            "read the broker's error code in the detail; fix the cause, then re-plan if the order still matters",
        ),
        Some(Reason::NoOrderBook) => (
            Critical,
            "no order book: the daemon protects held positions only",
            "run `executor plan --date D` (no entries today until a plan exists); exits and stops are running",
        ),
        Some(Reason::KillSwitchChanged) => (
            Critical,
            "kill switch changed",
            "check the reason; clearing it is `executor kill-switch clear --reason ...`",
        ),
        Some(Reason::ExternalExecution) => (
            Warning,
            "an execution alpha-engine did not send",
            "find who traded the account (TWS by hand, another API client); it is booked as an external order",
        ),
        Some(Reason::OrderRejected) => {
            (Warning, "the broker rejected an order", "read the broker's reason; the rest of the day goes on")
        }
        Some(Reason::StaleOrder) => (
            Warning,
            "an order of an earlier day was still working",
            "it was settled as expired; check yesterday's EOD for a daemon that stopped before the close",
        ),
        Some(Reason::BadEntry) => (
            Warning,
            "an order book entry could not be read",
            "the entry was dropped; check the planner's output (`alpha-engine validate order-book`)",
        ),
        Some(Reason::OrderEventRefused) => (
            Warning,
            "the broker reported an event the order's state does not allow",
            "nothing changed in the ledger; compare the order at the broker with `trades/trades_full.csv`",
        ),
        Some(Reason::LateFill) => {
            (Info, "a fill arrived after its order ended", "nothing to do: it is booked; EOD shows it")
        }
        Some(Reason::NoPrice) => {
            (Warning, "an urgent exit had no price all day", "tomorrow's plan decides again; check the symbol's data")
        }
        _ if rule == "DATA_STALE" => (
            Critical,
            "the price data is stale: no new entries today",
            "run `alpha-engine data update` for the missing sessions (`alpha-engine data status` lists them); exits still go out",
        ),
        _ if rule == "LEFT_UNIVERSE" => (
            Warning,
            "a held name left the universe",
            "nothing to do: it is sold today as an urgent exit; EOD shows the fill",
        ),
        _ if rule == "SNAPSHOT_UNREADABLE" => {
            (Warning, "the daemon's snapshot was unreadable", "nothing to do: the day restarted from the ledger")
        }
        _ => return None,
    })
}

/// The alert for a risk event, when it deserves one.
pub fn alert_of(ev: &RiskEventRow, at: DateTime<Utc>) -> Option<Alert> {
    let (severity, title, action) = classify(&ev.rule)?;
    let ticker = ev.ticker.as_ref().map(|t| t.as_str()).unwrap_or("-");
    Some(Alert {
        key: format!("executor:{}:{}:{ticker}:{}", ev.source, ev.rule, ev.date),
        severity,
        title: match &ev.ticker {
            Some(t) => format!("{title}: {t}"),
            None => title.to_string(),
        },
        detail: ev.detail.clone(),
        action: action.to_string(),
        source: format!("executor {}", ev.source),
        date: Some(ev.date),
        at,
    })
}

/// Turns new risk events of the ledger into alerts, once each.
#[derive(Debug)]
pub struct AlertPump {
    alerter: Alerter,
    last_seen: i64,
    date: ae_shared::TradingDay,
}

impl AlertPump {
    /// A pump for the events of `date` (earlier ones were alerted on their day).
    pub fn new(alerter: Alerter, date: ae_shared::TradingDay) -> Self {
        Self { alerter, last_seen: 0, date }
    }

    /// Raises alerts for the risk events recorded since the last call; returns how many.
    pub fn pump(&mut self, ledger: &Ledger, at: DateTime<Utc>) -> Result<usize, LedgerError> {
        let mut raised = 0;
        for (id, ev) in ledger.risk_events_after(self.last_seen)? {
            self.last_seen = id;
            if ev.date < self.date {
                continue;
            }
            if let Some(a) = alert_of(&ev, at) {
                self.alerter.raise(a);
                raised += 1;
            }
        }
        Ok(raised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_are_critical_rejections_warn_and_entry_refusals_stay_quiet() {
        let cases = [
            ("POSITION_BREAK", Some(Severity::Critical)),
            ("DATA_STALE", Some(Severity::Critical)),
            ("LEFT_UNIVERSE", Some(Severity::Warning)),
            ("SHORT_POSITION", Some(Severity::Critical)),
            ("NO_ORDER_BOOK", Some(Severity::Critical)),
            ("ORDER_REJECTED", Some(Severity::Warning)),
            ("EXTERNAL_EXECUTION", Some(Severity::Warning)),
            ("LATE_FILL", Some(Severity::Info)),
            ("MIN_SCORE", None),
            ("KILL_SWITCH_CANCEL", None),
            ("KILL_SWITCH", None), // an entry refused while it is set
            ("KILL_SWITCH_CHANGED", Some(Severity::Critical)),
        ];
        for (rule, want) in cases {
            assert_eq!(classify(rule).map(|c| c.0), want, "{rule}");
        }
    }
}
