//! The AWS Lambda Runtime API on loopback, serving one invocation to a real binary and collecting
//! its answer — the protocol `lambda_runtime` speaks in production
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// A Runtime API with one queued event.
pub struct RuntimeApi {
    server: MockServer,
}

/// What the function answered.
#[derive(Debug)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`.
    Response(Value),
    /// `POST /invocation/{id}/error`.
    Error(String),
}

impl RuntimeApi {
    /// Starts the API with `event` as the next (and only) invocation.
    pub async fn start(event: Value) -> Self {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/2018-06-01/runtime/invocation/next"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("lambda-runtime-aws-request-id", REQUEST_ID)
                    .insert_header("lambda-runtime-deadline-ms", "4102444800000")
                    .insert_header(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:alpha-engine",
                    )
                    .set_body_json(event),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        // Later polls are held, as real Lambda holds them until the next event.
        Mock::given(method("GET"))
            .and(path("/2018-06-01/runtime/invocation/next"))
            .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(120)))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/2018-06-01/runtime/invocation/[^/]+/(response|error)$"))
            .respond_with(ResponseTemplate::new(202).set_body_json(serde_json::json!({"status": "OK"})))
            .mount(&server)
            .await;
        Self { server }
    }

    /// A command for `exe` with the Lambda environment pointing at this API.
    pub fn command(&self, exe: &str, function: &str) -> Command {
        let addr = self.server.address();
        let mut c = Command::new(exe);
        c.env("AWS_LAMBDA_RUNTIME_API", format!("{}:{}", addr.ip(), addr.port()))
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    /// Waits (up to `limit`) for the function's answer, then stops `child`; returns the answer and
    /// the child's stderr (its logs).
    pub async fn outcome(&self, mut child: Child, limit: Duration) -> (Outcome, String) {
        let deadline = Instant::now() + limit;
        let outcome = loop {
            let reqs = self.server.received_requests().await.expect("recording is on");
            if let Some(r) = reqs.iter().find(|r| r.url.path().ends_with("/response")) {
                break Outcome::Response(r.body_json().expect("a JSON response"));
            }
            if let Some(r) = reqs.iter().find(|r| r.url.path().ends_with("/error")) {
                break Outcome::Error(String::from_utf8_lossy(&r.body).into_owned());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wait");
                panic!("no answer within {limit:?}; logs:\n{}", String::from_utf8_lossy(&out.stderr));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        (outcome, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}
