//! Lineage: any document's inputs, walked back to the price chunks, each with the hash it was read
//! with and whether the object on the bus still has that hash; and the raw view of one document.

use std::collections::{BTreeSet, VecDeque};

use ae_shared::bus::{Bus, Key};
use ae_shared::contracts::Lineage;
use ae_shared::store::PriceStore;
use maud::{Markup, html};
use serde_json::Value;

use crate::dashboard::layout::{doc_href, lineage_href};
use crate::dashboard::snapshot::Snapshot;

/// At most this many documents are walked from one root.
pub const MAX_NODES: usize = 400;

/// How deep a walk goes unless asked for more (`?depth=`): the root, what it read, what those
/// read — enough to reach the price chunks from any job's output.
pub const DEFAULT_DEPTH: usize = 3;

/// The price store and the content digests already recomputed from it, by day.
pub struct Prices {
    /// The store as of one manifest.
    pub store: PriceStore,
    /// `inputs_as_of(day)` for each day asked so far.
    pub digests: std::collections::HashMap<ae_shared::TradingDay, Vec<ae_shared::contracts::InputRef>>,
}

impl Prices {
    fn digest(&mut self, key: &str, day: ae_shared::TradingDay) -> Option<String> {
        let store = &self.store;
        let inputs = self.digests.entry(day).or_insert_with(|| store.inputs_as_of(day));
        inputs.iter().find(|i| i.key == key).map(|i| i.sha256.clone())
    }
}

/// What an input names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An object on the bus.
    Object,
    /// The price store's content up to a day (its digest is recomputed from the store).
    PriceContent,
    /// Something off the bus (the broker account, the configuration file).
    Outside,
}

/// One input as its reader recorded it, and what the bus holds under that key now.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// The input's key.
    pub key: String,
    /// The hash it was read with.
    pub recorded: String,
    /// The hash of what is there now (`None`: gone, or off the bus).
    pub current: Option<String>,
    /// What the key names.
    pub source: Source,
}

/// One document in the walk.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its key.
    pub key: Key,
    /// Hash of its bytes now.
    pub sha256: String,
    /// Who produced it (`job version run`), when it carries a lineage.
    pub produced_by: Option<String>,
    /// Its inputs.
    pub inputs: Vec<Edge>,
    /// How far from the root.
    pub depth: usize,
}

/// A lineage input that names the price store's content as of a day rather than an object:
/// `prices/bars (sessions to 2010-03-12)`, `prices/splits.json (splits to ...)`. Its hash is a
/// digest of that content, recomputed here from the store; its object is the manifest.
fn price_content(key: &str) -> Option<ae_shared::TradingDay> {
    let (_, rest) = key.split_once(" (")?;
    let day = rest.strip_suffix(')')?.rsplit(' ').next()?;
    key.starts_with("prices/").then(|| ae_shared::TradingDay::parse(day).ok()).flatten()
}

/// An input that is not an object on the bus: the broker account (`broker:DU0000001`, its
/// positions' digest) or a section of the configuration in force (`configuration/executor_params`).
fn off_the_bus(key: &str) -> bool {
    key.starts_with("configuration/")
        || key.split('/').next().is_some_and(|first| first.contains(':'))
        || Key::parse(key).is_err()
}

/// Walks the inputs of `root` breadth first (each key once, at most [`MAX_NODES`]), down to the
/// price chunks: a price-content input is checked against `store` (its digest recomputed) and
/// leads to the manifest, whose chunks are checked against the hashes the manifest recorded.
pub async fn walk(
    bus: &Bus,
    root: &Key,
    mut prices: Option<&mut Prices>,
    max_depth: usize,
) -> Result<Vec<Node>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([(root.clone(), 0usize)]);
    seen.insert(root.clone());
    let manifest = ae_shared::bus::keys::prices_manifest();
    while let Some((key, depth)) = queue.pop_front() {
        if out.len() >= MAX_NODES {
            break;
        }
        let Some(obj) = bus.get(&key).await.map_err(|e| e.to_string())? else {
            if depth == 0 {
                return Err(format!("{key} is not on the bus"));
            }
            continue;
        };
        let lineage = lineage_of(&obj.bytes);
        let mut recorded: Vec<(String, String)> =
            lineage.iter().flat_map(|l| l.inputs.iter().map(|i| (i.key.clone(), i.sha256.clone()))).collect();
        if key == manifest {
            let v: Value = serde_json::from_slice(&obj.bytes).unwrap_or_default();
            for c in v.get("chunks").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(k), Some(h)) =
                    (c.get("key").and_then(Value::as_str), c.get("sha256").and_then(Value::as_str))
                {
                    recorded.push((k.to_string(), h.to_string()));
                }
            }
        }
        let mut inputs = Vec::new();
        for (ikey, sha) in recorded {
            let outside = off_the_bus(&ikey);
            let current = if outside {
                None
            } else if let Some(day) = price_content(&ikey) {
                if depth < max_depth && seen.insert(manifest.clone()) {
                    queue.push_back((manifest.clone(), depth + 1));
                }
                prices.as_deref_mut().and_then(|p| p.digest(&ikey, day))
            } else {
                match Key::parse(&ikey) {
                    Ok(k) => {
                        let now = bus.get(&k).await.map_err(|e| e.to_string())?.map(|o| o.sha256());
                        if now.is_some() && depth < max_depth && seen.insert(k.clone()) {
                            queue.push_back((k, depth + 1));
                        }
                        now
                    }
                    Err(_) => None,
                }
            };
            let kind = if outside {
                Source::Outside
            } else if price_content(&ikey).is_some() {
                Source::PriceContent
            } else {
                Source::Object
            };
            inputs.push(Edge { key: ikey, recorded: sha, current, source: kind });
        }
        out.push(Node {
            key,
            sha256: obj.sha256(),
            produced_by: lineage.map(|l| format!("{:?} {} run {}", l.job, l.version, l.run_id).to_lowercase()),
            inputs,
            depth,
        });
    }
    Ok(out)
}

/// The `produced_by` of a JSON document, when it has one.
pub fn lineage_of(bytes: &[u8]) -> Option<Lineage> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    serde_json::from_value(v.get("produced_by")?.clone()).ok()
}

/// The lineage page: the picker, and the walk from `root` when one is given.
pub fn render(s: &Snapshot, root: Option<(&Key, &[Node])>, depth: usize, error: Option<&str>) -> Markup {
    let mut picks: Vec<(&str, &Key)> = Vec::new();
    if let Some(x) = s.last_eod() {
        picks.push(("last EOD report", &x.key));
    }
    if let Some(x) = s.last_book() {
        picks.push(("last order book", &x.key));
    }
    if let Some(x) = s.last_risk() {
        picks.push(("last risk state", &x.key));
    }
    if let Some(x) = s.last_signals() {
        picks.push(("last signals", &x.key));
    }
    if let Some(x) = s.last_predictions() {
        picks.push(("last predictions", &x.key));
    }
    if let Some(x) = s.latest_model() {
        picks.push(("latest model's metrics", &x.key));
    }
    if let Some(x) = s.written_back.last() {
        picks.push(("last parameters written back", &x.key));
    }
    html! {
        form method="get" action="/lineage" {
            select name="key" aria-label="document" {
                @for (label, k) in &picks {
                    option value=(k.as_str()) selected[root.is_some_and(|r| r.0 == *k)] { (label) ": " (k.as_str()) }
                }
            }
            button type="submit" { "Walk" }
        }
        form method="get" action="/lineage" {
            input name="key" placeholder="any key, e.g. executor/eod/2010-03-12.json" size="40" value=(root.map(|r| r.0.as_str()).unwrap_or(""));
            select name="depth" aria-label="depth" {
                @for d in [2, 3, 4, 6, 12] { option value=(d) selected[d == depth] { (d) " levels" } }
            }
            button type="submit" { "Walk" }
        }
        @if let Some(e) = error { p.bad { (e) } }
        @if let Some((key, nodes)) = root {
            @let changed = nodes.iter().flat_map(|n| &n.inputs).filter(|e| e.source != Source::Outside && e.current.as_deref() != Some(e.recorded.as_str())).count();
            @let chunks = nodes.iter().filter(|n| n.key.as_str().starts_with("prices/bars/")).count();
            p data-figure="lineage_nodes" data-value=(nodes.len()) {
                (nodes.len()) " documents within " (depth) " levels behind " a href=(doc_href(key)) { (key.as_str()) } ", " (chunks) " price chunk(s); "
                @if changed == 0 { span.badge.ok { "ALL HASHES MATCH" } } @else { span.badge.warn { (changed) " INPUT(S) CHANGED SINCE READ" } " (a latest pointer or a rewritten object)" }
            }
            @for n in nodes {
                div.card data-node=(n.key.as_str()) {
                    div { (" · ".repeat(n.depth)) a href=(lineage_href(&n.key)) { (n.key.as_str()) } " " a.muted href=(doc_href(&n.key)) { "view" } }
                    div.sub { "sha256 " code { (&n.sha256[..16]) "…" } @if let Some(p) = &n.produced_by { " · " (p) } }
                    @if !n.inputs.is_empty() {
                        ul.gates {
                            @for e in &n.inputs {
                                li {
                                    @match (&e.current, e.source) {
                                        (_, Source::Outside) => span.badge.warn { "OFF THE BUS" },
                                        (Some(c), _) if c == &e.recorded => span.badge.ok { "SAME" },
                                        (Some(_), _) => span.badge.warn { "CHANGED" },
                                        (None, _) => span.badge.bad { "GONE" },
                                    }
                                    @if e.source == Source::PriceContent { " " span.muted { "(digest recomputed from the price store)" } }
                                    " " (e.key) " " code.muted { (e.recorded.get(..12).unwrap_or(&e.recorded)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 id="problems" { "Documents that could not be read" }
        @if s.problems.is_empty() { p.muted { "None: every document listed passed its validation." } } @else {
            ul { @for p in &s.problems { li { code { (p) } } } }
        }
    }
}

/// The view of one object: a contract is validated and pretty-printed; text is shown as text;
/// anything else by its size and hash.
pub fn document(key: &Key, bytes: &[u8], sha256: &str) -> Markup {
    let name = key.file_name();
    let kind = ae_shared::bus::keys::contract_kind(key);
    let verdict = kind.map(|k| (k, k.validate(bytes)));
    let text = if name.ends_with(".json") {
        serde_json::from_slice::<Value>(bytes).ok().map(|mut v| {
            ae_shared::secrets::redact_json(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_default()
        })
    } else if [".md", ".csv", ".txt", ".html"].iter().any(|x| name.ends_with(x)) {
        std::str::from_utf8(bytes).ok().map(|t| ae_shared::secrets::redact(t).into_owned())
    } else {
        None
    };
    html! {
        p {
            code { (key.as_str()) } " · " (bytes.len()) " bytes · sha256 " code { (sha256) } " · "
            a href=(lineage_href(key)) { "lineage" }
        }
        @if let Some((k, v)) = &verdict {
            @match v {
                Ok(()) => p { span.badge.ok { "VALID" } " " (k.name()) " (schema and cross-field rules)" },
                Err(problems) => { p { span.badge.bad { "INVALID" } " " (k.name()) } pre { (problems.to_string()) } },
            }
        }
        @match text {
            Some(t) => pre { (t.chars().take(2_000_000).collect::<String>()) },
            None => p.muted { "Binary object (Parquet, SQLite, ...): shown by its size and hash." },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_told_apart_by_what_they_name() {
        let cases = [
            ("executor/order_books/2010-03-31.json", false, None),
            ("prices/bars (sessions to 2010-03-31)", false, Some("2010-03-31")),
            ("prices/splits.json (splits to 2010-03-30)", false, Some("2010-03-30")),
            ("prices/sectors.json", false, None),
            ("broker:DU0000001", true, None),
            ("configuration/executor_params", true, None),
            ("../escape", true, None),
        ];
        for (key, outside, day) in cases {
            assert_eq!(off_the_bus(key), outside, "{key}");
            assert_eq!(price_content(key).map(|d| d.to_string()), day.map(String::from), "{key}");
        }
    }
}
