//! Email for the operators: the research brief and the end-of-day report.
//!
//! A message is HTML with a plain-text alternative and optional inline PNG images (referenced from
//! the HTML as `cid:NAME`). It goes out over SMTP (lettre; plain, STARTTLS or implicit TLS over
//! rustls, with optional credentials from the environment and an optional extra CA for a private
//! relay) — or, when no SMTP host is configured, it is written as an `.eml` file into the outbox
//! folder, so local runs need no mail server and nothing is lost.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// No TLS (only for a relay on loopback).
    None,
    /// Upgrade with STARTTLS (port 587).
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

/// SMTP relay settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host; empty = no SMTP (messages go to the outbox).
    pub host: String,
    /// Port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// Environment variable holding the user name (unset: no authentication).
    pub username_env: String,
    /// Environment variable holding the password.
    pub password_env: String,
    /// Extra CA certificate (PEM) to trust, e.g. for a private relay; empty for none.
    pub ca_file: String,
    /// Seconds before giving up on the relay.
    #[schemars(range(min = 1, max = 600))]
    pub timeout_secs: u32,
}

/// Mail settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// Sender, e.g. `alpha-engine <alpha-engine@example.com>`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Where messages are written when no SMTP host is set.
    pub outbox_dir: String,
    /// SMTP relay.
    pub smtp: SmtpConfig,
}

/// An inline image, shown in the HTML as `<img src="cid:{cid}">`.
#[derive(Debug, Clone)]
pub struct InlineImage {
    /// Content id.
    pub cid: String,
    /// PNG bytes.
    pub png: Vec<u8>,
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Email {
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text alternative.
    pub text: String,
    /// Inline images referenced from the HTML.
    pub images: Vec<InlineImage>,
}

/// Where a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the relay.
    Smtp {
        /// Relay host.
        host: String,
        /// Recipients.
        recipients: usize,
    },
    /// Written to the outbox.
    Outbox {
        /// The `.eml` file.
        path: PathBuf,
    },
}

/// Mail failures, with what to check.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address does not parse.
    #[error("mail address {0:?} is not valid (expected e.g. `Name <user@example.com>`)")]
    Address(String),
    /// The message could not be built.
    #[error("building the message: {0}")]
    Build(String),
    /// TLS settings could not be used.
    #[error("SMTP TLS settings: {0}")]
    Tls(String),
    /// The relay refused or could not be reached.
    #[error(
        "SMTP relay {host}:{port}: {detail} (check mail.smtp host/port/security and the credentials in ${user_env}/${pass_env})"
    )]
    Smtp {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// What happened.
        detail: String,
        /// Username variable.
        user_env: String,
        /// Password variable.
        pass_env: String,
    },
    /// Writing to the outbox failed.
    #[error("writing {path}: {source}")]
    Outbox {
        /// File.
        path: String,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
}

fn mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.parse().map_err(|_| MailError::Address(s.to_string()))
}

/// Builds the MIME message: multipart/alternative (text, multipart/related (html, images)).
pub fn build(cfg: &MailConfig, email: &Email) -> Result<Message, MailError> {
    let mut b = Message::builder().from(mailbox(&cfg.from)?).subject(&email.subject);
    if cfg.to.is_empty() {
        return Err(MailError::Address("(no recipients in mail.to)".into()));
    }
    for to in &cfg.to {
        b = b.to(mailbox(to)?);
    }
    let mut related = MultiPart::related().singlepart(SinglePart::html(email.html.clone()));
    for img in &email.images {
        let ct = ContentType::parse("image/png").expect("valid content type");
        related = related.singlepart(Attachment::new_inline(img.cid.clone()).body(img.png.clone(), ct));
    }
    let body = MultiPart::alternative().singlepart(SinglePart::plain(email.text.clone())).multipart(related);
    b.multipart(body).map_err(|e| MailError::Build(e.to_string()))
}

/// Sends `email` over SMTP, or writes it to the outbox when no SMTP host is configured.
/// `stamp` names the outbox file (e.g. `2010-03-15-research-brief`). Credentials come from the
/// environment variables the configuration names (none when they are unset).
pub async fn send(cfg: &MailConfig, email: &Email, stamp: &str) -> Result<Delivery, MailError> {
    let creds = match (std::env::var(&cfg.smtp.username_env), std::env::var(&cfg.smtp.password_env)) {
        (Ok(u), Ok(p)) if !u.is_empty() => Some((u, p)),
        _ => None,
    };
    send_with_credentials(cfg, email, stamp, creds).await
}

/// [`send`] with explicit credentials (the password is registered as a secret).
pub async fn send_with_credentials(
    cfg: &MailConfig,
    email: &Email,
    stamp: &str,
    creds: Option<(String, String)>,
) -> Result<Delivery, MailError> {
    if let Some((_, password)) = &creds {
        crate::secrets::register(password);
    }
    let message = build(cfg, email)?;
    let s = &cfg.smtp;
    if s.host.trim().is_empty() {
        return write_outbox(Path::new(&cfg.outbox_dir), stamp, &message.formatted());
    }
    let smtp_err = |detail: String| MailError::Smtp {
        host: s.host.clone(),
        port: s.port,
        detail,
        user_env: s.username_env.clone(),
        pass_env: s.password_env.clone(),
    };
    let tls = || -> Result<TlsParameters, MailError> {
        let mut tb = TlsParameters::builder(s.host.clone());
        if !s.ca_file.is_empty() {
            let pem = std::fs::read(&s.ca_file).map_err(|e| MailError::Tls(format!("{}: {e}", s.ca_file)))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| MailError::Tls(format!("{}: {e}", s.ca_file)))?;
            tb = tb.certificate_store(CertificateStore::None).add_root_certificate(cert);
        }
        tb.build_rustls().map_err(|e| MailError::Tls(e.to_string()))
    };
    let tls_mode = match s.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
    };
    let mut tb = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
        .port(s.port)
        .tls(tls_mode)
        .timeout(Some(Duration::from_secs(s.timeout_secs as u64)));
    if let Some((user, pass)) = creds {
        tb = tb.credentials(Credentials::new(user, pass));
    }
    let transport = tb.build();
    transport.send(message).await.map_err(|e| smtp_err(e.to_string()))?;
    Ok(Delivery::Smtp { host: s.host.clone(), recipients: cfg.to.len() })
}

fn write_outbox(dir: &Path, stamp: &str, bytes: &[u8]) -> Result<Delivery, MailError> {
    let err = |path: &Path, source| MailError::Outbox { path: path.display().to_string(), source };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let safe: String =
        stamp.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let path = dir.join(format!("{safe}.eml"));
    std::fs::write(&path, bytes).map_err(|e| err(&path, e))?;
    Ok(Delivery::Outbox { path })
}

/// CSS for HTML emails that read well on a phone: one column at most 640 px wide, small tables,
/// right-aligned numbers (`.n`), coloured badges (`.b` with `q`, `buy`, `sell`, `hold`, `new`), and
/// small print (`p.s`).
pub const PHONE_CSS: &str = "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;padding:12px;color:#1a1a1a;background:#fff}\
.w{max-width:640px;margin:0 auto}h1{font-size:20px;margin:4px 0}h2{font-size:16px;margin:18px 0 6px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;width:100%;font-size:13px}td,th{padding:4px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
th{background:#f5f5f5}.n{text-align:right;white-space:nowrap}.b{display:inline-block;padding:1px 6px;border-radius:3px;font-size:11px;font-weight:600}\
.q{background:#fff3cd;color:#7a5b00}.buy{background:#d4edda;color:#155724}.sell{background:#f8d7da;color:#721c24}.hold{background:#e2e3e5;color:#383d41}\
.new{background:#cce5ff;color:#004085}p.s{color:#555;font-size:12px}";

/// The start of a phone-friendly HTML email, up to the opening of its content column; close it
/// with [`HTML_CLOSE`].
pub fn html_open() -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{PHONE_CSS}</style></head><body><div class=\"w\">"
    )
}

/// Closes what [`html_open`] opened.
pub const HTML_CLOSE: &str = "</div></body></html>";

/// A small coloured label; `class` is one of the badge classes of [`PHONE_CSS`].
pub fn badge(text: &str, class: &str) -> String {
    format!("<span class=\"b {class}\">{}</span>", esc(text))
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path) -> MailConfig {
        MailConfig {
            from: "alpha-engine <ae@example.com>".into(),
            to: vec!["ops@example.com".into()],
            outbox_dir: dir.display().to_string(),
            smtp: SmtpConfig {
                host: String::new(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username_env: "X_USER".into(),
                password_env: "X_PASS".into(),
                ca_file: String::new(),
                timeout_secs: 5,
            },
        }
    }

    #[tokio::test]
    async fn without_smtp_the_message_lands_in_the_outbox_with_its_inline_image() {
        let dir = tempfile::tempdir().unwrap();
        let email = Email {
            subject: "Brief 2010-03-15".into(),
            html: "<p>hello <img src=\"cid:chart\"></p>".into(),
            text: "hello".into(),
            images: vec![InlineImage { cid: "chart".into(), png: vec![0x89, b'P', b'N', b'G'] }],
        };
        let d = send(&cfg(dir.path()), &email, "2010-03-15 brief").await.unwrap();
        let Delivery::Outbox { path } = d else { panic!() };
        assert!(path.ends_with("2010-03-15_brief.eml"));
        let raw = std::fs::read_to_string(path).unwrap();
        assert!(raw.contains("Subject: Brief 2010-03-15"));
        assert!(raw.contains("multipart/alternative") && raw.contains("multipart/related"));
        assert!(raw.contains("Content-ID: <chart>"));
    }

    #[test]
    fn bad_addresses_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path());
        c.to = vec!["not an address".into()];
        let e =
            build(&c, &Email { subject: "s".into(), html: "h".into(), text: "t".into(), images: vec![] }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mail address \"not an address\" is not valid (expected e.g. `Name <user@example.com>`)"
        );
        assert_eq!(esc("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}
