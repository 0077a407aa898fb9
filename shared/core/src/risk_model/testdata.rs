//! A synthetic market for the model's unit tests: returns built from a market, three sectors and
//! noise (seeded), a name listed late, a name without a sector, and the model estimated on it once.

use std::sync::OnceLock;

use super::{ModelParams, Panel, RiskModel, estimate};
use crate::tail_risk::SplitMix64;

/// Names in the synthetic panel.
pub(crate) const NAMES: usize = 60;
/// Sessions in the synthetic panel.
pub(crate) const SESSIONS: usize = 300;

/// The synthetic panel's data.
pub(crate) struct Data {
    pub returns: Vec<Vec<f64>>,
    pub dollar_volume: Vec<Vec<f64>>,
    pub benchmark: Vec<f64>,
    pub sectors: Vec<Option<usize>>,
    pub sector_names: Vec<String>,
    /// The planted sector returns, per sector per session.
    pub sector_moves: Vec<Vec<f64>>,
}

impl Data {
    pub fn panel(&self) -> Panel<'_> {
        Panel {
            returns: &self.returns,
            dollar_volume: &self.dollar_volume,
            benchmark: &self.benchmark,
            sectors: &self.sectors,
            sector_names: &self.sector_names,
        }
    }
}

/// Roughly standard normal draws (the sum of twelve uniforms, less 6).
fn gauss(rng: &mut SplitMix64) -> f64 {
    (0..12).map(|_| rng.next_u64() as f64 / u64::MAX as f64).sum::<f64>() - 6.0
}

/// A fresh copy of the synthetic data (seed 11).
pub(crate) fn data() -> Data {
    let mut rng = SplitMix64::new(11);
    let nan = f64::NAN;
    let mut benchmark: Vec<f64> = (0..SESSIONS).map(|_| 0.0003 + 0.01 * gauss(&mut rng)).collect();
    benchmark[0] = nan;
    let sector_moves: Vec<Vec<f64>> =
        (0..3).map(|_| (0..SESSIONS).map(|_| 0.004 * gauss(&mut rng)).collect()).collect();
    let sectors: Vec<Option<usize>> = (0..NAMES).map(|i| if i == 58 { None } else { Some(i % 3) }).collect();
    let mut returns = Vec::with_capacity(NAMES);
    let mut dollar_volume = Vec::with_capacity(NAMES);
    for (i, sector) in sectors.iter().enumerate() {
        let beta = 0.6 + 0.8 * (i as f64 / NAMES as f64);
        let noise = 0.008 + 0.01 * ((i * 7) % 11) as f64 / 11.0;
        let r: Vec<f64> = (0..SESSIONS)
            .map(|t| {
                if t == 0 || (i == 59 && t < 230) {
                    return nan;
                }
                beta * benchmark[t] + sector.map_or(0.0, |s| sector_moves[s][t]) + noise * gauss(&mut rng)
            })
            .collect();
        let size = 14.0 + 3.0 * ((i * 13) % 17) as f64 / 17.0;
        let dv = (0..SESSIONS)
            .map(|t| if r[t].is_nan() && t > 0 { nan } else { (size + 0.3 * gauss(&mut rng)).exp() })
            .collect();
        returns.push(r);
        dollar_volume.push(dv);
    }
    let sector_names = ["A", "B", "C"].map(String::from).to_vec();
    Data { returns, dollar_volume, benchmark, sectors, sector_names, sector_moves }
}

/// The synthetic returns (shared).
pub(crate) fn returns() -> &'static [Vec<f64>] {
    static DATA: OnceLock<Data> = OnceLock::new();
    &DATA.get_or_init(data).returns
}

/// The model estimated on the synthetic data with the default settings (shared).
pub(crate) fn model() -> &'static RiskModel {
    static MODEL: OnceLock<RiskModel> = OnceLock::new();
    MODEL.get_or_init(|| estimate(&data().panel(), &ModelParams::default()).expect("the synthetic panel fits"))
}
