//! Telegram notices of intraday trades: fire and forget. A notice is sent on its own task with a
//! timeout; a slow, failing or absent Telegram never blocks or fails trading (it is logged).

use std::time::Duration;

use ae_shared::config::TelegramConfig;

/// Sends notices, or does nothing when disabled.
#[derive(Clone)]
pub struct Notifier {
    /// Client, the sendMessage URL (it holds the bot token), chat id.
    target: Option<(reqwest::Client, String, String)>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it holds the bot token.
        f.debug_struct("Notifier").field("enabled", &self.target.is_some()).finish()
    }
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self { target: None }
    }

    /// From config; the bot token and chat id come from the environment variables it names (the
    /// token is registered as a secret: it is part of every request's URL). Enabled without them,
    /// it logs why and sends nothing.
    pub fn from_config(cfg: &TelegramConfig, env: impl Fn(&str) -> Option<String>) -> Self {
        if !cfg.enabled {
            return Self::disabled();
        }
        let (Some(token), Some(chat)) = (env(&cfg.bot_token_env), env(&cfg.chat_id_env)) else {
            tracing::warn!(
                token_env = %cfg.bot_token_env,
                chat_env = %cfg.chat_id_env,
                "telegram is enabled but its token or chat id is not set: no notices"
            );
            return Self::disabled();
        };
        let client = match reqwest::Client::builder().timeout(Duration::from_secs(cfg.timeout_secs.into())).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "telegram client: no notices");
                return Self::disabled();
            }
        };
        ae_shared::secrets::register(&token);
        let url = format!("{}/bot{token}/sendMessage", cfg.base_url.trim_end_matches('/'));
        Self { target: Some((client, url, chat)) }
    }

    /// Sends `text` in the background. The handle is for tests; trading never awaits it.
    pub fn notify(&self, text: String) -> Option<tokio::task::JoinHandle<()>> {
        let (client, url, chat) = self.target.clone()?;
        Some(tokio::spawn(async move {
            let body = serde_json::json!({ "chat_id": chat, "text": text, "disable_web_page_preview": true });
            match client.post(&url).json(&body).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(status = %r.status(), "telegram refused a notice (trading goes on)"),
                // The URL holds the bot token: never let it into the message.
                Err(e) => {
                    tracing::warn!(error = %ae_shared::secrets::describe_http_error(e), "telegram notice failed (trading goes on)")
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn cfg(url: &str) -> TelegramConfig {
        TelegramConfig {
            enabled: true,
            base_url: url.into(),
            bot_token_env: "TOK".into(),
            chat_id_env: "CHAT".into(),
            timeout_secs: 1,
        }
    }

    fn env(k: &str) -> Option<String> {
        match k {
            "TOK" => Some("123:abc".into()),
            "CHAT" => Some("-10042".into()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_notice_reaches_the_bot_api() {
        let server = MockServer::start().await;
        let ok = serde_json::json!({"ok": true, "result": {"message_id": 7, "chat": {"id": -100042}, "date": 1700000000, "text": "x"}});
        Mock::given(method("POST"))
            .and(path("/bot123:abc/sendMessage"))
            .and(body_partial_json(serde_json::json!({"chat_id": "-10042", "text": "BUY 10 AAPL @ 100.05"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(ok))
            .expect(1)
            .mount(&server)
            .await;
        let n = Notifier::from_config(&cfg(&server.uri()), env);
        n.notify("BUY 10 AAPL @ 100.05".into()).expect("enabled").await.expect("task");
    }

    #[tokio::test]
    async fn a_transport_error_is_described_without_its_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/bot123:SENTINEL-UNIT-TOKEN/sendMessage");
        let e = reqwest::Client::new().post(&url).send().await.unwrap_err();
        assert!(e.to_string().contains("SENTINEL-UNIT-TOKEN"), "reqwest quotes the URL: {e}");
        let d = ae_shared::secrets::describe_http_error(e);
        assert!(!d.contains("SENTINEL-UNIT-TOKEN"), "{d}");
        assert!(d.starts_with("error sending request") && d.len() > "error sending request".len(), "{d}");
    }

    #[tokio::test]
    async fn a_failing_or_slow_telegram_never_blocks() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let n = Notifier::from_config(&cfg(&server.uri()), env);
        let handle = n.notify("x".into()).expect("enabled");
        // notify() returned at once; the task ends by its own timeout, not by trading waiting.
        assert!(!handle.is_finished());
        handle.await.expect("the task ends quietly");
        // Enabled without a token: silently disabled.
        assert!(Notifier::from_config(&cfg(&server.uri()), |_| None).notify("x".into()).is_none());
    }
}
