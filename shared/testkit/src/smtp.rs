//! A real SMTP server on loopback: the aiosmtpd sink in `peers/smtp_sink.py`, run in the Python
//! venv of `.ci/setup`, saving each received message as `NNNN.eml` (+ envelope `NNNN.json`).
//! Optionally STARTTLS (required) with a leaf certificate signed by a throwaway CA, and AUTH.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::python;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// Require STARTTLS with a generated certificate (CA in [`SmtpServer::ca_pem`]).
    pub starttls: bool,
    /// Require AUTH with this user and password.
    pub auth: Option<(String, String)>,
}

/// A running SMTP server.
pub struct SmtpServer {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// The CA certificate (PEM) that signed the server's certificate, when STARTTLS is on.
    pub ca_pem: Option<String>,
    dir: tempfile::TempDir,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn certificates(dir: &Path) -> (String, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "alpha-engine test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf cert");
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, leaf_cert.pem()).expect("write cert");
    std::fs::write(&key, leaf_key.serialize_pem()).expect("write key");
    (ca_cert.pem(), cert, key)
}

impl SmtpServer {
    /// Starts the server and waits until it accepts connections.
    pub fn start(opts: SmtpOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/smtp_sink.py");
        let mut cmd = Command::new(python());
        cmd.arg(script).arg("--port").arg(port.to_string()).arg("--outdir").arg(dir.path().join("mail"));
        let mut ca_pem = None;
        if opts.starttls {
            let (ca, cert, key) = certificates(dir.path());
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
            ca_pem = Some(ca);
        }
        if let Some((u, p)) = &opts.auth {
            cmd.arg("--user").arg(u).arg("--password").arg(p);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("start the SMTP sink");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read READY");
        assert!(line.starts_with("READY"), "SMTP sink did not start: {line:?}");
        // Keep draining its output so its later prints never hit a closed pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Self { port, ca_pem, dir, child }
    }

    /// Messages received so far, as raw RFC 5322 text, oldest first. Waits up to `wait` for at least one.
    pub fn messages(&self, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
                .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "eml")).collect())
                .unwrap_or_default();
            files.sort();
            if !files.is_empty() || Instant::now() > deadline {
                return files.iter().map(|f| std::fs::read_to_string(f).expect("read eml")).collect();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The envelope records (`NNNN.json`: mail_from, rcpt_tos, tls, authenticated, auth_user).
    pub fn envelopes(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|f| std::fs::read_to_string(f).expect("read json")).collect()
    }

    /// Writes the CA certificate to a file (for `mail.smtp.ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        let p = self.dir.path().join("ca.pem");
        std::fs::write(&p, self.ca_pem.as_deref().expect("STARTTLS server")).expect("write ca");
        p
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
