//! The four tunable parameter sets — `scoring_weights`, `executor_params`, `predictor_params`,
//! `research_params` — and the `config/{name}.json` documents the backtester writes them in.
//!
//! Defaults are not here: they live, documented, in the embedded `config/default.toml` (see
//! `ae_shared::config`); the structs below only declare each parameter, its unit and its hard bounds
//! (JSON Schema `minimum`/`maximum`), so a config file, an environment override and a bus document
//! are all checked against the same limits. A params document also carries its bounds and the
//! evidence that justified it.

mod doc;
mod executor;
mod paths;
mod predictor;
mod research;
mod scoring;

pub use doc::*;
pub use executor::*;
pub use paths::*;
pub use predictor::*;
pub use research::*;
pub use scoring::*;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Checker, DocKind};

/// A parameter set that can be tuned and written back.
pub trait Params:
    Serialize + DeserializeOwned + JsonSchema + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static
{
    /// File stem on the bus (`executor_params`).
    const NAME: &'static str;
    /// Document kind of its `config/` file.
    const KIND: DocKind;
    /// Cross-field rules; paths are prefixed with `prefix` (e.g. `params.`).
    fn check(&self, c: &mut Checker, prefix: &str);
}
