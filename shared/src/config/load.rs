//! Loading the configuration: the embedded defaults, then a TOML file, then the environment,
//! checked against the schema with every problem located and attributed to the layer that set it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Config;
use crate::contracts::{Checker, Problem, Problems, schema_problems};

/// The embedded defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Environment variable prefix for overrides.
pub const ENV_PREFIX: &str = "ALPHA_ENGINE__";

/// Which layer set each overridden value: dotted path → the file or environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(pub BTreeMap<String, String>);

impl Origins {
    /// The layer that set the value at `path` (a value inside a replaced table or list counts):
    /// the file, the environment variable, or `defaults`.
    pub fn of(&self, path: &str) -> &str {
        self.0
            .iter()
            .filter(|(k, _)| path == k.as_str() || path.starts_with(&format!("{k}.")))
            .max_by_key(|(k, _)| k.len())
            .map_or("defaults", |(_, v)| v.as_str())
    }
}

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax.
    #[error("{origin}: not valid TOML: {detail}")]
    Syntax {
        /// File or "defaults".
        origin: String,
        /// Parser message.
        detail: String,
    },
    /// Validation problems, all of them.
    #[error("invalid configuration ({} problem(s)):\n{problems}", problems.len())]
    Invalid {
        /// Every problem found.
        problems: Problems,
    },
}

impl Config {
    /// Defaults only (no file, no environment).
    pub fn defaults() -> Self {
        Self::load_from(None, std::iter::empty()).expect("the embedded defaults are valid (tested)")
    }

    /// Defaults, then `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Defaults, then `file`, then the given environment (for tests and tools).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::load_traced(file, env).map(|(cfg, _)| cfg)
    }

    /// [`Config::load_from`], with the layer that set each overridden value: dotted path → the
    /// file or environment variable (paths absent from the map are the embedded defaults').
    pub fn load_traced(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Origins), ConfigError> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
                Self::layered(Some((&text, &path.display().to_string())), env)
            }
            None => Self::layered(None, env),
        }
    }

    /// Defaults, then the TOML `text` (called `origin` in messages), then the given environment:
    /// [`Config::load_from`] once it has read its file.
    pub fn load_str(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::layered(Some((text, origin)), env).map(|(cfg, _)| cfg)
    }

    fn layered(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Origins), ConfigError> {
        let mut tree: toml::Table = DEFAULT_TOML.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            origin: "embedded defaults".into(),
            detail: e.to_string(),
        })?;
        let mut origins: BTreeMap<String, String> = BTreeMap::new();
        if let Some((text, origin)) = file {
            let over: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax { origin: origin.into(), detail: e.to_string() })?;
            merge(&mut tree, over, "", origin, &mut origins);
        }
        for (name, raw) in env {
            let path: Vec<String> = if name == "BUS_URL" {
                vec!["bus".into(), "url".into()]
            } else if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                rest.split("__").map(|s| s.to_ascii_lowercase()).collect()
            } else {
                continue;
            };
            if path.iter().any(String::is_empty) {
                continue;
            }
            let value = parse_scalar(&raw);
            set_path(&mut tree, &path, value);
            origins.insert(path.join("."), name);
        }
        let json = serde_json::to_value(&tree).expect("TOML converts to JSON");
        Self::from_value(json, &origins).map(|cfg| (cfg, Origins(origins)))
    }

    fn from_value(json: Value, origins: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let attribute = |mut p: Problem| {
            if let Some(src) =
                origins.iter().find(|(k, _)| p.path == **k || p.path.starts_with(&format!("{k}."))).map(|(_, v)| v)
            {
                p.message.push_str(&format!(" (set by {src})"));
            }
            p
        };
        let problems: Vec<Problem> = schema_problems::<Config>(&json).into_iter().map(attribute).collect();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { problems: Problems(problems) });
        }
        let cfg: Config = serde_path_to_error::deserialize(&json).map_err(|e| ConfigError::Invalid {
            problems: Problems(vec![attribute(Problem::new(e.path().to_string(), e.inner().to_string()))]),
        })?;
        let mut c = Checker::default();
        cfg.check(&mut c);
        let problems: Vec<Problem> = c.finish().into_iter().map(attribute).collect();
        if problems.is_empty() { Ok(cfg) } else { Err(ConfigError::Invalid { problems: Problems(problems) }) }
    }
}

fn parse_scalar(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

fn set_path(tree: &mut toml::Table, path: &[String], value: toml::Value) {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut node = tree;
    for p in parents {
        let entry = node.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        node = entry.as_table_mut().expect("just made a table");
    }
    node.insert(last.clone(), value);
}

fn merge(
    base: &mut toml::Table,
    over: toml::Table,
    prefix: &str,
    origin: &str,
    origins: &mut BTreeMap<String, String>,
) {
    for (k, v) in over {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o, &path, origin, origins),
            (_, v) => {
                base.insert(k, v);
                origins.insert(path, origin.to_string());
            }
        }
    }
}
