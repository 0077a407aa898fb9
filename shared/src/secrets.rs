//! Secret values — API keys, the SMTP password, the Telegram bot token — kept out of every log
//! line and every bus object.
//!
//! A job registers each secret where it reads it ([`from_env`], or [`register`] for a value it was
//! handed); the writers of text that leaves the process — the log writer set up by
//! `cli::init_logging` (text and JSON alike), the research run report and the notes of the
//! documents research writes — pass it through [`redact`] (or [`redact_json`]), which replaces
//! every registered value with [`REDACTED`]. Code should still keep secrets out of messages in the
//! first place (keys in headers, URLs stripped from HTTP errors); this is the one place that makes
//! sure a slip does not leak.
//!
//! Cheap when nothing is registered: one atomic load, no copy. Values shorter than [`MIN_LEN`]
//! bytes are not registered (redacting them would mangle ordinary text and protect nothing).

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

/// What a secret becomes.
pub const REDACTED: &str = "[REDACTED]";

/// Shortest value registered, in bytes.
pub const MIN_LEN: usize = 4;

/// Anything registered (the fast path when nothing is).
static ANY: AtomicBool = AtomicBool::new(false);

/// Every registered form, longest first (so a secret containing another is replaced whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers `value` (trimmed) as a secret for the rest of the process: as written, and as it
/// reads once escaped in a JSON string or in `{:?}` output (a password with a quote or a
/// backslash in it). Values shorter than [`MIN_LEN`] bytes are ignored.
pub fn register(value: &str) {
    let value = value.trim();
    if value.len() < MIN_LEN {
        return;
    }
    let json = serde_json::to_string(value).expect("a string serializes to JSON");
    let debug = format!("{value:?}");
    let forms = [value, &json[1..json.len() - 1], &debug[1..debug.len() - 1]];
    let mut set = SECRETS.write().unwrap_or_else(PoisonError::into_inner);
    for form in forms {
        if !set.iter().any(|s| s == form) {
            set.push(form.to_string());
        }
    }
    set.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ANY.store(true, Ordering::Release);
}

/// Reads the environment variable `var` and, when it holds a value (not blank), registers it as a
/// secret and returns it.
pub fn from_env(var: &str) -> Option<String> {
    let value = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
    register(&value);
    Some(value)
}

/// True when at least one secret is registered.
pub fn any_registered() -> bool {
    ANY.load(Ordering::Acquire)
}

/// `text` with every registered secret replaced by [`REDACTED`]; borrowed (no copy) when it
/// holds none.
pub fn redact(text: &str) -> Cow<'_, str> {
    if !any_registered() {
        return Cow::Borrowed(text);
    }
    let set = SECRETS.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for secret in set.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
        }
    }
    out
}

/// Redacts every string (and object key) in a JSON value, in place: for documents and reports
/// that carry text from outside (provider errors, agent failures) on their way to the bus.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    if !any_registered() {
        return;
    }
    match value {
        Value::String(s) => redact_in_place(s),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            let dirty: Vec<String> = map.keys().filter(|k| matches!(redact(k), Cow::Owned(_))).cloned().collect();
            for k in dirty {
                if let Some(v) = map.remove(&k) {
                    map.insert(redact(&k).into_owned(), v);
                }
            }
            map.values_mut().for_each(redact_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Redacts a string in place.
pub fn redact_in_place(text: &mut String) {
    if let Cow::Owned(clean) = redact(text) {
        *text = clean;
    }
}

/// Redacts each string of `texts` in place (notes, failure lists).
pub fn redact_all(texts: &mut [String]) {
    if any_registered() {
        texts.iter_mut().for_each(redact_in_place);
    }
}

/// A secret held by a client: registered on construction, never shown by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Registers `value` ([`register`]) and holds it.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
    }

    /// The value, for the one place it is sent (a header, a query parameter, a login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// An [`io::Write`] that sends what it is given through [`redact`] on its way to `inner`. It holds
/// the bytes until it is flushed or dropped, so a secret split across two writes is still found
/// (the log writer makes one of these per event). When nothing is registered at creation it
/// passes writes straight through.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    held: Option<Vec<u8>>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner, held: any_registered().then(Vec::new) }
    }

    fn emit(&mut self) -> io::Result<()> {
        let Some(held) = self.held.as_mut().filter(|h| !h.is_empty()) else { return Ok(()) };
        let text = String::from_utf8_lossy(held);
        let clean = redact(&text);
        self.inner.write_all(clean.as_bytes())?;
        held.clear();
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.held.as_mut() {
            None => self.inner.write(buf),
            Some(held) => {
                held.extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.emit();
        let _ = self.inner.flush();
    }
}

/// A transport error as text, without its URL (a URL can carry an API key in its query or a bot
/// token in its path) and with its causes (`error sending request: connection closed ...`).
pub fn describe_http_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    // Registration is process-wide: every test uses values of its own.

    #[test]
    fn registered_values_are_redacted_wherever_they_appear() {
        register("SENTINEL-UNIT-KEY-91ab");
        register("  SENTINEL-UNIT-PADDED-22cd\n");
        register("abc"); // too short to be registered
        struct Case {
            what: &'static str,
            text: &'static str,
            want: &'static str,
        }
        let cases = [
            // TC1: a URL query carrying a key.
            Case {
                what: "query",
                text: "GET /fred?api_key=SENTINEL-UNIT-KEY-91ab&x=1 failed",
                want: "GET /fred?api_key=[REDACTED]&x=1 failed",
            },
            // TC2: twice in one line.
            Case {
                what: "twice",
                text: "SENTINEL-UNIT-KEY-91ab SENTINEL-UNIT-KEY-91ab",
                want: "[REDACTED] [REDACTED]",
            },
            // TC3: a value registered with blanks around it is found without them.
            Case { what: "trimmed", text: "token=SENTINEL-UNIT-PADDED-22cd;", want: "token=[REDACTED];" },
            // TC4: short values are not secrets here.
            Case { what: "short", text: "abc def", want: "abc def" },
            // TC5: clean text is untouched.
            Case { what: "clean", text: "nothing to hide", want: "nothing to hide" },
        ];
        for c in cases {
            assert_eq!(redact(c.text), c.want, "{}", c.what);
        }
        assert!(matches!(redact("nothing to hide"), Cow::Borrowed(_)), "clean text is not copied");
    }

    #[test]
    fn a_password_with_quotes_is_redacted_in_json_and_debug_output() {
        let password = r#"SENTINEL"pass\word-77"#;
        register(password);
        let json = serde_json::json!({ "error": format!("AUTH failed for {password}") }).to_string();
        assert!(!json.contains(password) && redact(&json).contains(REDACTED), "{json}");
        assert!(!redact(&json).contains(r#"SENTINEL\"pass\\word-77"#), "{}", redact(&json));
        let debug = format!("{:?}", format!("password {password}"));
        assert!(!redact(&debug).contains("pass\\\\word"), "{}", redact(&debug));
    }

    #[test]
    fn json_strings_and_keys_are_redacted_in_place() {
        register("SENTINEL-JSON-KEY-5e6f");
        let mut v = serde_json::json!({
            "notes": ["fred: HTTP 400 for api_key=SENTINEL-JSON-KEY-5e6f", "clean"],
            "failures": { "SENTINEL-JSON-KEY-5e6f": 1 },
            "n": 3
        });
        redact_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("SENTINEL-JSON-KEY-5e6f"), "{text}");
        assert_eq!(v["notes"][0], "fred: HTTP 400 for api_key=[REDACTED]");
        assert_eq!(v["notes"][1], "clean");
        assert_eq!(v["failures"][REDACTED], 1);
        assert_eq!(v["n"], 3);
    }

    #[test]
    fn a_held_secret_is_registered_and_never_debug_printed() {
        let s = Secret::new("SENTINEL-HELD-KEY-8a9b");
        assert_eq!(s.expose(), "SENTINEL-HELD-KEY-8a9b");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(redact("key SENTINEL-HELD-KEY-8a9b"), "key [REDACTED]");
    }

    #[test]
    fn the_writer_finds_a_secret_split_across_writes() {
        register("SENTINEL-WRITER-TOKEN-3c4d");
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut out);
            w.write_all(b"telegram: POST /botSENTINEL-WRI").unwrap();
            w.write_all(b"TER-TOKEN-3c4d/sendMessage failed\n").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "telegram: POST /bot[REDACTED]/sendMessage failed\n");
    }
}
