//! The answer cache in `research.db` (SQLite): valid agent answers keyed by (agent, ticker, input
//! hash), with a time-to-live. The input hash covers the prompt version, the model and the
//! rendered prompt, so any change to what the agent would see misses the cache. Time comes from the
//! injected clock; expired rows are evicted when the cache opens.

use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Cache failures.
#[derive(Debug, thiserror::Error)]
#[error("research.db ({path}): {source}")]
pub struct CacheError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

/// The cache.
pub struct AnswerCache {
    conn: Mutex<Connection>,
    path: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache").field("path", &self.path).finish()
    }
}

const MIGRATIONS: &[&str] = &["CREATE TABLE llm_answers (
        agent TEXT NOT NULL,
        ticker TEXT NOT NULL,
        input_hash TEXT NOT NULL,
        model TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (agent, ticker, input_hash)
    )"];

impl AnswerCache {
    /// Opens (creating and migrating) the cache at `path`, evicting rows older than `ttl_days`.
    pub fn open(path: &Path, ttl_days: u32, now: DateTime<Utc>) -> Result<(Self, usize), CacheError> {
        let shown = path.display().to_string();
        let err = |source| CacheError { path: shown.clone(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            conn.execute_batch(m).map_err(err)?;
            conn.pragma_update(None, "user_version", (i + 1) as i64).map_err(err)?;
        }
        let ttl_secs = ttl_days as i64 * 86_400;
        let evicted = conn
            .execute("DELETE FROM llm_answers WHERE created_at < ?1", params![now.timestamp() - ttl_secs])
            .map_err(err)?;
        Ok((Self { conn: Mutex::new(conn), path: shown, ttl_secs }, evicted))
    }

    /// A fresh answer, if any.
    pub fn get(
        &self,
        agent: &str,
        ticker: &str,
        input_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, CacheError> {
        let conn = self.conn.lock().expect("cache lock");
        conn.query_row(
            "SELECT answer FROM llm_answers WHERE agent = ?1 AND ticker = ?2 AND input_hash = ?3 AND created_at >= ?4",
            params![agent, ticker, input_hash, now.timestamp() - self.ttl_secs],
            |r| r.get(0),
        )
        .optional()
        .map_err(|source| CacheError { path: self.path.clone(), source })
    }

    /// Stores a valid answer.
    pub fn put(
        &self,
        agent: &str,
        ticker: &str,
        input_hash: &str,
        model: &str,
        answer: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CacheError> {
        let conn = self.conn.lock().expect("cache lock");
        conn.execute(
            "INSERT OR REPLACE INTO llm_answers (agent, ticker, input_hash, model, answer, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![agent, ticker, input_hash, model, answer, now.timestamp()],
        )
        .map(drop)
        .map_err(|source| CacheError { path: self.path.clone(), source })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        let conn = self.conn.lock().expect("cache lock");
        conn.query_row("SELECT COUNT(*) FROM llm_answers", [], |r| r.get::<_, i64>(0)).unwrap_or(0) as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flushes the write-ahead log into the main file (before the file is copied to the bus).
    pub fn checkpoint(&self) {
        let conn = self.conn.lock().expect("cache lock");
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_after_the_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.db");
        let t0 = DateTime::from_timestamp(1_268_000_000, 0).unwrap();
        let (c, _) = AnswerCache::open(&p, 30, t0).unwrap();
        c.put("analyst", "AAPL", "h1", "m", "{\"score\":70}", t0).unwrap();
        assert_eq!(c.get("analyst", "AAPL", "h1", t0).unwrap().as_deref(), Some("{\"score\":70}"));
        assert!(c.get("analyst", "AAPL", "other", t0).unwrap().is_none());
        let later = t0 + chrono::Duration::days(31);
        assert!(c.get("analyst", "AAPL", "h1", later).unwrap().is_none());
        drop(c);
        let (c, evicted) = AnswerCache::open(&p, 30, later).unwrap();
        assert_eq!(evicted, 1);
        assert!(c.is_empty());
    }
}
