//! End-to-end tests of the `alpha-engine` binary: real processes, real files, and a real S3 server
//! on loopback reached the way an operator would reach MinIO (AWS_ENDPOINT_URL + credentials).

mod cli;
mod crash;
mod dashboard;
mod infra;
mod local;
mod rehearsal;
mod simulated;
