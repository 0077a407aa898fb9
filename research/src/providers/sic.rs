//! GICS sectors for names the store has never seen, from the SIC code the vendor gives (Polygon
//! reports SIC, not GICS). GICS is proprietary and no official crosswalk exists: this table is our
//! own approximation by SIC ranges, specific exceptions first, and a name it places is reported
//! as such ("sector from SIC 3571"), so an operator can override it in `prices/sectors.json`.

use ae_shared::contracts::common::Sector;

/// (first SIC, last SIC, sector), first match wins: exceptions come before the ranges they cut.
const TABLE: &[(u32, u32, Sector)] = &[
    // Exceptions.
    (1520, 1531, Sector::ConsumerDiscretionary), // homebuilders
    (2830, 2836, Sector::HealthCare),            // drugs
    (2840, 2844, Sector::ConsumerStaples),       // soaps, cosmetics
    (3011, 3011, Sector::ConsumerDiscretionary), // tires
    (3812, 3812, Sector::Industrials),           // defence electronics
    (5122, 5122, Sector::HealthCare),            // drug wholesale
    (5140, 5149, Sector::ConsumerStaples),       // grocery wholesale
    (5331, 5331, Sector::ConsumerStaples),       // variety stores
    (5399, 5399, Sector::ConsumerStaples),       // general merchandise
    (5400, 5499, Sector::ConsumerStaples),       // food stores
    (5912, 5912, Sector::ConsumerStaples),       // drug stores
    (6798, 6798, Sector::RealEstate),            // REITs
    (7370, 7379, Sector::InformationTechnology), // software and services
    (8731, 8731, Sector::HealthCare),            // biological research
    // Ranges.
    (100, 999, Sector::ConsumerStaples),
    (1000, 1099, Sector::Materials),
    (1200, 1399, Sector::Energy),
    (1400, 1499, Sector::Materials),
    (1500, 1799, Sector::Industrials),
    (2000, 2199, Sector::ConsumerStaples),
    (2200, 2399, Sector::ConsumerDiscretionary),
    (2400, 2499, Sector::Materials),
    (2500, 2599, Sector::ConsumerDiscretionary),
    (2600, 2699, Sector::Materials),
    (2700, 2799, Sector::CommunicationServices),
    (2800, 2899, Sector::Materials),
    (2900, 2999, Sector::Energy),
    (3000, 3099, Sector::Materials),
    (3100, 3199, Sector::ConsumerDiscretionary),
    (3200, 3399, Sector::Materials),
    (3400, 3569, Sector::Industrials),
    (3570, 3579, Sector::InformationTechnology),
    (3580, 3629, Sector::Industrials),
    (3630, 3659, Sector::ConsumerDiscretionary),
    (3660, 3699, Sector::InformationTechnology),
    (3700, 3716, Sector::ConsumerDiscretionary),
    (3720, 3749, Sector::Industrials),
    (3750, 3751, Sector::ConsumerDiscretionary),
    (3760, 3769, Sector::Industrials),
    (3790, 3799, Sector::ConsumerDiscretionary),
    (3800, 3839, Sector::InformationTechnology),
    (3840, 3851, Sector::HealthCare),
    (3852, 3899, Sector::Industrials),
    (3900, 3999, Sector::ConsumerDiscretionary),
    (4000, 4799, Sector::Industrials),
    (4800, 4899, Sector::CommunicationServices),
    (4900, 4949, Sector::Utilities),
    (4950, 4959, Sector::Industrials),
    (4960, 4999, Sector::Utilities),
    (5000, 5199, Sector::Industrials),
    (5200, 5999, Sector::ConsumerDiscretionary),
    (6000, 6499, Sector::Financials),
    (6500, 6599, Sector::RealEstate),
    (6700, 6799, Sector::Financials),
    (7000, 7099, Sector::ConsumerDiscretionary),
    (7200, 7299, Sector::ConsumerDiscretionary),
    (7300, 7369, Sector::Industrials),
    (7800, 7989, Sector::CommunicationServices),
    (7990, 7999, Sector::ConsumerDiscretionary),
    (8000, 8099, Sector::HealthCare),
    (8700, 8799, Sector::Industrials),
];

/// The GICS sector of a SIC code, by our approximation (`None`: the table places it nowhere,
/// e.g. 9995 blank-check companies).
pub fn sector_of_sic(sic: u32) -> Option<Sector> {
    TABLE.iter().find(|(lo, hi, _)| (*lo..=*hi).contains(&sic)).map(|(_, _, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sic_codes_of_known_companies_land_in_their_gics_sectors() {
        let cases = [
            (3571, Some(Sector::InformationTechnology)), // Apple: electronic computers
            (2834, Some(Sector::HealthCare)),            // Pfizer: pharmaceutical preparations
            (2911, Some(Sector::Energy)),                // Exxon: petroleum refining
            (6021, Some(Sector::Financials)),            // JPMorgan: national commercial banks
            (6798, Some(Sector::RealEstate)),            // Equity Residential: REIT
            (4911, Some(Sector::Utilities)),             // Southern: electric services
            (5331, Some(Sector::ConsumerStaples)),       // Walmart: variety stores
            (5812, Some(Sector::ConsumerDiscretionary)), // McDonald's: eating places
            (3711, Some(Sector::ConsumerDiscretionary)), // Ford: motor vehicles
            (3721, Some(Sector::Industrials)),           // Boeing: aircraft
            (4813, Some(Sector::CommunicationServices)), // AT&T: telephone communications
            (7372, Some(Sector::InformationTechnology)), // Microsoft: prepackaged software
            (2000, Some(Sector::ConsumerStaples)),       // food
            (9995, None),                                // blank checks: not placed
        ];
        for (sic, want) in cases {
            assert_eq!(sector_of_sic(sic), want, "SIC {sic}");
        }
    }
}
