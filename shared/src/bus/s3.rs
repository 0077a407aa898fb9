//! The `s3://bucket/prefix` backend over aws-sdk-s3.
//!
//! Credentials, region and endpoint come from the standard AWS chain, so MinIO or any other
//! S3-compatible server is reached by setting `AWS_ENDPOINT_URL`; path-style addressing is used
//! whenever a custom endpoint is set (or `AE_S3_PATH_STYLE=1`). The SDK's own retries are turned off:
//! the bus's single [`RetryPolicy`](crate::retry::RetryPolicy) decides, so every call retries the
//! same way. Conditional writes use `If-None-Match: *` and `If-Match: <etag>`.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::{BusError, Key, Object, ObjectMeta, PutMode};

/// Explicit connection settings, for tests and tools that do not use the environment.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// e.g. `http://127.0.0.1:9000`
    pub endpoint: String,
    /// Region name (any value for MinIO).
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
    /// Path-style addressing (`endpoint/bucket/key`).
    pub path_style: bool,
}

/// Objects in one bucket under one prefix.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint: String,
}

impl S3Store {
    /// A store configured from the environment (the standard AWS chain).
    pub async fn from_env(bucket: &str, prefix: &str) -> Result<Self, BusError> {
        let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .ok()
            .filter(|s| !s.is_empty());
        let path_style_env = std::env::var("AE_S3_PATH_STYLE").ok().map(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        let path_style = path_style_env.unwrap_or(endpoint.is_some());
        let mut b = aws_sdk_s3::config::Builder::from(&shared)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts())
            .force_path_style(path_style);
        if shared.region().is_none() {
            b = b.region(Region::new("us-east-1"));
        }
        let shown = endpoint.clone().unwrap_or_else(|| "AWS S3".into());
        Ok(Self { client: Client::from_conf(b.build()), bucket: bucket.into(), prefix: prefix.into(), endpoint: shown })
    }

    /// A store with explicit settings.
    pub fn with_settings(bucket: &str, prefix: &str, s: &S3Settings) -> Self {
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&s.endpoint)
            .region(Region::new(s.region.clone()))
            .credentials_provider(Credentials::new(&s.access_key, &s.secret_key, None, None, "alpha-engine"))
            .force_path_style(s.path_style)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts())
            .build();
        Self {
            client: Client::from_conf(conf),
            bucket: bucket.into(),
            prefix: prefix.into(),
            endpoint: s.endpoint.clone(),
        }
    }

    fn full(&self, key: &Key) -> String {
        if self.prefix.is_empty() { key.as_str().to_string() } else { format!("{}/{}", self.prefix, key.as_str()) }
    }

    fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn map_err<E>(
        &self,
        op: &'static str,
        key: &str,
        e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> BusError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = |detail: String| BusError::Transient { op, key: key.to_string(), detail };
        match &e {
            SdkError::TimeoutError(_) => transient("timed out".into()),
            SdkError::DispatchFailure(d) => transient(format!(
                "could not reach {} ({:?})",
                self.endpoint,
                d.as_connector_error().map(|c| c.to_string())
            )),
            SdkError::ResponseError(_) => transient(format!("unreadable response: {e:?}")),
            SdkError::ConstructionFailure(_) => BusError::Config(format!("{e:?}")),
            SdkError::ServiceError(ctx) => {
                let status = ctx.raw().status().as_u16();
                let code = ctx.err().code().unwrap_or("").to_string();
                let msg = ctx.err().message().unwrap_or("").to_string();
                let detail = format!("HTTP {status} {code} {msg}").trim().to_string();
                match (status, code.as_str()) {
                    (_, "NoSuchBucket") => {
                        BusError::NoSuchBucket { bucket: self.bucket.clone(), endpoint: self.endpoint.clone() }
                    }
                    (412, _) | (_, "PreconditionFailed") => BusError::PreconditionFailed { key: key.to_string() },
                    (403, _) | (_, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied") => {
                        BusError::AccessDenied { url: self.url(), detail }
                    }
                    (409, "ConditionalRequestConflict") => transient(detail),
                    (429, _) | (500..=599, _) | (_, "SlowDown" | "Throttling" | "RequestTimeout") => transient(detail),
                    _ => BusError::Other { op, key: key.to_string(), detail },
                }
            }
            _ => BusError::Other { op, key: key.to_string(), detail: format!("{e:?}") },
        }
    }

    pub(super) async fn get(&self, key: &Key) -> Result<Option<Object>, BusError> {
        let full = self.full(key);
        match self.client.get_object().bucket(&self.bucket).key(&full).send().await {
            Ok(out) => {
                let etag = out.e_tag().map(|s| s.to_string());
                let data = out.body.collect().await.map_err(|e| BusError::Transient {
                    op: "get",
                    key: key.to_string(),
                    detail: format!("body interrupted: {e}"),
                })?;
                Ok(Some(Object { bytes: data.into_bytes(), etag }))
            }
            Err(e) => {
                if let SdkError::ServiceError(ctx) = &e
                    && (ctx.err().is_no_such_key()
                        || ctx.raw().status().as_u16() == 404 && ctx.err().code() != Some("NoSuchBucket"))
                {
                    return Ok(None);
                }
                Err(self.map_err("get", key.as_str(), e))
            }
        }
    }

    pub(super) async fn head(&self, key: &Key) -> Result<Option<ObjectMeta>, BusError> {
        let full = self.full(key);
        match self.client.head_object().bucket(&self.bucket).key(&full).send().await {
            Ok(out) => Ok(Some(ObjectMeta {
                key: key.clone(),
                size: out.content_length().unwrap_or(0).max(0) as u64,
                etag: out.e_tag().map(|s| s.to_string()),
            })),
            Err(e) => {
                if let SdkError::ServiceError(ctx) = &e
                    && ctx.raw().status().as_u16() == 404
                {
                    // HEAD has no body, so a missing bucket looks like a missing key; ask the bucket.
                    self.check_bucket().await?;
                    return Ok(None);
                }
                Err(self.map_err("head", key.as_str(), e))
            }
        }
    }

    async fn check_bucket(&self) -> Result<(), BusError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                if let SdkError::ServiceError(ctx) = &e
                    && ctx.raw().status().as_u16() == 404
                {
                    return Err(BusError::NoSuchBucket {
                        bucket: self.bucket.clone(),
                        endpoint: self.endpoint.clone(),
                    });
                }
                Err(self.map_err("head bucket", "", e))
            }
        }
    }

    pub(super) async fn put(&self, key: &Key, bytes: Bytes, mode: &PutMode) -> Result<String, BusError> {
        let full = self.full(key);
        let mut req = self.client.put_object().bucket(&self.bucket).key(&full).body(ByteStream::from(bytes));
        match mode {
            PutMode::Overwrite => {}
            PutMode::IfAbsent => req = req.if_none_match("*"),
            PutMode::IfMatch(etag) => req = req.if_match(etag),
        }
        match req.send().await {
            Ok(out) => Ok(out.e_tag().unwrap_or_default().to_string()),
            Err(e) => Err(self.map_err("put", key.as_str(), e)),
        }
    }

    pub(super) async fn delete(&self, key: &Key) -> Result<(), BusError> {
        let full = self.full(key);
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.map_err("delete", key.as_str(), e))
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, BusError> {
        let full_prefix =
            if self.prefix.is_empty() { prefix.to_string() } else { format!("{}/{}", self.prefix, prefix) };
        let strip = if self.prefix.is_empty() { 0 } else { self.prefix.len() + 1 };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.client.list_objects_v2().bucket(&self.bucket).prefix(&full_prefix);
            if let Some(t) = &token {
                req = req.continuation_token(t);
            }
            let page = req.send().await.map_err(|e| self.map_err("list", prefix, e))?;
            for obj in page.contents() {
                let Some(k) = obj.key() else { continue };
                if let Ok(key) = Key::parse(&k[strip.min(k.len())..]) {
                    out.push(ObjectMeta {
                        key,
                        size: obj.size().unwrap_or(0).max(0) as u64,
                        etag: obj.e_tag().map(|s| s.to_string()),
                    });
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build()
}
