//! A real headless Chromium driven over the Chrome DevTools Protocol (one WebSocket, flattened
//! sessions): navigate, wait for the load event, and report every console error, uncaught
//! exception, browser log error and failed request of the page; evaluate an expression; take a
//! screenshot; emulate a phone.
//!
//! The browser is Debian's `chromium` (installed by `.ci/setup tests`), or `$CHROMIUM`. It is started
//! with its own profile in a temporary directory, every background service off, and a host
//! resolver that resolves nothing but loopback, so a page cannot reach the internet.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The browser binary: `$CHROMIUM`, else the first of `chromium`, `chromium-browser`,
/// `google-chrome` on the `PATH`.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// What went wrong on a page while it loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageReport {
    /// HTTP status of the document.
    pub status: Option<u64>,
    /// Console errors, uncaught exceptions and browser log errors (CSP violations included).
    pub errors: Vec<String>,
    /// Requests that failed or answered 4xx/5xx: `url: why`.
    pub failed_requests: Vec<String>,
}

impl PageReport {
    /// No error and no failed request.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.failed_requests.is_empty()
    }
}

/// A running headless Chromium with one page attached.
pub struct Chromium {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    events: Vec<Value>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

impl Chromium {
    /// Starts the browser and opens a blank page. Errors name what is missing.
    pub async fn launch() -> Result<Self, Error> {
        let bin =
            binary().ok_or("no Chromium: install Debian's `chromium` (bash .ci/setup tests does) or set $CHROMIUM")?;
        let profile = tempfile::tempdir()?;
        let child = Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-client-side-phishing-detection",
                "--disable-domain-reliability",
                "--disable-sync",
                "--no-pings",
                "--metrics-recording-only",
                "--mute-audio",
                "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let port_file = profile.path().join("DevToolsActivePort");
        let mut text = String::new();
        for _ in 0..300 {
            if let Ok(t) = std::fs::read_to_string(&port_file)
                && t.lines().count() >= 2
            {
                text = t;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut lines = text.lines();
        let (Some(port), Some(path)) = (lines.next(), lines.next()) else {
            return Err(format!("{} did not open its DevTools port within 30 s", bin.display()).into());
        };
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}{path}")).await?;
        let mut c = Self { child, _profile: profile, ws, session: String::new(), next_id: 0, events: Vec::new() };
        let target = c.send(None, "Target.createTarget", json!({"url": "about:blank"})).await?;
        let target_id = target["targetId"].as_str().ok_or("no target id")?.to_string();
        let attached = c.send(None, "Target.attachToTarget", json!({"targetId": target_id, "flatten": true})).await?;
        c.session = attached["sessionId"].as_str().ok_or("no session id")?.to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            c.call(domain, json!({})).await?;
        }
        Ok(c)
    }

    async fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, Error> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::Text(msg.to_string().into())).await?;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .map_err(|_| format!("{method}: no answer within 60 s"))?
                .ok_or("the browser closed the connection")??;
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t)?;
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(e) = v.get("error") {
                    return Err(format!("{method}: {e}").into());
                }
                return Ok(v["result"].clone());
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Calls a DevTools method on the page.
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, Error> {
        let s = self.session.clone();
        self.send(Some(&s), method, params).await
    }

    /// Loads `url`, waits for its load event (60 s at most), and reports what went wrong.
    pub async fn navigate(&mut self, url: &str) -> Result<PageReport, Error> {
        self.events.clear();
        let nav = self.call("Page.navigate", json!({"url": url})).await?;
        if let Some(e) = nav.get("errorText").and_then(Value::as_str) {
            return Err(format!("{url}: {e}").into());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !self.events.iter().any(|e| e["method"] == "Page.loadEventFired") {
            let m = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| format!("{url}: no load event within 60 s"))?
                .ok_or("the browser closed the connection")??;
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t)?;
                if v.get("method").is_some() {
                    self.events.push(v);
                }
            }
        }
        // Let late console messages and subresource failures arrive.
        self.call("Runtime.evaluate", json!({"expression": "1"})).await?;
        Ok(self.report(url))
    }

    fn report(&self, url: &str) -> PageReport {
        let mut r = PageReport::default();
        let urls: std::collections::HashMap<&str, &str> = self
            .events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| Some((e["params"]["requestId"].as_str()?, e["params"]["request"]["url"].as_str()?)))
            .collect();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or_default() {
                "Runtime.consoleAPICalled" if matches!(p["type"].as_str(), Some("error" | "assert")) => {
                    r.errors.push(format!("console.{}: {}", p["type"].as_str().unwrap_or(""), p["args"]));
                }
                "Runtime.exceptionThrown" => r.errors.push(format!("exception: {}", p["exceptionDetails"])),
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    r.errors.push(format!("log: {} {}", p["entry"]["text"], p["entry"]["url"]));
                }
                "Network.loadingFailed" if p["canceled"] != true => {
                    let id = p["requestId"].as_str().unwrap_or_default();
                    r.failed_requests.push(format!("{}: {}", urls.get(id).copied().unwrap_or(id), p["errorText"]));
                }
                "Network.responseReceived" => {
                    let status = p["response"]["status"].as_u64();
                    let rurl = p["response"]["url"].as_str().unwrap_or_default();
                    if p["type"] == "Document" && rurl == url {
                        r.status = status;
                    }
                    if status.is_some_and(|s| s >= 400) {
                        r.failed_requests.push(format!("{rurl}: HTTP {}", status.unwrap_or(0)));
                    }
                }
                _ => {}
            }
        }
        r
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Result<Value, Error> {
        let r = self.call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true})).await?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{expression}: {e}").into());
        }
        Ok(r["result"]["value"].clone())
    }

    /// Writes a PNG of the whole page (not only the viewport) to `path`.
    pub async fn screenshot(&mut self, path: &Path) -> Result<(), Error> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true})).await?;
        let png =
            base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().ok_or("no screenshot data")?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Emulates a screen `width` × `height` CSS pixels (a phone when `mobile`).
    pub async fn viewport(&mut self, width: u32, height: u32, mobile: bool) -> Result<(), Error> {
        let scale = if mobile { 3 } else { 1 };
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile}),
        )
        .await?;
        Ok(())
    }

    /// Closes the browser.
    pub async fn close(mut self) {
        let _ = self.send(None, "Browser.close", json!({})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}
