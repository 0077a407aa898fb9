//! A small valid instance of every bus document (2010-03-15, a Monday of the embedded year).

use std::collections::BTreeMap;

use ae_shared::config::Config;
use ae_shared::contracts::common::{Conviction, Direction, Rating, Regime, Sector, SectorRating, Side, SignalAction};
use ae_shared::contracts::eod::{BenchmarkDay, Cumulative, EodReport, FillReport, IntegrityCheck, PositionMark};
use ae_shared::contracts::order_book::{
    EntryOrder, EntryTriggers, ExitOrder, OrderBook, SizingFactors, StopOrder, order_id,
};
use ae_shared::contracts::params::{ExecutorParams, ParamsDoc, PredictorParams, ResearchParams, ScoringWeights};
use ae_shared::contracts::predictions::{Driver, Exclusion, Prediction, Predictions};
use ae_shared::contracts::predictor_metrics::{
    FeatureImportance, FoldMetrics, GateCheck, PredictorMetrics, PriceFreshness, WalkForwardSummary,
};
use ae_shared::contracts::signals::{PopulationMember, ResearchMode, SectorView, SignalEntry, Signals, SubScores};
use ae_shared::contracts::{Job, Lineage};
use ae_shared::{Bps, Confidence, Fraction, Probability, Return, Score, Ticker, TradingDay, Usd};

/// The fixtures' trading day.
pub fn day() -> TradingDay {
    TradingDay::parse("2010-03-15").expect("a Monday session")
}

fn t(s: &str) -> Ticker {
    Ticker::new(s).expect("valid")
}

fn lineage(job: Job) -> Lineage {
    Lineage::new(job, "0.1.0", Some(day()), vec![])
}

/// Valid signals: AAPL ENTER (BUY 78), XOM HOLD (55), quant-only.
pub fn signals() -> Signals {
    let mut sector_ratings = BTreeMap::new();
    for s in Sector::ALL {
        sector_ratings.insert(
            s,
            SectorView {
                rating: SectorRating::MarketWeight,
                modifier: 1.0,
                rationale: "neutral trend and breadth".into(),
            },
        );
    }
    let entry = |ticker: &str, signal, score: f64, rating, sector| SignalEntry {
        ticker: t(ticker),
        signal,
        score: Some(Score::new(score).unwrap()),
        rating,
        conviction: Conviction::Stable,
        sector,
        sector_rating: SectorRating::MarketWeight,
        price_target_upside: None,
        thesis_summary: format!("{ticker}: quant composite {score}"),
        sub_scores: SubScores { quant: Score::new(score).unwrap(), qual: None },
        catalysts: vec![],
    };
    Signals {
        schema_version: 1,
        produced_by: lineage(Job::Research),
        date: day(),
        mode: ResearchMode::QuantOnly,
        market_regime: Regime::Neutral,
        quant_regime: Regime::Neutral,
        llm_regime: None,
        sector_ratings,
        universe: vec![
            entry("AAPL", SignalAction::Enter, 78.0, Rating::Buy, Sector::InformationTechnology),
            entry("XOM", SignalAction::Hold, 55.0, Rating::Hold, Sector::Energy),
        ],
        buy_candidates: vec![t("AAPL")],
        population: vec![
            PopulationMember { ticker: t("AAPL"), entered: day(), tenure_weeks: 0 },
            PopulationMember { ticker: t("XOM"), entered: TradingDay::parse("2010-02-01").unwrap(), tenure_weeks: 6 },
        ],
        notes: vec!["quant-only: no ANTHROPIC_API_KEY".into()],
    }
}

/// Valid predictions for AAPL (UP) and XOM (DOWN, vetoed).
pub fn predictions() -> Predictions {
    let p = |ticker: &str, p_up: f64, rank, veto| {
        let pu = Probability::new(p_up).unwrap();
        Prediction {
            ticker: t(ticker),
            p_up: pu,
            predicted_direction: if p_up >= 0.5 { Direction::Up } else { Direction::Down },
            confidence: Confidence::from_p_up(pu),
            predicted_alpha: (p_up - 0.5) * 0.04,
            rank,
            gbm_veto: veto,
            momentum_veto: false,
            price_data_age_days: 1,
            drivers: if veto { vec![Driver { feature: "ret_5d".into(), contribution: -0.011 }] } else { Vec::new() },
        }
    };
    Predictions {
        schema_version: 1,
        produced_by: lineage(Job::Predictor),
        date: day(),
        model_version: "gbm-2010-03-15-abc123".into(),
        horizon_days: 5,
        label: "forward 5-day log return minus the equal-weight sector return, clipped ±0.2".into(),
        benchmark: "equal-weight GICS sector".into(),
        veto_threshold: Confidence::new(0.6).unwrap(),
        entries: vec![p("AAPL", 0.62, 1, false), p("XOM", 0.15, 2, true)],
        excluded: vec![Exclusion { ticker: t("WYE"), reason: "QUARANTINED: STOPPED_TRADING".into() }],
    }
}

/// Valid predictor metrics with two folds.
pub fn predictor_metrics() -> PredictorMetrics {
    let d = |s: &str| TradingDay::parse(s).unwrap();
    let fold = |i, ts, te, ss, se, ic: f64| FoldMetrics {
        fold: i,
        train_start: d(ts),
        train_end: d(te),
        test_start: d(ss),
        test_end: d(se),
        n_train: 20_000,
        n_test: 5_000,
        ic,
        rank_ic: ic * 0.9,
        hit_rate: Fraction::new(0.52).unwrap(),
    };
    PredictorMetrics {
        schema_version: 1,
        produced_by: lineage(Job::Predictor),
        date: day(),
        model_version: "gbm-2010-03-15-abc123".into(),
        trained_at: day(),
        training_rows: 40_000,
        horizon_days: 5,
        walk_forward: vec![
            fold(0, "2009-11-02", "2009-12-23", "2010-01-04", "2010-01-29", 0.03),
            fold(1, "2009-11-02", "2010-01-22", "2010-02-01", "2010-03-05", 0.05),
        ],
        summary: WalkForwardSummary {
            n_folds: 2,
            median_ic: 0.04,
            mean_rank_ic: 0.036,
            positive_fold_share: Fraction::new(1.0).unwrap(),
            icir: 2.8,
            hit_rate: Fraction::new(0.52).unwrap(),
        },
        live: None,
        price_freshness: Some(PriceFreshness { max_age_days: 1, n_stale: 0 }),
        promoted: true,
        gates: vec![GateCheck::at_least("median_ic", 0.04, 0.01)],
        feature_importance: vec![FeatureImportance { feature: "ret_5d".into(), gain: 12.5, share: 0.4 }],
    }
}

/// Valid order book: one entry, one exit, one stop.
pub fn order_book() -> OrderBook {
    let cfg = Config::defaults();
    let i = &cfg.executor.intraday;
    OrderBook {
        schema_version: 1,
        produced_by: lineage(Job::Executor),
        date: day(),
        nav: Usd::new(1_000_000.0).unwrap(),
        cash: Usd::new(600_000.0).unwrap(),
        market_regime: Regime::Neutral,
        entries: vec![EntryOrder {
            id: order_id(day(), &t("AAPL"), SignalAction::Enter),
            ticker: t("AAPL"),
            shares: 222,
            reference_price: Usd::new(224.75).unwrap(),
            atr: Some(Usd::new(4.1).unwrap()),
            triggers: EntryTriggers {
                pullback_pct: i.pullback_pct,
                vwap_discount_pct: i.vwap_discount_pct,
                support_level: Some(Usd::new(214.0).unwrap()),
                support_pct: i.support_pct,
                close_enough_after: i.close_enough_after.clone(),
                close_enough_max_premium_pct: i.close_enough_max_premium_pct,
                expiry_time: i.expiry_time.clone(),
            },
            sizing: SizingFactors {
                base_weight: Fraction::new(1.0).unwrap(),
                sector: 1.0,
                conviction: 1.0,
                upside: 1.0,
                drawdown: 1.0,
                atr: 1.1,
                confidence: 0.84,
                staleness: 1.0,
                earnings: 1.0,
                breakers: 1.0,
                raw_weight: 0.924,
                final_weight: Fraction::new(0.05).unwrap(),
                dollars: Usd::new(50_000.0).unwrap(),
                capped_by: vec!["max_position".into()],
            },
            score: Score::new(78.0).unwrap(),
            conviction: Conviction::Stable,
            predicted_direction: Some(Direction::Up),
            prediction_confidence: Some(Confidence::new(0.24).unwrap()),
            reasons: vec!["ENTER_APPROVED".into()],
            model_drivers: vec![Driver { feature: "ret_5d".into(), contribution: 0.004 }],
        }],
        urgent_exits: vec![ExitOrder {
            id: order_id(day(), &t("XOM"), SignalAction::Exit),
            ticker: t("XOM"),
            action: SignalAction::Exit,
            shares: 100,
            reasons: vec!["RESEARCH_EXIT".into()],
        }],
        stops: vec![StopOrder {
            ticker: t("XOM"),
            shares: 100,
            entry_price: Usd::new(66.0).unwrap(),
            entry_date: TradingDay::parse("2010-03-01").unwrap(),
            high_water: Usd::new(68.0).unwrap(),
            atr: Some(Usd::new(1.2).unwrap()),
            atr_multiple: 2.5,
            stop_price: Usd::new(65.0).unwrap(),
        }],
        blocked: vec![],
        params: None,
        breakers: None,
        ensemble: None,
    }
}

/// Valid EOD report with one position and a consistent NAV.
pub fn eod() -> EodReport {
    let ret = |v: f64| Return::new(v).unwrap();
    EodReport {
        schema_version: 1,
        produced_by: lineage(Job::Executor),
        date: day(),
        nav: Usd::new(1_001_000.0).unwrap(),
        cash: Usd::new(951_000.0).unwrap(),
        peak_nav: Usd::new(1_001_000.0).unwrap(),
        drawdown: 0.0,
        daily_return: ret(0.001),
        benchmark: BenchmarkDay { name: "S&P 500 index".into(), close: 1150.5, daily_return: ret(0.0005) },
        alpha: 0.0005,
        cumulative: Cumulative {
            since: TradingDay::parse("2010-03-01").unwrap(),
            portfolio: ret(0.001),
            benchmark: ret(0.0005),
            alpha: 0.0005,
        },
        realized_pnl: Usd::new(0.0).unwrap(),
        unrealized_pnl: Usd::new(1_000.0).unwrap(),
        turnover: 0.05,
        positions: vec![PositionMark {
            ticker: t("AAPL"),
            shares: 200,
            avg_cost: Usd::new(245.0).unwrap(),
            mark: Usd::new(250.0).unwrap(),
            market_value: Usd::new(50_000.0).unwrap(),
            unrealized_pnl: Usd::new(1_000.0).unwrap(),
            weight: Fraction::new(0.05).unwrap(),
        }],
        fills: vec![FillReport {
            order_id: order_id(day(), &t("AAPL"), SignalAction::Enter),
            ticker: t("AAPL"),
            side: Side::Buy,
            shares: 200,
            price: Usd::new(245.0).unwrap(),
            signal_price: Some(Usd::new(244.0).unwrap()),
            slippage_bps: Some(Bps::new(41.0).unwrap()),
            commission: Usd::new(1.0).unwrap(),
        }],
        slippage_bps_mean: Some(Bps::new(41.0).unwrap()),
        risk_events: vec![],
        integrity: vec![IntegrityCheck {
            name: "nav_matches_positions".into(),
            passed: true,
            detail: "1001000 vs 1001000".into(),
        }],
        dividends_receivable: None,
        dividends: vec![],
        risk_headline: Some("gross 5%, σ 1.10%/day, 1-day 99% VaR 0.20% (250 sessions), worst stress 2008 crisis -2.3%; no breaker fired".into()),
        attribution: Some(ae_shared::contracts::eod::AttributionLine {
            market: 0.0010,
            sector: -0.0002,
            style: 0.0001,
            specific: 0.0004,
            trading: -0.0001,
            compounding: 0.0,
            total: 0.0012,
            days: 1,
        }),
    }
}

/// The default parameter sets as `config/*.json` documents.
pub fn params_docs()
-> (ParamsDoc<ScoringWeights>, ParamsDoc<ExecutorParams>, ParamsDoc<PredictorParams>, ParamsDoc<ResearchParams>) {
    let c = Config::defaults();
    let l = lineage(Job::Operator);
    (
        ParamsDoc::new(l.clone(), day(), None, vec![], c.scoring),
        ParamsDoc::new(l.clone(), day(), None, vec![], c.executor),
        ParamsDoc::new(l.clone(), day(), None, vec![], c.predictor),
        ParamsDoc::new(l, day(), None, vec![], c.research),
    )
}
