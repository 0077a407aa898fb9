//! Parameters by dotted path (`exits.atr_multiple`, `risk.drawdown_tiers`): the hard bounds the
//! JSON Schema declares for each numeric one, and reading or replacing a value by its path. One
//! vocabulary for the sweep grid, the tuned paths of a params document and `config show
//! --in-force`.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use schemars::JsonSchema;
use serde_json::Value;

use super::{Bound, Params};
use crate::contracts::Checker;

/// Hard bounds of every numeric parameter of `P`, read from its JSON Schema.
pub fn param_bounds<P: JsonSchema + 'static>() -> BTreeMap<String, Bound> {
    cached_bounds::<P>().as_ref().clone()
}

/// Bounds by parameter path.
type Bounds = BTreeMap<String, Bound>;

/// The bounds of `P`, read from its schema once per process (a sweep checks thousands of points).
fn cached_bounds<P: JsonSchema + 'static>() -> Arc<Bounds> {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, Arc<Bounds>>>> = OnceLock::new();
    let mut map = CACHE.get_or_init(Default::default).lock().expect("bounds cache lock");
    map.entry(TypeId::of::<P>()).or_insert_with(|| Arc::new(bounds_of::<P>())).clone()
}

fn bounds_of<P: JsonSchema>() -> BTreeMap<String, Bound> {
    let schema = crate::contracts::schema_value::<P>();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    collect_bounds(&schema, &defs, "", &mut out);
    out
}

fn resolve<'a>(node: &'a Value, defs: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => defs.get(name).unwrap_or(node),
        None => node,
    }
}

fn collect_bounds(node: &Value, defs: &Value, path: &str, out: &mut BTreeMap<String, Bound>) {
    let target = resolve(node, defs);
    if let Some(props) = target.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let p = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            collect_bounds(sub, defs, &p, out);
        }
        return;
    }
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    // Field-level bounds override the referenced type's own.
    let min = num(node, "minimum").or_else(|| num(target, "minimum"));
    let max = num(node, "maximum").or_else(|| num(target, "maximum"));
    if min.is_some() || max.is_some() {
        out.insert(path.to_string(), Bound { min: min.unwrap_or(f64::MIN), max: max.unwrap_or(f64::MAX) });
    }
}

/// The value at a dotted `path` of a serialized parameter set (a leaf or a whole section).
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |node, part| node.as_object()?.get(part))
}

fn get_path_mut<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(value, |node, part| node.as_object_mut()?.get_mut(part))
}

/// Every leaf path of a serialized parameter set, in order (a list counts as one leaf).
pub fn leaf_paths(value: &Value) -> Vec<String> {
    fn walk(node: &Value, path: &str, out: &mut Vec<String>) {
        match node.as_object() {
            Some(map) => {
                for (k, v) in map {
                    walk(v, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") }, out);
                }
            }
            None => out.push(path.to_string()),
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

/// Copies the value at `path` from `from` into `into`; false when either side lacks the path.
pub fn copy_path(into: &mut Value, from: &Value, path: &str) -> bool {
    match (get_path_mut(into, path), get_path(from, path)) {
        (Some(dst), Some(src)) => {
            *dst = src.clone();
            true
        }
        _ => false,
    }
}

/// Why a numeric value cannot be set at a path of `P`, or `None` when it can: the path must be a
/// bounded numeric parameter, the value inside its bounds, and whole for a whole-number one.
pub fn numeric_problem<P: Params>(base: &P, path: &str, v: f64) -> Option<String> {
    let json = serde_json::to_value(base).unwrap_or(Value::Null);
    problem_at::<P>(&cached_bounds::<P>(), &json, path, v)
}

/// [`numeric_problem`] against bounds and a serialized set already at hand.
fn problem_at<P: Params>(bounds: &BTreeMap<String, Bound>, json: &Value, path: &str, v: f64) -> Option<String> {
    let Some(b) = bounds.get(path) else {
        return Some(format!("{path:?} is not a numeric parameter of {}", P::NAME));
    };
    if !v.is_finite() || v < b.min || v > b.max {
        return Some(format!("{v} is outside {path}'s bounds [{}, {}]", b.min, b.max));
    }
    let whole = get_path(json, path).is_some_and(|x| x.is_u64() || x.is_i64());
    if whole && v.fract() != 0.0 {
        return Some(format!("{v} is not a whole number ({path} counts)"));
    }
    None
}

/// `base` with each `(path, value)` set (whole numbers stay whole), or why not: a path that is not
/// a numeric parameter, a value out of bounds, or a result the set's own cross-field rules refuse.
pub fn with_values<P: Params>(base: &P, values: &[(&str, f64)]) -> Result<P, String> {
    let bounds = cached_bounds::<P>();
    let mut json = serde_json::to_value(base).map_err(|e| e.to_string())?;
    for (path, v) in values {
        if let Some(p) = problem_at::<P>(&bounds, &json, path, *v) {
            return Err(p);
        }
        let slot = get_path_mut(&mut json, path).ok_or_else(|| format!("{path:?} is not a parameter"))?;
        *slot = if slot.is_u64() || slot.is_i64() { Value::from(*v as i64) } else { Value::from(*v) };
    }
    let p: P = serde_json::from_value(json).map_err(|e| e.to_string())?;
    let mut c = Checker::default();
    p.check(&mut c, "");
    let problems = c.finish();
    if problems.is_empty() { Ok(p) } else { Err(crate::contracts::Problems(problems).to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_paths_walk_sections_and_keep_lists_whole() {
        let v = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": true});
        assert_eq!(leaf_paths(&v), vec!["a.b", "a.c", "d"]);
        let mut into = v.clone();
        assert!(copy_path(&mut into, &serde_json::json!({"a": {"b": 7}}), "a.b"));
        assert_eq!(get_path(&into, "a.b"), Some(&Value::from(7)));
        assert!(!copy_path(&mut into, &v, "a.x"));
    }
}
