//! Rules benchmarks: one candidate through every entry check and the sizer, one holding through
//! the exit manager, and a whole morning plan for 500 names.

use std::collections::BTreeMap;
use std::hint::black_box;

use ae_core::calendar::TradingDay;
use ae_core::contracts::common::{Conviction, Direction, Regime, Sector, SectorRating, SignalAction};
use ae_core::contracts::params::ExecutorParams;
use ae_core::types::{Confidence, Probability, Score, Ticker};
use ae_rules::drawdown::drawdown_state;
use ae_rules::exits::evaluate_exit;
use ae_rules::plan::{PlanInput, plan_day};
use ae_rules::risk::check_entry;
use ae_rules::sizing::{SizingInputs, size};
use ae_rules::view::{Book, Candidate, Context, DataQuality, Holding, MarketView, PredictionView};
use criterion::{Criterion, criterion_group, criterion_main};

fn params() -> ExecutorParams {
    let table: toml::Table = include_str!("../../../shared/config/default.toml").parse().unwrap();
    table["executor"].clone().try_into().unwrap()
}

fn market(px: f64, k: usize) -> MarketView {
    MarketView {
        close: px,
        prev_close: Some(px * 0.99),
        atr: Some(px * (0.01 + (k % 5) as f64 * 0.005)),
        ret_20d: Some(((k % 13) as f64 - 5.0) / 100.0),
        ret_5d: None,
        rsi_14: Some(50.0),
        sector_relative: Some(0.0),
        adv_usd: Some(2e7 + k as f64 * 1e5),
        support: Some(px * 0.95),
        days_to_earnings: Some((k % 40) as u32),
        quality: DataQuality::Active,
        quality_score: 1.0,
    }
}

fn candidate(k: usize) -> Candidate {
    let p = Probability::new(0.3 + (k % 7) as f64 * 0.06).unwrap();
    Candidate {
        ticker: Ticker::new(&format!("C{k}")).unwrap(),
        sector: Some(Sector::ALL[k % 11]),
        signal: SignalAction::Enter,
        score: Some(Score::new(50.0 + (k % 50) as f64).unwrap()),
        conviction: [Conviction::Rising, Conviction::Stable, Conviction::Declining][k % 3],
        sector_rating: [SectorRating::Overweight, SectorRating::MarketWeight, SectorRating::Underweight][k % 3],
        upside: Some(0.1),
        signal_age_days: (k % 5) as u32,
        prediction: Some(PredictionView {
            p_up: p,
            direction: if p.get() >= 0.5 { Direction::Up } else { Direction::Down },
            confidence: Confidence::from_p_up(p),
            predicted_alpha: 0.01,
            gbm_veto: false,
            age_days: 0,
        }),
        market: market(20.0 + k as f64, k),
        correlation: Some(0.4),
        ensemble: None,
    }
}

fn holding(k: usize) -> Holding {
    Holding {
        ticker: Ticker::new(&format!("H{k}")).unwrap(),
        sector: Some(Sector::ALL[k % 11]),
        shares: 300,
        working_sells: 0,
        avg_cost: 50.0,
        entry_date: TradingDay::parse("2010-03-01").unwrap(),
        days_held: (k % 20) as u32,
        high_water: 55.0,
        profit_taken: false,
        decay_reduced: false,
        market: market(52.0, k),
    }
}

fn bench(c: &mut Criterion) {
    let p = params();
    let ctx = Context {
        date: TradingDay::parse("2010-03-15").unwrap(),
        regime: Regime::Neutral,
        kill_switch: false,
        signals_stale: false,
    };
    let book = Book { nav: 1e6, cash: 6e5, peak_nav: 1.01e6, holdings: (0..25).map(holding).collect() };
    let cand = candidate(7);
    let dd = drawdown_state(book.nav, book.peak_nav, &p.risk);
    c.bench_function("one candidate: sizer + every risk check", |b| {
        b.iter(|| {
            let s = size(
                black_box(&cand),
                &SizingInputs {
                    n_enter: 10,
                    nav: book.nav,
                    cash_available: book.cash,
                    drawdown_multiplier: dd.multiplier,
                    breaker_multiplier: 1.0,
                    max_position: 0.05,
                    prediction_fresh: true,
                },
                &p.sizing,
            );
            black_box(check_entry(&cand, s.factors.dollars.get(), &book, &ctx, &dd, &p.risk))
        })
    });
    let h = holding(3);
    c.bench_function("one holding: exit manager", |b| {
        b.iter(|| black_box(evaluate_exit(black_box(&h), SignalAction::Hold, &p.exits)))
    });
    let cands: Vec<Candidate> = (0..500).map(candidate).collect();
    let research: BTreeMap<Ticker, SignalAction> = BTreeMap::new();
    c.bench_function("plan_day: 500 candidates, 25 holdings", |b| {
        b.iter(|| {
            black_box(plan_day(&PlanInput {
                ctx,
                book: &book,
                research: &research,
                candidates: &cands,
                params: &p,
                risk: Default::default(),
            }))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
