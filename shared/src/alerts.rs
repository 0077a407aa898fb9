//! Operator alerts: a reconcile break, a rejected order, a kill-switch change, a breaker event, a
//! job failure or a missed job reaches the operator ONCE — by email and Telegram, with a severity
//! and what to do — and never blocks the caller.
//!
//! - **Once**: an alert has a dedup key (`reconcile:POSITION_BREAK:AAPL`). Before sending, the
//!   alerter claims the key on the bus (`alerts/state/{hash}.json`, a conditional write), so two
//!   processes, or a daemon restarted ten times, send it once per dedup window.
//! - **Kept**: every alert raised is written to `alerts/{date}/{hhmmss}-{hash}.json` (the
//!   dashboard and the operator read the history there), sent or suppressed.
//! - **Never blocking**: [`Alerter::raise`] spawns the claim and the sends on their own task with
//!   timeouts; a dead relay or Telegram is logged, nothing else.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::TradingDay;
use crate::bus::{Bus, PutMode, keys};
use crate::mail::{Email, MailConfig};

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Needs a look today.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// Upper-case label.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Dedup key: the same key within the window is sent once.
    pub key: String,
    /// How bad.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// What happened, with the numbers.
    pub detail: String,
    /// What the operator should do.
    pub action: String,
    /// Which job raised it.
    pub source: String,
    /// The trading day it is about.
    pub date: Option<TradingDay>,
    /// When it was raised.
    pub at: DateTime<Utc>,
}

/// The dedup state of one key on the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claim {
    key: String,
    sent_at: DateTime<Utc>,
}

/// What became of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Claimed and sent (by the channels listed; a channel that failed is logged).
    Sent(Vec<String>),
    /// The same key was sent within the window (by this process or another).
    Suppressed,
    /// The bus could not be written: sent anyway (better twice than never).
    SentUnclaimed(Vec<String>),
    /// Informational: kept in the history and the log, not sent.
    Kept,
}

/// A Telegram chat to alert (bot token and chat id from the environment).
#[derive(Clone)]
pub struct TelegramTarget {
    client: reqwest::Client,
    url: String,
    chat: String,
}

impl std::fmt::Debug for TelegramTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL holds the bot token: never printed.
        f.debug_struct("TelegramTarget").field("chat", &self.chat).finish_non_exhaustive()
    }
}

impl TelegramTarget {
    /// From the Telegram settings; `None` when disabled or when its variables are unset.
    pub fn from_config(cfg: &crate::config::TelegramConfig, env: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if !cfg.enabled {
            return None;
        }
        let (token, chat) = (env(&cfg.bot_token_env)?, env(&cfg.chat_id_env)?);
        crate::secrets::register(&token);
        let client = reqwest::Client::builder().timeout(Duration::from_secs(cfg.timeout_secs.into())).build().ok()?;
        Some(Self { client, url: format!("{}/bot{token}/sendMessage", cfg.base_url.trim_end_matches('/')), chat })
    }

    /// Sends `text`; the error never carries the URL (it holds the token).
    pub async fn send(&self, text: &str) -> Result<(), String> {
        let body = serde_json::json!({ "chat_id": self.chat, "text": text, "disable_web_page_preview": true });
        match self.client.post(&self.url).json(&body).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("telegram answered HTTP {}", r.status().as_u16())),
            Err(e) => Err(format!("telegram: {}", crate::secrets::describe_http_error(e))),
        }
    }
}

/// Raises alerts.
#[derive(Clone)]
pub struct Alerter {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Option<Bus>,
    mail: Option<MailConfig>,
    telegram: Option<TelegramTarget>,
    window: Duration,
}

impl std::fmt::Debug for Alerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerter")
            .field("mail", &self.inner.mail.is_some())
            .field("telegram", &self.inner.telegram.is_some())
            .field("window", &self.inner.window)
            .finish()
    }
}

fn hash(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

impl Alerter {
    /// Alerts by email (the mail settings: SMTP or the outbox) and Telegram, deduplicated through
    /// `bus` over `window`.
    pub fn new(bus: Bus, mail: Option<MailConfig>, telegram: Option<TelegramTarget>, window: Duration) -> Self {
        Self { inner: Arc::new(Inner { bus: Some(bus), mail, telegram, window }) }
    }

    /// From the configuration: mail as configured, Telegram when enabled and its variables set,
    /// the window from `alerts.dedup_window_minutes`.
    pub fn from_config(bus: &Bus, cfg: &crate::config::Config) -> Self {
        let telegram = TelegramTarget::from_config(&cfg.trading.telegram, |k| std::env::var(k).ok());
        let window = Duration::from_secs(u64::from(cfg.alerts.dedup_window_minutes) * 60);
        Self::new(bus.clone(), cfg.alerts.email.then(|| cfg.mail.clone()), telegram, window)
    }

    /// An alerter that only logs (tests of other things, dry runs).
    pub fn log_only() -> Self {
        Self { inner: Arc::new(Inner { bus: None, mail: None, telegram: None, window: Duration::ZERO }) }
    }

    /// Raises `alert` in the background: logged now, claimed, kept and sent on its own task.
    /// The handle is for tests; callers never need to await it.
    pub fn raise(&self, alert: Alert) -> tokio::task::JoinHandle<Outcome> {
        match alert.severity {
            Severity::Critical => tracing::error!(key = %alert.key, "ALERT {}: {}", alert.title, alert.detail),
            Severity::Warning => tracing::warn!(key = %alert.key, "ALERT {}: {}", alert.title, alert.detail),
            Severity::Info => tracing::info!(key = %alert.key, "ALERT {}: {}", alert.title, alert.detail),
        }
        let me = self.clone();
        tokio::spawn(async move { me.deliver(alert).await })
    }

    /// Claims, keeps and sends `alert` (what [`Alerter::raise`] runs in the background).
    pub async fn deliver(&self, alert: Alert) -> Outcome {
        let Some(bus) = &self.inner.bus else { return Outcome::Suppressed };
        let id = hash(&alert.key);
        let stamp = alert.at.format("%H%M%S").to_string();
        let day = alert.date.map(|d| d.to_string()).unwrap_or_else(|| alert.at.format("%Y-%m-%d").to_string());
        // History first (it is what the dashboard reads), then the claim.
        if let Err(e) = bus.put_json(&keys::alert(&day, &stamp, &id), &alert, PutMode::Overwrite).await {
            tracing::warn!(error = %e, "keeping an alert on the bus failed (it is still sent)");
        }
        if alert.severity == Severity::Info {
            return Outcome::Kept;
        }
        let claimed = match self.claim(bus, &alert, &id).await {
            Ok(true) => true,
            Ok(false) => return Outcome::Suppressed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming an alert on the bus failed: sending it anyway");
                false
            }
        };
        let channels = self.send(&alert).await;
        if claimed { Outcome::Sent(channels) } else { Outcome::SentUnclaimed(channels) }
    }

    async fn claim(&self, bus: &Bus, alert: &Alert, id: &str) -> Result<bool, crate::bus::BusError> {
        let key = keys::alert_state(id);
        let claim = Claim { key: alert.key.clone(), sent_at: alert.at };
        let bytes = serde_json::to_vec_pretty(&claim).expect("a claim serializes");
        let mode = match bus.get(&key).await? {
            None => PutMode::IfAbsent,
            Some(obj) => {
                let prev: Option<Claim> = serde_json::from_slice(&obj.bytes).ok();
                if let Some(p) = prev {
                    let age = alert.at.signed_duration_since(p.sent_at);
                    if age >= chrono::TimeDelta::zero() && age.to_std().unwrap_or(Duration::MAX) < self.inner.window {
                        return Ok(false);
                    }
                }
                match obj.etag {
                    Some(tag) => PutMode::IfMatch(tag),
                    None => PutMode::Overwrite,
                }
            }
        };
        match bus.put(&key, bytes, mode).await {
            Ok(_) => Ok(true),
            // Another process claimed it first.
            Err(crate::bus::BusError::PreconditionFailed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn send(&self, alert: &Alert) -> Vec<String> {
        let mut channels = Vec::new();
        let text = format!(
            "[{}] alpha-engine {}: {}\n{}\nWhat to do: {}",
            alert.severity.label(),
            alert.source,
            alert.title,
            alert.detail,
            alert.action
        );
        if let Some(t) = &self.inner.telegram {
            match t.send(&text).await {
                Ok(()) => channels.push("telegram".to_string()),
                Err(e) => tracing::warn!("alert not sent to Telegram: {e}"),
            }
        }
        if let Some(mail) = &self.inner.mail {
            let email = email_of(alert);
            let stamp = format!("alert-{}-{}", alert.at.format("%Y%m%d-%H%M%S"), hash(&alert.key));
            match tokio::time::timeout(Duration::from_secs(60), crate::mail::send(mail, &email, &stamp)).await {
                Ok(Ok(_)) => channels.push("email".to_string()),
                Ok(Err(e)) => tracing::warn!(error = %e, "alert not sent by email"),
                Err(_) => tracing::warn!("alert not sent by email: the relay did not answer within 60 s"),
            }
        }
        channels
    }
}

/// The alert as an email that reads well on a phone.
pub fn email_of(alert: &Alert) -> Email {
    use crate::mail::{HTML_CLOSE, badge, esc, html_open};
    let class = match alert.severity {
        Severity::Critical => "sell",
        Severity::Warning => "q",
        Severity::Info => "hold",
    };
    let html = format!(
        "{}<h1>{} {}</h1><p>{}</p><h2>What to do</h2><p>{}</p><p class=\"s\">{} · {} · key {}</p>{}",
        html_open(),
        badge(alert.severity.label(), class),
        esc(&alert.title),
        esc(&alert.detail),
        esc(&alert.action),
        esc(&alert.source),
        alert.at.to_rfc3339(),
        esc(&alert.key),
        HTML_CLOSE
    );
    let text = format!(
        "{}: {}\n\n{}\n\nWhat to do: {}\n\n{} · {} · key {}",
        alert.severity.label(),
        alert.title,
        alert.detail,
        alert.action,
        alert.source,
        alert.at.to_rfc3339(),
        alert.key
    );
    Email {
        subject: format!("[alpha-engine {}] {}", alert.severity.label(), alert.title),
        html,
        text,
        images: Vec::new(),
    }
}

/// Tells the operator a job failed (awaited: a job that failed is about to exit). The dedup key is
/// the job and the day, so a retried Lambda or a restarted unit alerts once per window.
pub async fn job_failed(
    bus: &Bus,
    cfg: &crate::config::Config,
    job: &str,
    date: Option<TradingDay>,
    error: &dyn std::fmt::Display,
    at: DateTime<Utc>,
) -> Outcome {
    let alert = Alert {
        key: format!("job-failed:{job}:{}", date.map(|d| d.to_string()).unwrap_or_default()),
        severity: Severity::Critical,
        title: format!("{job} failed"),
        detail: format!("{error:#}"),
        action: format!(
            "read the job's log (`journalctl -u alpha-engine-*` on the trading host, CloudWatch for Lambdas), fix the cause, and re-run `{job}`{}",
            date.map(|d| format!(" --date {d}")).unwrap_or_default()
        ),
        source: job.to_string(),
        date,
        at,
    };
    tracing::error!("{job} failed: {error:#}");
    Alerter::from_config(bus, cfg).deliver(alert).await
}
