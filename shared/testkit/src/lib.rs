//! # ae-testkit — real local peers for tests
//!
//! Owns: [`S3Server`], a real S3-compatible HTTP server (s3s-fs over a temporary directory) on
//! 127.0.0.1 with signature-checked credentials and injectable faults (503 SlowDown answers,
//! dropped connections) so the bus's retry policy is exercised over the wire. Writes are
//! serialised, so a conditional write's check and write are atomic as S3 promises (s3s-fs checks
//! `If-Match` / `If-None-Match` and then writes, and two racing writers can both pass the check).
//!
//! Also: [`lambda::RuntimeApi`], the AWS Lambda Runtime API serving one invocation to a real binary;
//! [`smtp::SmtpServer`], a real SMTP server (aiosmtpd) with STARTTLS and AUTH; [`chromium::Chromium`],
//! a real headless browser driven over the DevTools protocol; and [`fixtures`], a valid instance of
//! every bus document, for tests that need one.
//!
//! Must never: be a dependency of production code, or stand in for the thing a test is about.

#![deny(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub mod chromium;
pub mod embedded;
pub mod fixtures;
pub mod lambda;
pub mod smtp;
pub mod vendor;

use ae_shared::bus::{Bus, S3Settings};
use ae_shared::retry::RetryPolicy;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

/// The Python interpreter with the test peers and oracles installed: `AE_ORACLE_PYTHON`, else the
/// workspace's `.venv-tools` (created by `bash .ci/setup`).
pub fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("AE_ORACLE_PYTHON") {
        return p.into();
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    assert!(
        p.exists(),
        "Python test peers missing: run `bash .ci/setup` (creates .venv-tools) or set AE_ORACLE_PYTHON"
    );
    p
}

/// A fault to inject into upcoming requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer `503 SlowDown` (S3's throttling reply).
    SlowDown,
    /// Close the connection without answering.
    Drop,
}

#[derive(Debug, Default)]
struct Faults {
    remaining: AtomicU32,
    kind: AtomicU32,
    requests: AtomicU64,
    injected: AtomicU64,
    /// Held while a write (PUT, POST, DELETE) is served.
    writes: tokio::sync::Mutex<()>,
}

impl Faults {
    fn take(&self) -> Option<Fault> {
        let taken = self.remaining.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        taken.then(|| if self.kind.load(Ordering::SeqCst) == 1 { Fault::Drop } else { Fault::SlowDown })
    }
}

/// An S3 server on loopback, serving one pre-created bucket from a temporary directory.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The bucket that exists.
    pub bucket: String,
    /// Accepted access key.
    pub access_key: String,
    /// Accepted secret key.
    pub secret_key: String,
    faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
    root: tempfile::TempDir,
}

impl S3Server {
    /// Starts a server with bucket `alpha-engine-test`.
    pub async fn start() -> Self {
        Self::start_with_bucket("alpha-engine-test").await
    }

    /// Starts a server with one bucket named `bucket`.
    pub async fn start_with_bucket(bucket: &str) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join(bucket)).expect("bucket dir");
        let (access_key, secret_key) = ("AKIATESTKEY0000001".to_string(), "test-secret-key-0123456789".to_string());
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs root");
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(access_key.clone(), secret_key.clone()));
        let s3 = b.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr: SocketAddr = listener.local_addr().expect("local addr");
        let faults = Arc::new(Faults::default());
        let f2 = faults.clone();
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let s3 = s3.clone();
                let faults = f2.clone();
                let svc = service_fn(move |req: hyper::Request<Incoming>| handle(s3.clone(), faults.clone(), req));
                let conn = http.serve_connection(TokioIo::new(socket), svc).into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Self {
            endpoint: format!("http://{addr}"),
            bucket: bucket.to_string(),
            access_key,
            secret_key,
            faults,
            task,
            root,
        }
    }

    /// Client settings with the accepted credentials.
    pub fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            path_style: true,
        }
    }

    /// A bus on this server's bucket under `prefix`, with millisecond retry delays.
    pub fn bus(&self, prefix: &str) -> Bus {
        Bus::s3(&self.bucket, prefix, &self.settings()).with_retry(RetryPolicy::fast())
    }

    /// The next `n` requests fail with `fault`.
    pub fn fail_next(&self, n: u32, fault: Fault) {
        self.faults.kind.store(u32::from(fault == Fault::Drop), Ordering::SeqCst);
        self.faults.remaining.store(n, Ordering::SeqCst);
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.faults.requests.load(Ordering::SeqCst)
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.faults.injected.load(Ordering::SeqCst)
    }

    /// Directory holding the buckets.
    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn handle(
    s3: s3s::service::S3Service,
    faults: Arc<Faults>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<s3s::Body>, BoxError> {
    faults.requests.fetch_add(1, Ordering::SeqCst);
    match faults.take() {
        Some(fault) => {
            faults.injected.fetch_add(1, Ordering::SeqCst);
            injected_reply(fault)
        }
        None => {
            // AWS S3 checks a conditional write's precondition and writes atomically; s3s-fs
            // checks, then writes, so writes are served one at a time to keep S3's promise.
            let _write = if req.method() == hyper::Method::GET || req.method() == hyper::Method::HEAD {
                None
            } else {
                Some(faults.writes.lock().await)
            };
            match s3.call(req.map(s3s::Body::from)).await {
                Ok(resp) => Ok(resp),
                Err(e) => Err(BoxError::from(format!("{e:?}"))),
            }
        }
    }
}

fn injected_reply(fault: Fault) -> Result<hyper::Response<s3s::Body>, BoxError> {
    match fault {
        Fault::Drop => Err("injected connection drop".into()),
        Fault::SlowDown => {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate. (injected)</Message></Error>";
            Ok(hyper::Response::builder()
                .status(503)
                .header("content-type", "application/xml")
                .body(s3s::Body::from(xml.to_string()))
                .expect("valid response"))
        }
    }
}
