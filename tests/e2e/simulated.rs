//! `alpha-engine demo --market simulated`, in CI size: on a market with a planted signal the loop
//! visibly learns (a model is promoted, its live rank IC on the days traded is at least 80% of the
//! planted signal's oracle, the veto fires, the backtester's veto calibration writes a new
//! threshold back, and the ensemble's weight goes to the views that carry the signal); on the null
//! market nothing is promoted and nothing is written back. The ten null seeds the issue asks for
//! run with `--ignored`.

use std::path::Path;
use std::process::Command;

use ae_shared::TradingDay;

use crate::dashboard::SMALL_SWEEP;

/// Names of the CI-size market.
const NAMES: usize = 150;
/// Its years (the first is history).
const YEARS: usize = 2;

/// The Monday `weeks` weeks before the end of a `years`-year simulated market (its sessions start
/// on 2000-01-03, 252 a year).
fn weeks_before_end(years: usize, weeks: i64) -> TradingDay {
    let start = TradingDay::parse("2000-01-03").unwrap();
    let mut d = start.offset((years * 252) as i64 - 1 - 5 * weeks).unwrap();
    while !d.is_first_of_week() {
        d = d.next();
    }
    d
}

/// Runs the demo in `dir` on the CI-size market with `signal` and `seed`, trading its last
/// `weeks` weeks; returns the summary.
fn demo(dir: &Path, signal: &str, seed: u64, weeks: i64) -> String {
    std::fs::write(dir.join("small.toml"), SMALL_SWEEP).unwrap();
    let from = weeks_before_end(YEARS, weeks).to_string();
    let (names, years, seed) = (NAMES.to_string(), YEARS.to_string(), seed.to_string());
    let o = Command::new(env!("CARGO_BIN_EXE_alpha-engine"))
        .args(["demo", "--dir", "demo", "--config", "small.toml", "--market", "simulated"])
        .args(["--names", &names, "--years", &years, "--signal", signal, "--seed", &seed, "--from", &from])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("BUS_URL")
        .env_remove("ALPHA_ENGINE_CONFIG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    println!("{out}");
    out
}

/// The number after `after` on the summary's line that contains it.
fn figure(out: &str, after: &str) -> f64 {
    let rest = out.split_once(after).unwrap_or_else(|| panic!("{after:?} missing from:\n{out}")).1;
    let n: String =
        rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')).collect();
    n.parse().unwrap_or_else(|_| panic!("no number after {after:?} in:\n{out}"))
}

/// The planted signal's strength in CI size. The demo's default, 0.4, gives the veto too few
/// confident calls in six weeks for its calibration's gate (18 vetoed name-days at seed 11, where
/// the holdout alone needs 30 with a precision above a coin flip); the 5-year demo calibrates at
/// 0.4 over its year.
const SIGNAL: &str = "0.8";

#[test]
fn on_a_planted_market_the_loop_learns_the_signal_the_veto_fires_and_its_calibration_writes_back() {
    let work = tempfile::tempdir().unwrap();
    let out = demo(work.path(), SIGNAL, 11, 6);
    assert!(out.contains("a simulated market of 150 names x 2 years with a planted short-term reversal"), "{out}");
    assert!(out.contains(&format!("signal of strength {SIGNAL}")), "{out}");
    assert!(figure(&out, "champion promoted") >= 1.0, "{out}");
    let live = figure(&out, "the predictor's live rank IC");
    let oracle = figure(&out, "against the oracle's");
    assert!(figure(&out, "n = ") >= 20.0, "{out}");
    assert!(oracle > 0.1 && live >= 0.8 * oracle, "live {live} against the oracle's {oracle}:\n{out}");
    assert!(figure(&out, "the predictor vetoed") > 0.0, "{out}");
    // The backtester's veto calibration passed its gates and wrote a new threshold back.
    assert!(figure(&out, "predictor_params x") >= 1.0, "{out}");
    assert_ne!(figure(&out, "the veto threshold 0.60 ->"), 0.60, "{out}");
    // The ensemble's weights move toward the views that carry the planted reversal: the reversal
    // price agent itself and the predictor that learned it lead, and the agent's weight grew.
    let line = out.lines().find(|l| l.contains("ensemble: view weights")).unwrap_or_else(|| panic!("{out}"));
    let heaviest = line.split_once("graded days: ").unwrap().1;
    assert!(heaviest.starts_with("reversal +") || heaviest.starts_with("predictor +"), "{line}");
    assert!(figure(line, "->") > 0.2, "from no weight before any graded day: {line}");
}

/// One null market: the summary's verdict on it.
fn null_market_learned_nothing(seed: u64) -> (bool, String) {
    let work = tempfile::tempdir().unwrap();
    let out = demo(work.path(), "none", seed, 4);
    assert!(out.contains("no planted signal (the null market)"), "{out}");
    (out.contains("null market: nothing promoted and nothing written back"), out)
}

#[test]
fn on_the_null_market_nothing_is_promoted_and_nothing_is_written_back() {
    let (nothing, out) = null_market_learned_nothing(2);
    assert!(nothing, "{out}");
}

#[test]
#[ignore = "ten null markets: about ten minutes; run with --ignored"]
fn on_ten_null_markets_nothing_is_learned_in_at_least_nine() {
    let verdicts: Vec<(u64, bool)> = (1..=10).map(|seed| (seed, null_market_learned_nothing(seed).0)).collect();
    println!("null markets, seed and whether nothing was learned: {verdicts:?}");
    assert!(verdicts.iter().filter(|v| v.1).count() >= 9, "{verdicts:?}");
}
