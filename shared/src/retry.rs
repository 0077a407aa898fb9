//! The one retry policy for every S3 and HTTP call: exponential backoff with jitter, transient
//! errors only.
//!
//! An error says whether it is worth retrying through [`Transient`]; throttling, timeouts, dropped
//! connections and 5xx answers are, while refusals (bad credentials, missing bucket, invalid input,
//! a failed precondition) are returned at once so the operator sees them without delay.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// Errors that know whether trying again could help.
pub trait Transient {
    /// True for throttling, timeouts, dropped connections and server errors.
    fn is_transient(&self) -> bool;
}

/// Exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// Delay before the first retry (before jitter).
    pub base_delay: Duration,
    /// Ceiling for any single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 200 ms doubling to at most 5 s.
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// A fast policy for tests: same shape, millisecond delays.
    pub fn fast() -> Self {
        Self { max_attempts: 5, base_delay: Duration::from_millis(2), max_delay: Duration::from_millis(20) }
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Runs `op` until it succeeds, fails with a non-transient error, or attempts run out.
    /// `what` names the operation in the warning logged before each retry.
    pub async fn run<T, E, F, Fut>(&self, what: &str, op: F) -> Result<T, E>
    where
        E: Transient + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter();
        op.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &E| e.is_transient())
            .notify(|e: &E, after: Duration| {
                tracing::warn!(operation = what, error = %e, retry_in_ms = after.as_millis() as u64, "transient failure, retrying");
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct E(bool);
    impl Transient for E {
        fn is_transient(&self) -> bool {
            self.0
        }
    }
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "transient={}", self.0)
        }
    }

    #[tokio::test]
    async fn retries_transient_until_success() {
        let calls = AtomicU32::new(0);
        let r: Result<u32, E> = RetryPolicy::fast()
            .run("t", || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 3 { Err(E(true)) } else { Ok(n) }
            })
            .await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = RetryPolicy::fast()
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(E(true))
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn never_retries_a_refusal() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = RetryPolicy::fast()
            .run("t", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(E(false))
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
