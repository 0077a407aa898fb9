//! Enumerations shared by several documents.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Market regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Uptrend, calm.
    Bull,
    /// Neither.
    Neutral,
    /// Downtrend or stress.
    Bear,
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Regime::Bull => "bull",
            Regime::Neutral => "neutral",
            Regime::Bear => "bear",
        })
    }
}

/// The eleven GICS sectors (2018 scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Sector {
    /// Information Technology
    #[serde(rename = "Information Technology")]
    InformationTechnology,
    /// Health Care
    #[serde(rename = "Health Care")]
    HealthCare,
    /// Financials
    #[serde(rename = "Financials")]
    Financials,
    /// Consumer Discretionary
    #[serde(rename = "Consumer Discretionary")]
    ConsumerDiscretionary,
    /// Consumer Staples
    #[serde(rename = "Consumer Staples")]
    ConsumerStaples,
    /// Energy
    #[serde(rename = "Energy")]
    Energy,
    /// Industrials
    #[serde(rename = "Industrials")]
    Industrials,
    /// Materials
    #[serde(rename = "Materials")]
    Materials,
    /// Real Estate
    #[serde(rename = "Real Estate")]
    RealEstate,
    /// Utilities
    #[serde(rename = "Utilities")]
    Utilities,
    /// Communication Services (formerly Telecommunications Services)
    #[serde(rename = "Communication Services")]
    CommunicationServices,
}

impl Sector {
    /// All eleven.
    pub const ALL: [Sector; 11] = [
        Sector::InformationTechnology,
        Sector::HealthCare,
        Sector::Financials,
        Sector::ConsumerDiscretionary,
        Sector::ConsumerStaples,
        Sector::Energy,
        Sector::Industrials,
        Sector::Materials,
        Sector::RealEstate,
        Sector::Utilities,
        Sector::CommunicationServices,
    ];

    /// The GICS name.
    pub fn name(self) -> &'static str {
        match self {
            Sector::InformationTechnology => "Information Technology",
            Sector::HealthCare => "Health Care",
            Sector::Financials => "Financials",
            Sector::ConsumerDiscretionary => "Consumer Discretionary",
            Sector::ConsumerStaples => "Consumer Staples",
            Sector::Energy => "Energy",
            Sector::Industrials => "Industrials",
            Sector::Materials => "Materials",
            Sector::RealEstate => "Real Estate",
            Sector::Utilities => "Utilities",
            Sector::CommunicationServices => "Communication Services",
        }
    }

    /// Dense index 0..11 (for per-sector arrays).
    pub fn index(self) -> usize {
        Sector::ALL.iter().position(|s| *s == self).expect("listed")
    }
}

impl fmt::Display for Sector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Sector {
    type Err = String;
    /// Accepts the GICS names and the pre-2018 name "Telecommunications Services"
    /// (renamed Communication Services in 2018).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("Telecommunications Services") || s.eq_ignore_ascii_case("Telecommunication Services")
        {
            return Ok(Sector::CommunicationServices);
        }
        Sector::ALL
            .iter()
            .copied()
            .find(|x| x.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("{s:?} is not a GICS sector"))
    }
}

/// A sector's rating by the macro view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectorRating {
    /// Favoured.
    Overweight,
    /// Neutral.
    MarketWeight,
    /// Disfavoured (blocked for new entries in a bear regime).
    Underweight,
}

/// What research asks the executor to do with a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SignalAction {
    /// Open a position.
    Enter,
    /// Close the position.
    Exit,
    /// Cut the position.
    Reduce,
    /// Keep what is held; do not open.
    Hold,
}

impl fmt::Display for SignalAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalAction::Enter => "ENTER",
            SignalAction::Exit => "EXIT",
            SignalAction::Reduce => "REDUCE",
            SignalAction::Hold => "HOLD",
        })
    }
}

/// Research rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Rating {
    /// Score at or above the buy threshold.
    Buy,
    /// In between.
    Hold,
    /// Score below the sell threshold.
    Sell,
}

/// Direction of recent score changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Conviction {
    /// Two or more consecutive increases.
    Rising,
    /// Neither.
    Stable,
    /// Two or more consecutive decreases.
    Declining,
}

/// Predicted direction of the label (sector-neutral forward return).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    /// p_up >= 0.5.
    Up,
    /// p_up < 0.5.
    Down,
}

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// A New York time of day as the documents write it: exactly `HH:MM`, from `00:00` to `23:59`.
/// `None` for anything else (`29:00`, `9:30`, `12:60`, `24:00`).
pub fn time_of_day(s: &str) -> Option<chrono::NaiveTime> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || ![b[0], b[1], b[3], b[4]].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (h, m) = (two(0), two(3));
    if h > 23 || m > 59 {
        return None;
    }
    chrono::NaiveTime::from_hms_opt(h, m, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_of_day_is_hh_mm_within_the_day() {
        // (text, the time it is, if any)
        let cases: [(&str, Option<(u32, u32)>); 12] = [
            ("00:00", Some((0, 0))),   // TC1: midnight
            ("09:30", Some((9, 30))),  // TC2: the open
            ("15:45", Some((15, 45))), // TC3: a usual expiry
            ("23:59", Some((23, 59))), // TC4: the last minute
            ("24:00", None),           // TC5: not a time of day
            ("29:00", None),           // TC6: passes a [0-2][0-9] pattern, still no time
            ("12:60", None),           // TC7: minutes past 59
            ("9:30", None),            // TC8: one-digit hour
            ("09:30:00", None),        // TC9: seconds are not part of the format
            ("", None),                // TC10: empty
            ("ab:cd", None),           // TC11: not digits
            ("１２:００", None),       // TC12: full-width digits are not ASCII digits
        ];
        for (text, want) in cases {
            let want = want.map(|(h, m)| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap());
            assert_eq!(time_of_day(text), want, "{text:?}");
        }
    }

    #[test]
    fn sector_names_round_trip_and_old_telecom_maps() {
        for s in Sector::ALL {
            assert_eq!(s.name().parse::<Sector>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.name()));
        }
        assert_eq!("Telecommunications Services".parse::<Sector>().unwrap(), Sector::CommunicationServices);
        assert!("Tech".parse::<Sector>().is_err());
    }
}
