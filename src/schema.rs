//! `alpha-engine schema export DIR`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SchemaCmd {
    /// Write `{kind}.schema.json` (JSON Schema draft 2020-12) for every document kind into DIR.
    Export {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
}

pub fn run(cmd: SchemaCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SchemaCmd::Export { dir } => {
            let files = ae_shared::contracts::export_schemas(&dir)?;
            for f in &files {
                println!("{}", f.display());
            }
            println!("wrote {} schemas to {}", files.len(), dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
