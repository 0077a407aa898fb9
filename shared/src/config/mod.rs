//! Typed configuration: documented defaults, file and environment overrides, and validation that
//! reports every problem at once.
//!
//! Layers, later wins: the embedded `config/default.toml` (every default number of the design,
//! with its meaning) → an optional TOML file with only the keys to change → environment variables
//! `ALPHA_ENGINE__SECTION__KEY=value` (value parsed as TOML, else taken as a string; `BUS_URL` is an
//! alias of `bus.url`). The merged tree is checked against the JSON Schema of [`Config`] (unknown
//! keys, types, hard bounds — all at once, each located and, for overrides, attributed to the file
//! or variable that set it), then converted to the typed value, then cross-field rules run.

mod backtest;
mod load;
mod sections;

pub use backtest::*;
pub use load::*;
pub use sections::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contracts::Checker;
use crate::contracts::params::{ExecutorParams, Params, PredictorParams, ResearchParams, ScoringWeights};
use crate::mail::MailConfig;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Bus.
    pub bus: BusConfig,
    /// Market data.
    pub data: DataConfig,
    /// Scoring weights (tunable).
    pub scoring: ScoringWeights,
    /// Research parameters (tunable).
    pub research: ResearchParams,
    /// Predictor parameters (tunable).
    pub predictor: PredictorParams,
    /// Executor parameters (tunable).
    pub executor: ExecutorParams,
    /// Operator email.
    pub mail: MailConfig,
    /// Operator alerts.
    pub alerts: AlertsConfig,
    /// LLM agents.
    pub llm: LlmConfig,
    /// Data providers.
    pub providers: ProvidersConfig,
    /// Trading (broker, ledger, paper account, pre-trade limits).
    pub trading: TradingConfig,
    /// The backtester (fill model, sweep grid, promotion gates).
    pub backtest: BacktestConfig,
}

impl Config {
    /// Cross-field rules of every section.
    pub fn check(&self, c: &mut Checker) {
        self.backtest.sweep.check(&self.executor, c, "backtest.sweep");
        self.scoring.check(c, "scoring.");
        self.research.check(c, "research.");
        self.predictor.check(c, "predictor.");
        self.executor.check(c, "executor.");
        let g = &self.data.governance;
        if g.min_rows_degraded > g.min_rows_active {
            c.push(
                "data.governance.min_rows_degraded",
                format!("{} is above min_rows_active {}", g.min_rows_degraded, g.min_rows_active),
            );
        }
        let needs = [
            ("data.governance.min_rows_active", g.min_rows_active),
            ("executor.breakers.var_days + 1", self.executor.breakers.var_days + 1),
            ("executor.risk.correlation_days + 1", self.executor.risk.correlation_days + 1),
        ];
        for (what, n) in needs {
            if g.history_sessions < n {
                c.push(
                    "data.governance.history_sessions",
                    format!("{} sessions are fewer than {what} ({n}): raise it", g.history_sessions),
                );
            }
        }
        for m in [&self.llm.strategic_model, &self.llm.ticker_model] {
            if !self.llm.prices.contains_key(m) {
                c.push(
                    "llm.prices",
                    format!("no price for model {m:?}; add [llm.prices.\"{m}\"] so the cost ceiling can be enforced"),
                );
            }
        }
        if self.providers.sec.enabled && !self.providers.sec.user_agent.contains('@') {
            c.push(
                "providers.sec.user_agent",
                "SEC requires a User-Agent with a contact e-mail, e.g. \"Acme Research ops@acme.com\"",
            );
        }
        let q = &self.data.quality;
        if q.quarantine_score > q.min_score {
            c.push(
                "data.quality.quarantine_score",
                format!("{} is above min_score {}", q.quarantine_score, q.min_score),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_are_valid_and_carry_the_design_numbers() {
        let c = Config::defaults();
        assert_eq!(c.executor.exits.atr_period, 14);
        assert_eq!(c.executor.exits.atr_multiple, 2.5);
        assert_eq!(c.executor.exits.time_decay_reduce_days, 7);
        assert_eq!(c.executor.exits.time_decay_exit_days, 14);
        assert_eq!(c.executor.exits.momentum_exit_return.get(), -0.15);
        assert_eq!(c.executor.exits.momentum_exit_rsi, 30.0);
        assert_eq!(c.executor.risk.max_position_pct.get(), 0.05);
        assert_eq!(c.executor.risk.bear_max_position_pct.get(), 0.025);
        assert_eq!(c.executor.risk.max_sector_pct.get(), 0.25);
        assert_eq!(c.executor.risk.max_equity_pct.get(), 0.90);
        assert_eq!(c.executor.risk.max_sector_correlation, 0.80);
        let tiers: Vec<_> =
            c.executor.risk.drawdown_tiers.iter().map(|t| (t.at_pct.get(), t.multiplier.get())).collect();
        assert_eq!(tiers, vec![(0.02, 0.5), (0.04, 0.25)]);
        assert_eq!(c.executor.risk.drawdown_breaker_pct.get(), 0.06);
        assert_eq!(c.executor.sizing.adv_cap_pct.get(), 0.10);
        assert_eq!(c.executor.sizing.min_position_usd.get(), 500.0);
        assert_eq!(c.executor.intraday.pullback_pct.get(), 0.02);
        assert_eq!(c.executor.intraday.vwap_discount_pct.get(), 0.005);
        assert_eq!(c.executor.intraday.support_pct.get(), 0.01);
        assert_eq!(c.executor.intraday.profit_take_pct.get(), 0.08);
        assert_eq!(c.executor.intraday.collapse_pct.get(), 0.05);
        assert_eq!(c.executor.intraday.tighten_after_days, 3);
        assert_eq!(c.predictor.horizon_days, 5);
        assert_eq!(c.research.population_size, 25);
        assert_eq!(c.research.shortlist_size, 60);
    }

    #[test]
    fn env_overrides_apply_and_are_typed() {
        let c = Config::load_from(
            None,
            env(&[
                ("ALPHA_ENGINE__EXECUTOR__RISK__MAX_POSITION_PCT", "0.04"),
                ("BUS_URL", "s3://b-1/x"),
                ("UNRELATED", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.executor.risk.max_position_pct.get(), 0.04);
        assert_eq!(c.bus.url, "s3://b-1/x");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("over.toml");
        std::fs::write(&f, "[executor.risk]\nmax_position_pct = 0.5\nmin_score = 140.0\n[research]\nsell_threshold = 80.0\ntypo_key = 1\n").unwrap();
        let err = Config::load_from(Some(&f), env(&[("ALPHA_ENGINE__EXECUTOR__EXITS__ATR_PERIOD", "-3")])).unwrap_err();
        let ConfigError::Invalid { problems } = err else { panic!("{err}") };
        let text = problems.to_string();
        assert!(text.contains("executor.risk.max_position_pct: 0.5 is above 0.25"), "{text}");
        assert!(text.contains("executor.risk.min_score: 140 is above 100"), "{text}");
        assert!(
            text.contains(
                "executor.exits.atr_period: -3 is below 2 (set by ALPHA_ENGINE__EXECUTOR__EXITS__ATR_PERIOD)"
            ),
            "{text}"
        );
        assert!(text.contains("research: unknown field(s): typo_key"), "{text}");
        assert!(problems.len() >= 4, "{text}");
    }

    #[test]
    fn a_history_window_shorter_than_what_the_rules_look_back_is_refused() {
        let err = Config::load_from(None, env(&[("ALPHA_ENGINE__DATA__GOVERNANCE__HISTORY_SESSIONS", "150")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "data.governance.history_sessions: 150 sessions are fewer than data.governance.min_rows_active (200)"
            ),
            "{err}"
        );
        assert!(err.contains("fewer than executor.breakers.var_days + 1 (251)"), "{err}");
        assert!(!err.contains("correlation_days"), "61 sessions fit: {err}");
    }

    #[test]
    fn a_rolling_training_window_too_short_to_train_on_is_refused() {
        let load = |days: &str| {
            Config::load_from(None, env(&[("ALPHA_ENGINE__PREDICTOR__WALK_FORWARD__MAX_TRAIN_DAYS", days)]))
        };
        let err = load("30").unwrap_err().to_string();
        assert!(err.contains("predictor.walk_forward.max_train_days: 30 is too short to train on"), "{err}");
        for fine in ["0", "60", "1260"] {
            assert_eq!(load(fine).unwrap().predictor.walk_forward.max_train_days.to_string(), fine);
        }
    }

    #[test]
    fn cross_field_rules_run_when_types_are_fine() {
        let err = Config::load_from(None, env(&[("ALPHA_ENGINE__RESEARCH__SELL_THRESHOLD", "75.0")])).unwrap_err();
        assert!(err.to_string().contains("research.sell_threshold: 75 must be below buy_threshold 70"), "{err}");
    }

    #[test]
    fn a_sweep_over_unknown_paths_or_out_of_bounds_values_is_refused_with_every_problem() {
        let text = r#"
[[backtest.sweep]]
path = "exits.atr_multiple"
values = [2.0, 11.0]
[[backtest.sweep]]
path = "exits.no_such_parameter"
values = [1.0, 2.0]
[[backtest.sweep]]
path = "exits.time_decay_exit_days"
values = [14.5]
[[backtest.sweep]]
path = "exits.atr_multiple"
values = []
"#;
        let err = Config::load_str(text, "sweep.toml", env(&[])).unwrap_err().to_string();
        for want in [
            "backtest.sweep[0].values[1]: 11 is outside exits.atr_multiple's bounds [0.5, 10]",
            "backtest.sweep[1].path: \"exits.no_such_parameter\" is not a numeric parameter of executor_params",
            "backtest.sweep[2].values[0]: 14.5 is not a whole number",
            "backtest.sweep[3].path: \"exits.atr_multiple\" is swept twice",
            "backtest.sweep[3].values: no values",
        ] {
            assert!(err.contains(want), "missing {want:?} in:\n{err}");
        }
        assert_eq!(Config::defaults().backtest.sweep.len(), 1728);
        let origins = Config::load_traced(None, env(&[("ALPHA_ENGINE__EXECUTOR__RISK__MIN_SCORE", "66.0")])).unwrap().1;
        assert_eq!(origins.of("executor.risk.min_score"), "ALPHA_ENGINE__EXECUTOR__RISK__MIN_SCORE");
        assert_eq!(origins.of("executor.risk.max_position_pct"), "defaults");
    }
}
