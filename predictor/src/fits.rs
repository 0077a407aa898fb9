//! Walk-forward fits kept on the bus (`predictor/cache/fits/{digest}.txt`, LightGBM's model
//! text), keyed by [`crate::model::fit_digest`]: a fold whose inputs did not change since an
//! earlier training is loaded, not fitted again.
//!
//! The cache only saves time. A fit that is missing, unreadable or not a LightGBM model is fitted
//! again (with a warning); a fit that cannot be written is logged and the training goes on.

use ae_shared::bus::{Bus, BusError, PutMode, keys};
use futures::future::join_all;

/// The kept model text of each digest, `None` where there is none that reads as a model (logged).
pub async fn load(bus: &Bus, digests: &[[u8; 32]]) -> Vec<Option<String>> {
    let got = join_all(digests.iter().map(|d| async move { (d, bus.get(&keys::predictor_fit(d)).await) })).await;
    got.into_iter()
        .map(|(d, r)| {
            let key = keys::predictor_fit(d);
            let text = match r {
                Ok(Some(o)) => String::from_utf8(o.bytes.to_vec()).map_err(|e| e.to_string()),
                Ok(None) => return None,
                Err(e) => Err(e.to_string()),
            };
            match text.and_then(|t| lightgbm3::Booster::from_string(&t).map(|_| t).map_err(|e| e.to_string())) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(%key, "kept walk-forward fit not used ({e}): fitted again");
                    None
                }
            }
        })
        .collect()
}

/// Keeps the fits this run made; returns how many were written. A fit already there (another
/// run kept the same) is left as it is.
pub async fn save(bus: &Bus, digests: &[[u8; 32]], fitted: &[Option<String>]) -> usize {
    let puts = digests.iter().zip(fitted).filter_map(|(d, t)| t.as_ref().map(|t| (keys::predictor_fit(d), t)));
    let done = join_all(puts.map(|(key, t)| async move {
        let r = bus.put(&key, t.clone().into_bytes(), PutMode::IfAbsent).await;
        (key, r)
    }))
    .await;
    done.into_iter()
        .filter(|(key, r)| match r {
            Ok(_) => true,
            Err(BusError::PreconditionFailed { .. }) => false,
            Err(e) => {
                tracing::warn!(%key, "walk-forward fit not kept ({e}); the next training fits it again");
                false
            }
        })
        .count()
}
