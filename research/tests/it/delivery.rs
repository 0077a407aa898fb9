//! The brief over a real SMTP server, and the research binary under the Lambda Runtime API.

use std::time::{Duration, Instant};

use ae_research::run::{RunOptions, run};
use ae_shared::bus::keys;
use ae_shared::contracts::signals::Signals;
use ae_shared::mail::SmtpSecurity;
use ae_testkit::smtp::{SmtpOptions, SmtpServer};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    let rt = MockServer::start().await;
    let req_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("lambda-runtime-aws-request-id", req_id)
                .insert_header("lambda-runtime-deadline-ms", "4102444800000")
                .insert_header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:research",
                )
                .set_body_json(json!({"date": "2010-03-15"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&rt)
        .await;
    // Later polls are held, as real Lambda holds them until the next event.
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(60)))
        .mount(&rt)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/2018-06-01/runtime/invocation/{req_id}/response")))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"status": "OK"})))
        .mount(&rt)
        .await;
    Mock::given(method("POST")).and(path_regex(r"/error$")).respond_with(ResponseTemplate::new(202)).mount(&rt).await;
    let addr = rt.address();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_research"))
        .env("AWS_LAMBDA_RUNTIME_API", format!("{}:{}", addr.ip(), addr.port()))
        .env("AWS_LAMBDA_FUNCTION_NAME", "research")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("BUS_URL", bus.url().to_string())
        .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", dir.path().join("outbox"))
        .env_remove("ANTHROPIC_API_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let reqs = rt.received_requests().await.unwrap();
        if let Some(r) = reqs.iter().find(|r| r.url.path().ends_with("/response")) {
            break r.body_json::<serde_json::Value>().unwrap();
        }
        if let Some(r) = reqs.iter().find(|r| r.url.path().ends_with("/error")) {
            panic!("the handler failed: {}", String::from_utf8_lossy(&r.body));
        }
        assert!(Instant::now() < deadline, "no /response within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(report["date"], "2010-03-15");
    assert_eq!(report["mode"], "quant_only");
    assert_eq!(report["published"], "written");
    assert!(bus.get_doc::<Signals>(&keys::signals(day("2010-03-15"))).await.unwrap().is_some());
    // Logs are JSON lines under Lambda.
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.lines().filter(|l| !l.is_empty()).all(|l| l.starts_with('{')), "{logs}");
}
