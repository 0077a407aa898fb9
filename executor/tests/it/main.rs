//! Executor integration tests.
