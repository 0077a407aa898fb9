//! Our indicators and metrics against independent implementations on the real embedded data, to
//! 1e-9 relative: TA-Lib, pandas and `ta` for indicators; empyrical-reloaded, scipy and statsmodels
//! for metrics (and an independent block bootstrap for tail risk); statsmodels and numpy for the
//! factor risk model's regressions, covariance and specific variances; Python `jsonschema` for
//! the exported schemas.
//!
//! The oracles run in the Python venv that `.ci/setup` creates ([`ae_testkit::python`]). They are
//! part of the suite: without the venv these tests fail and say how to create it.

use std::path::Path;
use std::process::Command;

use ae_shared::contracts::{DocKind, export_schemas};
use ae_shared::indicators as ind;
use ae_shared::metrics as m;
use ae_shared::store::bars::DailyBars;
use ae_shared::store::{embedded_data_dir, import};
use serde_json::Value;

fn run(script: &str, args: &[&Path]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles").join(script);
    let out = Command::new(ae_testkit::python()).arg(&path).args(args).output().expect("run python");
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// |a − b| ≤ 1e-9 · max(|a|, |b|), with a 1e-12 absolute floor for values that cancel to ~0.
fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

fn compare(name: &str, ticker: &str, ours: &[f64], theirs: &Value) -> usize {
    let theirs = theirs.as_array().unwrap_or_else(|| panic!("{ticker} {name}: oracle missing"));
    assert_eq!(ours.len(), theirs.len(), "{ticker} {name}: length");
    let mut checked = 0;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        match b.as_f64() {
            None => assert!(a.is_nan(), "{ticker} {name}[{i}]: ours {a}, oracle undefined"),
            Some(b) => {
                assert!(agree(*a, b), "{ticker} {name}[{i}]: ours {a}, oracle {b} (rel {:e})", (a - b).abs() / b.abs());
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn indicators_match_ta_lib_pandas_and_ta_on_every_symbol() {
    let src = embedded_data_dir().join("sp500_2009_2010_ohlcv.csv.gz");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ind.json");
    run("indicators.py", &[&src, &out]);
    let oracle: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let (rows, _) = import::ohlcv_csv("bars", &import::read_gz_text(&src).unwrap()).unwrap();
    let (bars, _) = DailyBars::from_rows(rows);
    let mut checked = 0usize;
    for s in bars.iter() {
        let o = &oracle[s.ticker.as_str()];
        let (h, l, c, v) = (s.high, s.low, s.close, s.volume);
        let t = s.ticker.as_str();
        let macd = ind::macd(c, 12, 26, 9);
        let bb = ind::bollinger(c, 20, 2.0);
        let pairs: [(&str, Vec<f64>); 16] = [
            ("sma20", ind::sma(c, 20)),
            ("ema12", ind::ema(c, 12)),
            ("rsi14", ind::rsi(c, 14)),
            ("macd", macd.line),
            ("macd_signal", macd.signal),
            ("macd_hist", macd.hist),
            ("bb_upper", bb.upper),
            ("bb_middle", bb.middle),
            ("bb_lower", bb.lower),
            ("atr14", ind::atr(h, l, c, 14)),
            ("obv", ind::obv(c, v)),
            ("rvol20", ind::realized_vol(c, 20)),
            ("vwap14", ind::rolling_vwap(h, l, c, v, 14)),
            ("ret5", ind::pct_return(c, 5)),
            ("dist_high", ind::dist_from_high(h, c, 252, 20)),
            ("dist_low", ind::dist_from_low(l, c, 252, 20)),
        ];
        for (name, ours) in &pairs {
            checked += compare(name, t, ours, &o[*name]);
        }
        checked += compare("session_vwap", t, &ind::SessionVwap::series(c, v), &o["session_vwap"]);
    }
    println!("indicator oracle: {checked} values on {} symbols agree to 1e-9 relative", bars.n_tickers());
    assert!(checked > 1_500_000, "{checked}");
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn metrics_match_empyrical_scipy_and_statsmodels_on_real_series() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("metrics.json");
    let data = embedded_data_dir();
    run("metrics.py", &[&data.join("spx_index_1999_2018.csv.gz"), &data.join("sp500_2009_2010_ohlcv.csv.gz"), &out]);
    let o: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let check = |what: &str, ours: f64, theirs: &Value| {
        let t = theirs.as_f64().unwrap_or_else(|| panic!("{what}: oracle missing"));
        assert!(agree(ours, t), "{what}: ours {ours}, empyrical {t}");
    };
    for (name, bench) in [("spx_1999_2018", None), ("aapl_2009_2010", Some("spx_2009_2010"))] {
        let r = nums(&o["series"][name]);
        let v = &o["values"][name];
        check(&format!("{name} total_return"), m::total_return(&r), &v["total_return"]);
        check(&format!("{name} annual_return"), m::annual_return(&r), &v["annual_return"]);
        check(&format!("{name} annual_volatility"), m::annual_volatility(&r), &v["annual_volatility"]);
        check(&format!("{name} sharpe"), m::sharpe(&r, 0.0), &v["sharpe"]);
        check(&format!("{name} sharpe_rf"), m::sharpe(&r, 0.0001), &v["sharpe_rf"]);
        check(&format!("{name} sortino"), m::sortino(&r, 0.0), &v["sortino"]);
        check(&format!("{name} downside_risk"), m::downside_risk(&r, 0.0), &v["downside_risk"]);
        check(&format!("{name} max_drawdown"), m::max_drawdown(&r), &v["max_drawdown"]);
        check(&format!("{name} calmar"), m::calmar(&r), &v["calmar"]);
        check(&format!("{name} var_5"), m::value_at_risk(&r, 0.05), &v["var_5"]);
        check(&format!("{name} cvar_5"), m::conditional_value_at_risk(&r, 0.05), &v["cvar_5"]);
        if let Some(b) = bench {
            let (alpha, beta) = m::alpha_beta(&r, &nums(&o["series"][b]), 0.0);
            check(&format!("{name} alpha"), alpha, &v["alpha"]);
            check(&format!("{name} beta"), beta, &v["beta"]);
        }
    }
    let ic = &o["ic"];
    let mut rank_ics = Vec::new();
    for (i, x) in ic["inputs"].as_array().unwrap().iter().enumerate() {
        let (f, y) = (nums(&x["forecast"]), nums(&x["outcome"]));
        check(&format!("ic[{i}]"), m::ic(&f, &y), &ic["ic"][i]);
        let r = m::rank_ic(&f, &y);
        check(&format!("rank_ic[{i}]"), r, &ic["rank_ic"][i]);
        rank_ics.push(r);
    }
    assert!(rank_ics.len() >= 40);
    check("icir", m::icir(&rank_ics), &ic["icir_rank"]);
    for w in o["wilson"].as_array().unwrap() {
        let (k, n, conf) = (w["k"].as_u64().unwrap(), w["n"].as_u64().unwrap(), w["confidence"].as_f64().unwrap());
        let (lo, hi) = m::wilson_interval(k, n, conf);
        check(&format!("wilson {k}/{n} @{conf} lo"), lo, &w["lo"]);
        check(&format!("wilson {k}/{n} @{conf} hi"), hi, &w["hi"]);
    }
}

#[test]
fn exported_schemas_agree_with_an_independent_validator() {
    let dir = tempfile::tempdir().unwrap();
    export_schemas(dir.path()).unwrap();
    let write = |name: &str, v: &Value| std::fs::write(dir.path().join(name), serde_json::to_vec(v).unwrap()).unwrap();
    let fx = ae_testkit::fixtures::signals();
    write("signals.good.doc.json", &serde_json::to_value(&fx).unwrap());
    let mut bad = serde_json::to_value(&fx).unwrap();
    bad["universe"][0]["score"] = serde_json::json!(140);
    bad["universe"][1]["rating"] = serde_json::json!("BUY");
    bad["universe"][1]["score"] = Value::Null;
    write("signals.bad.doc.json", &bad);
    write("predictions.good.doc.json", &serde_json::to_value(ae_testkit::fixtures::predictions()).unwrap());
    write("order-book.good.doc.json", &serde_json::to_value(ae_testkit::fixtures::order_book()).unwrap());
    write("eod.good.doc.json", &serde_json::to_value(ae_testkit::fixtures::eod()).unwrap());
    let (_, exec, _, _) = ae_testkit::fixtures::params_docs();
    write("executor-params.good.doc.json", &serde_json::to_value(&exec).unwrap());
    let kill = ae_shared::contracts::kill_switch::KillSwitch::entries(
        "drawdown beyond 8%",
        chrono::DateTime::parse_from_rfc3339("2010-03-15T15:00:00Z").unwrap().to_utc(),
        ae_shared::contracts::kill_switch::SetBy::Breaker { rule: "DRAWDOWN_KILL".into() },
        "0.1.0",
    );
    write("kill-switch.good.doc.json", &serde_json::to_value(&kill).unwrap());
    let out: Value = serde_json::from_str(&run("schemas.py", &[dir.path()])).unwrap();
    for (doc, errors) in out.as_object().unwrap() {
        if doc.contains(".good.") {
            assert!(errors.as_array().unwrap().is_empty(), "{doc}: {errors}");
        }
    }
    let bad_errors: Vec<String> =
        out["signals.bad.doc.json"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect();
    assert_eq!(bad_errors.len(), 2, "{bad_errors:?}");
    assert!(bad_errors.iter().any(|e| e.contains("140")), "{bad_errors:?}");
    assert!(bad_errors.iter().any(|e| e.contains("None is not of type 'number'")), "{bad_errors:?}");
    assert_eq!(DocKind::ALL.len(), 11);
}

#[test]
fn the_block_bootstrap_and_its_tail_match_an_independent_draw_and_empyrical() {
    use ae_shared::tail_risk::{Bootstrap, Tail, block_bootstrap};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tail.json");
    run("tail_risk.py", &[&embedded_data_dir().join("spx_index_1999_2018.csv.gz"), &out]);
    let o: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let r = nums(&o["returns"]);
    for case in o["cases"].as_array().unwrap() {
        let n = |k: &str| case[k].as_u64().unwrap();
        let cfg = Bootstrap {
            paths: n("paths") as usize,
            horizon: n("horizon") as usize,
            block: n("block") as usize,
            seed: n("seed"),
        };
        let sample = block_bootstrap(&r, &cfg);
        for (i, (a, b)) in sample.iter().zip(nums(&case["first"])).enumerate() {
            assert!(agree(*a, b), "{cfg:?} path {i}: ours {a}, oracle {b}");
        }
        for (cutoff, var, cvar) in [(0.01, "var_1", "cvar_1"), (0.05, "var_5", "cvar_5")] {
            let t = Tail::of(&sample, cutoff);
            assert_eq!(t.n, cfg.paths);
            let (ov, oc) = (case[var].as_f64().unwrap(), case[cvar].as_f64().unwrap());
            assert!(agree(t.var, ov), "{cfg:?} {var}: ours {}, empyrical {ov}", t.var);
            assert!(agree(t.cvar, oc), "{cfg:?} {cvar}: ours {}, empyrical {oc}", t.cvar);
        }
    }
    for k in o["kupiec"].as_array().unwrap() {
        let (x, n, p) =
            (k["x"].as_u64().unwrap() as usize, k["n"].as_u64().unwrap() as usize, k["p"].as_f64().unwrap());
        let (lr, pv) = ae_shared::tail_risk::kupiec(x, n, p).unwrap();
        let (olr, opv) = (k["lr"].as_f64().unwrap(), k["pvalue"].as_f64().unwrap());
        assert!(agree(lr, olr) && agree(pv, opv), "kupiec({x}, {n}, {p}): ours ({lr}, {pv}), scipy ({olr}, {opv})");
    }
}

#[test]
fn the_factor_regression_matches_statsmodels_on_the_embedded_year() {
    use ae_shared::risk_model::{ModelParams, estimate};
    use ae_shared::store::risk_panel::RiskPanel;
    use ae_shared::store::{BENCHMARK_SYMBOL, splits};
    use serde_json::json;

    let data = embedded_data_dir();
    let (rows, _) =
        import::ohlcv_csv("bars", &import::read_gz_text(&data.join("sp500_2009_2010_ohlcv.csv.gz")).unwrap()).unwrap();
    let (raw, _) = DailyBars::from_rows(rows);
    let symbol = ae_shared::types::Ticker::new(BENCHMARK_SYMBOL).unwrap();
    let (spx, _) =
        import::index_csv("spx", &import::read_gz_text(&data.join("spx_index_1999_2018.csv.gz")).unwrap(), &symbol)
            .unwrap();
    let found = splits::detect(&raw, spx.get(BENCHMARK_SYMBOL), &ae_shared::config::Config::defaults().data.splits);
    let bars = splits::adjust(&raw, &found, None);
    let (sectors, _) =
        import::sectors_csv("sectors", &std::fs::read_to_string(data.join("sp500_sectors_2014.csv")).unwrap()).unwrap();
    let panel = RiskPanel::build(&bars, spx.series(0), &sectors);
    let params = ModelParams::default();
    let model = estimate(&panel.panel(), &params).unwrap();
    assert_eq!(model.n, 120, "every session of the window is fitted: skipped {:?}", model.skipped);
    // 442 of the 524 symbols have a sector; those with the history enter each regression.
    let used: Vec<usize> = model.days.iter().map(|d| d.names.len()).collect();
    assert!(used.iter().all(|n| *n > 400), "names per regression: {used:?}");

    let picked: Vec<&ae_shared::risk_model::DayFit> = model
        .days
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 8 == 0 || *i == model.days.len() - 1)
        .map(|(_, d)| d)
        .collect();
    let designs: Vec<_> = picked.iter().map(|d| d.design(model.n_sectors)).collect();
    let input = json!({
        "half_life": params.half_life,
        "sessions": model.sessions,
        "min_specific_obs": params.min_specific_obs,
        "n_names": panel.tickers.len(),
        "cases": picked.iter().zip(&designs).map(|(d, x)| json!({"session": d.session, "y": d.y, "x": x.columns})).collect::<Vec<_>>(),
        "days": model.days.iter().map(|d| json!({"session": d.session, "factor_returns": d.factor_returns, "names": d.names, "residuals": d.residuals})).collect::<Vec<_>>(),
    });
    let dir = tempfile::tempdir().unwrap();
    let (inp, out) = (dir.path().join("risk_in.json"), dir.path().join("risk_out.json"));
    std::fs::write(&inp, serde_json::to_vec(&input).unwrap()).unwrap();
    run("risk_model.py", &[&inp, &out]);
    let o: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();

    let mut checked = 0usize;
    assert_eq!(o["cases"].as_array().unwrap().len(), picked.len());
    for ((d, x), case) in picked.iter().zip(&designs).zip(o["cases"].as_array().unwrap()) {
        let s = d.session;
        assert_eq!(case["k_constant"], 1, "session {s}: statsmodels sees the dummies' implicit constant");
        assert_eq!(nums(&case["params"]).len(), x.factors.len(), "session {s}: one coefficient per column");
        for ((f, name), theirs) in x.factors.iter().map(|f| (f, &model.factor_names[*f])).zip(nums(&case["params"])) {
            let ours = d.factor_returns[*f];
            assert!(agree(ours, theirs), "session {s} {name}: ours {ours}, statsmodels {theirs}");
            checked += 1;
        }
        checked += compare("resid", &format!("session {s}"), &d.residuals, &case["resid"]);
        let r2 = case["rsquared"].as_f64().unwrap();
        assert!(agree(d.r2, r2), "session {s} R²: ours {}, statsmodels {r2}", d.r2);
    }
    for (i, row) in model.covariance.iter().enumerate() {
        checked += compare("covariance", &model.factor_names[i], row, &o["covariance"][i]);
    }
    let theirs = o["specific"].as_array().unwrap();
    for (i, (ours, t)) in model.specific_variance.iter().zip(theirs).enumerate() {
        if let Some(t) = t.as_f64() {
            assert!(agree(*ours, t), "{} specific variance: ours {ours}, numpy {t}", panel.tickers[i]);
            checked += 1;
        } else {
            assert!(model.specific_obs[i] < params.min_specific_obs);
        }
    }
    println!(
        "factor model oracle: {checked} values over {} sessions' regressions, the covariance and the specific variances agree to 1e-9 relative",
        picked.len()
    );
    assert!(checked > 7_000, "{checked}");
}
