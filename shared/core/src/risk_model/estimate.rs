//! Estimating the model: the window's regressions, the exponentially weighted factor covariance
//! and specific variances, and today's exposures.

use super::exposures::{self, Exposures};
use super::ols::cross_section;
use super::{DayFit, ModelParams, N_STYLES, Panel, RiskModel, RiskModelError, Style};
use crate::metrics::quantile;

/// Estimates the model over the last `params.window` sessions of `panel` (see the module
/// documentation). Errors when the settings or the panel are malformed, or no session of the
/// window could be fitted.
pub fn estimate(panel: &Panel<'_>, params: &ModelParams) -> Result<RiskModel, RiskModelError> {
    let problems = params.problems();
    if !problems.is_empty() {
        return Err(RiskModelError::Params(problems));
    }
    check(panel)?;
    let n_sectors = panel.sector_names.len();
    let k = 1 + n_sectors + N_STYLES;
    let sessions = panel.benchmark.len();
    let first = sessions.saturating_sub(params.window);

    // The window's sessions and, last, the session after the panel's (today's exposures).
    let mut exposed = exposures::sessions(panel, first..sessions + 1, params);
    let today = exposed.pop().ok_or(RiskModelError::NoFit)?;
    let mut days = Vec::new();
    let mut skipped = Vec::new();
    for (t, e) in (first..sessions).zip(exposed) {
        match fit_day(panel, t, e, params) {
            Some(d) => days.push(d),
            None => skipped.push(t),
        }
    }
    if days.is_empty() {
        return Err(RiskModelError::NoFit);
    }

    let lambda = 0.5f64.powf(1.0 / params.half_life);
    let weight = |t: usize| lambda.powi((sessions - 1 - t) as i32);
    // The upper triangle of Σ w f fᵀ, mirrored once divided (so F is exactly symmetric).
    let mut upper = vec![vec![0.0; k]; k];
    let mut total = 0.0;
    let n_names = panel.returns.len();
    let (mut sq, mut wsum, mut obs) = (vec![0.0; n_names], vec![0.0; n_names], vec![0usize; n_names]);
    for d in &days {
        let w = weight(d.session);
        total += w;
        let f = &d.factor_returns;
        for (a, row) in upper.iter_mut().enumerate() {
            for (c, fb) in row.iter_mut().zip(f).skip(a) {
                *c += w * f[a] * fb;
            }
        }
        for (&i, e) in d.names.iter().zip(&d.residuals) {
            sq[i] += w * e * e;
            wsum[i] += w;
            obs[i] += 1;
        }
    }
    let covariance: Vec<Vec<f64>> =
        (0..k).map(|a| (0..k).map(|b| upper[a.min(b)][a.max(b)] / total).collect()).collect();
    let own: Vec<f64> = (0..n_names).map(|i| if obs[i] > 0 { sq[i] / wsum[i] } else { f64::NAN }).collect();
    let specific_variance = specific(&own, &obs, params.min_specific_obs);

    let (exposures, complete) = today_rows(panel, &today, n_sectors);
    let mut factor_names = vec!["market".to_string()];
    factor_names.extend(panel.sector_names.iter().cloned());
    factor_names.extend(Style::ALL.iter().map(|s| s.name().to_string()));
    let n = days.len();
    Ok(RiskModel {
        params: *params,
        factor_names,
        n_sectors,
        sessions,
        exposures,
        complete,
        covariance,
        specific_variance,
        specific_obs: obs,
        days,
        skipped,
        n,
    })
}

/// Shapes agree and sector indices are in range.
fn check(panel: &Panel<'_>) -> Result<(), RiskModelError> {
    let bad = |m: String| Err(RiskModelError::Panel(m));
    let (n, t) = (panel.returns.len(), panel.benchmark.len());
    if panel.dollar_volume.len() != n || panel.sectors.len() != n {
        return bad(format!(
            "{n} return rows, {} dollar volume rows, {} sectors",
            panel.dollar_volume.len(),
            panel.sectors.len()
        ));
    }
    for (i, (r, v)) in panel.returns.iter().zip(panel.dollar_volume).enumerate() {
        if r.len() != t || v.len() != t {
            return bad(format!("name {i} has {} returns and {} volumes for {t} sessions", r.len(), v.len()));
        }
    }
    if let Some((i, s)) =
        panel.sectors.iter().enumerate().find(|(_, s)| s.is_some_and(|s| s >= panel.sector_names.len()))
    {
        return bad(format!("name {i} has sector {s:?} of {}", panel.sector_names.len()));
    }
    Ok(())
}

/// Session `t`'s regression on its exposures, or `None` when it cannot be fitted.
fn fit_day(panel: &Panel<'_>, t: usize, exposures: Exposures, p: &ModelParams) -> Option<DayFit> {
    let b = panel.benchmark[t];
    if !b.is_finite() {
        return None;
    }
    let Exposures { beta, styles } = exposures;
    let mut d = DayFit {
        session: t,
        names: Vec::new(),
        beta: Vec::new(),
        sector: Vec::new(),
        styles: Vec::new(),
        y: Vec::new(),
        factor_returns: Vec::new(),
        residuals: Vec::new(),
        r2: f64::NAN,
    };
    for (i, r) in panel.returns.iter().enumerate() {
        let (r, bi, st) = (r[t], beta[i], styles[i]);
        let Some(s) = panel.sectors[i] else { continue };
        if r.is_finite() && bi.is_finite() && st.iter().all(|x| x.is_finite()) {
            d.names.push(i);
            d.beta.push(bi);
            d.sector.push(s);
            d.styles.push(st);
            d.y.push(r - bi * b);
        }
    }
    if d.names.len() < p.min_names {
        return None;
    }
    let n_sectors = panel.sector_names.len();
    let design = d.design(n_sectors);
    let fit = cross_section(&d.y, &design.columns)?;
    d.factor_returns = vec![0.0; 1 + n_sectors + N_STYLES];
    d.factor_returns[0] = b;
    for (&f, c) in design.factors.iter().zip(&fit.coefficients) {
        d.factor_returns[f] = *c;
    }
    d.residuals = fit.residuals;
    d.r2 = fit.r2;
    Some(d)
}

/// Specific variances: a name's own estimate with at least `min_obs` residuals, else at least the
/// median of those that have enough (the median of every estimate when none has), and that
/// median alone without any residual.
fn specific(own: &[f64], obs: &[usize], min_obs: usize) -> Vec<f64> {
    let enough: Vec<f64> = own.iter().zip(obs).filter(|(_, n)| **n >= min_obs.max(1)).map(|(v, _)| *v).collect();
    let median = if enough.is_empty() {
        quantile(&own.iter().copied().filter(|v| v.is_finite()).collect::<Vec<_>>(), 0.5)
    } else {
        quantile(&enough, 0.5)
    };
    own.iter()
        .zip(obs)
        .map(|(&v, &n)| match n {
            0 => median,
            n if n < min_obs => v.max(median),
            _ => v,
        })
        .collect()
}

/// Today's exposure rows with neutral values where unknown, and whether each was complete.
fn today_rows(panel: &Panel<'_>, e: &Exposures, n_sectors: usize) -> (Vec<Vec<f64>>, Vec<bool>) {
    let k = 1 + n_sectors + N_STYLES;
    let mut rows = Vec::with_capacity(e.beta.len());
    let mut complete = Vec::with_capacity(e.beta.len());
    for ((beta, styles), sector) in e.beta.iter().zip(&e.styles).zip(panel.sectors) {
        let mut row = vec![0.0; k];
        let mut whole = true;
        row[0] = if beta.is_finite() {
            *beta
        } else {
            whole = false;
            1.0
        };
        match sector {
            Some(s) => row[1 + s] = 1.0,
            None => whole = false,
        }
        for (x, s) in row[1 + n_sectors..].iter_mut().zip(styles) {
            if s.is_finite() {
                *x = *s;
            } else {
                whole = false;
            }
        }
        rows.push(row);
        complete.push(whole);
    }
    (rows, complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::pearson;
    use crate::risk_model::testdata::{self, NAMES, SESSIONS};

    #[test]
    fn the_model_has_a_factor_per_sector_and_style_and_a_fit_per_session() {
        let m = testdata::model();
        assert_eq!(
            m.factor_names,
            ["market", "A", "B", "C", "momentum", "reversal", "volatility", "liquidity"].map(String::from).to_vec()
        );
        assert_eq!((m.k(), m.n_sectors, m.sessions, m.n, m.days.len()), (8, 3, SESSIONS, 120, 120));
        assert!(m.skipped.is_empty());
        assert_eq!(m.days.first().map(|d| d.session), Some(SESSIONS - 120));
        for d in &m.days {
            // Name 58 has no sector and name 59 no momentum: 58 names a session.
            assert_eq!(d.names.len(), NAMES - 2);
            assert!(d.r2 > 0.0 && d.r2 < 1.0, "{}", d.r2);
            assert_eq!(d.factor_returns[0], testdata::data().benchmark[d.session]);
        }
        for (i, row) in m.covariance.iter().enumerate() {
            assert!(row[i] > 0.0);
            for (j, c) in row.iter().enumerate() {
                assert_eq!(*c, m.covariance[j][i]);
            }
        }
        assert!(!m.complete[58] && !m.complete[59] && m.complete[..58].iter().all(|c| *c));
        assert_eq!(m.exposures[58][1..4], [0.0, 0.0, 0.0], "no sector: no dummy");
        assert_eq!(m.exposures[59][4], 0.0, "no momentum: the cross-sectional mean");
    }

    #[test]
    fn the_regressions_recover_the_planted_market_and_sectors() {
        let m = testdata::model();
        let data = testdata::data();
        // Name i's true beta is 0.6 + 0.8 i / 60; the estimates track it, blurred by a standard
        // error of ~0.12 (noise ~1.3% a day against the market's 1%, 120 sessions) next to a
        // spread of 0.19 across names: a correlation of ~0.85 is expected.
        let true_beta: Vec<f64> = (0..58).map(|i| 0.6 + 0.8 * (i as f64 / NAMES as f64)).collect();
        let est: Vec<f64> = m.exposures[..58].iter().map(|x| x[0]).collect();
        assert!(pearson(&true_beta, &est) > 0.75, "{}", pearson(&true_beta, &est));
        // Each sector's fitted returns follow its planted moves (blurred by the noise of ~19
        // names and by the estimation error of the betas).
        for s in 0..3 {
            let fitted: Vec<f64> = m.days.iter().map(|d| d.factor_returns[1 + s]).collect();
            let planted: Vec<f64> = m.days.iter().map(|d| data.sector_moves[s][d.session]).collect();
            let rho = pearson(&fitted, &planted);
            assert!(rho > 0.6, "sector {s}: {rho}");
        }
    }

    #[test]
    fn specific_variance_floors_and_falls_back_to_the_median() {
        let m = testdata::model();
        assert_eq!(m.specific_obs[59], 0, "listed late: never in a regression");
        let enough: Vec<f64> =
            (0..NAMES).filter(|i| m.specific_obs[*i] >= 20).map(|i| m.specific_variance[i]).collect();
        assert_eq!(m.specific_variance[59], quantile(&enough, 0.5));
        // The floor and fallback by hand: own estimates 1, 4, 9 with 30 obs; 0.5 with 5 (floored
        // to the median 4); 10 with 5 (kept); none (the median).
        let own = [1.0, 4.0, 9.0, 0.5, 10.0, f64::NAN];
        let obs = [30, 30, 30, 5, 5, 0];
        assert_eq!(specific(&own, &obs, 20), vec![1.0, 4.0, 9.0, 4.0, 10.0, 4.0]);
    }

    #[test]
    fn nothing_after_a_session_moves_its_exposures_or_its_fit() {
        // Poison every value after session t; the fits up to t and the exposures of t + 1 (which
        // rest on data up to t) must not move, bit for bit.
        let t = 240;
        let clean = testdata::data();
        let mut dirty = testdata::data();
        for row in dirty.returns.iter_mut().chain(dirty.dollar_volume.iter_mut()).chain([&mut dirty.benchmark]) {
            for (s, v) in row.iter_mut().enumerate().skip(t + 1) {
                *v = 1e6 * (1.0 + s as f64);
            }
        }
        let p = ModelParams::default();
        let (a, b) = (estimate(&clean.panel(), &p).unwrap(), estimate(&dirty.panel(), &p).unwrap());
        let upto = |m: &RiskModel| m.days.iter().filter(|d| d.session <= t).cloned().collect::<Vec<_>>();
        assert_eq!(upto(&a).len(), t + 1 - (SESSIONS - 120));
        assert_eq!(upto(&a), upto(&b));
        let (na, nb) = (a.day(t + 1).unwrap(), b.day(t + 1).unwrap());
        assert_eq!((&na.names, &na.beta, &na.styles), (&nb.names, &nb.beta, &nb.styles));
        assert_ne!(na.y, nb.y, "the poisoned session's own returns do change its fit");

        // A model built with history up to t gives as today's exposures those session t + 1 used.
        let cut = |rows: &[Vec<f64>]| rows.iter().map(|r| r[..=t].to_vec()).collect::<Vec<_>>();
        let (r, v) = (cut(&clean.returns), cut(&clean.dollar_volume));
        let bench = clean.benchmark[..=t].to_vec();
        let panel = Panel { returns: &r, dollar_volume: &v, benchmark: &bench, ..clean.panel() };
        let m = estimate(&panel, &p).unwrap();
        for (row, &i) in na.names.iter().enumerate() {
            let x = &m.exposures[i];
            assert_eq!(x[0], na.beta[row]);
            assert_eq!(x[1 + na.sector[row]], 1.0);
            assert_eq!(x[4..], na.styles[row]);
        }
    }

    #[test]
    fn malformed_inputs_are_refused_with_a_reason() {
        let data = testdata::data();
        let bad = ModelParams { window: 0, half_life: -1.0, ..ModelParams::default() };
        match estimate(&data.panel(), &bad) {
            Err(RiskModelError::Params(p)) => assert_eq!(p.len(), 2, "{p:?}"),
            other => panic!("{other:?}"),
        }
        let short = vec![0.0; 3];
        let panel = Panel { benchmark: &short, ..data.panel() };
        assert!(matches!(estimate(&panel, &ModelParams::default()), Err(RiskModelError::Panel(_))));
        let sectors = vec![Some(7); NAMES];
        let panel = Panel { sectors: &sectors, ..data.panel() };
        assert!(matches!(estimate(&panel, &ModelParams::default()), Err(RiskModelError::Panel(_))));
        let few = ModelParams { min_names: NAMES + 1, ..ModelParams::default() };
        assert_eq!(estimate(&data.panel(), &few), Err(RiskModelError::NoFit));
    }
}
