//! Quant-only research on the embedded year: every Monday, no look-ahead, idempotent re-runs.

use std::collections::BTreeSet;
use std::io::Write;

use ae_research::run::{RunOptions, run};
use ae_shared::bus::{Bus, keys};
use ae_shared::calendar::trading_days_between;
use ae_shared::contracts::common::SignalAction;
use ae_shared::contracts::signals::{ResearchMode, Signals};
use ae_shared::store::{self, ImportFiles, embedded_data_dir, import};
use chrono::NaiveDate;

use crate::common::{bus, clock, clock_at, config, day};

#[tokio::test]
async fn every_monday_of_the_embedded_year_writes_valid_quant_only_signals() {
    let (dir, bus) = bus();
    let cfg = config(dir.path());
    let mondays: Vec<_> = trading_days_between(
        NaiveDate::from_ymd_opt(2009, 8, 24).unwrap(),
        NaiveDate::from_ymd_opt(2010, 8, 20).unwrap(),
    )
    .filter(|d| d.is_first_of_week())
    .collect();
    assert!(mondays.len() >= 50);
    let mut exits = 0;
    let mut max_tenure = 0;
    let mut ever_held: BTreeSet<String> = BTreeSet::new();
    for d in &mondays {
        let r =
            run(&bus, &cfg, clock(&d.to_string()), &RunOptions::new(*d)).await.unwrap_or_else(|e| panic!("{d}: {e:#}"));
        assert_eq!(r.mode, ResearchMode::QuantOnly);
        let s = bus.get_doc_required::<Signals>(&keys::signals(*d)).await.unwrap().doc;
        assert_eq!(s.mode, ResearchMode::QuantOnly);
        assert!(s.notes.iter().any(|n| n.starts_with("quant-only: no $ANTHROPIC_API_KEY")), "{d}: {:?}", s.notes);
        assert!(s.universe.iter().all(|e| e.sub_scores.qual.is_none()));
        assert!(s.population.len() <= 25);
        assert!(s.llm_regime.is_none());
        exits += s.universe.iter().filter(|e| e.signal == SignalAction::Exit).count();
        max_tenure = max_tenure.max(s.population.iter().map(|m| m.tenure_weeks).max().unwrap_or(0));
        ever_held.extend(s.population.iter().map(|m| m.ticker.to_string()));
        // Point in time: nothing in the population stopped trading before the run.
        for m in &s.population {
            assert!(
                !["WYE", "SGP", "XTO", "BNI"].contains(&m.ticker.as_str()) || *d <= day("2009-10-12"),
                "{d}: {} is stale",
                m.ticker
            );
        }
    }
    let latest = bus.get_doc_required::<Signals>(&keys::signals_latest()).await.unwrap().doc;
    assert_eq!(latest.date, *mondays.last().unwrap());
    assert!(exits > 0, "a year of rotation exits names");
    assert!(max_tenure >= 10, "some names stay for months (max tenure {max_tenure})");
    assert!(ever_held.len() > 25, "the population rotates ({} names held)", ever_held.len());
    // Each run left its brief in the outbox and its report on the bus.
    let outbox = std::fs::read_dir(dir.path().join("outbox")).unwrap().count();
    assert_eq!(outbox, mondays.len());
    assert!(bus.get(&keys::research_archive(mondays[10], "run.json")).await.unwrap().is_some());
}

/// Writes the embedded files with every price from `from` on multiplied by a factor per ticker.
fn poisoned_files(dir: &std::path::Path, from: NaiveDate) -> ImportFiles {
    let src = ImportFiles::embedded(&embedded_data_dir());
    let text = import::read_gz_text(&src.ohlcv).unwrap();
    let mut out = std::fs::File::create(dir.join("bars.csv")).unwrap();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        if i > 0 && NaiveDate::parse_from_str(cols[0], "%Y-%m-%d").unwrap() >= from {
            let f = 1.0 + (cols[1].len() as f64) * 0.37;
            let p = |s: &str| s.parse::<f64>().unwrap() * f;
            writeln!(
                out,
                "{},{},{},{},{},{},{}",
                cols[0],
                cols[1],
                p(cols[2]),
                p(cols[3]),
                p(cols[4]),
                p(cols[5]),
                cols[6].parse::<f64>().unwrap() * 3.0
            )
            .unwrap();
        } else {
            writeln!(out, "{line}").unwrap();
        }
    }
    let spx = import::read_gz_text(&src.benchmark).unwrap();
    let mut out = std::fs::File::create(dir.join("spx.csv")).unwrap();
    for (i, line) in spx.lines().enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        if i > 0 && NaiveDate::parse_from_str(cols[0], "%Y-%m-%d").unwrap() >= from {
            let p = |s: &str| s.parse::<f64>().unwrap() * 0.5;
            writeln!(
                out,
                "{},{},{},{},{},{},{}",
                cols[0],
                p(cols[1]),
                p(cols[2]),
                p(cols[3]),
                p(cols[4]),
                p(cols[5]),
                cols[6]
            )
            .unwrap();
        } else {
            writeln!(out, "{line}").unwrap();
        }
    }
    ImportFiles {
        ohlcv: dir.join("bars.csv"),
        benchmark: dir.join("spx.csv"),
        sectors: src.sectors,
        earnings: src.earnings,
    }
}

#[tokio::test]
async fn prices_after_the_run_date_cannot_change_the_signals() {
    let run_date = day("2010-03-15");
    let (dir, clean) = bus();
    let cfg = config(dir.path());
    let poisoned_dir = tempfile::tempdir().unwrap();
    let files = poisoned_files(poisoned_dir.path(), run_date.date());
    let poisoned = Bus::file(poisoned_dir.path().join("bus"));
    store::import_files(&poisoned, &files, &cfg.data, &clock_at("2010-08-23"), false).await.unwrap();
    // Two weeks of history on each bus so rotation and conviction are exercised too.
    for d in ["2010-03-01", "2010-03-08", "2010-03-15"] {
        run(&clean, &cfg, clock(d), &RunOptions::new(day(d))).await.unwrap();
        run(&poisoned, &cfg, clock(d), &RunOptions::new(day(d))).await.unwrap();
    }
    let a = clean.get(&keys::signals(run_date)).await.unwrap().unwrap().bytes;
    let b = poisoned.get(&keys::signals(run_date)).await.unwrap().unwrap().bytes;
    assert!(a == b, "signals differ when only prices after {run_date} changed");
    // And the poisoning was real: a later run sees different data.
    let later = day("2010-04-05");
    run(&clean, &cfg, clock("2010-04-05"), &RunOptions::new(later)).await.unwrap();
    run(&poisoned, &cfg, clock("2010-04-05"), &RunOptions::new(later)).await.unwrap();
    let a = clean.get(&keys::signals(later)).await.unwrap().unwrap().bytes;
    let b = poisoned.get(&keys::signals(later)).await.unwrap().unwrap().bytes;
    assert!(a != b);
}

#[tokio::test]
async fn a_rerun_is_a_no_op_and_a_dry_run_writes_nothing() {
    let (dir, bus) = bus();
    let cfg = config(dir.path());
    let d = day("2010-02-01");
    let mut opts = RunOptions::new(d);
    opts.dry_run = true;
    let r = run(&bus, &cfg, clock("2010-02-01"), &opts).await.unwrap();
    assert_eq!(r.published, "dry run: nothing written");
    assert!(bus.get(&keys::signals(d)).await.unwrap().is_none());
    assert!(!dir.path().join("outbox").exists());
    let first = run(&bus, &cfg, clock("2010-02-01"), &RunOptions::new(d)).await.unwrap();
    assert_eq!(first.published, "written");
    let again = run(&bus, &cfg, clock("2010-02-01"), &RunOptions::new(d)).await.unwrap();
    assert!(again.published.starts_with("unchanged"), "{}", again.published);
    assert_eq!(again.brief, "not sent again (signals unchanged)");
    assert_eq!(std::fs::read_dir(dir.path().join("outbox")).unwrap().count(), 1);
}

#[tokio::test]
async fn tuned_params_on_the_bus_are_used_and_invalid_ones_ignored_with_a_note() {
    let (dir, bus) = bus();
    let cfg = config(dir.path());
    let (_, _, _, mut research) = ae_testkit::fixtures::params_docs();
    research.params.population_size = 10;
    research.tuned = vec!["population_size".into()];
    let b = ae_shared::contracts::to_json_checked(&research).unwrap();
    bus.put(&keys::config("research_params"), b, ae_shared::bus::PutMode::Overwrite).await.unwrap();
    let d = day("2010-03-15");
    run(&bus, &cfg, clock("2010-03-15"), &RunOptions::new(d)).await.unwrap();
    let s = bus.get_doc_required::<Signals>(&keys::signals(d)).await.unwrap().doc;
    assert!(s.population.len() <= 10);
    assert!(s.produced_by.inputs.iter().any(|i| i.key == "config/research_params.json"));
    bus.put(&keys::config("research_params"), "{\"schema_version\": 1}", ae_shared::bus::PutMode::Overwrite)
        .await
        .unwrap();
    let d2 = day("2010-03-22");
    let r = run(&bus, &cfg, clock("2010-03-22"), &RunOptions::new(d2)).await.unwrap();
    assert!(
        r.notes.iter().any(|n| n.starts_with("config/research_params.json ignored (defaults used)")),
        "{:?}",
        r.notes
    );
}

#[test]
fn the_cli_runs_and_summarises() {
    let (dir, bus) = bus();
    let url = bus.url().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_research"))
        .args(["run", "--date", "2010-05-03", "--bus", &url])
        .env("ALPHA_ENGINE__MAIL__OUTBOX_DIR", dir.path().join("outbox"))
        .env_remove("ANTHROPIC_API_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("research 2010-05-03 (prices to 2010-04-30): QuantOnly"), "{text}");
    assert!(text.contains("note: quant-only"), "{text}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_research"))
        .args(["run", "--date", "2010-05-01", "--bus", &url])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2010-05-01 is not an NYSE trading day (weekend)"));
}
