//! Integration tests of the predictor: a planted signal is learned, a null market is refused, the
//! registry keeps its champion honest, inference writes valid predictions on simulated and real
//! data, the model text agrees with Python LightGBM, and the binary fits AWS Lambda.

mod binary;

use std::sync::Arc;

use ae_predictor::features::NF;
use ae_predictor::infer::{InferOptions, infer};
use ae_predictor::registry;
use ae_predictor::train::{self, TrainOptions, TrainReport, train};
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::contracts::common::Direction;
use ae_shared::contracts::predictions::Predictions;
use ae_shared::contracts::predictor_metrics::PredictorMetrics;
use ae_shared::sim::{SimConfig, SimMarket, generate};
use ae_shared::store::{self, ImportFiles, embedded_data_dir};

fn clock(day: TradingDay) -> Arc<dyn Clock> {
    Arc::new(SimulatedClock::at_et(day, chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap()))
}

async fn sim_bus(m: &SimMarket) -> (tempfile::TempDir, Bus) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path());
    m.write_to(&bus, &Config::defaults().data, clock(*m.sessions.last().unwrap()).as_ref()).await.unwrap();
    (dir, bus)
}

async fn train_on(bus: &Bus, cfg: &Config, day: TradingDay) -> TrainReport {
    train(bus, cfg, clock(day), &TrainOptions { date: day, dry_run: false }).await.unwrap()
}

#[tokio::test]
async fn a_planted_signal_is_learned_to_at_least_80_percent_of_its_oracle_ic() {
    let m = generate(&SimConfig::new(150, 600, 0.4, 11));
    let (_d, bus) = sim_bus(&m).await;
    let cfg = Config::defaults();
    let day = *m.sessions.last().unwrap();
    let r = train_on(&bus, &cfg, day).await;
    let from = m.sessions.binary_search(&r.walk_forward[0].test_start).unwrap();
    let to = m.sessions.binary_search(&r.walk_forward.last().unwrap().test_end).unwrap() + 1;
    let oracle = m.oracle_rank_ic(from, to);
    println!(
        "planted: OOS rank IC {:.4} vs oracle {:.4} over {} folds; gates {:?}",
        r.summary.mean_rank_ic,
        oracle,
        r.walk_forward.len(),
        r.gates
    );
    assert!(oracle > 0.1, "the planted signal is real ({oracle})");
    assert!(r.summary.mean_rank_ic >= 0.8 * oracle, "OOS rank IC {} < 0.8 x oracle {oracle}", r.summary.mean_rank_ic);
    assert!(r.promoted, "{:?}", r.gates);
    let (reg, _, _) = registry::load(&bus).await.unwrap();
    assert_eq!(reg.champion.as_deref(), Some(r.version.as_str()));
    // The model's own metrics document is valid and says it was promoted.
    let doc = bus
        .get_doc_required::<PredictorMetrics>(&keys::predictor_model(&r.version, "metrics.json").unwrap())
        .await
        .unwrap()
        .doc;
    assert!(doc.promoted && doc.walk_forward.len() == r.walk_forward.len());
    // 600 sessions are more than the rolling window: the final model trained on the newest
    // `max_train_days` labelled sessions (the last of them a label horizon before the training day).
    let window = cfg.predictor.walk_forward.max_train_days as usize;
    let key = keys::predictor_model(&r.version, "metadata.json").unwrap();
    let (first, last) = bus.get_json::<registry::ModelMeta>(&key).await.unwrap().unwrap().0.sessions;
    let at = |d: TradingDay| m.sessions.binary_search(&d).unwrap();
    assert_eq!(at(last) + 1 - at(first), window, "the final model's window: {first}..{last}");
    assert!(at(last) + 10 >= m.sessions.len(), "the newest labelled sessions: {last}");
    assert!(r.training_rows <= (window * 150) as u64 && r.training_rows > (window * 140) as u64, "{}", r.training_rows);
    // Deterministic given the seed: a second run gives the same figures, now from the fits the
    // first one kept on the bus.
    assert_eq!((r.folds_kept, r.predictions_kept), (0, 0));
    let again = train(&bus, &cfg, clock(day), &TrainOptions { date: day, dry_run: true }).await.unwrap();
    assert_eq!(again.folds_kept as usize, r.walk_forward.len());
    assert_eq!(again.predictions_kept as usize, r.walk_forward.len(), "the same folds on the same rows");
    assert_eq!((again.summary, again.walk_forward, again.iterations), (r.summary, r.walk_forward, r.iterations));
}

#[tokio::test]
async fn a_week_later_only_new_folds_are_fitted_and_the_figures_equal_a_cold_run() {
    let m = generate(&SimConfig::new(100, 500, 0.4, 7));
    let cfg = Config::defaults();
    let n = m.sessions.len();
    let (_d, bus) = sim_bus(&m).await;
    let (week1, week2) = (m.sessions[n - 6], m.sessions[n - 1]);
    let first = train_on(&bus, &cfg, week1).await;
    assert_eq!(first.folds_kept, 0, "nothing was kept before");
    let warm = train_on(&bus, &cfg, week2).await;
    let (_d2, cold_bus) = sim_bus(&m).await;
    let cold = train(&cold_bus, &cfg, clock(week2), &TrainOptions { date: week2, dry_run: true }).await.unwrap();
    println!("kept {} of {} folds a week later", warm.folds_kept, warm.walk_forward.len());
    assert!(warm.folds_kept as usize >= warm.walk_forward.len() - 1 && warm.folds_kept > 0, "{}", warm.folds_kept);
    println!("kept the predictions of {} of {} folds a week later", warm.predictions_kept, warm.walk_forward.len());
    assert!(warm.predictions_kept > 0 && warm.predictions_kept <= warm.folds_kept, "{}", warm.predictions_kept);
    assert_eq!(cold.folds_kept, 0);
    assert_eq!(
        (&warm.summary, &warm.walk_forward, warm.iterations, warm.training_rows, warm.ece),
        (&cold.summary, &cold.walk_forward, cold.iterations, cold.training_rows, cold.ece),
        "a run that keeps fits reports what a cold run reports"
    );
    // Kept predictions that cannot be read (or are for other rows) are predicted again.
    let oof = bus.list("predictor/cache/oof/").await.unwrap();
    assert!(!oof.is_empty());
    for (k, f) in oof.iter().enumerate() {
        let bytes: Vec<u8> =
            if k % 2 == 0 { b"not predictions".to_vec() } else { ae_predictor::fits::encode_predictions(&[0.5; 3]) };
        bus.put(&f.key, bytes, ae_shared::bus::PutMode::Overwrite).await.unwrap();
    }
    let predicted = train(&bus, &cfg, clock(week2), &TrainOptions { date: week2, dry_run: true }).await.unwrap();
    assert_eq!(predicted.predictions_kept, 0);
    assert_eq!((&predicted.summary, &predicted.walk_forward), (&cold.summary, &cold.walk_forward));
    // A kept fit that is not a model is fitted again, with the same figures.
    let fits = bus.list("predictor/cache/fits/").await.unwrap();
    assert!(!fits.is_empty());
    for f in &fits {
        bus.put(&f.key, b"not a model".to_vec(), ae_shared::bus::PutMode::Overwrite).await.unwrap();
    }
    let refit = train(&bus, &cfg, clock(week2), &TrainOptions { date: week2, dry_run: true }).await.unwrap();
    assert_eq!(refit.folds_kept, 0);
    assert_eq!((&refit.summary, &refit.walk_forward), (&cold.summary, &cold.walk_forward));
    // A training that writes repairs them: the next one keeps every fold again.
    train_on(&bus, &cfg, week2).await;
    let repaired = train(&bus, &cfg, clock(week2), &TrainOptions { date: week2, dry_run: true }).await.unwrap();
    assert_eq!(repaired.folds_kept as usize, repaired.walk_forward.len());
    assert_eq!(repaired.summary, cold.summary);
}

#[tokio::test]
async fn the_gate_refuses_a_null_market() {
    for seed in [1u64, 2, 3] {
        let m = generate(&SimConfig::new(150, 600, 0.0, seed));
        let (_d, bus) = sim_bus(&m).await;
        let r = train_on(&bus, &Config::defaults(), *m.sessions.last().unwrap()).await;
        assert!(!r.promoted, "seed {seed}: a null market was promoted: {:?}", r.gates);
        let (reg, _, _) = registry::load(&bus).await.unwrap();
        assert_eq!(reg.champion, None);
        assert_eq!(reg.models.len(), 1);
        assert!(reg.models[0].reason.starts_with("refused:"), "{}", reg.models[0].reason);
        // A refused model would never serve, so it is not fitted: its validation and metrics are
        // kept, with no model text and no importance.
        assert_eq!(r.iterations, 0, "seed {seed}");
        assert!(r.published.ends_with("(refused, so not fitted)"), "{}", r.published);
        let key = |f| keys::predictor_model(&r.version, f).unwrap();
        assert!(bus.get(&key("model.txt")).await.unwrap().is_none(), "seed {seed}");
        let metrics = bus.get_doc_required::<PredictorMetrics>(&key("metrics.json")).await.unwrap().doc;
        assert!(!metrics.promoted && metrics.feature_importance.is_empty() && metrics.walk_forward.len() >= 2);
        let meta = bus.get_json::<registry::ModelMeta>(&key("metadata.json")).await.unwrap().unwrap().0;
        assert_eq!((meta.iterations, meta.promoted), (0, false));
    }
}

#[tokio::test]
async fn a_challenger_must_beat_the_champion_and_inference_uses_the_champion() {
    let m = generate(&SimConfig::new(120, 520, 0.4, 5));
    let (_d, bus) = sim_bus(&m).await;
    let cfg = Config::defaults();
    let champion_day = m.sessions[480];
    let first = train_on(&bus, &cfg, champion_day).await;
    assert!(first.promoted, "{:?}", first.gates);
    // A much weaker challenger (tiny trees, few rounds) cannot displace it.
    let mut weak = cfg.clone();
    weak.predictor.gbm.num_leaves = 2;
    weak.predictor.gbm.learning_rate = 0.001;
    let day = *m.sessions.last().unwrap();
    let second = train_on(&bus, &weak, day).await;
    let beat = second.gates.iter().find(|g| g.name == "beats_champion").expect("gate present");
    assert!(!beat.passed || second.summary.median_ic >= first.summary.median_ic);
    let (reg, _, _) = registry::load(&bus).await.unwrap();
    assert_eq!(reg.models.len(), 2);
    let champion = reg.champion.clone().unwrap();

    let r = infer(&bus, &cfg, clock(day), &InferOptions { date: day, dry_run: false, force: false }).await.unwrap();
    let excluded = bus.get_doc_required::<Predictions>(&keys::predictions(day)).await.unwrap().doc.excluded;
    println!("excluded: {excluded:?}");
    assert_eq!(r.model_version, champion);
    assert_eq!(r.predicted + excluded.len(), 120, "every name is predicted or excluded with a reason");
    assert!(excluded.iter().all(|x| x.reason.starts_with("Degraded: EXTREME_SPIKE")), "{excluded:?}");
    let p = bus.get_doc_required::<Predictions>(&keys::predictions(day)).await.unwrap().doc;
    assert_eq!(p.entries.len(), r.predicted);
    assert_eq!(p.horizon_days, 5);
    assert!(p.label.starts_with("forward 5-session log return minus the equal-weight mean"));
    for e in &p.entries {
        assert_eq!(e.predicted_direction == Direction::Up, e.p_up.get() >= 0.5);
        assert!((e.confidence.get() - (e.p_up.get() - 0.5).abs() * 2.0).abs() < 1e-9);
        assert!(!e.gbm_veto || (e.predicted_direction == Direction::Down && e.confidence >= p.veto_threshold));
    }
    assert!(p.entries.windows(2).all(|w| w[0].predicted_alpha >= w[1].predicted_alpha && w[0].rank + 1 == w[1].rank));
    let metrics = bus.get_doc_required::<PredictorMetrics>(&keys::predictor_metrics_latest()).await.unwrap().doc;
    assert_eq!(metrics.model_version, champion);
    assert_eq!(metrics.price_freshness.unwrap().n_stale, 0);
}

#[tokio::test]
async fn live_ic_appears_once_outcomes_exist() {
    let m = generate(&SimConfig::new(100, 420, 0.5, 9));
    let (_d, bus) = sim_bus(&m).await;
    let cfg = Config::defaults();
    let t0 = m.sessions.len() - 30;
    let r = train_on(&bus, &cfg, m.sessions[t0]).await;
    assert!(r.promoted, "{:?}", r.gates);
    for k in t0..m.sessions.len() {
        let day = m.sessions[k];
        let rep =
            infer(&bus, &cfg, clock(day), &InferOptions { date: day, dry_run: false, force: false }).await.unwrap();
        if k < t0 + 5 {
            assert!(rep.live.is_none(), "no outcome is known yet on day {}", k - t0);
        }
    }
    let metrics = bus.get_doc_required::<PredictorMetrics>(&keys::predictor_metrics_latest()).await.unwrap().doc;
    let live = metrics.live.expect("outcomes of earlier predictions are known");
    assert!(live.window_days >= 15 && live.n > 1000, "{live:?}");
    assert!(live.rank_ic > 0.0, "the planted signal shows in live IC: {live:?}");
}

#[tokio::test]
async fn a_registry_naming_a_model_outside_the_bus_is_refused_with_its_location() {
    // The check is a real one, in every build (not a debug assertion): a release build refuses too.
    let cases = [
        // (champion, why) — TC1: the example; TC2: out of a file bus's root, where a planted
        // model waits; TC3: absolute; TC4: a backslash; TC5: empty.
        ("../../etc", "a key segment cannot hold '/'"),
        ("../../../outside", "a key segment cannot hold '/'"),
        ("/etc", "a key segment cannot hold '/'"),
        ("..\\..\\etc", "control characters and backslashes are not allowed"),
        ("", "a key segment cannot be empty, '.' or '..'"),
    ];
    for (champion, why) in cases {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::file(dir.path().join("bus"));
        // Where `predictor/models/../../../outside/` lands on this file bus: something to read.
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/model.txt"), "not a model").unwrap();
        let doc = serde_json::json!({
            "schema_version": 1,
            "champion": champion,
            "models": [{"version": champion, "trained_at": "2010-03-12", "median_ic": 0.05, "promoted": true, "reason": "planted"}]
        });
        bus.put_json(&keys::predictor_registry(), &doc, ae_shared::bus::PutMode::Overwrite).await.unwrap();

        let err = registry::load(&bus).await.unwrap_err().to_string();
        let quoted = format!("{champion:?}");
        for want in [
            "predictor/registry.json: invalid document".to_string(),
            format!("champion: {quoted} is not a model version: {why}"),
            format!("models[0].version: {quoted} is not a model version: {why}"),
        ] {
            assert!(err.contains(&want), "{champion:?}: no {want:?} in\n{err}");
        }
        let day = TradingDay::parse("2010-03-15").unwrap();
        let cfg = Config::defaults();
        let err = infer(&bus, &cfg, clock(day), &InferOptions { date: day, dry_run: false, force: false })
            .await
            .map(|_| ())
            .unwrap_err();
        assert!(format!("{err:#}").contains("is not a model version"), "{champion:?}: {err:#}");
        let err = registry::load_model(&bus, champion).await.map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("cannot be read from the bus") && err.contains(why), "{champion:?}: {err}");
    }
}

fn permissive(cfg: &mut Config) {
    cfg.predictor.gate.min_median_ic = -1.0;
    cfg.predictor.gate.min_icir = -10.0;
    cfg.predictor.gate.min_hit_rate = ae_shared::Fraction::new(0.0).unwrap();
    cfg.predictor.gate.min_positive_fold_share = ae_shared::Fraction::new(0.0).unwrap();
}

#[tokio::test]
async fn on_the_embedded_year_train_then_infer_write_a_valid_registry_and_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::file(dir.path());
    let mut cfg = Config::defaults();
    let day = TradingDay::parse("2010-06-14").unwrap();
    store::import_files(&bus, &ImportFiles::embedded(&embedded_data_dir()), &cfg.data, clock(day).as_ref(), false)
        .await
        .unwrap();
    // With the default gate the embedded year's model is refused (no reliable signal in one year).
    let honest = train(&bus, &cfg, clock(day), &TrainOptions { date: day, dry_run: true }).await.unwrap();
    println!(
        "embedded year: median IC {:.4}, ICIR {:.2}, hit rate {:.3}, promoted {}",
        honest.summary.median_ic,
        honest.summary.icir,
        honest.summary.hit_rate.get(),
        honest.promoted
    );
    let none =
        infer(&bus, &cfg, clock(day), &InferOptions { date: day, dry_run: true, force: false }).await.unwrap_err();
    assert!(none.to_string().contains("no champion model"), "{none}");
    permissive(&mut cfg);
    let r = train_on(&bus, &cfg, day).await;
    assert!(r.promoted);
    let next = day.next();
    let rep = infer(&bus, &cfg, clock(next), &InferOptions { date: next, dry_run: false, force: false }).await.unwrap();
    assert!(rep.predicted > 380, "{rep:?}");
    let p = bus.get_doc_required::<Predictions>(&keys::predictions_latest()).await.unwrap().doc;
    assert_eq!(p.date, next);
    // Names with data defects or stale prices are left out with a reason.
    let reasons: Vec<&str> = p.excluded.iter().map(|x| x.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("Degraded: OHLC_INCONSISTENT") || r.starts_with("Degraded: EXTREME_SPIKE")),
        "{reasons:?}"
    );
    assert!(!p.entries.iter().any(|e| e.ticker.as_str() == "WYE"));
    assert!(p.entries.iter().all(|e| e.price_data_age_days <= 2));

    // The source has no rows for 2010-08-18: the next morning predicts from 2010-08-17, and every
    // prediction says its prices are two sessions old.
    let after_hole = TradingDay::parse("2010-08-19").unwrap();
    let opts = InferOptions { date: after_hole, dry_run: false, force: false };
    let rep = infer(&bus, &cfg, clock(after_hole), &opts).await.unwrap();
    assert!(rep.predicted > 380, "{rep:?}");
    let p = bus.get_doc_required::<Predictions>(&keys::predictions(after_hole)).await.unwrap().doc;
    assert!(p.entries.iter().all(|e| e.price_data_age_days == 2), "{:?}", &p.entries[..3]);
}

#[tokio::test]
async fn python_lightgbm_loads_the_model_text_and_predicts_the_same() {
    let m = generate(&SimConfig::new(80, 400, 0.4, 21));
    let (_d, bus) = sim_bus(&m).await;
    let mut cfg = Config::defaults();
    permissive(&mut cfg);
    let day = *m.sessions.last().unwrap();
    let r = train_on(&bus, &cfg, day).await;
    let loaded = registry::load_model(&bus, &r.version).await.unwrap();
    // A slice of real feature rows, with their missing values.
    let store = ae_shared::store::PriceStore::load(&bus).await.unwrap();
    let bars = store.adjusted_as_of(day);
    let fs = ae_predictor::features::compute_from_store(&store, &bars, None);
    let rows: Vec<(usize, usize)> =
        (100..400).step_by(37).flat_map(|t| (0..80).step_by(7).map(move |n| (t, n))).collect();
    let x: Vec<f32> = rows.iter().flat_map(|(t, n)| fs.row(*t, *n).iter().copied()).collect();
    let ours = ae_predictor::model::predict(&loaded.booster().unwrap(), &x).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("model.txt"), &loaded.text).unwrap();
    let csv: String = x
        .chunks(NF)
        .map(|r| {
            r.iter().map(|v| if v.is_nan() { "nan".to_string() } else { format!("{v}") }).collect::<Vec<_>>().join(",")
                + "\n"
        })
        .collect();
    std::fs::write(tmp.path().join("x.csv"), csv).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles/lgbm_predict.py");
    let out = std::process::Command::new(ae_testkit::python())
        .arg(script)
        .arg(tmp.path().join("model.txt"))
        .arg(tmp.path().join("x.csv"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<f64> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(theirs.len(), ours.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!((a - b).abs() <= 1e-9 * a.abs().max(1e-6), "row {i}: ours {a}, python {b}");
    }
    assert!(rows.iter().any(|(t, n)| fs.row(*t, *n).iter().any(|v| v.is_nan())), "missing values were exercised");
}

#[test]
fn the_binary_fits_aws_lambda_provided_al2023() {
    let exe = env!("CARGO_BIN_EXE_predictor");
    let ldd = String::from_utf8(std::process::Command::new("ldd").arg(exe).output().unwrap().stdout).unwrap();
    assert!(
        !ldd.contains("libstdc++") && !ldd.contains("libgomp"),
        "the C++ runtime must be linked statically:\n{ldd}"
    );
    let syms =
        String::from_utf8(std::process::Command::new("objdump").arg("-T").arg(exe).output().unwrap().stdout).unwrap();
    let newest = syms
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut p = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
            Some((p.next()?, p.next().unwrap_or(0)))
        })
        .max()
        .unwrap();
    assert!(newest <= (2, 34), "provided.al2023 has glibc 2.34; the binary needs GLIBC_{}.{}", newest.0, newest.1);
}

#[tokio::test]
async fn the_model_says_what_drove_it_gain_importance_and_each_ends_largest_shap_contributions() {
    let m = generate(&SimConfig::new(120, 520, 0.4, 9));
    let (_d, bus) = sim_bus(&m).await;
    let cfg = Config::defaults();
    let day = *m.sessions.last().unwrap();
    let trained = train_on(&bus, &cfg, day).await;
    let model_metrics = bus
        .get_doc_required::<PredictorMetrics>(&keys::predictor_model(&trained.version, "metrics.json").unwrap())
        .await
        .unwrap()
        .doc;
    let imp = &model_metrics.feature_importance;
    println!("importance: {:?}", imp.iter().take(5).map(|f| (&f.feature, f.share)).collect::<Vec<_>>());
    assert!(imp.windows(2).all(|w| w[0].gain >= w[1].gain) && imp.iter().all(|f| f.gain > 0.0));
    assert!((imp.iter().map(|f| f.share).sum::<f64>() - 1.0).abs() < 1e-9);
    // The planted signal is a five-day reversal: a five-day return leads.
    let five_day = ["ret_5", "sector_rel_ret_5", "bench_rel_ret_5"];
    assert!(five_day.contains(&imp[0].feature.as_str()), "{:?}", imp[0]);

    infer(&bus, &cfg, clock(day), &InferOptions { date: day, dry_run: false, force: false }).await.unwrap();
    let p = bus.get_doc_required::<Predictions>(&keys::predictions(day)).await.unwrap().doc;
    let n = p.entries.len() as u32;
    for e in &p.entries {
        let ends = e.rank <= 5 || e.rank + 5 > n;
        assert_eq!(!e.drivers.is_empty(), ends || e.gbm_veto, "rank {} of {n}, veto {}", e.rank, e.gbm_veto);
        assert!(e.drivers.len() <= 3);
        assert!(e.drivers.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
    }
    // The top name's largest driver pushes it up, the bottom name's down, and a five-day return
    // is among them.
    let (top, bottom) = (&p.entries[0], p.entries.last().unwrap());
    println!("top {:?}\nbottom {:?}", top.drivers, bottom.drivers);
    assert!(top.drivers[0].contribution > 0.0 && bottom.drivers[0].contribution < 0.0);
    assert!(top.drivers.iter().chain(&bottom.drivers).any(|d| five_day.contains(&d.feature.as_str())));
    // Inference's metrics carry the champion's importance.
    let daily = bus.get_doc_required::<PredictorMetrics>(&keys::predictor_metrics_latest()).await.unwrap().doc;
    assert_eq!(&daily.feature_importance, imp);
}

#[tokio::test]
async fn a_panel_computed_ahead_trains_the_model_training_computes_itself() {
    let m = generate(&SimConfig::new(80, 450, 0.4, 5));
    let cfg = Config::defaults();
    let n = m.sessions.len();
    let day = m.sessions[n - 1];
    let (_d, bus) = sim_bus(&m).await;
    let (_d2, cold) = sim_bus(&m).await;
    let text = |b: Bus, v: String| async move {
        b.get(&keys::predictor_model(&v, "model.txt").unwrap()).await.unwrap().unwrap().bytes
    };
    let ahead = train::panel(&bus, &cfg, day).await.unwrap();
    let with = train::train_with(&bus, &cfg, clock(day), &TrainOptions { date: day, dry_run: false }, Some(ahead))
        .await
        .unwrap();
    let without = train_on(&cold, &cfg, day).await;
    assert_eq!(
        (&with.version, &with.summary, &with.walk_forward, with.iterations, with.training_rows),
        (&without.version, &without.summary, &without.walk_forward, without.iterations, without.training_rows),
        "the same inputs, the same model"
    );
    assert_eq!(text(bus.clone(), with.version.clone()).await, text(cold.clone(), without.version.clone()).await);
    // A panel of another day, or labelled with other parameters, is not used as it is.
    let other_day = train::panel(&bus, &cfg, m.sessions[n - 6]).await.unwrap();
    let mut clipped = cfg.clone();
    clipped.predictor.label_clip /= 2.0;
    let other_labels = train::panel(&bus, &clipped, day).await.unwrap();
    for panel in [other_day, other_labels] {
        let r = train::train_with(&bus, &cfg, clock(day), &TrainOptions { date: day, dry_run: true }, Some(panel))
            .await
            .unwrap();
        // (The version moves: the registry this run reads now holds the first model.)
        assert_eq!(
            (&r.summary, &r.walk_forward, r.iterations, r.training_rows),
            (&with.summary, &with.walk_forward, with.iterations, with.training_rows)
        );
    }
}
