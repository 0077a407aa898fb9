//! Setting and clearing the kill switch (`executor/kill_switch.json`, see
//! [`ae_shared::contracts::kill_switch`]). The daemon re-reads it at every step
//! ([`crate::inputs::kill_state`]); the planner reads it each morning. Clearing it is an operator's
//! action with a reason: the cleared document is archived first, under
//! `executor/kill_switch/history/{stamp}.json`, then removed.

use ae_shared::alerts::{Alert, Severity};
use ae_shared::bus::{Bus, PutMode, keys};
use ae_shared::contracts::kill_switch::{KillMode, KillSwitch, KillSwitchCleared, SetBy};
use chrono::{DateTime, Utc};

/// Writes the kill switch (validated first: a `flatten` nobody confirmed is refused here).
pub async fn set(bus: &Bus, doc: &KillSwitch) -> anyhow::Result<()> {
    let bytes = ae_shared::contracts::to_json_checked(doc).map_err(|p| anyhow::anyhow!("kill switch refused: {p}"))?;
    bus.put(&keys::kill_switch(), bytes.to_vec(), PutMode::Overwrite).await?;
    Ok(())
}

/// Sets the kill switch for a circuit breaker that fired (mode `entries`), unless one is already
/// set: an operator's switch is never overwritten. Returns the document written.
pub async fn set_by_breaker(
    bus: &Bus,
    fired: &ae_rules::breakers::Fired,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<KillSwitch>> {
    if bus.get(&keys::kill_switch()).await?.is_some() {
        return Ok(None);
    }
    let doc = KillSwitch::entries(
        &fired.detail,
        now,
        SetBy::Breaker { rule: fired.rule.code().into() },
        crate::planner::VERSION,
    );
    set(bus, &doc).await?;
    Ok(Some(doc))
}

/// Sets the kill switch for every `Kill` breaker among `fired` (see [`set_by_breaker`]) and
/// returns the documents written, for the caller's alerts.
pub async fn persist_breaker_kills(
    bus: &Bus,
    fired: &[ae_rules::breakers::Fired],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<KillSwitch>> {
    let mut out = Vec::new();
    for f in fired.iter().filter(|f| f.effect == ae_rules::breakers::Effect::Kill) {
        out.extend(set_by_breaker(bus, f, now).await?);
    }
    Ok(out)
}

/// Clears the kill switch: archives what was there with who cleared it and why, then removes it.
/// Returns the archive, or `None` when it was not set.
pub async fn clear(
    bus: &Bus,
    cleared_by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<KillSwitchCleared>> {
    anyhow::ensure!(!reason.trim().is_empty(), "clearing the kill switch needs a reason (--reason)");
    let key = keys::kill_switch();
    let Some(obj) = bus.get(&key).await? else { return Ok(None) };
    let previous = serde_json::from_slice(&obj.bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&obj.bytes).into_owned()));
    let cleared =
        KillSwitchCleared { previous, cleared_at: now, cleared_by: cleared_by.to_string(), reason: reason.to_string() };
    let stamp = format!("{}-{}", now.format("%Y%m%dT%H%M%S%.3fZ"), &obj.sha256()[..8]);
    match bus.put_json(&keys::kill_switch_history(&stamp), &cleared, PutMode::IfAbsent).await {
        // The same switch cleared at the same instant is already archived.
        Ok(_) | Err(ae_shared::bus::BusError::PreconditionFailed { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    bus.delete(&key).await?;
    Ok(Some(cleared))
}

/// The operator alert for a kill-switch change.
pub fn alert_for_set(doc: &KillSwitch) -> Alert {
    let who = match &doc.set_by {
        SetBy::Operator { name } => format!("operator {name}"),
        SetBy::Breaker { rule } => format!("breaker {rule}"),
    };
    let what = match doc.mode {
        KillMode::Entries => "no new entries; working entries are cancelled; exits run",
        KillMode::Flatten => "every position is being sold at market; no new entries",
    };
    Alert {
        key: format!("kill-switch:set:{}:{}", doc.mode.name(), doc.set_at.timestamp()),
        severity: Severity::Critical,
        title: format!("kill switch SET ({})", doc.mode.name()),
        detail: format!("{what}. Reason: {}. Set by {who} at {}.", doc.reason, doc.set_at.to_rfc3339()),
        action: "when it is safe to trade again: `executor kill-switch clear --reason \"...\"`".into(),
        source: "executor kill-switch".into(),
        date: None,
        at: doc.set_at,
    }
}

/// The operator alert for a cleared kill switch.
pub fn alert_for_clear(c: &KillSwitchCleared) -> Alert {
    Alert {
        key: format!("kill-switch:clear:{}", c.cleared_at.timestamp()),
        severity: Severity::Warning,
        title: "kill switch cleared".into(),
        detail: format!("cleared by {} at {}: {}", c.cleared_by, c.cleared_at.to_rfc3339(), c.reason),
        action: "nothing, if this was intended: entries resume with the next plan".into(),
        source: "executor kill-switch".into(),
        date: None,
        at: c.cleared_at,
    }
}
