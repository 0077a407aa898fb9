//! Value types that carry their unit and range.
//!
//! Every number that crosses a module boundary with a meaning travels as one of these: a `Score` is
//! 0..=100, a `Probability` 0..=1, a `Usd` is money. Each type has a checked constructor (`new`, which
//! returns a [`TypeError`] naming the value and the bound it broke), deserializes through that same
//! check, and publishes its range in its JSON Schema so outside consumers see the same rules.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value could not become one of the value types.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TypeError {
    /// A number outside its type's range.
    #[error("{value} is {side} {bound}")]
    OutOfRange {
        /// The offending value.
        value: f64,
        /// "above" or "below".
        side: &'static str,
        /// The bound it crossed.
        bound: f64,
    },
    /// NaN or infinity where a finite number is required.
    #[error("{value} is not a finite number")]
    NotFinite {
        /// The offending value.
        value: f64,
    },
    /// A ticker symbol that is not well formed.
    #[error("{value:?} is not a ticker symbol: {reason}")]
    BadTicker {
        /// The offending text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A date that is not an NYSE trading day.
    #[error("{0} is not an NYSE trading day{1}")]
    NotATradingDay(chrono::NaiveDate, &'static str),
    /// Text that is not a `YYYY-MM-DD` date.
    #[error("{0:?} is not a date (expected YYYY-MM-DD)")]
    BadDate(String),
}

fn check_range(value: f64, min: f64, max: f64) -> Result<f64, TypeError> {
    if !value.is_finite() {
        return Err(TypeError::NotFinite { value });
    }
    if value < min {
        return Err(TypeError::OutOfRange { value, side: "below", bound: min });
    }
    if value > max {
        return Err(TypeError::OutOfRange { value, side: "above", bound: max });
    }
    Ok(value)
}

/// Formats a float the way a person reads it: no trailing `.0` for whole numbers.
pub(crate) fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

macro_rules! bounded_f64 {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr, $desc:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
        pub struct $name(f64);

        impl $name {
            /// Smallest allowed value.
            pub const MIN: f64 = $min;
            /// Largest allowed value.
            pub const MAX: f64 = $max;

            /// Checked constructor: refuses NaN, infinities and values outside the range.
            pub fn new(value: f64) -> Result<Self, TypeError> {
                check_range(value, Self::MIN, Self::MAX).map(Self)
            }

            /// Clamps into the range (NaN becomes the minimum). For computed values whose
            /// range is guaranteed by construction up to rounding.
            pub fn saturating(value: f64) -> Self {
                if value.is_nan() { Self(Self::MIN) } else { Self(value.clamp(Self::MIN, Self::MAX)) }
            }

            /// The raw number.
            #[inline]
            pub fn get(self) -> f64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = f64::deserialize(d)?;
                Self::new(v).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let mut s = json_schema!({ "type": "number", "description": $desc });
                if Self::MIN.is_finite() {
                    s.insert("minimum".into(), Self::MIN.into());
                }
                if Self::MAX.is_finite() {
                    s.insert("maximum".into(), Self::MAX.into());
                }
                s
            }
        }
    };
}

bounded_f64!(
    /// A 0..=100 attractiveness score (research composite, sub-scores, factor percentiles).
    Score, 0.0, 100.0, "score from 0 to 100"
);
bounded_f64!(
    /// A probability in 0..=1 (e.g. the predictor's calibrated `p_up`).
    Probability, 0.0, 1.0, "probability from 0 to 1"
);
bounded_f64!(
    /// Confidence in 0..=1; for a direction call it is `|p_up - 0.5| * 2`.
    Confidence, 0.0, 1.0, "confidence from 0 to 1"
);
bounded_f64!(
    /// A share of a whole in 0..=1 (weights, caps, percentage thresholds written as fractions).
    Fraction, 0.0, 1.0, "fraction from 0 to 1 (0.05 = 5%)"
);
bounded_f64!(
    /// US dollars. Finite; negative for losses and outflows.
    Usd, f64::NEG_INFINITY, f64::INFINITY, "US dollars"
);
bounded_f64!(
    /// Basis points (1 bp = 0.0001). Finite; negative for favourable slippage.
    Bps, f64::NEG_INFINITY, f64::INFINITY, "basis points (1 bp = 0.01%)"
);
bounded_f64!(
    /// A simple return as a fraction (0.01 = +1%). Cannot lose more than everything.
    Return, -1.0, f64::INFINITY, "simple return as a fraction (0.01 = +1%)"
);

impl Confidence {
    /// Confidence of a direction call: `|p_up - 0.5| * 2`.
    pub fn from_p_up(p_up: Probability) -> Self {
        Self::saturating((p_up.get() - 0.5).abs() * 2.0)
    }
}

impl Bps {
    /// As a fraction (25 bp -> 0.0025).
    pub fn as_fraction(self) -> f64 {
        self.0 / 10_000.0
    }
}

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd(0.0);
}

impl std::ops::Add for Usd {
    type Output = Usd;
    fn add(self, rhs: Usd) -> Usd {
        Usd(self.0 + rhs.0)
    }
}

impl std::ops::Sub for Usd {
    type Output = Usd;
    fn sub(self, rhs: Usd) -> Usd {
        Usd(self.0 - rhs.0)
    }
}

impl std::ops::Mul<f64> for Usd {
    type Output = Usd;
    fn mul(self, rhs: f64) -> Usd {
        Usd(self.0 * rhs)
    }
}

impl std::iter::Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        Usd(iter.map(|u| u.0).sum())
    }
}

/// A US equity ticker symbol: 1 to 10 characters, upper-case letters first, then letters, digits,
/// `.` or `-` (`BRK.B`, `BF-B`).
///
/// Held inline (the checked ASCII bytes, zero-padded): a clone is a copy of 11 bytes, not an
/// allocation, which matters where every simulated day of every grid point copies the book's
/// symbols. Ordering, equality and hashing are those of the text, so a map keyed by tickers can be
/// searched with a `&str`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticker {
    /// The symbol's bytes, zero after `len` (no accepted character is zero, so comparing the
    /// arrays compares the texts).
    bytes: [u8; Ticker::MAX_LEN],
    len: u8,
}

impl Ticker {
    /// Longest accepted symbol.
    pub const MAX_LEN: usize = 10;
    /// Regular expression equivalent of the rules (published in the JSON Schema).
    pub const PATTERN: &'static str = "^[A-Z][A-Z0-9.\\-]{0,9}$";

    /// Checked constructor.
    pub fn new(s: &str) -> Result<Self, TypeError> {
        let bad = |reason| TypeError::BadTicker { value: s.to_string(), reason };
        let mut chars = s.chars();
        match chars.next() {
            None => return Err(bad("it is empty")),
            Some(c) if !c.is_ascii_uppercase() => {
                return Err(bad("it must start with an upper-case letter"));
            }
            _ => {}
        }
        if s.len() > Self::MAX_LEN {
            return Err(bad("it is longer than 10 characters"));
        }
        if !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '-') {
            return Err(bad("only A-Z, 0-9, '.' and '-' are allowed"));
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self { bytes, len: s.len() as u8 })
    }

    /// The symbol text.
    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        debug_assert!(bytes.is_ascii());
        // SAFETY: `new` is the only constructor and admits ASCII only, so the bytes are UTF-8.
        // Not checked again here: maps keyed by tickers and searched with a `&str` call this on
        // every comparison.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ticker").field(&self.as_str()).finish()
    }
}

impl std::hash::Hash for Ticker {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As the text hashes: `Borrow<str>` lookups must find the same bucket.
        self.as_str().hash(state);
    }
}

impl fmt::Display for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ticker {
    type Err = TypeError;
    fn from_str(s: &str) -> Result<Self, TypeError> {
        Self::new(s)
    }
}

impl AsRef<str> for Ticker {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Ticker {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for Ticker {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Ticker {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Ticker {
    fn schema_name() -> Cow<'static, str> {
        "Ticker".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": Self::PATTERN, "description": "US equity ticker symbol" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_range_messages_name_value_and_bound() {
        assert_eq!(Score::new(140.0).unwrap_err().to_string(), "140 is above 100");
        assert_eq!(Score::new(-1.0).unwrap_err().to_string(), "-1 is below 0");
        assert!(Score::new(f64::NAN).is_err());
        assert_eq!(Score::new(55.5).unwrap().get(), 55.5);
    }

    #[test]
    fn deserialization_goes_through_the_check() {
        assert!(serde_json::from_str::<Probability>("1.2").is_err());
        assert_eq!(serde_json::from_str::<Probability>("0.25").unwrap().get(), 0.25);
        assert!(serde_json::from_str::<Return>("-1.5").is_err());
    }

    #[test]
    fn tickers() {
        for ok in ["A", "BRK.B", "BF-B", "GOOGL", "X2"] {
            assert!(Ticker::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "1A", "TOOLONGTICKER", "A B", "ÄB"] {
            assert!(Ticker::new(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// The inline ticker orders, compares and hashes as its text, so maps keyed by tickers
        /// are searched with a `&str` and sort as they did when a ticker held a string.
        #[test]
        fn a_ticker_orders_and_hashes_as_its_text(a in "[A-Z][A-Z0-9.-]{0,9}", b in "[A-Z][A-Z0-9.-]{0,9}") {
            use std::hash::{BuildHasher, RandomState};
            let (ta, tb) = (Ticker::new(&a).unwrap(), Ticker::new(&b).unwrap());
            proptest::prop_assert_eq!(ta.as_str(), a.as_str());
            proptest::prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
            proptest::prop_assert_eq!(ta == tb, a == b);
            let h = RandomState::new();
            proptest::prop_assert_eq!(h.hash_one(&ta), h.hash_one(a.as_str()));
            let map = std::collections::HashMap::from([(ta.clone(), 1)]);
            proptest::prop_assert_eq!(map.get(a.as_str()), Some(&1));
            proptest::prop_assert_eq!(serde_json::to_string(&ta).unwrap(), format!("\"{a}\""));
        }
    }

    #[test]
    fn confidence_from_p_up() {
        let c = Confidence::from_p_up(Probability::new(0.8).unwrap());
        assert!((c.get() - 0.6).abs() < 1e-12);
        assert_eq!(Confidence::from_p_up(Probability::new(0.5).unwrap()).get(), 0.0);
    }

    #[test]
    fn schema_publishes_range() {
        let s = schemars::schema_for!(Score);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["maximum"], 100.0);
        assert_eq!(v["minimum"], 0.0);
    }
}
