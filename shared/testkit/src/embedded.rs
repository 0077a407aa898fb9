//! The embedded dataset imported into a file bus: imported once per target directory (under a
//! lock, so parallel test binaries share it) and copied into a fresh temporary bus per test.

use std::path::{Path, PathBuf};

use ae_shared::TradingDay;
use ae_shared::bus::Bus;
use ae_shared::clock::SimulatedClock;
use ae_shared::config::Config;
use ae_shared::store::{self, ImportFiles, embedded_data_dir};

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

/// The imported template under `tmp_root` (pass `env!("CARGO_TARGET_TMPDIR")`).
fn template(tmp_root: &Path) -> PathBuf {
    let dir = tmp_root.join("embedded-template-bus");
    std::fs::create_dir_all(tmp_root).unwrap();
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
            let clock = SimulatedClock::at_et(
                TradingDay::parse("2010-08-23").unwrap(),
                chrono::NaiveTime::from_hms_opt(5, 0, 0).unwrap(),
            );
            rt.block_on(store::import_files(&bus, &files, &Config::defaults().data, &clock, false)).unwrap();
        })
        .join()
        .unwrap();
        std::fs::write(dir.join("DONE"), "").unwrap();
    }
    dir
}

/// A fresh file bus holding the embedded data, in its own temporary directory (the bus is at
/// `{dir}/bus`).
pub fn bus(tmp_root: &Path) -> (tempfile::TempDir, Bus) {
    let t = tempfile::tempdir().unwrap();
    copy_dir(&template(tmp_root), &t.path().join("bus"));
    let _ = std::fs::remove_file(t.path().join("bus/DONE"));
    let bus = Bus::file(t.path().join("bus"));
    (t, bus)
}
