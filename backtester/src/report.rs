//! The backtest report: one JSON document (`backtest/{date}/report.json`) and its Markdown
//! rendering (`backtest/{date}/report.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ae_shared::TradingDay;
use ae_shared::fmt::pct;
use ae_shared::metrics::Summary;
use serde::Serialize;

use crate::grade::TearSheet;
use crate::prepare::Coverage;
use crate::signal_grade::SignalGrade;
use crate::sim::SimResult;
use crate::sweep::SweepOutcome;
use crate::veto::VetoOutcome;
use crate::weights::WeightsOutcome;

/// One entry trigger's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerScore {
    /// Trigger code.
    pub trigger: String,
    /// Entries filled.
    pub entries: u64,
    /// Closed trades opened by it.
    pub closed: u64,
    /// Share of closed trades with a profit.
    pub win_rate: f64,
    /// Mean return of closed trades.
    pub mean_return: f64,
}

/// What happened to one parameter file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteBack {
    /// `executor_params`, ...
    pub name: String,
    /// Written.
    pub written: bool,
    /// Keys written (history, previous, current).
    pub keys: Vec<String>,
    /// Why (gates) or why not.
    pub why: Vec<String>,
}

/// Speed of this run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speed {
    /// Seconds to copy inputs and replay research.
    pub replay_s: f64,
    /// Seconds to prepare views.
    pub prepare_s: f64,
    /// Seconds of one simulation (the parameters in force).
    pub simulate_s: f64,
    /// Universe bars over the simulated days / seconds of one simulation.
    pub bar_events_per_s: f64,
    /// Seconds of the sweep.
    pub sweep_s: f64,
    /// Seconds of the whole run.
    pub total_s: f64,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Run date.
    pub date: TradingDay,
    /// Simulated days, first and last.
    pub period: Option<(TradingDay, TradingDay)>,
    /// Input coverage.
    pub coverage: Coverage,
    /// Weeks whose signals were replayed by research here.
    pub replayed_weeks: Vec<TradingDay>,
    /// Fill model, in words.
    pub fill_model: String,
    /// The parameters in force, graded.
    pub tear_sheet: TearSheet,
    /// The benchmark alone.
    pub benchmark: Summary,
    /// Circuit breakers, the VaR's coverage, the period's attribution.
    pub risk: crate::risk_grade::RiskGrade,
    /// Entries blocked by rule.
    pub blocked: BTreeMap<String, u64>,
    /// Orders refused by gates or fills; partial fills.
    pub refused_partial: (u64, u64),
    /// Entry triggers.
    pub triggers: Vec<TriggerScore>,
    /// Signal quality.
    pub signals: SignalGrade,
    /// Executor sweep.
    pub sweep: SweepOutcome,
    /// The sizer without and with the ensemble (a two-point sweep on top of the sweep's outcome).
    pub ensemble: SweepOutcome,
    /// Scoring weights.
    pub weights: WeightsOutcome,
    /// Veto calibration.
    pub veto: VetoOutcome,
    /// Write-back decisions.
    pub write_back: Vec<WriteBack>,
    /// Speed.
    pub speed: Speed,
    /// Everything else worth knowing.
    pub notes: Vec<String>,
}

/// Scores entry triggers from a detailed run.
pub fn triggers(res: &SimResult) -> Vec<TriggerScore> {
    let mut by: BTreeMap<String, TriggerScore> = BTreeMap::new();
    let new = |t: &str| TriggerScore { trigger: t.into(), entries: 0, closed: 0, win_rate: 0.0, mean_return: 0.0 };
    for f in res.fills.iter().filter(|f| f.side == ae_shared::contracts::common::Side::Buy) {
        let k = f.reasons.first().cloned().unwrap_or_default();
        by.entry(k.clone()).or_insert_with(|| new(&k)).entries += 1;
    }
    for t in &res.trades {
        let e = by.entry(t.entry_reason.clone()).or_insert_with(|| new(&t.entry_reason));
        e.closed += 1;
        e.win_rate += f64::from(t.pnl > 0.0);
        e.mean_return += t.ret;
    }
    by.into_values()
        .map(|mut s| {
            if s.closed > 0 {
                s.win_rate /= s.closed as f64;
                s.mean_return /= s.closed as f64;
            } else {
                s.win_rate = f64::NAN;
                s.mean_return = f64::NAN;
            }
            s
        })
        .collect()
}

fn num(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "n/a".into() }
}

impl Report {
    /// Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let t = &self.tear_sheet;
        let m = &t.summary;
        let _ = writeln!(s, "# Backtest {}\n", self.date);
        if let Some((a, b)) = self.period {
            let _ = writeln!(
                s,
                "Simulated {a} .. {b}: {} sessions; signals in force on {}, predictions on {}. Fill model: {}.",
                self.coverage.days, self.coverage.with_signals, self.coverage.with_predictions, self.fill_model
            );
        }
        if !self.replayed_weeks.is_empty() {
            let _ = writeln!(
                s,
                "\nNo signals on the bus for {} week(s): research was replayed for them on a private copy, quant-only, point in time.",
                self.replayed_weeks.len()
            );
        }
        let _ = writeln!(s, "\n## Write-back\n");
        for w in &self.write_back {
            let _ = writeln!(s, "- **{}**: {}", w.name, if w.written { "WRITTEN" } else { "not written" });
            for y in &w.why {
                let _ = writeln!(s, "  - {y}");
            }
        }
        let _ = writeln!(s, "\n## Performance of the parameters in force (n = {} sessions)\n", m.n);
        let _ = writeln!(s, "| | strategy | benchmark |\n|---|---|---|");
        let b = &self.benchmark;
        for (k, x, y) in [
            ("total return", pct(m.total_return), pct(b.total_return)),
            ("annual return", pct(m.annual_return), pct(b.annual_return)),
            ("annual volatility", pct(m.annual_volatility), pct(b.annual_volatility)),
            ("Sharpe", num(m.sharpe), num(b.sharpe)),
            ("Sortino", num(m.sortino), num(b.sortino)),
            ("max drawdown", pct(m.max_drawdown), pct(b.max_drawdown)),
            ("Calmar", num(m.calmar), num(b.calmar)),
        ] {
            let _ = writeln!(s, "| {k} | {x} | {y} |");
        }
        let _ = writeln!(
            s,
            "\nAlpha {} a year, beta {}. Turnover {:.1}x a year. {} closed trades. Refused orders {}, partial fills {}.",
            pct(m.alpha),
            num(m.beta),
            t.turnover,
            t.trades,
            self.refused_partial.0,
            self.refused_partial.1
        );
        if t.rolling_sharpe_12m.is_empty() {
            let _ = writeln!(s, "Rolling 12-month Sharpe: needs 252 sessions (have {}).", m.n);
        } else if let Some((d, v)) = t.rolling_sharpe_12m.last() {
            let _ = writeln!(s, "Rolling 12-month Sharpe at {d}: {}.", num(*v));
        }
        let r = &self.risk;
        let _ = writeln!(s, "\n### Risk\n");
        if r.breaker_counts.is_empty() {
            let _ = writeln!(s, "No circuit breaker fired.");
        } else {
            let counts: Vec<String> = r.breaker_counts.iter().map(|(k, v)| format!("{k} × {v}")).collect();
            let _ = writeln!(s, "Circuit breakers: {}.", counts.join(", "));
            for e in r.breakers.iter().filter(|e| e.rule == "DRAWDOWN_KILL" || e.rule == "DAILY_LOSS_HALT") {
                let _ = writeln!(s, "- {} {}: {}", e.date, e.rule, e.detail);
            }
        }
        let v = &r.var;
        let _ = writeln!(
            s,
            "\nOne-day 99% VaR (historical, today's book): {} exceedances in {} days (expected {:.1}){}.",
            v.exceedances,
            v.days,
            v.expected,
            v.kupiec.map(|(lr, p)| format!("; Kupiec LR {lr:.2}, p = {p:.3}")).unwrap_or_default()
        );
        match (&r.attribution, &r.note) {
            (Some(a), _) => {
                let _ = writeln!(
                    s,
                    "\nAttribution by the factor risk model over the {} of the {} sessions it fits (each from that morning's book): market {}, sectors {}, styles {}, specific {}, trading {}, compounding {} = {}.",
                    a.days,
                    m.n,
                    pct(a.market),
                    pct(a.sector),
                    pct(a.style),
                    pct(a.specific),
                    pct(a.trading),
                    pct(a.compounding),
                    pct(a.total)
                );
            }
            (None, Some(why)) => {
                let _ = writeln!(s, "\nNo attribution: {why}.");
            }
            (None, None) => {}
        }
        let _ = writeln!(s, "\n### Monthly returns\n\n| month | strategy | benchmark |\n|---|---|---|");
        for (y, mo, x, bb) in &t.monthly {
            let _ = writeln!(s, "| {y}-{mo:02} | {} | {} |", pct(*x), pct(*bb));
        }
        let _ = writeln!(
            s,
            "\n### Win rates (95% Wilson intervals)\n\n| bucket | n | win rate | interval | mean return |\n|---|---|---|---|---|"
        );
        for w in &t.win_rates {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {}..{} | {} |",
                w.bucket,
                w.n,
                pct(w.rate),
                pct(w.interval.0),
                pct(w.interval.1),
                pct(w.mean_return)
            );
        }
        let _ = writeln!(
            s,
            "\n### Entry triggers\n\n| trigger | entries | closed | win rate | mean return |\n|---|---|---|---|---|"
        );
        for x in &self.triggers {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                x.trigger,
                x.entries,
                x.closed,
                pct(x.win_rate),
                pct(x.mean_return)
            );
        }
        if !self.blocked.is_empty() {
            let _ = writeln!(
                s,
                "\nEntries blocked: {}",
                self.blocked.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
            );
        }
        let _ = writeln!(s, "\n## Signal quality ({} signals documents)\n", self.signals.documents);
        let _ = writeln!(
            s,
            "BUY signals beating the benchmark; buckets below the minimum sample have no rate. * = significant after Benjamini-Hochberg.\n"
        );
        let _ = writeln!(s, "| bucket | horizon | n | beat | rate | 95% interval | p |\n|---|---|---|---|---|---|---|");
        for bk in &self.signals.buckets {
            let (rate, iv, p) = match (bk.rate, bk.interval, bk.p_value) {
                (Some(r), Some((lo, hi)), Some(p)) => (
                    pct(r),
                    format!("{}..{}", pct(lo), pct(hi)),
                    format!("{p:.3}{}", if bk.significant { " *" } else { "" }),
                ),
                _ => ("too few".into(), String::new(), String::new()),
            };
            let _ = writeln!(s, "| {} | {}d | {} | {} | {rate} | {iv} | {p} |", bk.bucket, bk.horizon, bk.n, bk.beat);
        }
        let _ = writeln!(s, "\nSub-score attribution (rank IC with the forward excess return):\n");
        for a in &self.signals.attribution {
            let _ = writeln!(s, "- {} at {}d: {} (n = {})", a.score, a.horizon, num(a.rank_ic), a.n);
        }
        let sw = &self.sweep;
        let _ = writeln!(
            s,
            "\n## Executor sweep\n\n{} points declared, {} skipped as invalid, {} training / {} holdout sessions, {:.1} s ({} resumed from the previous run's states).\n",
            sw.declared, sw.invalid, sw.split.0, sw.split.1, sw.seconds, sw.resumed
        );
        for g in &sw.gates {
            let _ = writeln!(s, "- {g}");
        }
        let names: Vec<&str> = sw.baseline.point.0.iter().map(|(k, _)| k.as_str()).collect();
        let _ = writeln!(
            s,
            "\n| {} | train | holdout | trades |\n|{}---|---|---|",
            names.join(" | "),
            "---|".repeat(names.len())
        );
        for x in std::iter::once(&sw.baseline).chain(sw.top.iter()) {
            let values: Vec<String> = x.point.0.iter().map(|(_, v)| v.to_string()).collect();
            let _ =
                writeln!(s, "| {} | {} | {} | {} |", values.join(" | "), num(x.train), num(x.holdout), x.train_trades);
        }
        let _ = writeln!(s, "\n(first row: the parameters in force)\n\n## Ensemble sizing\n");
        let en = &self.ensemble;
        for g in &en.gates {
            let _ = writeln!(s, "- {g}");
        }
        let _ = writeln!(s, "\n| sizing.ensemble | train | holdout | trades |\n|---|---|---|---|");
        for x in std::iter::once(&en.baseline).chain(en.top.iter()) {
            let v = x.point.0.first().map_or(f64::NAN, |(_, v)| *v);
            let _ = writeln!(s, "| {v} | {} | {} | {} |", num(x.train), num(x.holdout), x.train_trades);
        }
        let _ = writeln!(s, "\n(first row: in force after the sweep)\n\n## Scoring weights\n");
        for g in &self.weights.gates {
            let _ = writeln!(s, "- {g}");
        }
        let _ = writeln!(s, "\n| factor | weeks | mean rank IC | weight | proposed |\n|---|---|---|---|---|");
        for f in self.weights.factors.iter().filter(|f| f.weeks > 0) {
            let _ =
                writeln!(s, "| {} | {} | {} | {:.3} | {:.3} |", f.factor, f.weeks, num(f.mean_ic), f.before, f.after);
        }
        let _ = writeln!(s, "\n## Veto calibration\n");
        for g in &self.veto.gates {
            let _ = writeln!(s, "- {g}");
        }
        let sp = &self.speed;
        let _ = writeln!(
            s,
            "\n## Speed\n\nreplay {:.1} s, prepare {:.1} s, one simulation {:.3} s ({:.2}M bar-events/s), sweep {:.1} s, total {:.1} s.",
            sp.replay_s,
            sp.prepare_s,
            sp.simulate_s,
            sp.bar_events_per_s / 1e6,
            sp.sweep_s,
            sp.total_s
        );
        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}
