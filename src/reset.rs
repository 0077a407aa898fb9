//! `alpha-engine reset-portfolio`: archive the trade ledger and the `trades/*.csv` backups to
//! `trades/archive/{stamp}/` on the bus, then remove them, so the next plan starts from cash.
//! Nothing is removed unless everything was archived first. The ledger is archived with
//! `VACUUM INTO` (a consistent copy that includes its write-ahead log). With Interactive Brokers
//! the reset is refused while the ledger still holds positions: close them at the broker first.
//! Stop the trading timers (`systemctl stop 'alpha-engine-*'`) before a reset.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ae_shared::bus::{PutMode, keys};
use ae_shared::cli::CommonArgs;
use ae_shared::clock::{Clock, SystemClock};
use anyhow::Context as _;

/// Flags.
#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// Say what would be archived and removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

fn ledger_files(ledger: &Path) -> Vec<PathBuf> {
    let mut v = vec![ledger.to_path_buf()];
    for ext in ["-wal", "-shm"] {
        v.push(PathBuf::from(format!("{}{ext}", ledger.display())));
    }
    v.into_iter().filter(|p| p.exists()).collect()
}

/// Runs the reset.
pub async fn run(args: ResetArgs, common: &CommonArgs) -> anyhow::Result<ExitCode> {
    let cfg = common.load_config()?;
    let bus = common.open_bus(&cfg).await?;
    let ledger = PathBuf::from(&cfg.trading.ledger_path);
    let csvs = [keys::trades_full_csv(), keys::eod_pnl_csv()];
    let mut on_bus = Vec::new();
    for k in &csvs {
        if bus.head(k).await?.is_some() {
            on_bus.push(k.clone());
        }
    }
    if !ledger.exists() && on_bus.is_empty() {
        println!("nothing to reset: no ledger at {} and no trades/*.csv on {}", ledger.display(), bus.url());
        return Ok(ExitCode::SUCCESS);
    }
    let stamp = SystemClock.now().format("%Y%m%dT%H%M%SZ").to_string();
    println!("reset-portfolio on {} (stamp {stamp}):", bus.url());
    if ledger.exists() {
        println!("  archive {} -> {}", ledger.display(), keys::trades_archive(&stamp, "trades.db"));
    }
    for k in &on_bus {
        println!("  archive {k} -> {}", keys::trades_archive(&stamp, k.file_name()));
    }
    println!("  then remove the ledger (positions, orders, fills, paper account) and trades/*.csv");
    if cfg.trading.broker == ae_shared::config::BrokerKind::Ib && ledger.exists() {
        let held = ae_executor::ledger::Ledger::open(&ledger)?.positions()?.len();
        anyhow::ensure!(
            held == 0,
            "the ledger still holds {held} position(s) at Interactive Brokers: close them at the broker and let \
             EOD reconcile before a reset (a reset never touches the broker)"
        );
    }
    if args.dry_run {
        println!("dry run: nothing archived, nothing removed");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        use std::io::{BufRead, IsTerminal, Write};
        anyhow::ensure!(
            std::io::stdin().is_terminal(),
            "no terminal to confirm on: pass --yes to reset without asking"
        );
        eprint!("Type RESET to archive and reset the portfolio: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != "RESET" {
            println!("not confirmed: nothing changed");
            return Ok(ExitCode::from(1));
        }
    }
    if ledger.exists() {
        let copy = tempfile::tempdir()?;
        let snapshot = copy.path().join("trades.db");
        let conn = rusqlite::Connection::open(&ledger).with_context(|| format!("opening {}", ledger.display()))?;
        conn.execute("VACUUM INTO ?1", [snapshot.display().to_string()]).context("copying the ledger")?;
        drop(conn);
        let bytes = std::fs::read(&snapshot)?;
        bus.put(&keys::trades_archive(&stamp, "trades.db"), bytes, PutMode::IfAbsent).await?;
    }
    for k in &on_bus {
        let o = bus.get(k).await?.with_context(|| format!("{k} vanished while archiving"))?;
        bus.put(&keys::trades_archive(&stamp, k.file_name()), o.bytes, PutMode::IfAbsent).await?;
    }
    for k in &on_bus {
        bus.delete(k).await.with_context(|| format!("removing {k} (the archive is complete; re-run to finish)"))?;
    }
    for f in ledger_files(&ledger) {
        std::fs::remove_file(&f).with_context(|| format!("removing {}", f.display()))?;
    }
    println!("archived to trades/archive/{stamp}/ and reset: the next plan starts from cash");
    Ok(ExitCode::SUCCESS)
}
