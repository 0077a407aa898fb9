//! A short fuzzing run inside the test suite: every target gets its whole committed corpus, then
//! seeded mutations of it (bit flips, interesting bytes, truncations, insertions, deletions,
//! duplications and splices with another corpus input). Deterministic: the seed is the target's
//! name. A failure names the target and writes the input to `$CARGO_TARGET_TMPDIR/short-run/`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use ae_fuzz::{TARGETS, Target, corpus_dir};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mutated inputs per target after the corpus.
const MUTATIONS: usize = 3000;
/// Longest mutated input (libFuzzer runs use the same bound).
const MAX_LEN: usize = 16_384;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(name);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).expect("corpus file")).collect()
}

fn mutate(rng: &mut ChaCha8Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    const INTERESTING: [u8; 12] = [0, 1, 0x7f, 0x80, 0xff, b'"', b'{', b'}', b',', b'\n', b'-', b'9'];
    let mut input = corpus[rng.random_range(0..corpus.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        let len = input.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] = INTERESTING[rng.random_range(0..INTERESTING.len())];
            }
            2 if len > 0 => input.truncate(rng.random_range(0..len)),
            3 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..=8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                input.splice(at..at, bytes);
            }
            4 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                input.drain(a..b);
            }
            5 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                let chunk = input[a..b].to_vec();
                let at = rng.random_range(0..=len);
                input.splice(at..at, chunk);
            }
            _ => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let cut = rng.random_range(0..=input.len());
                let from = rng.random_range(0..=other.len());
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
        }
    }
    input.truncate(MAX_LEN);
    input
}

fn run(target: &Target, input: &[u8], what: &str) {
    if catch_unwind(AssertUnwindSafe(|| (target.run)(input))).is_err() {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("short-run");
        std::fs::create_dir_all(&dir).expect("crash folder");
        let path = dir.join(format!("crash-{}", target.name));
        std::fs::write(&path, input).expect("write crash input");
        panic!("{} panicked on {what}; the input is in {}", target.name, path.display());
    }
}

fn short_run(name: &str) {
    let target = TARGETS.iter().find(|t| t.name == name).expect("a known target");
    let inputs = corpus(name);
    assert!(!inputs.is_empty(), "{name} has no committed corpus");
    for (i, input) in inputs.iter().enumerate() {
        run(target, input, &format!("corpus input {i}"));
    }
    let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in 0..MUTATIONS {
        let input = mutate(&mut rng, &inputs);
        run(target, &input, &format!("mutation {i}"));
    }
}

macro_rules! short_runs {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                short_run(stringify!($name));
            }
        )+

        #[test]
        fn every_target_has_a_short_run_a_corpus_and_a_libfuzzer_binary() {
            let listed = [$(stringify!($name)),+];
            let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
            assert_eq!(names, listed, "TARGETS and the short runs list the same targets");
            let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
            let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("shared/fuzz/Cargo.toml");
            for name in names {
                assert!(manifest.contains(&format!("name = \"{name}\"")), "{name} has no libFuzzer binary");
                let bin = std::fs::read_to_string(fuzz.join(format!("fuzz_targets/{name}.rs"))).expect("target source");
                assert!(bin.contains(&format!("ae_fuzz::{name}(data)")), "{name}'s binary calls another function");
                assert!(corpus_dir(name).is_dir(), "{name} has no corpus folder");
            }
        }
    };
}

short_runs!(
    docs_signals,
    docs_predictions,
    docs_predictor_metrics,
    docs_order_book,
    docs_eod,
    docs_kill_switch,
    docs_scoring_weights,
    docs_executor_params,
    docs_predictor_params,
    docs_research_params,
    predictor_registry,
    predictor_model_meta,
    csv_import,
    parquet_chunk,
    tws_framing,
    tws_handshake,
    tws_request,
    tws_server_message,
    llm_extract,
    llm_answer,
    config,
);
