//! Walk-forward fits kept on the bus (`predictor/cache/fits/{digest}.txt`, LightGBM's model
//! text), keyed by [`crate::model::fit_digest`]: a fold whose inputs did not change since an
//! earlier training is loaded, not fitted again. Its out-of-fold predictions are kept beside it
//! (`predictor/cache/oof/{digest}.bin`, keyed by [`crate::model::oof_digest`]): a kept fold
//! tested on the same rows reads them instead of predicting them again.
//!
//! The cache only saves time. A fit that is missing or unreadable is fitted again (a text that is
//! not a LightGBM model is found so where it is scored, and fitted again there); a fit that cannot
//! be written is logged and the training goes on.

use ae_shared::bus::{Bus, Key, PutMode, keys};
use futures::future::join_all;

/// What a kept file is called, for the log: the fit, or its predictions.
const FIT: &str = "walk-forward fit";
const PREDICTIONS: &str = "out-of-fold predictions";

/// The kept value at each digest's key, decoded; `None` where there is none that can be read
/// (logged as `what`: the caller computes it again).
async fn load_each<T>(
    bus: &Bus,
    digests: &[[u8; 32]],
    key: fn(&[u8; 32]) -> Key,
    decode: fn(&[u8]) -> Result<T, String>,
    what: &str,
) -> Vec<Option<T>> {
    join_all(digests.iter().map(|d| async move {
        let key = key(d);
        let read = match bus.get(&key).await {
            Ok(Some(o)) => decode(&o.bytes),
            Ok(None) => return None,
            Err(e) => Err(e.to_string()),
        };
        read.inspect_err(|e| tracing::warn!(%key, "kept {what} not read ({e}): computed again")).ok()
    }))
    .await
}

/// Keeps each value this run computed (`None` where a kept one was used) at its digest's key.
async fn save_each<T>(
    bus: &Bus,
    digests: &[[u8; 32]],
    values: &[Option<T>],
    key: fn(&[u8; 32]) -> Key,
    encode: fn(&T) -> Vec<u8>,
    what: &str,
) {
    let puts = digests.iter().zip(values).filter_map(|(d, v)| v.as_ref().map(|v| (key(d), encode(v))));
    join_all(puts.map(|(key, bytes)| async move {
        if let Err(e) = bus.put(&key, bytes, PutMode::Overwrite).await {
            tracing::warn!(%key, "{what} not kept ({e}); the next training computes it again");
        }
    }))
    .await;
}

/// The kept model text of each digest, `None` where there is none that can be read (logged).
pub async fn load(bus: &Bus, digests: &[[u8; 32]]) -> Vec<Option<String>> {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    load_each(bus, digests, keys::predictor_fit, text, FIT).await
}

/// Keeps the fits this run made. The key names the fit's inputs and a fit is deterministic, so a
/// fit there already is replaced by the same text, or repaired when it was not a model.
pub async fn save(bus: &Bus, digests: &[[u8; 32]], fitted: &[Option<String>]) {
    save_each(bus, digests, fitted, keys::predictor_fit, |t: &String| t.clone().into_bytes(), FIT).await;
}

/// Bumped when a kept prediction file's layout changes.
const OOF_FORMAT: u32 = 1;

/// A fold's out-of-fold predictions as kept: [`OOF_FORMAT`], then each prediction (little-endian).
pub fn encode_predictions(p: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 8 * p.len());
    out.extend(OOF_FORMAT.to_le_bytes());
    out.extend(p.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// From [`encode_predictions`]'s bytes; anything else (another format included) is an error.
pub fn decode_predictions(bytes: &[u8]) -> Result<Vec<f64>, String> {
    let (format, rest) = bytes.split_at_checked(4).ok_or("shorter than its header")?;
    if format != OOF_FORMAT.to_le_bytes() {
        return Err("another format".into());
    }
    if !rest.len().is_multiple_of(8) {
        return Err(format!("{} bytes of predictions, not a multiple of 8", rest.len()));
    }
    Ok(rest.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

/// The kept out-of-fold predictions of each digest, `None` where there are none that can be read
/// (logged: the fold is predicted again).
pub async fn load_predictions(bus: &Bus, digests: &[[u8; 32]]) -> Vec<Option<Vec<f64>>> {
    load_each(bus, digests, keys::predictor_oof, decode_predictions, PREDICTIONS).await
}

/// Keeps the out-of-fold predictions this run made (`None` where kept ones were read).
pub async fn save_predictions(bus: &Bus, digests: &[[u8; 32]], predicted: &[Option<Vec<f64>>]) {
    save_each(bus, digests, predicted, keys::predictor_oof, |p: &Vec<f64>| encode_predictions(p), PREDICTIONS).await;
}
