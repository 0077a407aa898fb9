//! What a research run writes and sends: the signals (dated, then latest), the brief (stored on
//! the bus and mailed, only when the signals changed), the agents' answer cache, and the run
//! report in `research/archive/{date}/run.json`.

use ae_shared::bus::{Bus, Published, PutMode, keys};
use ae_shared::clock::Clock;
use ae_shared::config::Config;
use ae_shared::contracts::signals::Signals;
use ae_shared::mail::{self, Email};
use ae_shared::secrets;
use anyhow::Context;

use super::agents::Agents;
use super::{RunOptions, RunReport};

/// What happened to the signals and to the brief, as the run report says it.
pub(super) struct Delivery {
    /// What happened to the signals document.
    pub published: String,
    /// Where the brief went.
    pub brief: String,
}

/// Writes the signals and the brief and saves the answer cache; on a dry run, nothing.
pub(super) async fn publish(
    bus: &Bus,
    cfg: &Config,
    clock: &dyn Clock,
    opts: &RunOptions,
    signals: &Signals,
    email: &Email,
    agents: Option<&Agents>,
) -> anyhow::Result<Delivery> {
    let date = opts.date;
    if opts.dry_run {
        return Ok(Delivery {
            published: "dry run: nothing written".to_string(),
            brief: "dry run: not sent".to_string(),
        });
    }
    let outcome =
        bus.publish_doc(&keys::signals(date), Some(&keys::signals_latest()), signals, opts.force, clock).await?;
    let brief = if outcome == Published::Unchanged {
        "not sent again (signals unchanged)".to_string()
    } else {
        bus.put(&keys::research_brief(date), email.html.clone().into_bytes(), PutMode::Overwrite).await?;
        match mail::send(&cfg.mail, email, &format!("{date}-research-brief")).await {
            Ok(mail::Delivery::Smtp { host, recipients }) => {
                format!("sent via {host} to {recipients} recipient(s)")
            }
            Ok(mail::Delivery::Outbox { path }) => format!("written to {}", path.display()),
            Err(e) => {
                tracing::error!("brief not delivered: {e}");
                format!("NOT delivered: {e}")
            }
        }
    };
    if let Some(a) = agents {
        a.save_cache(bus).await?;
    }
    Ok(Delivery { published: outcome.to_string(), brief })
}

/// Writes the run report to `research/archive/{date}/run.json` (not on a dry run).
pub(super) async fn archive_report(bus: &Bus, opts: &RunOptions, report: &RunReport) -> anyhow::Result<()> {
    if opts.dry_run {
        return Ok(());
    }
    // The report quotes provider and agent failures: its every string is redacted once more on
    // its way to the bus.
    let mut doc = serde_json::to_value(report).context("serializing the run report")?;
    secrets::redact_json(&mut doc);
    bus.put_json(&keys::research_archive(opts.date, "run.json"), &doc, PutMode::Overwrite).await?;
    Ok(())
}
