//! Aligned daily returns held once. Each prepared day carries, for every name of interest, the
//! returns over the correlation or VaR window (251 sessions by default). Consecutive days' windows
//! overlap in all but one return, so storing each day's own copy costs the window length times
//! the days times the names (about 1 GB for 200 names over 10 years). Here a name's windows share
//! one series while each new day's window is the previous one moved on by a session, to the bit;
//! anything else (a split adjusting earlier prices, a revised bar) starts a new series. A day's
//! window reads exactly the values it was computed with.

use std::collections::HashMap;
use std::sync::Arc;

use ae_shared::types::Ticker;

/// One name's aligned returns on one day: a window onto a series shared with the days around it.
#[derive(Clone)]
pub struct SharedReturns {
    series: Arc<[f64]>,
    start: usize,
    len: usize,
}

impl SharedReturns {
    /// The returns, oldest first.
    pub fn as_slice(&self) -> &[f64] {
        &self.series[self.start..self.start + self.len]
    }

    /// Whether this window is `before` moved on by one session (same series, same length): its
    /// values are then `before`'s without the first, plus the last of this one.
    pub fn continues(&self, before: &SharedReturns) -> bool {
        Arc::ptr_eq(&self.series, &before.series) && self.start == before.start + 1 && self.len == before.len
    }
}

impl std::fmt::Debug for SharedReturns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl PartialEq for SharedReturns {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice().iter().map(|x| x.to_bits()).eq(other.as_slice().iter().map(|x| x.to_bits()))
    }
}

/// One name's window on one day as it is kept on the bus ([`crate::kept_days`]): the day
/// before's window moved on by one session with this new return, or the whole window.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Window {
    /// The window of the day before without its first return, then this one.
    Next(f64),
    /// Every return of the window.
    Full(Vec<f64>),
}

/// A name's series under construction and where its last window ends.
struct Open {
    series: usize,
    window: usize,
}

/// Turns days' own windows, fed in date order, into shared ones.
#[derive(Default)]
pub struct Sharer {
    /// Series under construction (a finished one is never extended again).
    series: Vec<Vec<f64>>,
    open: HashMap<Ticker, Open>,
    /// Per day fed: (name, series, end, len) of each window.
    days: Vec<Vec<(Ticker, usize, usize, usize)>>,
}

impl Sharer {
    /// Takes the next day's windows (the day after the last one fed).
    pub fn push(&mut self, day: HashMap<Ticker, Vec<f64>>) {
        let mut placed = Vec::with_capacity(day.len());
        for (t, w) in day {
            let len = w.len();
            let extends = self.open.get(&t).filter(|o| {
                let s = &self.series[o.series];
                o.window == len && len > 0 && s.len() >= len - 1 && {
                    let tail = &s[s.len() - (len - 1)..];
                    tail.iter().zip(&w[..len - 1]).all(|(a, b)| a.to_bits() == b.to_bits())
                }
            });
            let series = if let Some(o) = extends {
                let k = o.series;
                self.series[k].push(w[len - 1]);
                k
            } else {
                self.series.push(w);
                let k = self.series.len() - 1;
                self.open.insert(t.clone(), Open { series: k, window: len });
                k
            };
            placed.push((t, series, self.series[series].len(), len));
        }
        self.days.push(placed);
    }

    /// The window of `t` on the last day fed.
    fn last(&self, t: &Ticker) -> Option<&[f64]> {
        let o = self.open.get(t)?;
        let s = &self.series[o.series];
        s.get(s.len().checked_sub(o.window)?..)
    }

    /// Whether `w` is `t`'s window on the last day fed moved on by one session, to the bit.
    fn moves_on(&self, t: &Ticker, w: &[f64]) -> bool {
        self.last(t).is_some_and(|before| {
            !w.is_empty()
                && before.len() == w.len()
                && before[1..].iter().zip(&w[..w.len() - 1]).all(|(a, b)| a.to_bits() == b.to_bits())
        })
    }

    /// The next day's windows as kept: each one against the last day fed.
    pub fn compact(&self, day: &HashMap<Ticker, Vec<f64>>) -> Vec<(Ticker, Window)> {
        let mut out: Vec<(Ticker, Window)> = day
            .iter()
            .map(|(t, w)| {
                let kept = if self.moves_on(t, w) { Window::Next(w[w.len() - 1]) } else { Window::Full(w.clone()) };
                (t.clone(), kept)
            })
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The next day's windows from their kept form ([`Sharer::compact`]); `None` when one moves
    /// on from a window the last day fed does not have.
    pub fn expand(&self, kept: Vec<(Ticker, Window)>) -> Option<HashMap<Ticker, Vec<f64>>> {
        kept.into_iter()
            .map(|(t, w)| {
                let w = match w {
                    Window::Full(v) => v,
                    Window::Next(x) => {
                        let before = self.last(&t).filter(|b| !b.is_empty())?;
                        let mut v = Vec::with_capacity(before.len());
                        v.extend_from_slice(&before[1..]);
                        v.push(x);
                        v
                    }
                };
                Some((t, w))
            })
            .collect()
    }

    /// Every day's windows, in the order the days were fed.    /// Every day's windows, in the order the days were fed.
    pub fn finish(self) -> Vec<crate::prepare::ByTicker<SharedReturns>> {
        let series: Vec<Arc<[f64]>> = self.series.into_iter().map(Arc::from).collect();
        self.days
            .into_iter()
            .map(|day| {
                day.into_iter()
                    .map(|(t, k, end, len)| (t, SharedReturns { series: series[k].clone(), start: end - len, len }))
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Ticker {
        Ticker::new(s).unwrap()
    }

    #[test]
    fn windows_that_move_on_by_a_session_share_one_series_and_read_back_exactly() {
        let a: Vec<f64> = (0..10).map(|i| i as f64 * 0.01).collect();
        let mut s = Sharer::default();
        // Three days of a 4-session window moving on by one, then a revision (a split adjusting
        // earlier prices) and another move, and a name that comes in on day 2.
        let days: Vec<HashMap<Ticker, Vec<f64>>> = vec![
            HashMap::from([(t("A"), a[0..4].to_vec())]),
            HashMap::from([(t("A"), a[1..5].to_vec()), (t("B"), vec![f64::NAN, 0.5, 0.25, -0.1])]),
            HashMap::from([(t("A"), a[2..6].to_vec()), (t("B"), vec![0.5, 0.25, -0.1, 0.2])]),
            HashMap::from([(t("A"), vec![0.0201, 0.0301, 0.0401, 0.06])]),
            HashMap::from([(t("A"), vec![0.0301, 0.0401, 0.06, 0.07])]),
        ];
        for d in days.clone() {
            s.push(d);
        }
        let series = s.series.len();
        let out = s.finish();
        assert_eq!(series, 3, "A before the revision, A after it, and B");
        for (want, got) in days.iter().zip(&out) {
            assert_eq!(want.len(), got.len());
            for (name, w) in want {
                let g = got[name].as_slice();
                assert_eq!(g.len(), w.len());
                assert!(g.iter().zip(w).all(|(x, y)| x.to_bits() == y.to_bits()), "{name:?}: {g:?} vs {w:?}");
            }
        }
        assert!(Arc::ptr_eq(&out[0][&t("A")].series, &out[2][&t("A")].series));
        assert!(!Arc::ptr_eq(&out[2][&t("A")].series, &out[3][&t("A")].series));
        // Moving on by one session is told apart from a revision or a skipped day.
        let a = |d: usize| &out[d][&t("A")];
        assert!(a(1).continues(a(0)) && a(2).continues(a(1)) && a(4).continues(a(3)));
        assert!(!a(3).continues(a(2)) && !a(2).continues(a(0)) && !a(0).continues(a(0)));
        assert_eq!(format!("{:?}", out[1][&t("B")]), format!("{:?}", days[1][&t("B")]));
    }

    #[test]
    fn a_kept_day_expands_to_its_windows_to_the_bit() {
        let a: Vec<f64> = (0..10).map(|i| i as f64 * 0.01 + 1e-17).collect();
        let days: Vec<HashMap<Ticker, Vec<f64>>> = vec![
            HashMap::from([(t("A"), a[0..4].to_vec())]),
            HashMap::from([(t("A"), a[1..5].to_vec()), (t("B"), vec![f64::NAN, 0.5, 0.25, -0.1])]),
            HashMap::from([(t("A"), vec![0.0201, 0.0301, 0.0401, 0.06]), (t("B"), vec![0.5, 0.25, -0.1, f64::NAN])]),
        ];
        let (mut fed, mut kept) = (Sharer::default(), Sharer::default());
        for (k, d) in days.into_iter().enumerate() {
            let compact = fed.compact(&d);
            let moved: Vec<&str> =
                compact.iter().filter(|(_, w)| matches!(w, Window::Next(_))).map(|(t, _)| t.as_str()).collect();
            match k {
                0 => assert!(moved.is_empty()),
                1 => assert_eq!(moved, ["A"], "A moved on, B is new"),
                _ => assert_eq!(moved, ["B"], "A was revised, B moved on"),
            }
            let back = kept.expand(compact).expect("every window found");
            assert_eq!(format!("{back:?}").len(), format!("{d:?}").len());
            for (name, w) in &d {
                assert!(back[name].iter().zip(w).all(|(x, y)| x.to_bits() == y.to_bits()), "{name:?}");
            }
            fed.push(d);
            kept.push(back);
        }
        assert!(Sharer::default().expand(vec![(t("A"), Window::Next(0.1))]).is_none(), "nothing to move on from");
    }
}
