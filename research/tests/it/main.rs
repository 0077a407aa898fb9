//! Integration tests of the research job: quant-only runs on the embedded data, no look-ahead,
//! providers against local HTTP stand-ins, LLM agents against a local Anthropic stand-in, the brief
//! over SMTP, the Lambda runtime, and no secret in any log line or bus object when vendors fail.

mod agents;
mod common;
mod delivery;
mod nightly;
mod providers;
mod quant;
mod secrets;
