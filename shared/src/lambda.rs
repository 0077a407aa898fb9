//! How a job binary serves AWS Lambda: when `AWS_LAMBDA_RUNTIME_API` is set, the binary answers
//! invocations instead of parsing its command line. One event type per job, the configuration
//! from `ALPHA_ENGINE_CONFIG`, JSON logs, and every error redacted before it leaves the process
//! (it is logged by Lambda and shown in the console).

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::calendar::TradingDay;
use crate::cli::{CommonArgs, init_logging};
use crate::clock::Clock;
use crate::secrets::redact;

/// What a scheduled invocation does.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduled {
    /// Run for this day (absent: the job's default, today).
    Run(Option<TradingDay>),
    /// Skip, answering this (a weekly job's event on a day other than the week's first session).
    Skip(serde_json::Value),
}

/// Reads a scheduled event's `date` (`YYYY-MM-DD`; a malformed one is `bad date: …`) and, for a
/// `first_of_week_only` event, skips every session but the first of its week (see
/// [`crate::cli::weekly_skip`]).
pub fn scheduled(date: Option<&str>, first_of_week_only: bool, clock: &dyn Clock) -> anyhow::Result<Scheduled> {
    let date = date.map(TradingDay::parse).transpose().map_err(|e| anyhow::anyhow!("bad date: {e}"))?;
    if first_of_week_only && let Some(why) = crate::cli::weekly_skip(date, clock) {
        tracing::info!("skipped: {why}");
        return Ok(Scheduled::Skip(serde_json::json!({ "skipped": why })));
    }
    Ok(Scheduled::Run(date))
}

/// True when the process runs under the Lambda runtime (`AWS_LAMBDA_RUNTIME_API` is set).
pub fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Serves invocations until the runtime stops: each event's payload is read as `E` (refused
/// with `bad event{expected}: …` — `expected` says what a good event looks like, or is empty) and
/// handed to `handler` with the common arguments under Lambda (no `--bus`; the configuration
/// from `ALPHA_ENGINE_CONFIG`). The handler's answer is the invocation's response; its error,
/// with its causes, is redacted and becomes the invocation's error. Returns the process's exit
/// code (a runtime failure is printed, redacted, and fails the process).
pub async fn serve<E, F, Fut>(expected: &'static str, handler: F) -> ExitCode
where
    E: DeserializeOwned,
    F: Fn(CommonArgs, E) -> Fut,
    Fut: Future<Output = anyhow::Result<serde_json::Value>>,
{
    init_logging(true);
    let common =
        CommonArgs { bus: None, config: std::env::var_os("ALPHA_ENGINE_CONFIG").map(Into::into), log_json: true };
    let handler = Arc::new(handler);
    let service = lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let (common, handler) = (common.clone(), handler.clone());
        async move {
            let answer = match serde_json::from_value::<E>(event.payload) {
                Ok(e) => handler(common, e).await,
                Err(e) => Err(anyhow::anyhow!("bad event{expected}: {e}")),
            };
            answer.map_err(|e| lambda_runtime::Error::from(redact(&format!("{e:#}")).into_owned()))
        }
    });
    match lambda_runtime::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lambda runtime: {}", redact(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}
