//! # ae-research
//!
//! Owns: the universe and tracked population, the quant filter, factor scores, the LLM agents, signals.json and the research brief. Talks to the other jobs only through the bus (`ae_shared::bus`).
//!
//! Status: the crate exists from the start so the workspace, binaries and CI are in place; its job
//! logic is built by its own issue.
