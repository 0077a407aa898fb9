//! # ae-predictor
//!
//! Owns: features, labels, training with walk-forward validation, the model registry, inference and the veto. Talks to the other jobs only through the bus (`ae_shared::bus`).
//!
//! Status: the crate exists from the start so the workspace, binaries and CI are in place; its job
//! logic is built by its own issue.
