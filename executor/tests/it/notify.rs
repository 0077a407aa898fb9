//! Telegram notices never leak the bot token. Telegram takes the token only in the request path,
//! so every failed send holds it in its URL: a failing Telegram (a 500 quoting the path back,
//! connections closed, nothing listening) must leave no trace of it in any log line, with debug
//! logging through the jobs' own log writer.

use std::io::Write;
use std::sync::{Arc, Mutex};

use ae_executor::notify::Notifier;
use ae_shared::config::TelegramConfig;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "7012345678:SENTINEL-TELEGRAM-TOKEN-7f3a";

/// Log lines, as the jobs' log writer would have written them to stderr.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn config(base_url: String) -> TelegramConfig {
    TelegramConfig {
        enabled: true,
        base_url,
        bot_token_env: "TELEGRAM_BOT_TOKEN".into(),
        chat_id_env: "TELEGRAM_CHAT_ID".into(),
        timeout_secs: 2,
    }
}

fn env(k: &str) -> Option<String> {
    match k {
        "TELEGRAM_BOT_TOKEN" => Some(TOKEN.into()),
        "TELEGRAM_CHAT_ID" => Some("-1001234".into()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_telegram_never_puts_the_bot_token_in_a_log_line() {
    let logs = Captured::default();
    let sink = logs.clone();
    ae_shared::cli::init_logging_to(false, "debug", move || sink.clone());

    let failing = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(|r: &Request| {
            ResponseTemplate::new(500).set_body_json(serde_json::json!({
                "ok": false, "error_code": 500, "description": format!("Internal Server Error at {}", r.url)
            }))
        })
        .mount(&failing)
        .await;
    let closing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closing_url = format!("http://{}", closing.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = closing.accept().await {
            drop(socket);
        }
    });
    let nothing = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };

    for base in [failing.uri(), closing_url, nothing] {
        let n = Notifier::from_config(&config(base), env);
        assert!(!format!("{n:?}").contains("SENTINEL"), "{n:?}");
        n.notify("BUY 10 AAPL @ 100.05".into()).expect("enabled").await.expect("the task ends quietly");
    }

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("telegram refused a notice"), "the 500 was logged:\n{text}");
    assert_eq!(text.matches("telegram notice failed").count(), 2, "both transport failures were logged:\n{text}");
    assert!(text.contains("DEBUG"), "debug logging was on:\n{text}");
    for part in [TOKEN, "SENTINEL-TELEGRAM-TOKEN-7f3a"] {
        assert!(!text.contains(part), "{part} logged:\n{text}");
    }
    // The token did reach Telegram, in the path, which is the only place it goes.
    let sent = failing.received_requests().await.unwrap();
    assert_eq!(sent[0].url.path(), format!("/bot{TOKEN}/sendMessage"));
}
