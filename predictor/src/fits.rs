//! Walk-forward fits kept on the bus (`predictor/cache/fits/{digest}.txt`, LightGBM's model
//! text), keyed by [`crate::model::fit_digest`]: a fold whose inputs did not change since an
//! earlier training is loaded, not fitted again.
//!
//! The cache only saves time. A fit that is missing or unreadable is fitted again (a text that is
//! not a LightGBM model is found so where it is scored, and fitted again there); a fit that cannot
//! be written is logged and the training goes on.

use ae_shared::bus::{Bus, PutMode, keys};
use futures::future::join_all;

/// The kept model text of each digest, `None` where there is none that can be read (logged).
pub async fn load(bus: &Bus, digests: &[[u8; 32]]) -> Vec<Option<String>> {
    join_all(digests.iter().map(|d| async move {
        let key = keys::predictor_fit(d);
        let text = match bus.get(&key).await {
            Ok(Some(o)) => String::from_utf8(o.bytes.to_vec()).map_err(|e| e.to_string()),
            Ok(None) => return None,
            Err(e) => Err(e.to_string()),
        };
        text.inspect_err(|e| tracing::warn!(%key, "kept walk-forward fit not read ({e}): fitted again")).ok()
    }))
    .await
}

/// Keeps the fits this run made. The key names the fit's inputs and a fit is deterministic, so a
/// fit there already is replaced by the same text, or repaired when it was not a model.
pub async fn save(bus: &Bus, digests: &[[u8; 32]], fitted: &[Option<String>]) {
    let puts = digests.iter().zip(fitted).filter_map(|(d, t)| t.as_ref().map(|t| (keys::predictor_fit(d), t)));
    join_all(puts.map(|(key, t)| async move {
        if let Err(e) = bus.put(&key, t.clone().into_bytes(), PutMode::Overwrite).await {
            tracing::warn!(%key, "walk-forward fit not kept ({e}); the next training fits it again");
        }
    }))
    .await;
}
