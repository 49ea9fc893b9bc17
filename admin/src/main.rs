//! golfiq-admin: operator commands run beside a deployment, with its environment (RUN_STORE_*,
//! AWS_*). `runs import <dir>` and `runs import -` bring the original server's runs into this
//! server's run store.
//!
//! Prints a JSON report on stdout (logs go to stderr). Exit status: 0 when every record was
//! imported or already present, 2 when some were skipped (each named, with its reason, in the
//! report), 1 when the command could not run (configuration, unreadable source, store failure).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use common::legacy_runs::{self, Report};
use common::state::AppState;
use tokio::io::AsyncBufReadExt;

#[derive(Debug, Parser)]
#[command(name = "golfiq-admin", version, about = "Operator commands for a golfiq deployment")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The run store.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// Imports runs the original server wrote into the run store this environment configures.
    /// Ids are kept, listing order follows their created_ts, and importing twice changes nothing.
    Import {
        /// The original's RUN_STORE_DIR (it holds `<run_id>/run.json`; files are only read), or
        /// `-` for one record per JSON line on stdin.
        source: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    common::bootstrap::init_tracing();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            if report.skipped.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(message) => {
            eprintln!("golfiq-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<Report, String> {
    let Command::Runs { command: RunsCommand::Import { source } } = cli.command;
    let config = common::config::Config::from_env().map_err(|e| e.to_string())?;
    let state = AppState::from_config(config).await?;
    if source == "-" {
        import_lines(&state, tokio::io::BufReader::new(tokio::io::stdin())).await
    } else {
        let dir = PathBuf::from(&source);
        if !dir.is_dir() {
            return Err(format!("{source} is not a directory (give the original's RUN_STORE_DIR, or - for stdin)"));
        }
        legacy_runs::import_dir(&state.runs, &dir).await.map_err(|e| e.to_string())
    }
}

/// One record per line; blank lines are ignored, a line that is not a record is skipped as
/// `stdin:<line number>`.
async fn import_lines(state: &AppState, input: impl tokio::io::AsyncBufRead + Unpin) -> Result<Report, String> {
    let mut report = Report::default();
    let mut lines = input.lines();
    let mut number = 0;
    while let Some(line) = lines.next_line().await.map_err(|e| format!("reading stdin: {e}"))? {
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        report.add(&state.runs, format!("stdin:{number}"), line.as_bytes()).await.map_err(|e| e.to_string())?;
    }
    Ok(report)
}
