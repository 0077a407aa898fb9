//! Every contract validates its fixture, rejects broken variants with located problems, and
//! round-trips through JSON.

use ae_shared::contracts::signals::parse_lenient;
use ae_shared::contracts::{self, DocKind, Document, parse, to_json_checked};
use ae_testkit::fixtures;
use serde_json::{Value, json};

fn roundtrip<T: Document + PartialEq + std::fmt::Debug>(doc: &T) {
    let bytes = to_json_checked(doc).unwrap_or_else(|p| panic!("{} fixture invalid:\n{p}", T::KIND));
    let back: T = parse(&bytes).unwrap_or_else(|p| panic!("{} does not read back:\n{p}", T::KIND));
    assert_eq!(&back, doc);
    T::KIND.validate(&bytes).unwrap();
}

#[test]
fn every_fixture_is_valid_and_round_trips() {
    roundtrip(&fixtures::signals());
    roundtrip(&fixtures::predictions());
    roundtrip(&fixtures::predictor_metrics());
    roundtrip(&fixtures::order_book());
    roundtrip(&fixtures::eod());
    let (a, b, c, d) = fixtures::params_docs();
    roundtrip(&a);
    roundtrip(&b);
    roundtrip(&c);
    roundtrip(&d);
}

fn problems_of(kind: DocKind, v: &Value) -> Vec<String> {
    match kind.validate(&serde_json::to_vec(v).unwrap()) {
        Ok(()) => vec![],
        Err(p) => p.iter().map(|x| x.to_string()).collect(),
    }
}

#[test]
fn signals_with_a_140_score_and_an_unscored_buy_name_both_locations() {
    let mut v = serde_json::to_value(fixtures::signals()).unwrap();
    v["universe"][0]["score"] = json!(140);
    v["universe"][1]["rating"] = json!("BUY");
    v["universe"][1]["score"] = Value::Null;
    let p = problems_of(DocKind::Signals, &v);
    assert!(p.iter().any(|x| x == "universe[0].score: 140 is above 100"), "{p:#?}");
    assert!(
        p.iter().any(|x| x.starts_with("universe[1].score: null is not a number: a BUY without a score is invalid")),
        "{p:#?}"
    );
    assert_eq!(p.len(), 2, "{p:#?}");
}

#[test]
fn structural_problems_are_all_reported_at_once() {
    let mut v = serde_json::to_value(fixtures::signals()).unwrap();
    v["universe"][0]["ticker"] = json!("aapl");
    v["universe"][1]["signal"] = json!("BUY_MORE");
    v["sector_ratings"]["Energy"]["modifier"] = json!(1.5);
    v["market_regime"] = json!("sideways");
    v["extra"] = json!(1);
    v.as_object_mut().unwrap().remove("date");
    let p = problems_of(DocKind::Signals, &v);
    for want in [
        "universe[0].ticker: \"aapl\" does not match",
        "universe[1].signal: \"BUY_MORE\" is not one of \"ENTER\", \"EXIT\", \"REDUCE\", \"HOLD\"",
        "sector_ratings.Energy.modifier: 1.5 is above 1.3",
        "market_regime: \"sideways\" is not one of \"bull\", \"neutral\", \"bear\"",
        "(document): unknown field(s): extra",
        "date: is required but missing",
    ] {
        assert!(p.iter().any(|x| x.starts_with(want)), "missing {want:?} in {p:#?}");
    }
}

#[test]
fn cross_field_rules_of_signals() {
    let mut s = fixtures::signals();
    s.buy_candidates.push(ae_shared::Ticker::new("XOM").unwrap());
    s.universe.push(s.universe[0].clone());
    let err = to_json_checked(&s).unwrap_err().to_string();
    assert!(err.contains("universe[2].ticker: AAPL appears more than once"), "{err}");
    assert!(err.contains("buy_candidates[1]: XOM has signal HOLD, not ENTER"), "{err}");
}

#[test]
fn a_weekend_date_is_refused_with_its_location() {
    let mut v = serde_json::to_value(fixtures::predictions()).unwrap();
    v["date"] = json!("2010-03-13");
    let p = problems_of(DocKind::Predictions, &v);
    assert_eq!(p, vec!["date: 2010-03-13 is not an NYSE trading day (weekend)".to_string()]);
}

#[test]
fn a_predicted_magnitude_is_never_a_direction() {
    let mut v = serde_json::to_value(fixtures::predictions()).unwrap();
    // A large positive alpha does not make a p_up of 0.15 an UP call.
    v["entries"][1]["predicted_alpha"] = json!(0.05);
    v["entries"][1]["predicted_direction"] = json!("UP");
    let p = problems_of(DocKind::Predictions, &v);
    assert!(p.iter().any(|x| x.starts_with("entries[1].predicted_direction: Up disagrees with p_up 0.15")), "{p:#?}");
    assert!(p.iter().any(|x| x.starts_with("entries[1].gbm_veto: only a DOWN call can veto")), "{p:#?}");
}

#[test]
fn order_book_ids_are_the_deterministic_ones() {
    let mut b = fixtures::order_book();
    b.entries[0].id = "random-uuid".into();
    let err = to_json_checked(&b).unwrap_err().to_string();
    assert!(
        err.contains("entries[0].id: \"random-uuid\" is not the deterministic id \"2010-03-15:AAPL:ENTER\""),
        "{err}"
    );
}

#[test]
fn every_trigger_time_of_an_order_book_is_a_time_of_day() {
    struct Case {
        what: &'static str,
        close_enough_after: &'static str,
        expiry_time: &'static str,
        want: &'static [&'static str],
    }
    let cases = [
        // TC1: the defaults are valid.
        Case { what: "defaults", close_enough_after: "14:00", expiry_time: "15:45", want: &[] },
        // TC2: an hour past 23 matches the schema's [0-2][0-9] shape and is still refused, located.
        Case {
            what: "29:00 expiry",
            close_enough_after: "14:00",
            expiry_time: "29:00",
            want: &["entries[0].triggers.expiry_time: \"29:00\" is not a time of day (HH:MM, 00:00..23:59)"],
        },
        // TC3: both fields, every problem at once.
        Case {
            what: "both",
            close_enough_after: "24:00",
            expiry_time: "25:59",
            want: &[
                "entries[0].triggers.close_enough_after: \"24:00\" is not a time of day (HH:MM, 00:00..23:59)",
                "entries[0].triggers.expiry_time: \"25:59\" is not a time of day (HH:MM, 00:00..23:59)",
            ],
        },
        // TC4: midnight and the last minute are times of day.
        Case { what: "edges", close_enough_after: "00:00", expiry_time: "23:59", want: &[] },
    ];
    for c in cases {
        let mut b = fixtures::order_book();
        b.entries[0].triggers.close_enough_after = c.close_enough_after.into();
        b.entries[0].triggers.expiry_time = c.expiry_time.into();
        // A reader refuses it ...
        let got = problems_of(DocKind::OrderBook, &serde_json::to_value(&b).unwrap());
        assert_eq!(got, c.want, "{}", c.what);
        // ... and a writer never writes it.
        assert_eq!(to_json_checked(&b).is_ok(), c.want.is_empty(), "{}", c.what);
    }
}

#[test]
fn a_nav_that_disagrees_with_positions_must_be_flagged() {
    let mut e = fixtures::eod();
    e.nav = ae_shared::Usd::new(1_100_000.0).unwrap();
    e.peak_nav = e.nav;
    let err = to_json_checked(&e).unwrap_err().to_string();
    assert!(err.contains("NAV 1100000 disagrees with cash + positions 1001000"), "{err}");
    e.integrity[0].passed = false;
    e.integrity[0].detail = "NAV 1100000 vs marked 1001000".into();
    to_json_checked(&e).expect("a flagged breach is a valid report");
}

#[test]
fn params_out_of_bounds_and_foreign_bounds_are_refused() {
    let (_, exec, _, _) = fixtures::params_docs();
    let mut v = serde_json::to_value(&exec).unwrap();
    v["params"]["risk"]["max_position_pct"] = json!(0.4);
    v["params"]["exits"]["time_decay_reduce_days"] = json!(20);
    let p = problems_of(DocKind::ExecutorParams, &v);
    assert!(p.iter().any(|x| x == "params.risk.max_position_pct: 0.4 is above 0.25"), "{p:#?}");
    let mut v = serde_json::to_value(&exec).unwrap();
    v["bounds"]["risk.max_position_pct"]["max"] = json!(0.9);
    v["params"]["exits"]["time_decay_reduce_days"] = json!(20);
    let p = problems_of(DocKind::ExecutorParams, &v);
    assert!(
        p.iter()
            .any(|x| x.starts_with("params.exits.time_decay_reduce_days: 20 must be below time_decay_exit_days 14")),
        "{p:#?}"
    );
    assert!(p.iter().any(|x| x.starts_with("bounds.risk.max_position_pct: [0.001, 0.9] differs")), "{p:#?}");
}

#[test]
fn an_unscored_buy_is_read_as_hold_by_the_lenient_reader() {
    let mut v = serde_json::to_value(fixtures::signals()).unwrap();
    v["universe"][0]["score"] = Value::Null;
    let bytes = serde_json::to_vec(&v).unwrap();
    assert!(parse::<ae_shared::contracts::signals::Signals>(&bytes).is_err());
    let (s, repairs) = parse_lenient(&bytes).unwrap();
    assert_eq!(repairs.len(), 1);
    assert!(repairs[0].reason.contains("AAPL: BUY without a score read as HOLD"));
    assert_eq!(s.universe[0].signal, ae_shared::contracts::common::SignalAction::Hold);
    assert!(s.buy_candidates.is_empty());
    // Any other problem still refuses the document.
    v["universe"][1]["score"] = json!(140);
    assert!(parse_lenient(&serde_json::to_vec(&v).unwrap()).is_err());
}

#[test]
fn a_newer_schema_version_is_refused_plainly() {
    let mut v = serde_json::to_value(fixtures::signals()).unwrap();
    v["schema_version"] = json!(2);
    let p = problems_of(DocKind::Signals, &v);
    assert_eq!(p, vec!["schema_version: 2 is not supported: this build reads signals version 1".to_string()]);
}

#[test]
fn schemas_export_one_file_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let files = contracts::export_schemas(dir.path()).unwrap();
    assert_eq!(files.len(), DocKind::ALL.len());
    let schema: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("signals.schema.json")).unwrap()).unwrap();
    assert!(schema["$schema"].as_str().unwrap().contains("2020-12"));
    assert!(schema["$defs"]["SignalEntry"]["allOf"][0]["then"]["required"][0] == "score");
    // The exported files are checked by an independent validator (Python jsonschema) in `oracles`.
}
