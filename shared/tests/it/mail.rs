//! Operator email against a real SMTP server on loopback (aiosmtpd): STARTTLS with a CA-signed
//! certificate, AUTH, an inline PNG; and the refusals an operator has to understand.

use std::time::Duration;

use ae_shared::config::Config;
use ae_shared::mail::{Delivery, Email, InlineImage, MailConfig, SmtpSecurity, send_with_credentials};
use ae_testkit::smtp::{SmtpOptions, SmtpServer};

fn email() -> Email {
    Email {
        subject: "alpha-engine EOD 2010-03-15".into(),
        html: "<html><body><h1>NAV $1,001,000</h1><img src=\"cid:equity\"></body></html>".into(),
        text: "NAV $1,001,000".into(),
        images: vec![InlineImage { cid: "equity".into(), png: vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10] }],
    }
}

fn cfg(server: &SmtpServer, security: SmtpSecurity) -> MailConfig {
    let mut c = Config::defaults().mail;
    c.from = "alpha-engine <ae@example.com>".into();
    c.to = vec!["ops@example.com".into(), "pm@example.com".into()];
    c.smtp.host = "127.0.0.1".into();
    c.smtp.port = server.port;
    c.smtp.security = security;
    c.smtp.timeout_secs = 10;
    if server.ca_pem.is_some() {
        c.smtp.ca_file = server.ca_file().display().to_string();
    }
    c
}

#[tokio::test]
async fn starttls_and_auth_deliver_html_with_an_inline_image() {
    let server = SmtpServer::start(SmtpOptions { starttls: true, auth: Some(("ops".into(), "s3cret".into())) });
    let c = cfg(&server, SmtpSecurity::Starttls);
    let d = send_with_credentials(&c, &email(), "x", Some(("ops".into(), "s3cret".into()))).await.unwrap();
    assert_eq!(d, Delivery::Smtp { host: "127.0.0.1".into(), recipients: 2 });
    let msgs = server.messages(Duration::from_secs(5));
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert!(m.contains("Subject: alpha-engine EOD 2010-03-15"), "{m}");
    assert!(m.contains("multipart/related") && m.contains("Content-ID: <equity>") && m.contains("image/png"), "{m}");
    let env = &server.envelopes()[0];
    assert!(env.contains("\"tls\": true") && env.contains("\"auth_user\": \"ops\""), "{env}");
}

#[tokio::test]
async fn wrong_password_is_refused_with_a_clear_error() {
    let server = SmtpServer::start(SmtpOptions { starttls: true, auth: Some(("ops".into(), "s3cret".into())) });
    let c = cfg(&server, SmtpSecurity::Starttls);
    let err =
        send_with_credentials(&c, &email(), "x", Some(("ops".into(), "wrong".into()))).await.unwrap_err().to_string();
    assert!(err.contains("SMTP relay 127.0.0.1") && err.contains("$SMTP_USERNAME"), "{err}");
    assert!(server.messages(Duration::from_millis(200)).is_empty());
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_is_refused() {
    let server = SmtpServer::start(SmtpOptions { starttls: true, auth: None });
    let mut c = cfg(&server, SmtpSecurity::Starttls);
    c.smtp.ca_file = String::new(); // only the platform roots: our test CA is not among them
    let err = send_with_credentials(&c, &email(), "x", None).await.unwrap_err().to_string();
    assert!(err.contains("SMTP relay"), "{err}");
    assert!(server.messages(Duration::from_millis(200)).is_empty());
}

#[tokio::test]
async fn plain_smtp_on_loopback_works_without_tls() {
    let server = SmtpServer::start(SmtpOptions::default());
    let c = cfg(&server, SmtpSecurity::None);
    send_with_credentials(&c, &email(), "x", None).await.unwrap();
    assert_eq!(server.messages(Duration::from_secs(5)).len(), 1);
}
