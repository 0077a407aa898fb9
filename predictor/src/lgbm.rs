//! The final model's LightGBM fit through LightGBM's own C API (`lightgbm3-sys`), for what
//! `lightgbm3` does not wrap: a training set whose rows are binned on two threads.
//!
//! [`model::dataset`](crate::model::dataset) builds a large training set as LightGBM bins a
//! validation set: a dataset of every k-th row finds the bins, then every row is pushed through
//! them, a binary search a value, on one thread (LightGBM is built without OpenMP). That push was
//! a third of the final fit, on the critical path of the week. [`training_set`] builds the same
//! dataset: the bins come from the same call (`ConstructFromSampleData`, through
//! `LGBM_DatasetCreateFromSampledColumn`) on the same sampled values, without pushing the sample's
//! rows; a dataset is made from that reference as `LGBM_DatasetCreateFromMat` makes one; and its
//! rows are pushed by LightGBM's streaming API, each half on its own thread. [`train`] then boosts
//! as `lightgbm3::Booster::train` does. The model text is the same to the byte (tested against
//! the `lightgbm3` path on data with sparse, missing and constant features).

use std::ffi::{CStr, CString, c_int, c_void};
use std::ptr::{null, null_mut};

use lightgbm3_sys as sys;

use crate::model::TrainError;

/// LightGBM's `kZeroThreshold` (a `float` literal stored in a `double`): a sampled value at or
/// below it in magnitude is a zero, which the sample leaves out.
const ZERO_THRESHOLD: f64 = 1e-35_f32 as f64;

/// The error LightGBM recorded for this thread's last call.
fn last_error() -> String {
    // SAFETY: LGBM_GetLastError returns a pointer to a NUL-terminated thread-local buffer that
    // lives as long as the thread; it is copied out at once.
    unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) }.to_string_lossy().into_owned()
}

fn check(code: c_int) -> Result<(), TrainError> {
    if code == 0 { Ok(()) } else { Err(TrainError::Gbm(last_error())) }
}

/// A LightGBM dataset, freed on drop.
struct Dataset(sys::DatasetHandle);

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful create call and is freed once.
        unsafe { sys::LGBM_DatasetFree(self.0) };
    }
}

/// A LightGBM booster, freed on drop.
struct Booster(sys::BoosterHandle);

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful LGBM_BoosterCreate and is freed once.
        unsafe { sys::LGBM_BoosterFree(self.0) };
    }
}

/// A dataset handle the push threads share.
#[derive(Clone, Copy)]
struct Streaming(sys::DatasetHandle);

// SAFETY: after LGBM_DatasetInitStreaming(nthreads = 2), LightGBM's streaming push is made for
// concurrent callers: each passes its own `tid` (its own push buffers for sparse bins) and writes
// its own rows (dense bins) and labels; nothing else touches the dataset until both are joined.
unsafe impl Send for Streaming {}
unsafe impl Sync for Streaming {}

/// A training set, binned and ready for [`train`].
pub struct TrainingSet(Dataset);

/// The training set of row-major `x` (`nf` columns) and labels `y`, with the bins of every
/// `every`-th row (`every` > 1: at most one row in two is sampled), exactly as
/// [`model::dataset`](crate::model::dataset) builds it, its rows pushed on two threads.
pub fn training_set(x: &[f32], y: &[f32], nf: usize, every: usize) -> Result<TrainingSet, TrainError> {
    let n = y.len();
    if nf == 0 || every < 2 || x.len() != n * nf || n == 0 || n > i32::MAX as usize {
        return Err(TrainError::Gbm(format!(
            "a training set of {} values in rows of {nf} with {n} labels, sampled every {every} rows",
            x.len()
        )));
    }
    // The sample, column by column: the values LightGBM's CreateFromMat keeps (non-zero or NaN,
    // as doubles) and their rows' places in the sample.
    let sampled = n.div_ceil(every);
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); nf];
    let mut places: Vec<Vec<c_int>> = vec![Vec::new(); nf];
    for (i, row) in x.chunks_exact(nf).step_by(every).enumerate() {
        for ((v, p), &value) in values.iter_mut().zip(&mut places).zip(row) {
            let value = f64::from(value);
            if value.abs() > ZERO_THRESHOLD || value.is_nan() {
                v.push(value);
                p.push(i as c_int);
            }
        }
    }
    let counts: Vec<c_int> = values.iter().map(|v| v.len() as c_int).collect();
    let mut value_ptrs: Vec<*mut f64> = values.iter_mut().map(|v| v.as_mut_ptr()).collect();
    let mut place_ptrs: Vec<*mut c_int> = places.iter_mut().map(|p| p.as_mut_ptr()).collect();
    // No dataset parameters: lightgbm3 passes none either.
    let none = CString::default();
    let mut handle = null_mut();
    // SAFETY: `nf` columns of `counts[k]` values and places each, alive for the call; LightGBM
    // copies what it keeps (the bin mappers).
    check(unsafe {
        sys::LGBM_DatasetCreateFromSampledColumn(
            value_ptrs.as_mut_ptr(),
            place_ptrs.as_mut_ptr(),
            nf as i32,
            counts.as_ptr(),
            sampled as i32,
            sampled as i32,
            sampled as i64,
            none.as_ptr(),
            &mut handle,
        )
    })?;
    let reference = Dataset(handle);
    drop((values, places));
    let mut handle = null_mut();
    // SAFETY: a valid reference; the new dataset copies its bin mappers.
    check(unsafe { sys::LGBM_DatasetCreateByReference(reference.0, n as i64, &mut handle) })?;
    let set = Dataset(handle);
    drop(reference);
    // SAFETY: a valid dataset; two pushing threads, no OpenMP threads of their own.
    check(unsafe { sys::LGBM_DatasetInitStreaming(set.0, 0, 0, 0, 1, 2, 1) })?;
    let shared = Streaming(set.0);
    let push = move |lo: usize, hi: usize, tid: i32| -> Result<(), TrainError> {
        let shared = shared;
        if lo == hi {
            return Ok(());
        }
        // SAFETY: rows lo..hi of `x` and their labels, alive for the call; the rows are this
        // thread's alone, under its own `tid` (see `Streaming`).
        check(unsafe {
            sys::LGBM_DatasetPushRowsWithMetadata(
                shared.0,
                x[lo * nf..hi * nf].as_ptr() as *const c_void,
                sys::C_API_DTYPE_FLOAT32 as c_int,
                (hi - lo) as i32,
                nf as i32,
                lo as i32,
                y[lo..hi].as_ptr(),
                null(),
                null(),
                null(),
                tid,
            )
        })
    };
    let half = n / 2;
    std::thread::scope(|s| {
        let second = s.spawn(move || push(half, n, 1));
        let first = push(0, half, 0);
        first.and(second.join().expect("a push thread does not panic"))
    })?;
    // SAFETY: every row is pushed and both threads are joined.
    check(unsafe { sys::LGBM_DatasetMarkFinished(set.0) })?;
    // The labels once more as lightgbm3 sets them (LightGBM's SetField also bounds infinities).
    // SAFETY: `n` labels, alive for the call; LightGBM copies them.
    check(unsafe {
        sys::LGBM_DatasetSetField(
            set.0,
            c"label".as_ptr(),
            y.as_ptr() as *const c_void,
            n as c_int,
            sys::C_API_DTYPE_FLOAT32 as c_int,
        )
    })?;
    Ok(TrainingSet(set))
}

/// Boosts on `set` with `params` (the JSON lightgbm3 takes, its `num_iterations` rounds unless a
/// round adds no tree) and returns the model text, as `lightgbm3::Booster::train` and
/// `save_string` would.
pub fn train(set: TrainingSet, params: &serde_json::Value) -> Result<String, TrainError> {
    let object =
        params.as_object().ok_or_else(|| TrainError::Gbm("LightGBM parameters must be a JSON object".into()))?;
    // lightgbm3's rendering: `key=value` for each field in the map's order, JSON values as JSON.
    let rendered = object.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
    let rendered = CString::new(rendered).map_err(|e| TrainError::Gbm(e.to_string()))?;
    let rounds = params["num_iterations"].as_i64().unwrap_or(100);
    let mut handle = null_mut();
    // SAFETY: a finished dataset that outlives the booster (dropped after it, below).
    check(unsafe { sys::LGBM_BoosterCreate(set.0.0, rendered.as_ptr(), &mut handle) })?;
    let booster = Booster(handle);
    for _ in 0..rounds {
        let mut finished: c_int = 0;
        // SAFETY: a valid booster.
        check(unsafe { sys::LGBM_BoosterUpdateOneIter(booster.0, &mut finished) })?;
        if finished != 0 {
            break;
        }
    }
    let text = model_text(&booster)?;
    drop(booster);
    drop(set);
    Ok(text)
}

/// The booster's model text: every iteration, split-count importance (lightgbm3's `save_string`).
fn model_text(booster: &Booster) -> Result<String, TrainError> {
    let mut len: i64 = 0;
    // SAFETY: a size query (no buffer).
    check(unsafe { sys::LGBM_BoosterSaveModelToString(booster.0, 0, -1, 0, 0, &mut len, null_mut()) })?;
    let mut buf = vec![0u8; usize::try_from(len).map_err(|_| TrainError::Gbm(format!("model text of {len} bytes")))?];
    // SAFETY: a buffer of the size LightGBM asked for.
    check(unsafe {
        sys::LGBM_BoosterSaveModelToString(booster.0, 0, -1, 0, buf.len() as i64, &mut len, buf.as_mut_ptr().cast())
    })?;
    if buf.pop() != Some(0) {
        return Err(TrainError::Gbm("the model text is not NUL-terminated".into()));
    }
    String::from_utf8(buf).map_err(|e| TrainError::Gbm(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{dataset, gbm_params};
    use rand::{Rng, SeedableRng};

    /// Rows with every kind of column LightGBM bins differently: dense, mostly zero (a sparse
    /// bin), with missing values, constant, and a few distinct values.
    fn rows(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>, usize) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let nf = 6;
        let mut x = Vec::with_capacity(n * nf);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let a: f32 = rng.random_range(-3.0..3.0);
            let sparse = if rng.random_bool(0.08) { rng.random_range(0.5..2.0) } else { 0.0 };
            let missing = if rng.random_bool(0.2) { f32::NAN } else { rng.random_range(-1.0..1.0) };
            let steps = f32::from(rng.random_range(0u8..4));
            x.extend_from_slice(&[a, sparse, missing, 7.0, steps, a * missing.max(0.0)]);
            y.push(0.3 * a + sparse - 0.2 * steps + rng.random_range(-0.5..0.5));
        }
        (x, y, nf)
    }

    #[test]
    fn the_two_thread_training_set_fits_the_model_of_the_lightgbm3_path_to_the_byte() {
        let params = |rounds| {
            let p = ae_shared::config::Config::defaults().predictor.gbm;
            let mut v = gbm_params(&p, rounds, false);
            v["min_data_in_leaf"] = serde_json::json!(20);
            v
        };
        // (rows, rows the bins are found from at most): an even split, an odd one, a sample
        // that does not divide the rows.
        for (n, sample, seed) in [(8_000, 2_000, 1), (9_001, 3_000, 2), (7_777, 1_000, 3)] {
            let (x, y, nf) = rows(n, seed);
            let every = n.div_ceil(sample);
            let lightgbm3 = lightgbm3::Booster::train(dataset(&x, &y, nf, sample).unwrap(), &params(25))
                .unwrap()
                .save_string()
                .unwrap();
            let streamed = train(training_set(&x, &y, nf, every).unwrap(), &params(25)).unwrap();
            assert!(lightgbm3.contains("Tree=24"), "{n} rows: 25 trees");
            assert_eq!(streamed, lightgbm3, "{n} rows sampled every {every}");
        }
    }

    #[test]
    fn a_malformed_training_set_is_an_error_not_a_crash() {
        let (x, y, nf) = rows(100, 4);
        for (x, y, nf, every, what) in [
            (&x[..], &y[..99], nf, 2, "labels short of the rows"),
            (&x[..], &y[..], 0, 2, "no columns"),
            (&x[..], &y[..], nf, 1, "every row sampled"),
            (&x[..0], &y[..0], nf, 2, "no rows"),
        ] {
            assert!(training_set(x, y, nf, every).is_err(), "{what}");
        }
        let bad = serde_json::json!(["not", "an", "object"]);
        assert!(train(training_set(&x, &y, nf, 2).unwrap(), &bad).is_err());
    }
}
