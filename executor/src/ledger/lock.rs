//! One daemon per ledger: an exclusive lock on `{ledger}.lock`, held for the daemon's life and
//! released by the operating system when the process ends (even by SIGKILL), so a crash never
//! leaves a stale lock behind. The file says who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::LedgerError;

/// The lock, held until dropped.
#[derive(Debug)]
pub struct LedgerLock {
    file: File,
    path: PathBuf,
}

impl LedgerLock {
    /// Takes the lock of the ledger at `ledger`, or says who holds it. `who` is written into the
    /// lock file (process id, day, broker account).
    pub fn acquire(ledger: &Path, who: &str) -> Result<Self, LedgerError> {
        let path = PathBuf::from(format!("{}.lock", ledger.display()));
        let io = |e: std::io::Error| LedgerError::Invariant(format!("lock file {}: {e}", path.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LedgerError::Locked {
                    path: ledger.to_path_buf(),
                    holder: if holder.is_empty() { "unknown holder".into() } else { holder.to_string() },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "pid {} {who}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LedgerLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("trades.db");
        let first = LedgerLock::acquire(&ledger, "daemon 2010-03-15 DU0000001").unwrap();
        let err = LedgerLock::acquire(&ledger, "daemon 2010-03-15 DU0000001").unwrap_err();
        assert!(matches!(err, LedgerError::Locked { .. }), "{err}");
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        LedgerLock::acquire(&ledger, "after the first ended").expect("released on drop");
    }
}
