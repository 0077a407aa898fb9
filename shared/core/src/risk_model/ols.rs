//! One cross-sectional least-squares fit, by Householder QR: the design is reduced to `R` by
//! reflections applied to it and to `y` alike, and `R b = Qᵀy` is solved by back substitution.
//! Unlike the normal equations (`XᵀX b = Xᵀy`) this never squares the design's condition number.

use serde::{Deserialize, Serialize};

/// The result of [`cross_section`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// One coefficient per column.
    pub coefficients: Vec<f64>,
    /// `y − X b`, one per observation.
    pub residuals: Vec<f64>,
    /// `1 − SSR / TSS`, with TSS about the mean when the columns span a constant (`centered`) and
    /// about 0 otherwise, as statsmodels reports it.
    pub r2: f64,
    /// Whether the columns span a constant (an intercept, or dummies that cover every row).
    pub centered: bool,
}

/// Ordinary least squares of `y` on the columns `x` (each `x[j]` one regressor, as long as `y`),
/// without an added intercept, by Householder QR (the normal equations would square the design's
/// condition number). `None` when there are no columns, fewer observations than
/// columns, lengths disagree, a value is not finite, or the columns are linearly dependent
/// (a rank-deficient design has no unique fit; drop the redundant column first).
pub fn cross_section(y: &[f64], x: &[Vec<f64>]) -> Option<Fit> {
    let (m, n) = (y.len(), x.len());
    if n == 0 || m < n || x.iter().any(|c| c.len() != m) {
        return None;
    }
    if !y.iter().chain(x.iter().flatten()).all(|v| v.is_finite()) {
        return None;
    }
    // a[j] holds column j; after step k, a[j][..=k] (j > k) is column j of R above the
    // diagonal and a[k][k..] the k-th Householder vector.
    let mut a: Vec<Vec<f64>> = x.to_vec();
    let mut qty = y.to_vec();
    let mut qt1 = vec![1.0; m];
    let mut rdiag = vec![0.0; n];
    for k in 0..n {
        let (left, right) = a.split_at_mut(k + 1);
        let v = &mut left[k][k..];
        let norm = v.iter().map(|e| e * e).sum::<f64>().sqrt();
        if norm == 0.0 {
            return None;
        }
        // Reflect v onto −sign(v0)·‖v‖·e1 (the sign that avoids cancellation).
        let alpha = if v[0] > 0.0 { -norm } else { norm };
        v[0] -= alpha;
        // |v0| is now |x0| + ‖x‖, so vᵀv = 2‖x‖(‖x‖ + |x0|) = 2‖x‖|v0| > 0.
        let vtv = 2.0 * norm * v[0].abs();
        rdiag[k] = alpha;
        let v = &*v;
        for c in right.iter_mut() {
            reflect(v, vtv, &mut c[k..]);
        }
        reflect(v, vtv, &mut qty[k..]);
        reflect(v, vtv, &mut qt1[k..]);
    }
    let largest = rdiag.iter().fold(0.0f64, |acc, d| acc.max(d.abs()));
    let tol = largest * m.max(n) as f64 * f64::EPSILON;
    if rdiag.iter().any(|d| d.abs() <= tol) {
        return None;
    }
    let mut b = vec![0.0; n];
    for i in (0..n).rev() {
        let s = qty[i] - (i + 1..n).map(|j| a[j][i] * b[j]).sum::<f64>();
        b[i] = s / rdiag[i];
    }
    let mut residuals = y.to_vec();
    for (col, bj) in x.iter().zip(&b) {
        for (e, xv) in residuals.iter_mut().zip(col) {
            *e -= xv * bj;
        }
    }
    // The constant is spanned when the part of a column of ones outside the column space
    // (the tail of Qᵀ1) vanishes.
    let outside: f64 = qt1[n..].iter().map(|e| e * e).sum();
    let centered = outside <= 1e-20 * m as f64;
    let ssr: f64 = residuals.iter().map(|e| e * e).sum();
    let centre = if centered { crate::metrics::mean(y) } else { 0.0 };
    let tss: f64 = y.iter().map(|v| (v - centre) * (v - centre)).sum();
    let r2 = if tss > 0.0 { 1.0 - ssr / tss } else { f64::NAN };
    Some(Fit { coefficients: b, residuals, r2, centered })
}

/// Applies the reflection `I − 2 v vᵀ / (vᵀv)` to `c`.
fn reflect(v: &[f64], vtv: f64, c: &mut [f64]) {
    let dot: f64 = v.iter().zip(c.iter()).map(|(a, b)| a * b).sum();
    let f = 2.0 * dot / vtv;
    for (ci, vi) in c.iter_mut().zip(v) {
        *ci -= f * vi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_checked_by_hand() {
        struct Case {
            what: &'static str,
            y: Vec<f64>,
            x: Vec<Vec<f64>>,
            coefficients: Vec<f64>,
            residuals: Vec<f64>,
            r2: f64,
            centered: bool,
        }
        let cases = [
            // TC1: two sector dummies: each coefficient is its sector's mean.
            Case {
                what: "sector means",
                y: vec![1.0, 3.0, 10.0],
                x: vec![vec![1.0, 1.0, 0.0], vec![0.0, 0.0, 1.0]],
                coefficients: vec![2.0, 10.0],
                residuals: vec![-1.0, 1.0, 0.0],
                r2: 1.0 - 2.0 / (134.0 / 3.0),
                centered: true,
            },
            // TC2: points on a line are fitted exactly.
            Case {
                what: "exact line",
                y: vec![2.0, 5.0, 8.0, 11.0],
                x: vec![vec![1.0; 4], vec![0.0, 1.0, 2.0, 3.0]],
                coefficients: vec![2.0, 3.0],
                residuals: vec![0.0; 4],
                r2: 1.0,
                centered: true,
            },
            // TC3: through the origin: b = Σxy / Σx², R² about 0 (statsmodels' uncentered R²).
            Case {
                what: "no constant",
                y: vec![1.0, 2.0, 2.0],
                x: vec![vec![1.0, 2.0, 3.0]],
                coefficients: vec![11.0 / 14.0],
                residuals: vec![1.0 - 11.0 / 14.0, 2.0 - 22.0 / 14.0, 2.0 - 33.0 / 14.0],
                r2: 1.0 - (9.0 + 36.0 + 25.0) / 196.0 / 9.0,
                centered: false,
            },
        ];
        for c in cases {
            let f = cross_section(&c.y, &c.x).unwrap_or_else(|| panic!("{}: no fit", c.what));
            let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-13);
            assert!(close(&f.coefficients, &c.coefficients), "{}: {:?}", c.what, f.coefficients);
            assert!(close(&f.residuals, &c.residuals), "{}: {:?}", c.what, f.residuals);
            assert!((f.r2 - c.r2).abs() < 1e-13, "{}: r2 {} vs {}", c.what, f.r2, c.r2);
            assert_eq!(f.centered, c.centered, "{}", c.what);
        }
    }

    #[test]
    fn designs_without_a_unique_fit_are_refused() {
        let y = vec![1.0, 2.0, 4.0];
        let cases: [(&str, Vec<Vec<f64>>); 6] = [
            ("no columns", vec![]),
            ("collinear columns", vec![vec![1.0; 3], vec![2.0; 3]]),
            ("a zero column", vec![vec![1.0; 3], vec![0.0; 3]]),
            (
                "more columns than rows",
                vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0], vec![1.0, 2.0, 3.0]],
            ),
            ("a short column", vec![vec![1.0, 2.0]]),
            ("a NaN", vec![vec![1.0, f64::NAN, 3.0]]),
        ];
        for (what, x) in cases {
            assert_eq!(cross_section(&y, &x), None, "{what}");
        }
    }

    #[test]
    fn residuals_are_orthogonal_to_every_column() {
        // Residuals orthogonal to every column is what least squares means.
        let mut rng = crate::tail_risk::SplitMix64::new(3);
        let mut u = || rng.next_u64() as f64 / u64::MAX as f64 - 0.5;
        let x: Vec<Vec<f64>> = (0..5).map(|_| (0..200).map(|_| u()).collect()).collect();
        let y: Vec<f64> = (0..200).map(|_| u()).collect();
        let f = cross_section(&y, &x).unwrap();
        for c in &x {
            let dot: f64 = c.iter().zip(&f.residuals).map(|(a, b)| a * b).sum();
            assert!(dot.abs() < 1e-13, "{dot}");
        }
    }
}
