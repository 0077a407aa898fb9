//! Every key on the bus is built here and nowhere else.
//!
//! Layout (relative to the bus prefix):
//!
//! | key | writer | what |
//! |---|---|---|
//! | `signals/{date}/signals.json`, `signals/latest.json` | research | weekly signals |
//! | `research/archive/{date}/brief.html`, `.../run.json` | research | the brief as mailed, the run report |
//! | `research/research.db` | research | the agents' answer cache |
//! | `predictor/models/{version}/model.txt`, `.../metadata.json` | predictor train | a trained model |
//! | `predictor/registry.json` | predictor train | champion pointer, written last |
//! | `predictor/cache/fits/{digest}.txt` | predictor train | a walk-forward fold's fitted model, by its inputs |
//! | `predictor/cache/oof/{digest}.bin` | predictor train | a kept fold's out-of-fold predictions, by its fit and test rows |
//! | `predictor/predictions/{date}.json`, `.../latest.json` | predictor infer | daily predictions |
//! | `predictor/metrics/{date}.json`, `.../latest.json` | predictor | model and freshness metrics |
//! | `executor/order_books/{date}.json` | executor plan | the day's order book |
//! | `executor/views/{date}.json` | executor plan | the morning's views per name (the ensemble's panel) |
//! | `executor/snapshots/{date}/{hhmmss}.json` | executor daemon | intraday state |
//! | `executor/eod/{date}.json` | executor eod | end-of-day report |
//! | `trades/trades_full.csv`, `trades/eod_pnl.csv` | executor eod | ledger backups |
//! | `config/{kind}.json`, `config/{kind}_previous.json`, `config/history/{date}/{kind}.json` | backtester | tuned params |
//! | `backtest/{date}/report.md`, `backtest/{date}/report.json` | backtester | weekly report |
//! | `backtest/{date}/sweep/manifest.json`, `.../sweep/shard-{i}-of-{n}.json` | backtester | a sweep fanned out in shards |
//! | `prices/manifest.json`, `prices/bars/{first}_{last}.parquet` | data import | daily bars (see `store`) |
//! | `prices/benchmark.parquet`, `prices/sectors.json`, `prices/earnings.parquet`, `prices/quality.json`, `prices/splits.json` | data import | reference data |
//! | `archive/{key}@{stamp}` | any writer with `--force` | the object a forced re-run replaced |
//!
//! Keys are checked in every build, not only in debug builds: a part that comes from a document
//! (a model version read from `predictor/registry.json`) goes through [`segment`] and its builder
//! returns [`BadKey`], so `../..`, absolute paths, backslashes, empty segments and control
//! characters never reach a store; every other builder takes only literals, trading days and stamps
//! this process formats, and [`Key`]'s internal constructor still refuses a bad result.

use std::fmt;

use crate::calendar::TradingDay;
use crate::contracts::DocKind;

/// A validated, prefix-relative object key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key:?} is not a valid bus key: {reason}")]
pub struct BadKey {
    /// The rejected text.
    pub key: String,
    /// Why.
    pub reason: &'static str,
}

impl Key {
    /// Checks user-supplied text (e.g. a key given on the command line).
    pub fn parse(s: &str) -> Result<Self, BadKey> {
        let bad = |reason| BadKey { key: s.to_string(), reason };
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        if s.starts_with('/') {
            return Err(bad("it must be relative to the bus prefix (no leading '/')"));
        }
        if s.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
            return Err(bad("empty, '.' or '..' path segments are not allowed"));
        }
        if s.chars().any(|c| c.is_control() || c == '\\') {
            return Err(bad("control characters and backslashes are not allowed"));
        }
        Ok(Self(s.to_string()))
    }

    /// For builders whose parts are literals, trading days and stamps this process formats. Checked
    /// in every build: a bad key is a bug here, and it must never reach a store (a file bus would
    /// resolve `..`), so it stops the job rather than reading or writing outside the bus.
    fn of(s: String) -> Self {
        if let Err(e) = Key::parse(&s) {
            panic!("the keys module built a bad key: {e}");
        }
        Self(s)
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment (`signals.json`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

/// Checks one path segment taken from data (a model version, a stamp, a file name) before it goes
/// into a key: non-empty, not `.` or `..`, no `/` or `\`, no control characters. In every build.
pub fn segment(s: &str) -> Result<&str, BadKey> {
    let bad = |reason| Err(BadKey { key: s.to_string(), reason });
    if s.is_empty() || s == "." || s == ".." {
        return bad("a key segment cannot be empty, '.' or '..'");
    }
    if s.contains('/') {
        return bad("a key segment cannot hold '/'");
    }
    if s.chars().any(|c| c.is_control() || c == '\\') {
        return bad("control characters and backslashes are not allowed");
    }
    Ok(s)
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Prefixes for listing.
pub mod prefix {
    /// The replay's kept research weeks.
    pub const KEPT_SIGNALS: &str = "backtest/cache/signals/";
    /// All dated signals.
    pub const SIGNALS: &str = "signals/";
    /// All predictions.
    pub const PREDICTIONS: &str = "predictor/predictions/";
    /// All models.
    pub const MODELS: &str = "predictor/models/";
    /// All order books.
    pub const ORDER_BOOKS: &str = "executor/order_books/";
    /// All EOD reports.
    pub const EOD: &str = "executor/eod/";
    /// All price chunks.
    pub const PRICE_BARS: &str = "prices/bars/";
    /// All backtest reports.
    pub const BACKTEST: &str = "backtest/";
}

/// `signals/{date}/signals.json`
pub fn signals(date: TradingDay) -> Key {
    Key::of(format!("signals/{date}/signals.json"))
}
/// `signals/latest.json`
pub fn signals_latest() -> Key {
    Key::of("signals/latest.json".into())
}
/// `research/archive/{date}/brief.html`
pub fn research_brief(date: TradingDay) -> Key {
    Key::of(format!("research/archive/{date}/brief.html"))
}
/// `research/archive/{date}/{name}` — other research artefacts (agent transcripts, factor tables).
pub fn research_archive(date: TradingDay, name: &str) -> Key {
    Key::of(format!("research/archive/{date}/{name}"))
}
/// `research/research.db` — the agents' answer cache (SQLite), synced by each research run.
pub fn research_db() -> Key {
    Key::of("research/research.db".into())
}
/// `predictor/models/{version}/{file}`. The version comes from documents (the registry), so it is
/// checked: a version that is not one key segment is refused.
pub fn predictor_model(version: &str, file: &'static str) -> Result<Key, BadKey> {
    Ok(Key::of(format!("predictor/models/{}/{file}", segment(version)?)))
}
/// `predictor/cache/fits/{digest}.txt` — a walk-forward fold's model (LightGBM's text), kept
/// under the digest of everything that decided it, so a later training with the same fold
/// inputs loads it instead of fitting it again. The digest is 32 bytes this process computed.
pub fn predictor_fit(digest: &[u8; 32]) -> Key {
    Key::of(format!("predictor/cache/fits/{}.txt", hex::encode(digest)))
}
/// `predictor/cache/oof/{digest}.bin` — a kept fold's out-of-fold predictions, under the digest
/// of its fit and its test rows ([`predictor_fit`]'s digest and the test sessions'), so a later
/// training that keeps the fold and tests it on the same rows reads them instead of predicting.
pub fn predictor_oof(digest: &[u8; 32]) -> Key {
    Key::of(format!("predictor/cache/oof/{}.bin", hex::encode(digest)))
}
/// `predictor/registry.json`
pub fn predictor_registry() -> Key {
    Key::of("predictor/registry.json".into())
}
/// `predictor/predictions/{date}.json`
pub fn predictions(date: TradingDay) -> Key {
    Key::of(format!("predictor/predictions/{date}.json"))
}
/// `predictor/predictions/latest.json`
pub fn predictions_latest() -> Key {
    Key::of("predictor/predictions/latest.json".into())
}
/// `predictor/metrics/{date}.json`
pub fn predictor_metrics(date: TradingDay) -> Key {
    Key::of(format!("predictor/metrics/{date}.json"))
}
/// `predictor/metrics/latest.json`
pub fn predictor_metrics_latest() -> Key {
    Key::of("predictor/metrics/latest.json".into())
}
/// `executor/order_books/{date}.json`
pub fn order_book(date: TradingDay) -> Key {
    Key::of(format!("executor/order_books/{date}.json"))
}
/// `executor/views/{date}.json` — the morning's views of every name research ranked (the
/// ensemble's panel), graded by later mornings.
pub fn view_panel(date: TradingDay) -> Key {
    Key::of(format!("executor/views/{date}.json"))
}
/// `executor/snapshots/{date}/{hhmmss}.json`
pub fn daemon_snapshot(date: TradingDay, hhmmss: &str) -> Key {
    Key::of(format!("executor/snapshots/{date}/{hhmmss}.json"))
}
/// `executor/kill_switch/history/{stamp}.json` — a cleared kill switch, with who cleared it and why.
pub fn kill_switch_history(stamp: &str) -> Key {
    Key::of(format!("executor/kill_switch/history/{stamp}.json"))
}
/// `alerts/{date}/{hhmmss}-{id}.json` — one alert raised (sent or suppressed as a duplicate).
pub fn alert(date: &str, hhmmss: &str, id: &str) -> Key {
    Key::of(format!("alerts/{date}/{hhmmss}-{id}.json"))
}
/// `alerts/state/{id}.json` — when an alert key was last sent (its dedup claim).
pub fn alert_state(id: &str) -> Key {
    Key::of(format!("alerts/state/{id}.json"))
}
/// `executor/kill_switch.json` — present: no new entries anywhere until an operator clears it.
pub fn kill_switch() -> Key {
    Key::of("executor/kill_switch.json".into())
}
/// `risk/{date}/risk_state.json`
pub fn risk_state(date: TradingDay) -> Key {
    Key::of(format!("risk/{date}/risk_state.json"))
}
/// `executor/eod/{date}.json`
pub fn eod(date: TradingDay) -> Key {
    Key::of(format!("executor/eod/{date}.json"))
}
/// `trades/trades_full.csv`
pub fn trades_full_csv() -> Key {
    Key::of("trades/trades_full.csv".into())
}
/// `trades/eod_pnl.csv`
pub fn eod_pnl_csv() -> Key {
    Key::of("trades/eod_pnl.csv".into())
}
/// `trades/archive/{stamp}/{file}` — portfolio reset archives.
pub fn trades_archive(stamp: &str, file: &str) -> Key {
    Key::of(format!("trades/archive/{stamp}/{file}"))
}
/// `config/{name}.json` (name: scoring_weights, executor_params, predictor_params, research_params)
pub fn config(name: &str) -> Key {
    Key::of(format!("config/{name}.json"))
}
/// `config/{name}_previous.json`
pub fn config_previous(name: &str) -> Key {
    Key::of(format!("config/{name}_previous.json"))
}
/// `config/history/{date}/{name}.json`
pub fn config_history(date: TradingDay, name: &str) -> Key {
    Key::of(format!("config/history/{date}/{name}.json"))
}
/// `backtest/{date}/{file}`
pub fn backtest(date: TradingDay, file: &str) -> Key {
    Key::of(format!("backtest/{date}/{file}"))
}
/// `backtest/{date}/sweep/manifest.json` — the shards of a sweep fanned out (one event each).
pub fn sweep_manifest(date: TradingDay) -> Key {
    Key::of(format!("backtest/{date}/sweep/manifest.json"))
}
/// `backtest/{date}/sweep/shard-{index}-of-{of}.json` — one shard's scored grid points.
pub fn sweep_shard(date: TradingDay, index: usize, of: usize) -> Key {
    Key::of(format!("backtest/{date}/sweep/shard-{index}-of-{of}.json"))
}
/// `backtest/cache/sweep-{index}-of-{of}.bin` — a sweep shard's simulation states after its
/// last run's last day, resumed by the next run when its first days are the same.
pub fn sweep_cache(index: usize, of: usize) -> Key {
    Key::of(format!("backtest/cache/sweep-{index}-of-{of}.bin"))
}
/// `backtest/cache/days/{digest}.bin` — a prepared backtest day, kept under the digest of what
/// it read.
pub fn prepared_day(digest: &[u8; 32]) -> Key {
    Key::of(format!("backtest/cache/days/{}.bin", hex::encode(digest)))
}
/// `backtest/cache/weeks/{digest}.bin` — a weekly table of the scoring-weight tuning, kept under
/// the digest of what it was built from.
pub fn weights_week(digest: &[u8; 32]) -> Key {
    Key::of(format!("backtest/cache/weeks/{}.bin", hex::encode(digest)))
}
/// `backtest/cache/signals/{digest}.json` — the signals of a research week the backtester's replay
/// backfilled, kept under the digest of what that research run read.
pub fn kept_signals(digest: &[u8; 32]) -> Key {
    Key::of(format!("{}{}.json", prefix::KEPT_SIGNALS, hex::encode(digest)))
}
/// `prices/manifest.json` — the price store's table of contents, written after its chunks.
pub fn prices_manifest() -> Key {
    Key::of("prices/manifest.json".into())
}
/// `prices/bars/{first}_{last}.parquet` — an immutable chunk of daily bars.
pub fn price_chunk(first: TradingDay, last: TradingDay) -> Key {
    Key::of(format!("prices/bars/{first}_{last}.parquet"))
}
/// `prices/bars/history/{day}_{first}_{last}.parquet` — the history of names that entered the
/// universe on `day` (an immutable chunk, committed with the day's).
pub fn price_history_chunk(day: TradingDay, first: TradingDay, last: TradingDay) -> Key {
    Key::of(format!("prices/bars/history/{day}_{first}_{last}.parquet"))
}
/// `prices/benchmark.parquet` — the benchmark's daily bars (S&P 500 index in the embedded data).
pub fn benchmark() -> Key {
    Key::of("prices/benchmark.parquet".into())
}
/// `prices/sectors.json`
pub fn sectors() -> Key {
    Key::of("prices/sectors.json".into())
}
/// `prices/earnings.parquet`
pub fn earnings() -> Key {
    Key::of("prices/earnings.parquet".into())
}
/// `prices/quality.json` — data-quality scores and governance status per symbol.
pub fn quality() -> Key {
    Key::of("prices/quality.json".into())
}
/// `prices/splits.json` — a report of the splits the manifest commits (the manifest is what load
/// applies).
pub fn splits() -> Key {
    Key::of("prices/splits.json".into())
}
/// `prices/benchmark_etf.parquet` — the benchmark ETF's daily bars (SPY), from the nightly update.
pub fn benchmark_etf() -> Key {
    Key::of("prices/benchmark_etf.parquet".into())
}
/// `prices/dividends.json` — cash dividends by symbol and ex-date.
pub fn dividends() -> Key {
    Key::of("prices/dividends.json".into())
}
/// `prices/universe.json` — the S&P 500 + 400 members with every addition and removal.
pub fn universe() -> Key {
    Key::of("prices/universe.json".into())
}
/// `prices/freshness.json` — each datum's last date and bound, from the nightly update.
pub fn freshness() -> Key {
    Key::of("prices/freshness.json".into())
}
/// `prices/vendor_splits.json` — the splits the vendor announced (checked against the detected ones).
pub fn vendor_splits() -> Key {
    Key::of("prices/vendor_splits.json".into())
}
/// `prices/macro/{series}.json` — a macro series (FRED), point in time by observation date.
pub fn macro_series(series: &str) -> Result<Key, BadKey> {
    Ok(Key::of(format!("prices/macro/{}.json", segment(series)?)))
}
/// `archive/{key}@{stamp}` — where a forced re-run keeps the object it replaced.
pub fn archived(key: &Key, stamp: &str) -> Key {
    Key::of(format!("archive/{}@{stamp}", key.as_str()))
}

/// The trading day a dated key is about: the inverse of the dated builders ([`signals`],
/// [`research_brief`], [`research_archive`], [`predictions`], [`predictor_metrics`], [`order_book`], [`view_panel`],
/// [`daemon_snapshot`], [`eod`], [`alert`], [`config_history`], [`backtest`] and the day of
/// [`price_history_chunk`]). `None` for every other key (`latest` pointers, undated objects, price
/// chunks, which cover a range of days).
pub fn date_of(key: &Key) -> Option<TradingDay> {
    let segments: Vec<&str> = key.as_str().split('/').collect();
    let day = match segments.as_slice() {
        ["signals", day, "signals.json"]
        | ["research", "archive", day, _]
        | ["executor", "snapshots", day, _]
        | ["alerts", day, _]
        | ["config", "history", day, _]
        | ["backtest", day, _]
        | ["risk", day, "risk_state.json"] => *day,
        ["predictor", "predictions" | "metrics", file] | ["executor", "order_books" | "eod" | "views", file] => {
            file.strip_suffix(".json")?
        }
        ["prices", "bars", "history", file] => file.split('_').next()?,
        _ => return None,
    };
    TradingDay::parse(day).ok()
}

/// The contract a key holds, by its place on the bus (`None`: not a contract document — a report,
/// a price chunk, an alert). The inverse of the contract documents' builders above.
pub fn contract_kind(key: &Key) -> Option<DocKind> {
    let segments: Vec<&str> = key.as_str().split('/').collect();
    Some(match segments.as_slice() {
        ["signals", _, "signals.json"] | ["signals", "latest.json"] => DocKind::Signals,
        ["predictor", "predictions", _] => DocKind::Predictions,
        ["predictor", "metrics", _] | ["predictor", "models", _, "metrics.json"] => DocKind::PredictorMetrics,
        ["executor", "order_books", _] => DocKind::OrderBook,
        ["executor", "eod", _] => DocKind::Eod,
        ["executor", "kill_switch.json"] => DocKind::KillSwitch,
        ["risk", _, "risk_state.json"] => DocKind::RiskState,
        ["config", file] | ["config", "history", _, file] => {
            match file.strip_suffix(".json")?.trim_end_matches("_previous") {
                "scoring_weights" => DocKind::ScoringWeights,
                "executor_params" => DocKind::ExecutorParams,
                "predictor_params" => DocKind::PredictorParams,
                "research_params" => DocKind::ResearchParams,
                _ => return None,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_are_recognised_by_their_keys() {
        let d = TradingDay::parse("2010-03-31").unwrap();
        let cases = [
            (eod(d).to_string(), Some(DocKind::Eod)),
            (order_book(d).to_string(), Some(DocKind::OrderBook)),
            (risk_state(d).to_string(), Some(DocKind::RiskState)),
            (signals(d).to_string(), Some(DocKind::Signals)),
            (signals_latest().to_string(), Some(DocKind::Signals)),
            (predictions(d).to_string(), Some(DocKind::Predictions)),
            (predictor_metrics_latest().to_string(), Some(DocKind::PredictorMetrics)),
            ("predictor/models/gbm-2010-03-01-825b49da/metrics.json".into(), Some(DocKind::PredictorMetrics)),
            (kill_switch().to_string(), Some(DocKind::KillSwitch)),
            (config_history(d, "scoring_weights").to_string(), Some(DocKind::ScoringWeights)),
            (config_previous("executor_params").to_string(), Some(DocKind::ExecutorParams)),
            (config("research_params").to_string(), Some(DocKind::ResearchParams)),
            (backtest(d, "report.json").to_string(), None),
            (predictor_model("gbm-x", "metadata.json").unwrap().to_string(), None),
            ("signals/2010-03-31/brief.html".into(), None),
        ];
        for (key, want) in cases {
            assert_eq!(contract_kind(&Key::parse(&key).unwrap()), want, "{key}");
        }
    }

    #[test]
    fn builds_dated_keys() {
        let d = TradingDay::parse("2010-03-15").unwrap();
        assert_eq!(signals(d).as_str(), "signals/2010-03-15/signals.json");
        assert_eq!(predictions(d).as_str(), "predictor/predictions/2010-03-15.json");
        assert_eq!(order_book(d).as_str(), "executor/order_books/2010-03-15.json");
        assert_eq!(date_of(&view_panel(d)), Some(d));
        assert_eq!(
            archived(&signals(d), "20100315T101500Z").as_str(),
            "archive/signals/2010-03-15/signals.json@20100315T101500Z"
        );
        assert_eq!(price_chunk(d, d.next()).file_name(), "2010-03-15_2010-03-16.parquet");
    }

    #[test]
    fn a_model_version_that_is_not_one_segment_is_refused_in_every_build() {
        // (version, accepted) — the check is a real check, not a debug assertion.
        let cases = [
            ("gbm-2010-03-15-3f2a9c", true), // TC1: what train writes
            ("../../etc", false),            // TC2: escapes a file bus
            ("..", false),                   // TC3: the parent itself
            (".", false),                    // TC4: the directory itself
            ("", false),                     // TC5: empty segment
            ("/etc", false),                 // TC6: absolute
            ("a/b", false),                  // TC7: two segments
            ("..\\..\\windows", false),      // TC8: backslashes
            ("gbm\n2010", false),            // TC9: control character
            ("gbm\u{7f}", false),            // TC10: DEL is a control character
        ];
        for (version, ok) in cases {
            let got = predictor_model(version, "model.txt");
            assert_eq!(got.is_ok(), ok, "{version:?}: {got:?}");
        }
        assert_eq!(predictor_model("gbm-1", "model.txt").unwrap().as_str(), "predictor/models/gbm-1/model.txt");
        let e = predictor_model("../../etc", "model.txt").unwrap_err();
        assert_eq!(e.to_string(), "\"../../etc\" is not a valid bus key: a key segment cannot hold '/'");
    }

    #[test]
    #[should_panic(expected = "the keys module built a bad key")]
    fn a_builder_never_returns_a_bad_key() {
        let _ = research_archive(TradingDay::parse("2010-03-15").unwrap(), "../escape");
    }

    #[test]
    fn refuses_escaping_or_odd_keys() {
        for bad in ["", "/abs", "a//b", "../x", "a/./b", "a\\b", "a/\n"] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Key::parse("signals/latest.json").is_ok());
    }

    #[test]
    fn date_of_inverts_every_dated_builder() {
        let d = TradingDay::parse("2010-03-15").unwrap();
        let text = d.to_string();
        // (builder, key) — one row per dated key builder.
        let cases = [
            ("signals", signals(d)),
            ("research_brief", research_brief(d)),
            ("research_archive", research_archive(d, "run.json")),
            ("predictions", predictions(d)),
            ("predictor_metrics", predictor_metrics(d)),
            ("order_book", order_book(d)),
            ("daemon_snapshot", daemon_snapshot(d, "101500")),
            ("eod", eod(d)),
            ("risk_state", risk_state(d)),
            ("alert", alert(&text, "101500", "kill-switch")),
            ("config_history", config_history(d, "research_params")),
            ("backtest", backtest(d, "report.json")),
            ("price_history_chunk", price_history_chunk(d, d.prev(), d.next())),
        ];
        for (builder, key) in cases {
            assert_eq!(date_of(&key), Some(d), "{builder}: {key}");
        }
    }

    #[test]
    fn date_of_undated_keys_is_none() {
        let d = TradingDay::parse("2010-03-15").unwrap();
        for key in [
            signals_latest(),
            predictions_latest(),
            predictor_metrics_latest(),
            alert_state("kill-switch"),
            kill_switch(),
            config("research_params"),
            prices_manifest(),
            price_chunk(d, d.next()),
            archived(&signals(d), "20100315T101500Z"),
        ] {
            assert_eq!(date_of(&key), None, "{key}");
        }
    }
}
