//! The decision audit: append-only (SQLite triggers refuse updates and deletes).

use ae_rules::plan::Decision;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Ledger, LedgerError, Result};

impl Ledger {
    /// Appends decision audit records (all or none).
    pub fn append_audit(
        &mut self,
        cycle_id: &str,
        at: DateTime<Utc>,
        decisions: &[Decision],
        metadata: &serde_json::Value,
    ) -> Result<usize> {
        let path = self.path.clone();
        let e = |source| LedgerError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut st = tx
                .prepare(
                    "INSERT INTO audit (cycle_id, ticker, at, decision, shares, stop, reasons, mu_hat, sigma_hat, conviction, score, quality, confidence, risk_checks, sizing, metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )
                .map_err(e)?;
            let meta = metadata.to_string();
            for d in decisions {
                let kind = serde_json::to_value(d.kind).expect("serializes");
                st.execute(params![
                    cycle_id,
                    d.ticker.as_str(),
                    at.to_rfc3339(),
                    kind.as_str().unwrap_or("?"),
                    d.shares,
                    d.stop,
                    serde_json::to_string(&ae_rules::reason::codes(&d.reasons)).expect("serializes"),
                    d.mu_hat,
                    d.sigma_hat,
                    d.conviction
                        .and_then(|c| serde_json::to_value(c).ok())
                        .and_then(|v| v.as_str().map(str::to_string)),
                    d.score,
                    d.quality_score,
                    d.confidence,
                    serde_json::to_string(&d.checks).expect("serializes"),
                    d.sizing.as_ref().map(|s| serde_json::to_string(s).expect("serializes")),
                    meta,
                ])
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        Ok(decisions.len())
    }

    /// Audit records of a cycle: (ticker, decision, reasons JSON).
    pub fn audit_of(&self, cycle_id: &str) -> Result<Vec<(String, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT ticker, decision, reasons FROM audit WHERE cycle_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([cycle_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Tries to change an audit record (it must fail: the audit is append-only).
    pub fn try_rewrite_audit(&self) -> Result<()> {
        self.conn.execute("UPDATE audit SET decision = 'ENTER'", []).map(|_| ()).map_err(|e| self.err(e))
    }
}
