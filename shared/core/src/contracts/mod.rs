//! The documents the jobs exchange on the bus, typed, with their JSON Schema and validation.
//!
//! Reading any document goes parse → validate → typed value, and validation reports *every*
//! problem with its location at once (`universe[3].score: 140 is above 100`):
//!
//! 1. the JSON Schema derived from the Rust types (the same schema `alpha-engine schema export`
//!    publishes) checks structure, enums, ranges and per-entry conditionals, all errors collected;
//! 2. the typed value is deserialized through the value types' checked constructors;
//! 3. each document's [`Document::check`] adds the cross-field rules (dates agree, ids are the
//!    deterministic ones, lists reference each other correctly).
//!
//! Writers call [`to_json_checked`], so an invalid document is never written either.

pub mod common;
pub mod ensemble;
pub mod eod;
pub mod gate;
pub mod kill_switch;
pub mod lineage;
pub mod order_book;
pub mod params;
mod parsed;
pub mod predictions;
pub mod predictor_metrics;
mod problem;
pub mod risk_state;
pub mod signals;

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use lineage::{InputRef, Job, Lineage};
pub use problem::{Checker, Problem, Problems, pointer_to_path};

use crate::calendar::TradingDay;

/// A document exchanged on the bus.
pub trait Document: Serialize + DeserializeOwned + JsonSchema + Clone + Send + Sync + 'static {
    /// Which kind it is.
    const KIND: DocKind;
    /// The `schema_version` this build reads and writes.
    const SCHEMA_VERSION: u32;
    /// Where it came from.
    fn lineage(&self) -> &Lineage;
    /// The trading day it is about, if it is dated (decides `latest` ordering).
    fn date(&self) -> Option<TradingDay>;
    /// Cross-field rules the schema cannot express; push every problem found.
    fn check(&self, _c: &mut Checker) {}
}

/// Every document kind, by its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// `signals/{date}/signals.json`
    Signals,
    /// `predictor/predictions/{date}.json`
    Predictions,
    /// `predictor/metrics/latest.json`
    PredictorMetrics,
    /// `executor/order_books/{date}.json`
    OrderBook,
    /// `config/scoring_weights.json`
    ScoringWeights,
    /// `config/executor_params.json`
    ExecutorParams,
    /// `config/predictor_params.json`
    PredictorParams,
    /// `config/research_params.json`
    ResearchParams,
    /// `executor/eod/{date}.json`
    Eod,
    /// `executor/kill_switch.json`
    KillSwitch,
    /// `risk/{date}/risk_state.json`
    RiskState,
}

impl DocKind {
    /// All kinds.
    pub const ALL: [DocKind; 11] = [
        DocKind::Signals,
        DocKind::Predictions,
        DocKind::PredictorMetrics,
        DocKind::OrderBook,
        DocKind::ScoringWeights,
        DocKind::ExecutorParams,
        DocKind::PredictorParams,
        DocKind::ResearchParams,
        DocKind::Eod,
        DocKind::KillSwitch,
        DocKind::RiskState,
    ];

    /// The command-line name (`order-book`).
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Signals => "signals",
            DocKind::Predictions => "predictions",
            DocKind::PredictorMetrics => "predictor-metrics",
            DocKind::OrderBook => "order-book",
            DocKind::ScoringWeights => "scoring-weights",
            DocKind::ExecutorParams => "executor-params",
            DocKind::PredictorParams => "predictor-params",
            DocKind::ResearchParams => "research-params",
            DocKind::Eod => "eod",
            DocKind::KillSwitch => "kill-switch",
            DocKind::RiskState => "risk-state",
        }
    }

    /// Validates raw bytes as this kind; returns every problem found.
    pub fn validate(self, bytes: &[u8]) -> Result<(), Problems> {
        match self {
            DocKind::Signals => parse::<signals::Signals>(bytes).map(drop),
            DocKind::Predictions => parse::<predictions::Predictions>(bytes).map(drop),
            DocKind::PredictorMetrics => parse::<predictor_metrics::PredictorMetrics>(bytes).map(drop),
            DocKind::OrderBook => parse::<order_book::OrderBook>(bytes).map(drop),
            DocKind::ScoringWeights => parse::<params::ScoringWeightsDoc>(bytes).map(drop),
            DocKind::ExecutorParams => parse::<params::ExecutorParamsDoc>(bytes).map(drop),
            DocKind::PredictorParams => parse::<params::PredictorParamsDoc>(bytes).map(drop),
            DocKind::ResearchParams => parse::<params::ResearchParamsDoc>(bytes).map(drop),
            DocKind::Eod => parse::<eod::EodReport>(bytes).map(drop),
            DocKind::KillSwitch => parse::<kill_switch::KillSwitch>(bytes).map(drop),
            DocKind::RiskState => parse::<risk_state::RiskState>(bytes).map(drop),
        }
    }

    /// The JSON Schema of this kind.
    pub fn schema(self) -> Value {
        match self {
            DocKind::Signals => schema_value::<signals::Signals>(),
            DocKind::Predictions => schema_value::<predictions::Predictions>(),
            DocKind::PredictorMetrics => schema_value::<predictor_metrics::PredictorMetrics>(),
            DocKind::OrderBook => schema_value::<order_book::OrderBook>(),
            DocKind::ScoringWeights => schema_value::<params::ScoringWeightsDoc>(),
            DocKind::ExecutorParams => schema_value::<params::ExecutorParamsDoc>(),
            DocKind::PredictorParams => schema_value::<params::PredictorParamsDoc>(),
            DocKind::ResearchParams => schema_value::<params::ResearchParamsDoc>(),
            DocKind::Eod => schema_value::<eod::EodReport>(),
            DocKind::KillSwitch => schema_value::<kill_switch::KillSwitch>(),
            DocKind::RiskState => schema_value::<risk_state::RiskState>(),
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DocKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DocKind::ALL.iter().copied().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = DocKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown document kind {s:?}; one of: {}", names.join(", "))
        })
    }
}

/// The JSON Schema of `T` as a JSON value (draft 2020-12).
pub fn schema_value<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).expect("a schema serializes")
}

struct Compiled {
    schema: Value,
    validator: jsonschema::Validator,
}

fn compiled<T: JsonSchema + 'static>() -> Arc<Compiled> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<Compiled>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().expect("schema cache lock");
    map.entry(TypeId::of::<T>())
        .or_insert_with(|| {
            let schema = schema_value::<T>();
            let validator = jsonschema::validator_for(&schema).expect("derived schemas are valid JSON Schema");
            Arc::new(Compiled { schema, validator })
        })
        .clone()
}

fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            crate::types::fmt_num(f)
        }
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        other => {
            let s = other.to_string();
            // At most 60 characters, cut on a character boundary (bytes could split a '±').
            match s.char_indices().nth(60) {
                Some((cut, _)) => format!("{}...", &s[..cut]),
                None => s,
            }
        }
    }
}

/// Checks `value` against the schema of `T`; every violation, located.
pub fn schema_problems<T: JsonSchema + 'static>(value: &Value) -> Vec<Problem> {
    let compiled = compiled::<T>();
    let mut out = Vec::new();
    for e in compiled.validator.iter_errors(value) {
        explain(&e, &compiled.schema, &mut out);
    }
    out
}

fn is_null_type_error(e: &jsonschema::ValidationError<'_>) -> bool {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    matches!(e.kind(), K::Type { kind: TypeKind::Single(t) } if t.to_string() == "null")
}

/// Turns one validator error into readable, located problems (descending into `anyOf`/`oneOf`).
fn explain(e: &jsonschema::ValidationError<'_>, schema: &Value, out: &mut Vec<Problem>) {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let path = pointer_to_path(e.instance_path().as_str());
    let inst = e.instance();
    let message = match e.kind() {
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // Optional values are `anyOf [T, null]`: explain T's failure, not the wrapper.
            let branches: Vec<&Vec<jsonschema::ValidationError<'static>>> =
                context.iter().filter(|b| !(b.len() == 1 && is_null_type_error(&b[0]))).collect();
            if branches.len() == 1 {
                for sub in branches[0] {
                    explain(sub, schema, out);
                }
                return;
            }
            // Enumerations are `oneOf` one constant per variant: list the allowed values.
            let consts: Option<Vec<String>> = branches
                .iter()
                .map(|b| match b.as_slice() {
                    [x] => match x.kind() {
                        K::Constant { expected_value } => Some(describe(expected_value)),
                        K::Enum { options } => Some(
                            options
                                .as_array()
                                .map(|a| a.iter().map(describe).collect::<Vec<_>>().join(", "))
                                .unwrap_or_default(),
                        ),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            match consts {
                Some(c) if !c.is_empty() => format!("{} is not one of {}", describe(inst), c.join(", ")),
                _ => format!("{} matches none of the allowed forms", describe(inst)),
            }
        }
        K::Maximum { limit } => format!("{} is above {}", describe(inst), describe(limit)),
        K::Minimum { limit } => format!("{} is below {}", describe(inst), describe(limit)),
        K::ExclusiveMaximum { limit } => format!("{} must be below {}", describe(inst), describe(limit)),
        K::ExclusiveMinimum { limit } => format!("{} must be above {}", describe(inst), describe(limit)),
        K::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            let full = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
            let why = branch_comment(schema, e.schema_path().as_str())
                .map(|c| format!("is required: {c}"))
                .unwrap_or_else(|| "is required but missing".to_string());
            out.push(Problem::new(full, why));
            return;
        }
        K::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => format!("{set:?}"),
            };
            let base = format!("{} is not a {expected}", describe(inst));
            match branch_comment(schema, e.schema_path().as_str()) {
                Some(c) => format!("{base}: {c}"),
                None => base,
            }
        }
        K::Enum { options } => format!("{} is not one of {}", describe(inst), options),
        K::Constant { expected_value } => format!("{} must be {}", describe(inst), expected_value),
        K::Pattern { pattern } => format!("{} does not match {pattern}", describe(inst)),
        K::AdditionalProperties { unexpected } => format!("unknown field(s): {}", unexpected.join(", ")),
        K::MinItems { limit } => format!("needs at least {limit} item(s)"),
        K::MaxItems { limit } => format!("allows at most {limit} item(s)"),
        K::MinLength { limit } => format!("{} is shorter than {limit} character(s)", describe(inst)),
        K::MaxLength { limit } => format!("{} is longer than {limit} character(s)", describe(inst)),
        _ => e.to_string(),
    };
    out.push(Problem::new(path, message));
}

/// The `$comment` of the schema object holding a failing keyword — how a conditional branch
/// (`if`/`then`) explains itself (e.g. "a BUY needs a score").
fn branch_comment(schema: &Value, keyword_path: &str) -> Option<String> {
    let mut p = keyword_path;
    while let Some((parent, _)) = p.rsplit_once('/') {
        if let Some(c) = schema.pointer(parent).and_then(|n| n.get("$comment")).and_then(Value::as_str) {
            return Some(c.to_string());
        }
        if parent.ends_with("/then") || parent.is_empty() {
            break;
        }
        p = parent;
    }
    None
}

/// Parses and validates a document from JSON bytes.
pub fn parse<T: Document>(bytes: &[u8]) -> Result<T, Problems> {
    parsed::parse_kept(bytes, |bytes| {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            Problems(vec![Problem::new(
                format!("line {} column {}", e.line(), e.column()),
                format!("not valid JSON: {e}"),
            )])
        })?;
        parse_value(value)
    })
}

/// Validates a JSON value and converts it into the typed document.
pub fn parse_value<T: Document>(value: Value) -> Result<T, Problems> {
    match value.get("schema_version").and_then(Value::as_u64) {
        Some(v) if v != T::SCHEMA_VERSION as u64 => {
            return Err(Problems(vec![Problem::new(
                "schema_version",
                format!("{v} is not supported: this build reads {} version {}", T::KIND, T::SCHEMA_VERSION),
            )]));
        }
        _ => {}
    }
    let problems = schema_problems::<T>(&value);
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let doc: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        Problems(vec![Problem::new(path, e.inner().to_string())])
    })?;
    let mut c = Checker::default();
    doc.check(&mut c);
    let problems = c.finish();
    if problems.is_empty() { Ok(doc) } else { Err(Problems(problems)) }
}

/// Serializes a document to pretty JSON after validating it the way a reader would.
pub fn to_json_checked<T: Document>(doc: &T) -> Result<Bytes, Problems> {
    let value = serde_json::to_value(doc).map_err(|e| Problems(vec![Problem::new("", e.to_string())]))?;
    let mut problems = schema_problems::<T>(&value);
    let mut c = Checker::default();
    doc.check(&mut c);
    problems.extend(c.finish());
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    let mut bytes = serde_json::to_vec_pretty(&value).expect("a JSON value serializes");
    bytes.push(b'\n');
    Ok(Bytes::from(bytes))
}

/// Writes the JSON Schema of every document kind into `dir` as `{kind}.schema.json`; returns the paths.
pub fn export_schemas(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for kind in DocKind::ALL {
        let path = dir.join(format!("{}.schema.json", kind.name()));
        let mut text = serde_json::to_string_pretty(&kind.schema()).expect("schema serializes");
        text.push('\n');
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_in_a_problem_is_cut_on_a_character_boundary() {
        // Found by the docs_predictions fuzz target: byte 60 of the quoted object fell inside '±'.
        let doc: &[u8] = include_bytes!(
            "../../../fuzz-targets/corpus/docs_predictions/crash-3c8a9196ee77c9d06d7fa17de763a2bfb941d4a8"
        );
        let problems = parse::<predictions::Predictions>(doc).unwrap_err();
        assert!(problems.to_string().contains("..."), "{problems}");
        let long = serde_json::json!({"note": "±".repeat(100)});
        assert_eq!(describe(&long).chars().count(), 63);
    }
}
