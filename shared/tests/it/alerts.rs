//! Alerts reach the operator once: by email (the outbox here) and Telegram (a local Bot API
//! stand-in), deduplicated across processes through the bus, again after the window, and never
//! with the bot token in a log or an error.

use std::time::Duration;

use ae_shared::alerts::{Alert, Alerter, Outcome, Severity, TelegramTarget};
use ae_shared::bus::Bus;
use ae_shared::config::{Config, TelegramConfig};
use chrono::TimeZone;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn alert(key: &str, severity: Severity, minute: u32) -> Alert {
    Alert {
        key: key.into(),
        severity,
        title: "the broker's position differs from the ledger's: AAA".into(),
        detail: "the broker holds 105 AAA and the ledger 100".into(),
        action: "check the account for a transfer".into(),
        source: "executor reconcile".into(),
        date: None,
        at: chrono::Utc.with_ymd_and_hms(2010, 3, 15, 15, minute, 0).unwrap(),
    }
}

fn outbox_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "eml")).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn an_alert_reaches_the_operator_once_per_window_by_email_and_telegram() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path().join("bus"));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/bot.*/sendMessage$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .mount(&server)
        .await;
    let mut mail = Config::defaults().mail;
    mail.outbox_dir = dir.path().join("outbox").display().to_string();
    let tg = TelegramConfig {
        enabled: true,
        base_url: server.uri(),
        bot_token_env: "T".into(),
        chat_id_env: "C".into(),
        timeout_secs: 2,
    };
    let target = |_: ()| {
        TelegramTarget::from_config(&tg, |k| Some(if k == "T" { "123:SECRET-TOKEN".into() } else { "-100".into() }))
    };
    // Two processes (a daemon and its restart), one window of an hour.
    let a = Alerter::new(bus.clone(), Some(mail.clone()), target(()), Duration::from_secs(3600));
    let b = Alerter::new(bus.clone(), Some(mail.clone()), target(()), Duration::from_secs(3600));
    let first = a.deliver(alert("reconcile:POSITION_BREAK:AAA", Severity::Critical, 0)).await;
    assert_eq!(first, Outcome::Sent(vec!["telegram".into(), "email".into()]));
    assert_eq!(b.deliver(alert("reconcile:POSITION_BREAK:AAA", Severity::Critical, 10)).await, Outcome::Suppressed);
    assert_eq!(a.deliver(alert("reconcile:POSITION_BREAK:AAA", Severity::Critical, 20)).await, Outcome::Suppressed);
    // Another key is its own alert; the same key after the window is sent again.
    assert!(matches!(a.deliver(alert("reconcile:SHORT_POSITION:BBB", Severity::Critical, 21)).await, Outcome::Sent(_)));
    let later = Alert {
        at: chrono::Utc.with_ymd_and_hms(2010, 3, 15, 16, 30, 0).unwrap(),
        ..alert("reconcile:POSITION_BREAK:AAA", Severity::Critical, 0)
    };
    assert!(matches!(b.deliver(later).await, Outcome::Sent(_)));
    // Informational alerts are kept, not sent.
    assert_eq!(a.deliver(alert("late-fill:AAA", Severity::Info, 40)).await, Outcome::Kept);
    assert_eq!(outbox_count(&dir.path().join("outbox")), 3);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    // Every alert raised is kept on the bus, sent or not.
    assert_eq!(bus.list("alerts/2010-03-15/").await.unwrap().len(), 6);
    let eml = std::fs::read_dir(dir.path().join("outbox")).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(eml).unwrap();
    assert!(text.contains("CRITICAL") && text.contains("What to do"), "{text}");
}

#[tokio::test]
async fn a_dead_telegram_never_blocks_and_never_shows_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path().join("bus"));
    let tg = TelegramConfig {
        enabled: true,
        // Nothing listens here: the connection is refused.
        base_url: "http://127.0.0.1:9".into(),
        bot_token_env: "T".into(),
        chat_id_env: "C".into(),
        timeout_secs: 1,
    };
    let t =
        TelegramTarget::from_config(&tg, |k| Some(if k == "T" { "123:SECRET-TOKEN".into() } else { "-100".into() }))
            .unwrap();
    let err = t.send("x").await.unwrap_err();
    assert!(!err.contains("SECRET-TOKEN"), "{err}");
    assert!(!format!("{t:?}").contains("SECRET-TOKEN"));
    let a = Alerter::new(bus, None, Some(t), Duration::from_secs(60));
    let handle = a.raise(alert("k", Severity::Critical, 0));
    // raise() returned at once; the delivery ends on its own.
    assert_eq!(handle.await.unwrap(), Outcome::Sent(vec![]));
}
