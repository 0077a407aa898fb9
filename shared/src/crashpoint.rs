//! Crash points: fault injection for the crash-consistency tests. `crashpoint::hit("name")` marks
//! a point between two steps of a write sequence; when the environment variable `AE_CRASH_AT`
//! names it (`name`, or `name:N` for its N-th hit), the process dies on the spot with
//! `std::process::abort()` — no destructor, no flush, like a power cut or a SIGKILL.
//!
//! The variable is read once; with it unset a hit costs one relaxed atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Target {
    name: String,
    nth: u64,
    seen: AtomicU64,
}

fn target() -> Option<&'static Target> {
    static T: OnceLock<Option<Target>> = OnceLock::new();
    T.get_or_init(|| {
        let v = std::env::var("AE_CRASH_AT").ok()?;
        let (name, nth) = match v.rsplit_once(':') {
            Some((n, k)) if k.chars().all(|c| c.is_ascii_digit()) && !k.is_empty() => {
                (n.to_string(), k.parse().unwrap_or(1))
            }
            _ => (v.clone(), 1),
        };
        Some(Target { name, nth: nth.max(1), seen: AtomicU64::new(0) })
    })
    .as_ref()
}

/// A crash point: aborts the process when `AE_CRASH_AT` names this point (and its hit count).
pub fn hit(name: &str) {
    if let Some(t) = target()
        && t.name == name
        && t.seen.fetch_add(1, Ordering::Relaxed) + 1 == t.nth
    {
        eprintln!("crash point {name} reached: aborting (AE_CRASH_AT)");
        std::process::abort();
    }
}
