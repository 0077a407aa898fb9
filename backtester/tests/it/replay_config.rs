//! The replay runs research on each past week with the research configuration that was in force
//! that week (`config/history/`): a scoring-weights write-back dated in the middle of the history
//! is read by the weeks from its date on, and by none before; a kept week is the same document.

use ae_backtester::kept_days::Keep;
use ae_backtester::{prepare, replay};
use ae_shared::bus::{PutMode, keys};
use ae_shared::contracts::params::ParamsDoc;
use ae_shared::contracts::signals::Signals;
use ae_shared::contracts::{Job, Lineage, to_json_checked};
use ae_shared::sim::{SimConfig, generate};
use ae_shared::store::PriceStore;

use crate::common::simulated_bus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_back_is_in_force_in_the_replay_from_its_week_on_and_not_before() {
    let m = generate(&SimConfig::new(30, 160, 0.05, 37));
    let (_dir, bus, cfg) = simulated_bus(&m).await;
    let store = PriceStore::load(&bus).await.unwrap();
    let days = prepare::period(&store, m.sessions.last().unwrap().next(), cfg.backtest.warmup_days);
    let weeks = replay::week_starts(&days);
    let mid = weeks[weeks.len() / 2];
    let lineage = Lineage::new(Job::Backtester, "test", Some(mid), Vec::new());
    let doc = ParamsDoc::new(lineage, mid, None, vec!["factors".into()], cfg.scoring.clone());
    let bytes = to_json_checked(&doc).unwrap();
    let history = keys::config_history(mid, "scoring_weights");
    bus.put(&history, bytes.clone(), PutMode::Overwrite).await.unwrap();
    let sha = ae_shared::bus::sha256_hex(&bytes);

    // Which weeks' research read the write-back, from each signals document's lineage.
    let read_it = |rep: &replay::Replay| {
        let (rep, weeks, sha) = (rep.bus.clone(), weeks.clone(), sha.clone());
        async move {
            let mut out = Vec::new();
            for w in weeks {
                let Some(o) = rep.get(&keys::signals(w)).await.unwrap() else { continue };
                let doc: Signals = serde_json::from_slice(&o.bytes).unwrap();
                let read =
                    doc.produced_by.inputs.iter().any(|i| i.key == "config/scoring_weights.json" && i.sha256 == sha);
                out.push((w, read, o.bytes.to_vec()));
            }
            out
        }
    };
    let cold = replay::build(&bus, &cfg, &days, &|_, _| {}).await.unwrap();
    let got = read_it(&cold).await;
    assert!(got.len() >= 10, "research published on {} weeks", got.len());
    for (w, read, _) in &got {
        assert_eq!(*read, *w >= mid, "{w}: the write-back dated {mid} is in force from its week on");
    }
    assert!(got.iter().any(|(w, _, _)| *w < mid) && got.iter().any(|(w, _, _)| *w >= mid));

    // Kept weeks read back (a second run with a keeper) are the same documents.
    let keep = |write| Some((Keep { bus: &bus, write }, &store));
    replay::build_kept(&bus, &cfg, &days, keep(true), &|_, _| {}).await.unwrap();
    let warm = replay::build_kept(&bus, &cfg, &days, keep(true), &|_, _| {}).await.unwrap();
    let again = read_it(&warm).await;
    assert_eq!(again.len(), got.len());
    for ((w, _, a), (_, _, b)) in got.iter().zip(&again) {
        assert_eq!(a, b, "{w}: the kept week is the document research wrote");
    }
}
