//! Number formatting shared by the reports, briefs, emails and the dashboard: percentages with a
//! sign, dollars.
//!
//! The variants differ on purpose and are named for how: [`pct`] (two decimals, `n/a` for a
//! value that is not finite) for reports; [`pct_unguarded`] (two decimals, a non-finite value
//! printed as Rust prints it) for the executor's email; [`pct_1dp`] (one decimal) for research
//! text.

/// Dollars with cents and thousands separators (`-$1,234.50`); `n/a` when `x` is not finite.
pub fn usd(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let neg = x < 0.0;
    let cents = (x.abs() * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${grouped}.{frac:02}", if neg { "-" } else { "" })
}

/// A fraction as a signed percentage with two decimals (`0.0123` → `+1.23%`); `n/a` when `x` is
/// not finite.
pub fn pct(x: f64) -> String {
    if x.is_finite() { pct_unguarded(x) } else { "n/a".into() }
}

/// A fraction as a signed percentage with two decimals (`0.0123` → `+1.23%`); a value that is not
/// finite prints as Rust prints it (`NaN%`, `+inf%`).
pub fn pct_unguarded(x: f64) -> String {
    format!("{:+.2}%", x * 100.0)
}

/// A fraction as a signed percentage with one decimal (`0.0123` → `+1.2%`); a value that is not
/// finite prints as Rust prints it.
pub fn pct_1dp(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_read_like_dollars() {
        assert_eq!(usd(1_234_567.891), "$1,234,567.89");
        assert_eq!(usd(-42.5), "-$42.50");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(999.999), "$1,000.00");
        assert_eq!(usd(f64::NAN), "n/a");
    }

    #[test]
    fn percentages() {
        // (got, want) — one row per variant and edge.
        let cases = [
            (pct(0.0123), "+1.23%"),           // TC1: two decimals, signed
            (pct(-0.5), "-50.00%"),            // TC2: negative
            (pct(f64::NAN), "n/a"),            // TC3: guarded
            (pct(f64::INFINITY), "n/a"),       // TC4: guarded
            (pct_unguarded(0.0), "+0.00%"),    // TC5: zero has a sign
            (pct_unguarded(f64::NAN), "NaN%"), // TC6: unguarded
            (pct_1dp(0.0123), "+1.2%"),        // TC7: one decimal
            (pct_1dp(-0.0199), "-2.0%"),       // TC8: rounds
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
