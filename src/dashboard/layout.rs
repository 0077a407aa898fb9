//! The page shell (navigation, theme, refresh during market hours) and the small pieces every page
//! uses: a figure that links to the document it came from, PASS/FAIL badges, number formats.

use ae_shared::bus::Key;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

/// The pages, in navigation order: (path, name).
pub const PAGES: [(&str, &str); 8] = [
    ("/", "Overview"),
    ("/positions", "Positions"),
    ("/research", "Research"),
    ("/predictor", "Predictor"),
    ("/backtester", "Backtester"),
    ("/execution", "Execution"),
    ("/risk", "Risk"),
    ("/lineage", "Lineage"),
];

/// What every page needs to know about the request and the dashboard.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The dashboard's clock (the exchange's, or a replay's).
    pub now: DateTime<Utc>,
    /// Seconds between reloads while the market is open (`None`: closed, no reload).
    pub reload_s: Option<u32>,
    /// The bus shown (for the footer).
    pub bus: String,
    /// Documents left out because they failed to load.
    pub problems: usize,
}

/// The page: head, navigation, body, footer.
pub fn page(ctx: &Ctx, path: &str, title: &str, body: Markup) -> Markup {
    let et = ctx.now.with_timezone(&chrono_tz::America::New_York);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = ctx.reload_s {
                    meta http-equiv="refresh" content=(s);
                }
                title { (title) " · alpha-engine" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" href="data:,";
            }
            body {
                header {
                    a.brand href="/" { "alpha-engine" }
                    nav {
                        @for (p, name) in PAGES {
                            a href=(p) class=(if p == path { "on" } else { "" }) { (name) }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
                footer {
                    "As of " (et.format("%Y-%m-%d %H:%M ET")) " · bus " code { (ctx.bus) }
                    @if ctx.reload_s.is_some() { " · market open: reloads every " (ctx.reload_s.unwrap_or(0)) " s" }
                    @if ctx.problems > 0 {
                        " · " a.bad href="/lineage#problems" { (ctx.problems) " document(s) could not be read" }
                    }
                    " · read-only"
                }
            }
        }
    }
}

/// The link to a bus document.
pub fn doc_href(key: &Key) -> String {
    format!("/doc?key={}", urlencode(key.as_str()))
}

/// The link to a document's lineage.
pub fn lineage_href(key: &Key) -> String {
    format!("/lineage?key={}", urlencode(key.as_str()))
}

/// Percent-encodes a query value (keys hold `/`, `@`, `:` and dates).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A figure: its text, linked to the document it came from, with a stable name and the raw value
/// for whoever checks it (`data-figure`, `data-value`).
pub fn fig(text: impl Into<String>, key: &Key, name: &str, raw: impl ToString) -> Markup {
    html! { a.fig href=(doc_href(key)) data-figure=(name) data-value=(raw.to_string()) { (text.into()) } }
}

/// A key card on top of a page.
pub fn card(label: &str, value: Markup, sub: Markup) -> Markup {
    html! { div.card { div.label { (label) } div.value { (value) } div.sub { (sub) } } }
}

/// PASS or FAIL.
pub fn badge(passed: bool) -> Markup {
    if passed {
        html! { span.badge.ok { "PASS" } }
    } else {
        html! { span.badge.bad { "FAIL" } }
    }
}

/// A gate line as the jobs write them (`PASS trades: ...`, `FAIL improvement: ...`): badge + text.
pub fn gate_line(line: &str) -> Markup {
    let (passed, rest) = if let Some(r) = line.strip_prefix("PASS ") {
        (Some(true), r)
    } else if let Some(r) = line.strip_prefix("FAIL ") {
        (Some(false), r)
    } else {
        (None, line)
    };
    html! { li { @if let Some(p) = passed { (badge(p)) " " } (rest) } }
}

/// A signed number with `d` decimals, or `–` when it is not finite.
pub fn num(x: f64, d: usize) -> String {
    if x.is_finite() { format!("{x:.d$}") } else { "–".into() }
}

/// A JSON number (reports write `null` for a figure that could not be computed).
pub fn jnum(v: &serde_json::Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN)
}

/// CSS class for the sign of a value.
pub fn sign_class(x: f64) -> &'static str {
    if x > 0.0 {
        "pos"
    } else if x < 0.0 {
        "neg"
    } else {
        ""
    }
}

/// A paragraph saying a part has nothing yet, and which job fills it.
pub fn empty(what: &str, filled_by: &str) -> Markup {
    html! { p.muted { "No " (what) " on the bus yet (" (filled_by) ")." } }
}

/// The stylesheet: dark with an indigo accent; cards wrap and tables scroll sideways on a phone.
pub const STYLE: &str = r#"
:root{--bg:#0f1117;--panel:#171a23;--line:#2a2f3a;--text:#e6e8ee;--muted:#8b93a7;--accent:#6366f1;--ok:#22c55e;--warn:#f59e0b;--bad:#ef4444}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;background:var(--panel);border-bottom:1px solid var(--line);position:sticky;top:0}
.brand{font-weight:700;color:var(--accent);text-decoration:none}
nav{display:flex;flex-wrap:wrap;gap:.25rem}
nav a{color:var(--muted);text-decoration:none;padding:.25rem .5rem;border-radius:6px}
nav a.on,nav a:hover{color:var(--text);background:var(--line)}
main{padding:1rem;max-width:1200px;margin:0 auto}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
h2{font-size:1.1rem;margin:1.6rem 0 .6rem;color:var(--text)}
a{color:#a5b4fc}
a.fig{color:inherit;text-decoration:none;border-bottom:1px dotted var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.6rem}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:.6rem .8rem}
.card .label{color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:1.25rem;font-weight:600;overflow-wrap:anywhere}
.card .sub{color:var(--muted);font-size:.8rem}
.strip{display:flex;flex-wrap:wrap;gap:.4rem}
.job{background:var(--panel);border:1px solid var(--line);border-left:4px solid var(--muted);border-radius:8px;padding:.35rem .6rem;font-size:.85rem}
.job.ok{border-left-color:var(--ok)}.job.warn{border-left-color:var(--warn)}.job.bad{border-left-color:var(--bad)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{padding:.3rem .5rem;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.l,th.l{text-align:left}
td.wrap{white-space:normal;text-align:left;min-width:16rem}
th{color:var(--muted);font-weight:500}
.pos{color:var(--ok)}.neg{color:var(--bad)}.muted{color:var(--muted)}.bad{color:var(--bad)}
.badge{display:inline-block;font-size:.72rem;font-weight:700;padding:.05rem .4rem;border-radius:4px}
.badge.ok{background:#14532d;color:#bbf7d0}.badge.bad{background:#7f1d1d;color:#fecaca}.badge.warn{background:#78350f;color:#fde68a}
.banner{background:#7f1d1d;border:1px solid var(--bad);padding:.6rem .8rem;border-radius:8px;margin-bottom:1rem}
ul.gates{list-style:none;padding:0;margin:.3rem 0}ul.gates li{margin:.2rem 0}
figure.chart{margin:.5rem 0;background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:.4rem}
figure.chart svg{width:100%;height:auto;display:block}
figure.chart svg.heat{width:auto;max-width:100%}
figcaption{color:var(--muted);font-size:.8rem;padding:.2rem .4rem}
.grid{stroke:var(--line);stroke-width:1}
.axis{fill:var(--muted);font-size:10px}
.cell{fill:#fff;font-size:10px}
.line{fill:none;stroke-width:2}
.s0{stroke:var(--accent);color:#a5b4fc}.s1{stroke:#94a3b8;color:#94a3b8}.s2{stroke:var(--warn);color:var(--warn)}
.key::before{content:"— "}
.bar.pos{fill:var(--ok)}.bar.neg{fill:var(--bad)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.82rem}
pre{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.6rem;overflow:auto;max-height:70vh}
form{display:flex;flex-wrap:wrap;gap:.4rem;margin:.4rem 0}
input,select,button{background:var(--panel);color:var(--text);border:1px solid var(--line);border-radius:6px;padding:.35rem .5rem;font:inherit;max-width:100%}
footer{color:var(--muted);font-size:.8rem;padding:1rem;border-top:1px solid var(--line);margin-top:2rem}
@media (max-width:600px){main{padding:.6rem}.card .value{font-size:1.1rem}h1{font-size:1.2rem}}
"#;
