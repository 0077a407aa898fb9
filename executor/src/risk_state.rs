//! The morning's risk state (`risk/{date}/risk_state.json`): today's book — as the planner saw it
//! at the last close — through the factor risk model ([`ae_shared::risk_model`]), VaR and CVaR by
//! historical revaluation, from the model's σ and by a seeded block bootstrap
//! ([`ae_shared::tail_risk`]), the stress scenarios ([`ae_shared::stress`]) and the circuit
//! breakers the plan fired. Pure given its inputs: the store's bars and the book.

use ae_rules::breakers::{Breakers, Effect};
use ae_rules::view::Book;
use ae_shared::TradingDay;
use ae_shared::contracts::Lineage;
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::contracts::risk_state::{
    BreakerFired, Decomposition, Exposures, FactorExposure, MonteCarlo, PositionRisk, RiskState, SectorExposure,
    TailFigure, TailMethod,
};
use ae_shared::metrics::average_ranks;
use ae_shared::risk_model::{self, ModelParams, Style};
use ae_shared::store::bars::BarSeries;
use ae_shared::store::risk_panel::RiskPanel;
use ae_shared::stress;
use ae_shared::tail_risk::{Bootstrap, Tail, block_bootstrap, book_returns};
use ae_shared::types::{Ticker, Usd};

use crate::market::MarketData;

/// The confidences and horizons every method reports.
const GRID: [(f64, u32); 4] = [(0.95, 1), (0.99, 1), (0.95, 10), (0.99, 10)];

/// Compounded returns over every window of `h` consecutive sessions (overlapping).
fn horizon_returns(daily: &[f64], h: usize) -> Vec<f64> {
    if h <= 1 {
        return daily.to_vec();
    }
    daily.windows(h).map(|w| w.iter().fold(1.0, |acc, r| acc * (1.0 + r)) - 1.0).collect()
}

fn figure(method: TailMethod, confidence: f64, horizon_days: u32, t: Tail, nav: f64) -> TailFigure {
    TailFigure {
        method,
        confidence,
        horizon_days,
        var: t.var,
        cvar: t.cvar,
        var_usd: Usd::saturating(t.var * nav),
        n: t.n,
    }
}

fn effect(e: Effect) -> String {
    match e {
        Effect::SizeDown(m) => format!("size_down × {m:.2}"),
        Effect::HaltToday => "halt_today".into(),
        Effect::Kill => "kill".into(),
        Effect::Alert => "alert".into(),
    }
}

/// The risk state of `book` on the morning of `date`. `index` is the benchmark index's bars (the
/// embedded S&P 500 from 1999, then the nightly update's); only closes up to the market data's
/// as-of session are read.
pub fn build(
    date: TradingDay,
    book: &Book,
    market: &MarketData<'_>,
    index: BarSeries<'_>,
    breakers: &Breakers,
    params: &ExecutorParams,
    lineage: Lineage,
) -> RiskState {
    let nav = book.nav;
    let mut alerts = Vec::new();
    let weight = |mv: f64| if nav > 0.0 { mv / nav } else { 0.0 };

    // Exposures.
    let gross: f64 = book.holdings.iter().map(|h| weight(h.market_value().abs())).sum();
    let net: f64 = book.holdings.iter().map(|h| weight(h.market_value())).sum();
    let mut sectors: Vec<SectorExposure> = Vec::new();
    for h in &book.holdings {
        match sectors.iter_mut().find(|s| s.sector == h.sector) {
            Some(s) => s.weight += weight(h.market_value()),
            None => sectors.push(SectorExposure { sector: h.sector, weight: weight(h.market_value()) }),
        }
    }
    sectors.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));

    // The factor model over the universe, as of the last close.
    let mp = ModelParams::default();
    let u = RiskPanel::build(&market.bars, index, market.sectors_map());
    let index_of = |t: &Ticker| u.tickers.iter().position(|x| x == t);
    let weights: Vec<(usize, f64)> =
        book.holdings.iter().filter_map(|h| index_of(&h.ticker).map(|i| (i, weight(h.market_value())))).collect();
    let fitted = u.estimate(&mp).and_then(|model| risk_model::decompose(&model, &weights).map(|d| (model, d)));
    let (decomposition, beta, factors, betas, sigma) = match fitted {
        Ok((model, d)) if !weights.is_empty() => {
            let factors: Vec<FactorExposure> = model
                .factor_names
                .iter()
                .zip(&d.exposures)
                .map(|(f, e)| FactorExposure { factor: f.clone(), exposure: *e })
                .collect();
            let mut positions: Vec<PositionRisk> = d
                .positions
                .iter()
                .map(|p| PositionRisk {
                    ticker: u.tickers[p.name].clone(),
                    weight: p.weight,
                    mctr: p.mctr,
                    contribution: p.contribution,
                    risk_share: p.risk_share,
                    flagged: p.flagged,
                })
                .collect();
            for p in positions.iter().filter(|p| p.flagged) {
                alerts.push(format!(
                    "{} carries {:.1}% of the book's risk on {:.1}% of its weight",
                    p.ticker,
                    p.risk_share * 100.0,
                    p.weight * 100.0
                ));
            }
            positions.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
            let share = |v: f64| if d.variance > 0.0 { v / d.variance } else { 0.0 };
            // Each held name's beta and momentum percentile, both from the model's exposures (the
            // stress scenarios' inputs: one definition of each).
            let k_mom = model.factor_names.iter().position(|f| f == Style::Momentum.name());
            let ranked: Vec<usize> = (0..model.exposures.len()).filter(|i| model.complete[*i]).collect();
            let ranks =
                k_mom.map(|k| average_ranks(&ranked.iter().map(|i| model.exposures[*i][k]).collect::<Vec<_>>()));
            let percentile = |i: usize| {
                let (ranks, at) = (ranks.as_ref()?, ranked.iter().position(|j| *j == i)?);
                Some(if ranked.len() > 1 { (ranks[at] - 1.0) / (ranked.len() - 1) as f64 } else { 0.5 })
            };
            let betas: Vec<(Ticker, f64, Option<f64>)> =
                weights.iter().map(|(i, _)| (u.tickers[*i].clone(), model.exposures[*i][0], percentile(*i))).collect();
            let g = d.by_group;
            let dec = Decomposition {
                sigma: d.sigma,
                factor_share: share(d.factor_variance),
                specific_share: share(d.specific_variance),
                groups: [("market", g.market), ("sector", g.sector), ("style", g.style)]
                    .iter()
                    .map(|(name, v)| FactorExposure { factor: name.to_string(), exposure: share(*v) })
                    .collect(),
                sessions: d.n,
                names: model.days.last().map(|f| f.names.len()).unwrap_or(0),
                positions,
            };
            (Some(dec), d.exposures.first().copied(), factors, betas, Some(d.sigma))
        }
        Ok(_) => (None, None, Vec::new(), Vec::new(), None),
        Err(e) => {
            if !weights.is_empty() {
                alerts.push(format!("the factor model could not be estimated: {e}"));
            }
            (None, None, Vec::new(), Vec::new(), None)
        }
    };

    // Historical revaluation of today's book.
    let hist_sessions = market.last_sessions(params.risk_state.history_days as usize);
    let series: Vec<(f64, Vec<f64>)> = book
        .holdings
        .iter()
        .map(|h| (weight(h.market_value()), market.aligned_returns(&h.ticker, &hist_sessions)))
        .collect();
    let refs: Vec<(f64, &[f64])> = series.iter().map(|(w, r)| (*w, r.as_slice())).collect();
    let history = book_returns(&refs);
    let mut tail = Vec::new();
    let mut monte_carlo = None;
    if history.len() >= 60 {
        for (c, h) in GRID {
            let sample = horizon_returns(&history, h as usize);
            tail.push(figure(TailMethod::Historical, c, h, Tail::of(&sample, 1.0 - c), nav));
        }
        let rs = &params.risk_state;
        for h in [1u32, 10] {
            let cfg = Bootstrap {
                paths: rs.mc_paths as usize,
                horizon: h as usize,
                block: rs.mc_block_days as usize,
                seed: rs.mc_seed,
            };
            let paths = block_bootstrap(&history, &cfg);
            for c in [0.95, 0.99] {
                tail.push(figure(TailMethod::MonteCarlo, c, h, Tail::of(&paths, 1.0 - c), nav));
            }
            if h == 10 {
                let mut sorted = paths.clone();
                sorted.sort_by(f64::total_cmp);
                let at = |q: f64| sorted[((q / 100.0) * (sorted.len() - 1) as f64).round() as usize];
                monte_carlo = Some(MonteCarlo {
                    paths: cfg.paths,
                    horizon_days: h,
                    block: cfg.block,
                    seed: cfg.seed,
                    percentiles: [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0].iter().map(|q| (*q, at(*q))).collect(),
                });
            }
        }
    } else if !book.holdings.is_empty() {
        alerts.push(format!("VaR: only {} complete sessions of history for today's book (60 needed)", history.len()));
    }
    if let Some(s) = sigma {
        let n = decomposition.as_ref().map(|d| d.sessions).unwrap_or(0);
        for (c, h) in GRID {
            if let Some(t) = risk_model::parametric(s, 1.0 - c, h as usize, n) {
                tail.push(figure(TailMethod::Parametric, c, h, t, nav));
            }
        }
    }

    // Stress.
    let closes: Vec<(chrono::NaiveDate, f64)> =
        index.dates.iter().zip(index.close).filter(|(d, _)| **d <= market.as_of).map(|(d, c)| (d.date(), *c)).collect();
    let positions: Vec<stress::Position> = book
        .holdings
        .iter()
        .map(|h| stress::Position {
            ticker: h.ticker.clone(),
            market_value: Usd::saturating(h.market_value()),
            beta: betas.iter().find(|(t, _, _)| t == &h.ticker).map(|(_, b, _)| *b).filter(|b| b.is_finite()),
            sector: h.sector,
            momentum: betas.iter().find(|(t, _, _)| t == &h.ticker).and_then(|(_, _, m)| *m),
        })
        .collect();
    let stress = if positions.is_empty() || nav <= 0.0 {
        Vec::new()
    } else {
        let (scenarios, left_out) = stress::available(&closes);
        if !left_out.is_empty() {
            alerts.push(format!("stress windows not in the history as of {}: {}", market.as_of, left_out.len()));
        }
        stress::run(&positions, Usd::saturating(nav), &scenarios).unwrap_or_else(|e| {
            alerts.push(format!("stress scenarios could not run: {e}"));
            Vec::new()
        })
    };

    let fired: Vec<BreakerFired> = breakers
        .fired
        .iter()
        .map(|f| BreakerFired {
            rule: f.rule.code().to_string(),
            value: f.value,
            limit: f.limit,
            effect: effect(f.effect),
            detail: f.detail.clone(),
        })
        .collect();
    alerts.extend(fired.iter().map(|f| format!("{}: {}", f.rule, f.detail)));
    RiskState {
        schema_version: 1,
        produced_by: lineage,
        date,
        nav: Usd::saturating(nav),
        exposures: Exposures { gross, net, cash: weight(book.cash), beta, sectors, factors },
        decomposition,
        tail,
        monte_carlo,
        stress,
        breakers: fired,
        alerts,
    }
}

/// The risk state as text for a terminal (`executor risk --date D`).
pub fn text(r: &RiskState) -> String {
    use std::fmt::Write;
    let pct = |x: f64| format!("{:+.2}%", x * 100.0);
    let mut s = String::new();
    let _ = writeln!(s, "Risk state {} — NAV {:.2}", r.date, r.nav.get());
    let _ = writeln!(s, "{}", r.headline());
    let e = &r.exposures;
    let _ = writeln!(
        s,
        "\nExposure: gross {}, net {}, cash {}, beta {}",
        pct(e.gross),
        pct(e.net),
        pct(e.cash),
        e.beta.map(|b| format!("{b:.2}")).unwrap_or_else(|| "n/a".into())
    );
    for x in &e.sectors {
        let name = x.sector.map(|s| s.name().to_string()).unwrap_or_else(|| "(no sector)".into());
        let _ = writeln!(s, "  {name:<28} {}", pct(x.weight));
    }
    if let Some(d) = &r.decomposition {
        let _ = writeln!(
            s,
            "\nFactor model ({} sessions, {} names): σ {:.2}%/day — factor {:.0}%, specific {:.0}%",
            d.sessions,
            d.names,
            d.sigma * 100.0,
            d.factor_share * 100.0,
            d.specific_share * 100.0
        );
        for g in &d.groups {
            let _ = writeln!(s, "  {:<12} {:.0}% of variance", g.factor, g.exposure * 100.0);
        }
        let _ = writeln!(s, "  {:<8} {:>8} {:>10} {:>10} {:>8}", "name", "weight", "MCTR", "contrib", "share");
        for p in &d.positions {
            let _ = writeln!(
                s,
                "  {:<8} {:>8} {:>10.5} {:>10.5} {:>7.1}%{}",
                p.ticker.as_str(),
                pct(p.weight),
                p.mctr,
                p.contribution,
                p.risk_share * 100.0,
                if p.flagged { "  FLAGGED" } else { "" }
            );
        }
    }
    if !r.tail.is_empty() {
        let _ = writeln!(s, "\nVaR / CVaR (returns; n = observations or paths)");
        for t in &r.tail {
            let _ = writeln!(
                s,
                "  {:<12} {:>3.0}% {:>2}d  VaR {:>8}  CVaR {:>8}  {:>12.2} USD  n={}",
                format!("{:?}", t.method),
                t.confidence * 100.0,
                t.horizon_days,
                pct(t.var),
                pct(t.cvar),
                t.var_usd.get(),
                t.n
            );
        }
    }
    if !r.stress.is_empty() {
        let _ = writeln!(s, "\nStress");
        for x in &r.stress {
            let _ = writeln!(s, "  {:<34} {:>12.2} USD {:>8}", x.scenario.name, x.pnl.get(), pct(x.pnl_of_nav));
        }
    }
    if !r.alerts.is_empty() {
        let _ = writeln!(s, "\nAlerts");
        for a in &r.alerts {
            let _ = writeln!(s, "  - {a}");
        }
    }
    s
}
