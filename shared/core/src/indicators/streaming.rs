//! Streaming indicators for the intraday daemon: constant work per tick.

/// Session VWAP: cumulative Σ(price × volume) / Σ volume since the open.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SessionVwap {
    pv: f64,
    v: f64,
}

impl SessionVwap {
    /// A new session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a print (or a bar's typical price and volume); returns the VWAP so far.
    pub fn update(&mut self, price: f64, volume: f64) -> f64 {
        if volume > 0.0 && price.is_finite() {
            self.pv += price * volume;
            self.v += volume;
        }
        self.value()
    }

    /// VWAP so far (`NaN` before any volume).
    pub fn value(&self) -> f64 {
        if self.v > 0.0 { self.pv / self.v } else { f64::NAN }
    }

    /// VWAP after each print of a session.
    pub fn series(prices: &[f64], volumes: &[f64]) -> Vec<f64> {
        let mut s = Self::new();
        prices.iter().zip(volumes).map(|(p, v)| s.update(*p, *v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_vwap_by_hand() {
        let v = SessionVwap::series(&[10.0, 11.0, 12.0], &[100.0, 0.0, 300.0]);
        assert_eq!(v[0], 10.0);
        assert_eq!(v[1], 10.0);
        assert_eq!(v[2], (10.0 * 100.0 + 12.0 * 300.0) / 400.0);
        assert!(SessionVwap::new().value().is_nan());
    }
}
