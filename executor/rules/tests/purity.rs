//! The rules crate does no I/O: its manifest names only the I/O-free core and value crates, and
//! nothing in its whole dependency tree is an async runtime, network, database, mail or cloud crate.

use std::process::Command;

const ALLOWED_DIRECT: &[&str] = &["ae-core", "serde", "chrono"];
const FORBIDDEN: &[&str] = &[
    "tokio",
    "mio",
    "reqwest",
    "hyper",
    "h2",
    "aws-config",
    "aws-sdk-s3",
    "aws-smithy-runtime",
    "rusqlite",
    "libsqlite3-sys",
    "lettre",
    "ibapi",
    "socket2",
    "rustls",
    "lambda_runtime",
    "ae-shared",
    "parquet",
    "rand",
];

#[test]
fn the_manifest_names_no_io_dependency() {
    let manifest: toml::Table = include_str!("../Cargo.toml").parse().unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    for name in deps.keys() {
        assert!(
            ALLOWED_DIRECT.contains(&name.as_str()),
            "ae-rules depends on {name}: only {ALLOWED_DIRECT:?} are allowed"
        );
    }
    let core: toml::Table = include_str!("../../../shared/core/Cargo.toml").parse().unwrap();
    for name in core["dependencies"].as_table().unwrap().keys() {
        assert!(!FORBIDDEN.contains(&name.as_str()), "ae-core depends on {name}");
    }
}

#[test]
fn nothing_in_the_dependency_tree_does_io() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-p", "ae-rules", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"ae-core"), "the tree lists ae-core: {text}");
    for bad in FORBIDDEN {
        assert!(!names.contains(bad), "{bad} is in ae-rules' dependency tree");
    }
}
