//! Links the C++ runtime statically so the binary runs on AWS Lambda's `provided.al2023` (which
//! ships neither this toolchain's libstdc++ nor libgomp): LightGBM's sys crate asks for `-lstdc++`;
//! a search directory holding only `libstdc++.a`, searched before the system's, makes that request
//! resolve to the static archive. libgcc is linked statically too. Checked by a test (`ldd`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("static-cxx");
    std::fs::create_dir_all(&out).expect("create dir");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "g++".into());
    let found = Command::new(&cxx)
        .arg("-print-file-name=libstdc++.a")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.is_absolute() && p.exists());
    match found {
        Some(archive) => {
            let link = out.join("libstdc++.a");
            let _ = std::fs::remove_file(&link);
            std::fs::copy(&archive, &link).expect("copy libstdc++.a");
            println!("cargo:rustc-link-search=native={}", out.display());
            println!("cargo:rustc-link-arg-bins=-static-libgcc");
        }
        None => {
            println!("cargo:warning=libstdc++.a not found via {cxx}; the predictor binary links libstdc++ dynamically")
        }
    }
}
