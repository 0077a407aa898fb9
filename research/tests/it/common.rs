use std::path::{Path, PathBuf};
use std::sync::Arc;

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::{Clock, SimulatedClock};
use ae_shared::config::Config;
use ae_shared::store::{self, ImportFiles, embedded_data_dir};
use chrono::NaiveTime;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A directory holding the embedded data imported into a file bus, built once per target dir.
fn template() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("research-template-bus");
    let lock =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    if !dir.join("DONE").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let target = dir.clone();
        // Its own thread: callers may already be inside a runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let bus = Bus::file(&target);
            let files = ImportFiles::embedded(&embedded_data_dir());
            rt.block_on(store::import_files(&bus, &files, &Config::defaults().data, &clock_at("2010-08-23"), false))
                .unwrap();
        })
        .join()
        .unwrap();
        std::fs::write(dir.join("DONE"), "").unwrap();
    }
    dir
}

/// A fresh file bus with the embedded data, in its own temporary directory.
pub fn bus() -> (tempfile::TempDir, Bus) {
    let t = tempfile::tempdir().unwrap();
    copy_dir(&template(), &t.path().join("bus"));
    let _ = std::fs::remove_file(t.path().join("bus/DONE"));
    let bus = Bus::file(t.path().join("bus"));
    (t, bus)
}

/// The clock at 05:00 New York on `day` (when research runs).
pub fn clock_at(day: &str) -> SimulatedClock {
    SimulatedClock::at_et(TradingDay::parse(day).unwrap(), NaiveTime::from_hms_opt(5, 0, 0).unwrap())
}

/// Same, shared.
pub fn clock(day: &str) -> Arc<dyn Clock> {
    Arc::new(clock_at(day))
}

/// Defaults with mail and the answer cache inside `dir`.
pub fn config(dir: &Path) -> Config {
    let mut c = Config::defaults();
    c.mail.outbox_dir = dir.join("outbox").display().to_string();
    c.llm.cache_path = dir.join("research.db").display().to_string();
    c
}

/// A trading day.
pub fn day(s: &str) -> TradingDay {
    TradingDay::parse(s).unwrap()
}
