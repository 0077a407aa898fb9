//! The configuration loader: the embedded defaults, then a TOML file, then environment overrides
//! (`ALPHA_ENGINE__SECTION__KEY=value`, `BUS_URL`), then the schema and the cross-field rules —
//! `Config::load_str`, the step of `Config::load` after it has read the file.
//!
//! Input: the TOML text, optionally followed by a NUL byte and environment lines `NAME=value`.
//!
//! Invariants: a refused configuration says why; an accepted one written back as TOML loads equal.

use ae_shared::config::{Config, ConfigError};

/// `Config::load_str` over a TOML text and environment lines.
pub fn config(data: &[u8]) {
    let (toml_part, env_part) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let (Ok(text), Ok(env_text)) = (std::str::from_utf8(toml_part), std::str::from_utf8(env_part)) else {
        return;
    };
    let env: Vec<(String, String)> =
        env_text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let cfg = match Config::load_str(text, "fuzz.toml", env) {
        Ok(cfg) => cfg,
        Err(e) => {
            if let ConfigError::Invalid { problems } = &e {
                assert!(!problems.0.is_empty(), "refused without a problem");
            }
            let _ = e.to_string();
            return;
        }
    };
    let written = toml::to_string(&cfg).unwrap_or_else(|e| panic!("an accepted configuration does not write: {e}"));
    let again = Config::load_str(&written, "written", std::iter::empty())
        .unwrap_or_else(|e| panic!("an accepted configuration, written, does not load: {e}\n{written}"));
    assert_eq!(again, cfg, "the configuration changed on a write and load");
}
