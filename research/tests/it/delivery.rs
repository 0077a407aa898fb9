//! The brief over a real SMTP server, and the research binary under the Lambda Runtime API.

use std::time::Duration;

use ae_research::run::{RunOptions, run};
use ae_shared::bus::keys;
use ae_shared::contracts::signals::Signals;
use ae_shared::mail::SmtpSecurity;
use ae_testkit::lambda::{Outcome, RuntimeApi};
use ae_testkit::smtp::{SmtpOptions, SmtpServer};
use serde_json::json;

use crate::common::{bus, clock, config, day};

#[tokio::test]
async fn the_brief_arrives_over_starttls_and_reads_as_a_brief() {
    let (dir, bus) = bus();
    let server = SmtpServer::start(SmtpOptions { starttls: true, auth: None });
    let mut cfg = config(dir.path());
    cfg.mail.smtp.host = "127.0.0.1".into();
    cfg.mail.smtp.port = server.port;
    cfg.mail.smtp.security = SmtpSecurity::Starttls;
    cfg.mail.smtp.ca_file = server.ca_file().display().to_string();
    cfg.mail.smtp.username_env = "AE_TEST_NO_SUCH_USER_VAR".into();
    let r = run(&bus, &cfg, clock("2010-03-15"), &RunOptions::new(day("2010-03-15"))).await.unwrap();
    assert_eq!(r.brief, "sent via 127.0.0.1 to 1 recipient(s)");
    let msgs = server.messages(Duration::from_secs(5));
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert!(m.contains("Subject: alpha-engine research brief 2010-03-15:"), "{m}");
    assert!(m.contains("[quant-only]"), "{m}");
    let html = m.replace("=\r\n", "").replace("=\n", "");
    for want in ["Research brief", "QUANT-ONLY", "Sectors", "Information Technology", "Population", "Ratings", "NEW"] {
        assert!(html.contains(want), "missing {want}");
    }
    // The same HTML is on the bus.
    let stored = bus.get(&keys::research_brief(day("2010-03-15"))).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&stored.bytes).contains("<h2>Ratings</h2>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_one_lambda_invocation_through_the_runtime_api() {
    let (dir, bus) = bus();
    let api = RuntimeApi::start(json!({"date": "2010-03-15"})).await;
    let child = api
        .command(env!("CARGO_BIN_EXE_research"), "research")
        .env("BUS_URL", bus.url().to_string())
        .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", dir.path().join("outbox"))
        .env_remove("ANTHROPIC_API_KEY")
        .spawn()
        .unwrap();
    let (outcome, logs) = api.outcome(child, Duration::from_secs(60)).await;
    let Outcome::Response(report) = outcome else { panic!("the handler failed: {outcome:?}\n{logs}") };
    assert_eq!(report["date"], "2010-03-15");
    assert_eq!(report["mode"], "quant_only");
    assert_eq!(report["published"], "written");
    assert!(bus.get_doc::<Signals>(&keys::signals(day("2010-03-15"))).await.unwrap().is_some());
    // Logs are JSON lines under Lambda.
    assert!(logs.lines().filter(|l| !l.is_empty()).all(|l| l.starts_with('{')), "{logs}");
}
