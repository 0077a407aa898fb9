//! A daily, point-in-time factor risk model of US equities: exposures from prices and sectors,
//! factor returns from one cross-sectional regression a session, a factor covariance and specific
//! variances over a window, and what a book does with them (its risk by factor and position, a
//! parametric tail, the attribution of a day's return).
//!
//! # The model
//!
//! Inputs ([`Panel`]): names × sessions (oldest first) of daily returns (NaN where missing) and
//! daily dollar volume, the benchmark's daily return per session, and each name's sector as an
//! index into a list of sector names. Units are daily simple returns throughout: the covariance,
//! the specific variances and every figure derived from them are daily.
//!
//! **Point in time.** The exposures used to explain session `t`'s returns are computed from data
//! up to session `t − 1` only (the day's return is explained by yesterday's exposures); the
//! model's [`RiskModel::exposures`] are those of the session after the panel's last, the ones
//! today's book carries. With the defaults of [`ModelParams`]:
//!
//! - **Beta** β: the OLS slope of the name's returns on the benchmark's over the `beta_days` (120)
//!   sessions before `t`, using the sessions where both are known; at least `beta_min_obs` (60).
//! - **Styles** ([`Style`]): *momentum*, the compounded return over sessions `t − 120 ..= t − 6`
//!   (the last `reversal_days` = 5 skipped); *reversal*, the compounded return of the last 5
//!   sessions; *volatility*, the sample standard deviation of the last 60 returns; *liquidity*,
//!   the log of the mean dollar volume of the last 20 sessions. Missing values in a span are
//!   skipped as long as `min_coverage` (80%) of it is known; otherwise the name has no exposure
//!   (a single missing bar, common in vendor data, must not drop a name for months).
//! - Each style is standardized across the names that have it that session: winsorized at
//!   ±`winsorize` (3) robust standard deviations (1.4826 × the median absolute deviation) from
//!   the median, so a lone outlier cannot inflate the scale it is measured by, then z-scored to
//!   mean 0 and sample standard deviation 1.
//!
//! **Regression.** For each session `t` of the window (the last `window` = 120 sessions of the
//! panel), each name's return net of the market, `y_i = r_i,t − β_i · b_t`, is regressed across
//! names by OLS ([`cross_section`]) on the sector dummies (no intercept: the dummies span it;
//! sectors with no member that session are dropped) and the four styles. A name missing that
//! session's return, beta, sector or any style is left out of that session's regression; a
//! session with fewer than `min_names` (30) names, an unknown benchmark return or a singular
//! design is skipped (listed in [`RiskModel::skipped`]). The factor returns of a session
//! ([`DayFit::factor_returns`]) are, in factor order: market = `b_t` (exposure β), one per sector
//! (0 for a sector without members that session), one per style; the residuals are the names'
//! specific returns.
//!
//! **Covariance.** The factor covariance `F` (K × K) is the exponentially weighted mean of the
//! outer products `f_t f_tᵀ` of the fitted sessions' factor return vectors, with weight `λ^a` for
//! a session `a` sessions before the window's last (`λ = 0.5^(1 / half_life)`, half-life 60
//! sessions; a skipped session still ages the older ones), divided by the sum of the weights.
//! Factor returns are not demeaned (RiskMetrics' convention: a daily mean is noise next to the
//! daily dispersion). A name's specific variance is the same weighted mean of its squared
//! residuals over the sessions it was in the regression. A name with fewer than
//! `min_specific_obs` (20) residuals gets at least the cross-sectional median of the names that
//! have enough (floor), and exactly that median when it has none (fallback).
//!
//! **Prediction.** The covariance of names is `Σ = X F Xᵀ + D` with `X` today's exposures and `D`
//! the diagonal of specific variances. Where today's exposure is unknown the model fills a
//! neutral value, so a book's risk is never silently dropped, and says so
//! ([`RiskModel::complete`]): β = 1 (the market's), no sector dummy, style 0 (the
//! cross-sectional mean).
//!
//! [`decompose`] splits a book's daily σ by factor group and by position (Euler: the
//! contributions sum to σ); [`parametric`] turns σ into a normal VaR and CVaR; [`attribute`]
//! splits a day's return into market, sector, style, specific and trading parts that sum to it,
//! and [`Attribution::sum`] a period's: each part the sum of the daily parts, plus a compounding
//! term so the parts sum to the compounded return.
//!
//! Pure: no I/O, no clock, no randomness.

mod attribution;
mod decompose;
mod estimate;
mod exposures;
mod ols;

use serde::{Deserialize, Serialize};

pub use attribution::{Attribution, attribute};
pub use decompose::{Decomposition, GroupVariance, PositionRisk, decompose, parametric};
pub use estimate::estimate;
pub use ols::{Fit, cross_section};

/// Number of style factors.
pub const N_STYLES: usize = 4;

/// The style factors, in factor order (after the market and the sectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Compounded return over the lookback, the most recent sessions skipped.
    Momentum,
    /// Compounded return of the most recent sessions (short-term reversal).
    Reversal,
    /// Sample standard deviation of recent daily returns.
    Volatility,
    /// Log of the mean daily dollar volume.
    Liquidity,
}

impl Style {
    /// All four, in factor order.
    pub const ALL: [Style; N_STYLES] = [Style::Momentum, Style::Reversal, Style::Volatility, Style::Liquidity];

    /// The factor's name.
    pub fn name(self) -> &'static str {
        match self {
            Style::Momentum => "momentum",
            Style::Reversal => "reversal",
            Style::Volatility => "volatility",
            Style::Liquidity => "liquidity",
        }
    }
}

/// The three groups a factor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorGroup {
    /// The market (the benchmark's return, exposure β).
    Market,
    /// A sector dummy.
    Sector,
    /// A style.
    Style,
}

/// Settings of the model. Lengths are in sessions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Sessions of regressions the covariance rests on (the last `window` of the panel). Default 120.
    pub window: usize,
    /// Sessions before the day that beta is estimated over. Default 120.
    pub beta_days: usize,
    /// Fewest sessions with both returns known for a beta. Default 60.
    pub beta_min_obs: usize,
    /// Momentum's lookback: from `t − momentum_days` up to the reversal span. Default 120.
    pub momentum_days: usize,
    /// Short-term reversal's span (the most recent sessions, skipped by momentum). Default 5.
    pub reversal_days: usize,
    /// Returns the volatility style is the standard deviation of. Default 60.
    pub volatility_days: usize,
    /// Sessions of dollar volume the liquidity style averages. Default 20.
    pub liquidity_days: usize,
    /// Share of a style's span that must be known (the missing values are skipped). Default 0.8.
    pub min_coverage: f64,
    /// Winsorizing bound of the styles, in robust standard deviations from the median. Default 3.
    pub winsorize: f64,
    /// Half-life of the exponential weights of the factor covariance and the specific
    /// variances. Default 60.
    pub half_life: f64,
    /// Fewest names for a session's regression. Default 30.
    pub min_names: usize,
    /// Fewest residuals for a name's own specific variance (below: floored at the
    /// cross-sectional median). Default 20.
    pub min_specific_obs: usize,
    /// A position is flagged when its share of the book's risk exceeds this multiple of its
    /// share of the gross book. Default 1.5.
    pub flag_ratio: f64,
}

impl Default for ModelParams {
    fn default() -> Self {
        Self {
            window: 120,
            beta_days: 120,
            beta_min_obs: 60,
            momentum_days: 120,
            reversal_days: 5,
            volatility_days: 60,
            liquidity_days: 20,
            min_coverage: 0.8,
            winsorize: 3.0,
            half_life: 60.0,
            min_names: 30,
            min_specific_obs: 20,
            flag_ratio: 1.5,
        }
    }
}

impl ModelParams {
    /// Every problem with the settings (empty when they are usable).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut need = |ok: bool, what: &str| {
            if !ok {
                out.push(what.to_string());
            }
        };
        need(self.window >= 1, "window must be at least 1");
        need(self.beta_min_obs >= 2, "beta_min_obs must be at least 2");
        need(self.beta_min_obs <= self.beta_days, "beta_min_obs must not exceed beta_days");
        need(self.reversal_days >= 1, "reversal_days must be at least 1");
        need(self.momentum_days > self.reversal_days, "momentum_days must exceed reversal_days");
        need(self.volatility_days >= 2, "volatility_days must be at least 2");
        need(self.liquidity_days >= 1, "liquidity_days must be at least 1");
        need(self.min_coverage > 0.0 && self.min_coverage <= 1.0, "min_coverage must be in (0, 1]");
        need(self.winsorize.is_finite() && self.winsorize > 0.0, "winsorize must be positive");
        need(self.half_life.is_finite() && self.half_life > 0.0, "half_life must be positive");
        need(self.min_names >= 1, "min_names must be at least 1");
        need(self.flag_ratio.is_finite() && self.flag_ratio > 0.0, "flag_ratio must be positive");
        out
    }
}

/// What the model is estimated from: names × sessions, oldest session first. Every name's rows
/// and the benchmark have one value per session.
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    /// Daily simple return of each name per session (NaN where unknown).
    pub returns: &'a [Vec<f64>],
    /// Daily dollar volume of each name per session (NaN where unknown).
    pub dollar_volume: &'a [Vec<f64>],
    /// The benchmark's daily simple return per session (NaN where unknown).
    pub benchmark: &'a [f64],
    /// Each name's sector, an index into `sector_names`.
    pub sectors: &'a [Option<usize>],
    /// The sectors' names, in factor order.
    pub sector_names: &'a [String],
}

/// Why the model could not be built or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskModelError {
    /// The settings are unusable.
    #[error("invalid risk model parameters: {}", .0.join("; "))]
    Params(Vec<String>),
    /// The panel's shapes disagree or a sector index is out of range.
    #[error("malformed panel: {0}")]
    Panel(String),
    /// No session of the window had a usable cross-section.
    #[error("no session of the window had a usable cross-section")]
    NoFit,
    /// A book names an index the model does not have.
    #[error("name index {0} is not in the model")]
    UnknownName(usize),
    /// A book's weight is not finite.
    #[error("the weight of name {0} is not finite")]
    BadWeight(usize),
    /// The book has no risk (empty, or zero weights).
    #[error("the book has no risk (empty or zero weights)")]
    NoRisk,
}

/// One session's cross-section: who was in the regression, with which exposures, and the fit.
/// The vectors over names are aligned with [`DayFit::names`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayFit {
    /// The session (index into the panel).
    pub session: usize,
    /// Names in the regression (indices into the panel, ascending).
    pub names: Vec<usize>,
    /// Their betas (from data before the session).
    pub beta: Vec<f64>,
    /// Their sectors.
    pub sector: Vec<usize>,
    /// Their standardized styles, in [`Style::ALL`] order.
    pub styles: Vec<[f64; N_STYLES]>,
    /// The regressand: return net of the market, `r − β·b`.
    pub y: Vec<f64>,
    /// The session's factor returns, in factor order (market = the benchmark's return).
    pub factor_returns: Vec<f64>,
    /// Specific returns (the regression's residuals).
    pub residuals: Vec<f64>,
    /// The regression's R² (centered: the sector dummies span a constant).
    pub r2: f64,
}

/// A session's design matrix as the regression sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// The regressors, one column per vector, rows aligned with [`DayFit::names`].
    pub columns: Vec<Vec<f64>>,
    /// The factor (index in factor order) of each column.
    pub factors: Vec<usize>,
}

impl DayFit {
    /// The regression's design: a dummy column for each of the `n_sectors` sectors with a member
    /// this session, then the styles.
    pub fn design(&self, n_sectors: usize) -> Design {
        let m = self.names.len();
        let mut present = vec![false; n_sectors];
        for &s in &self.sector {
            if let Some(p) = present.get_mut(s) {
                *p = true;
            }
        }
        let mut columns = Vec::with_capacity(n_sectors + N_STYLES);
        let mut factors = Vec::with_capacity(n_sectors + N_STYLES);
        for (s, _) in present.iter().enumerate().filter(|(_, p)| **p) {
            columns.push(self.sector.iter().map(|&x| if x == s { 1.0 } else { 0.0 }).collect());
            factors.push(1 + s);
        }
        for k in 0..N_STYLES {
            let mut c = Vec::with_capacity(m);
            c.extend(self.styles.iter().map(|x| x[k]));
            columns.push(c);
            factors.push(1 + n_sectors + k);
        }
        Design { columns, factors }
    }
}

/// The estimated model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskModel {
    /// The settings it was estimated with.
    pub params: ModelParams,
    /// Factor names in factor order: `market`, the sectors, the styles.
    pub factor_names: Vec<String>,
    /// Number of sector factors.
    pub n_sectors: usize,
    /// Sessions in the panel; [`RiskModel::exposures`] are for the session after them.
    pub sessions: usize,
    /// Today's exposures (the session after the panel's last), names × factors, with neutral
    /// values where unknown (see [`RiskModel::complete`]).
    pub exposures: Vec<Vec<f64>>,
    /// Whether each name's exposures were all known (false: some were filled).
    pub complete: Vec<bool>,
    /// Factor covariance, K × K, daily.
    pub covariance: Vec<Vec<f64>>,
    /// Specific variance of each name, daily.
    pub specific_variance: Vec<f64>,
    /// Residuals each name's specific variance rests on.
    pub specific_obs: Vec<usize>,
    /// The window's fitted sessions, oldest first.
    pub days: Vec<DayFit>,
    /// Sessions of the window that were not fitted (too few names, no benchmark return, a
    /// singular design).
    pub skipped: Vec<usize>,
    /// Sample size: sessions the covariance rests on (`days.len()`).
    pub n: usize,
}

impl RiskModel {
    /// Number of factors (1 + sectors + styles).
    pub fn k(&self) -> usize {
        self.factor_names.len()
    }

    /// The group of factor `k`.
    pub fn group(&self, k: usize) -> FactorGroup {
        group_of(k, self.n_sectors)
    }

    /// The fit of panel session `session`, when it was fitted.
    pub fn day(&self, session: usize) -> Option<&DayFit> {
        self.days.binary_search_by_key(&session, |d| d.session).ok().map(|i| &self.days[i])
    }
}

/// The group of factor `k` in a model with `n_sectors` sectors.
fn group_of(k: usize, n_sectors: usize) -> FactorGroup {
    if k == 0 {
        FactorGroup::Market
    } else if k <= n_sectors {
        FactorGroup::Sector
    } else {
        FactorGroup::Style
    }
}

#[cfg(test)]
pub(crate) mod testdata;
