//! # ae-fuzz — fuzz targets for every parser that reads outside data
//!
//! Owns: one `pub fn <target>(data: &[u8])` per parser that reads bytes alpha-engine did not write
//! itself in this process — the bus documents ([`documents`]), the predictor registry and model
//! metadata ([`documents`]), the CSV import and the Parquet price chunks ([`store`]), the TWS wire
//! in both directions ([`tws`]), the LLM answer reader ([`llm`]) and the configuration loader
//! ([`config`]). Each calls the real parser through the path the jobs use and asserts its
//! invariants (what a reader accepts, a writer writes, and reading that back gives the same value);
//! a violated invariant panics, which is what a fuzzer reports.
//!
//! The committed corpus lives in `corpus/<target>/` beside this crate; `shared/fuzz/` holds the
//! libFuzzer binaries (one thin `fuzz_target!` per function here) and `run.sh`, and
//! `tests/short_run.rs` feeds every target its corpus plus seeded mutations in the test suite.
//!
//! Must never: panic on input a parser should reject (only a broken invariant panics), touch the
//! network, the clock or the file system, or keep state between calls.

#![deny(missing_docs)]

pub mod config;
pub mod documents;
pub mod llm;
pub mod store;
pub mod tws;

pub use config::config;
pub use documents::{
    docs_eod, docs_executor_params, docs_kill_switch, docs_order_book, docs_predictions, docs_predictor_metrics,
    docs_predictor_params, docs_research_params, docs_scoring_weights, docs_signals, predictor_model_meta,
    predictor_registry,
};
pub use llm::{llm_answer, llm_extract};
pub use store::{csv_import, parquet_chunk};
pub use tws::{tws_framing, tws_handshake, tws_request, tws_server_message};

/// A fuzz target: its name (also its corpus folder and libFuzzer binary) and its function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name, e.g. `tws_request`.
    pub name: &'static str,
    /// Runs one input; panics only when an invariant breaks.
    pub run: fn(&[u8]),
}

/// Every target, in the order `shared/fuzz/run.sh` runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "docs_signals", run: docs_signals },
    Target { name: "docs_predictions", run: docs_predictions },
    Target { name: "docs_predictor_metrics", run: docs_predictor_metrics },
    Target { name: "docs_order_book", run: docs_order_book },
    Target { name: "docs_eod", run: docs_eod },
    Target { name: "docs_kill_switch", run: docs_kill_switch },
    Target { name: "docs_scoring_weights", run: docs_scoring_weights },
    Target { name: "docs_executor_params", run: docs_executor_params },
    Target { name: "docs_predictor_params", run: docs_predictor_params },
    Target { name: "docs_research_params", run: docs_research_params },
    Target { name: "predictor_registry", run: predictor_registry },
    Target { name: "predictor_model_meta", run: predictor_model_meta },
    Target { name: "csv_import", run: csv_import },
    Target { name: "parquet_chunk", run: parquet_chunk },
    Target { name: "tws_framing", run: tws_framing },
    Target { name: "tws_handshake", run: tws_handshake },
    Target { name: "tws_request", run: tws_request },
    Target { name: "tws_server_message", run: tws_server_message },
    Target { name: "llm_extract", run: llm_extract },
    Target { name: "llm_answer", run: llm_answer },
    Target { name: "config", run: config },
];

/// The committed corpus folder of the target `name`.
pub fn corpus_dir(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name)
}
