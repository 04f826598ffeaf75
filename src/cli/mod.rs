//! Subcommands: parse, call the library, print a table or JSON.

mod changes;
mod evaluate;
mod explain;
mod golden;
mod init;
mod logging;
mod output;
mod progress;
mod quality;
mod review;
mod runs;
mod serve;
mod sources;
mod sync;
mod train;
mod worker;

use clap::{Parser, Subcommand};
use gild::config::{Config, ConfigError};
pub use logging::{init_tracing, print_error, LogFormat};
pub use output::Format;
use std::path::PathBuf;

/// Success.
pub const EXIT_OK: u8 = 0;
/// Something failed (a store, every source, an unexpected error).
pub const EXIT_FAILURE: u8 = 1;
/// Bad usage or bad configuration: nothing was run.
pub const EXIT_USAGE: u8 = 2;
/// Finished, but some rows or sources were rejected (see `gild rejects`).
pub const EXIT_REJECTIONS: u8 = 3;
/// The golden record, run or source key asked for does not exist.
pub const EXIT_NOT_FOUND: u8 = 4;

#[derive(Debug, Parser)]
#[command(
    name = "gild",
    version,
    about = "Turns scattered customer records into golden customer records"
)]
pub struct Args {
    /// The configuration file.
    #[arg(long, global = true, env = "GILD_CONFIG", default_value = "gild.toml")]
    pub config: PathBuf,
    /// Output for people (text) or scripts (json).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines (and the final error) on stderr as text for people, or JSON lines for a log
    /// collector. Independent of --format, which is about stdout.
    #[arg(long, global = true, value_enum, env = "GILD_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pull every source, match, build golden records and publish them.
    Sync(sync::SyncArgs),
    /// Check the sources.
    Sources {
        #[command(subcommand)]
        command: sources::SourcesCommand,
    },
    /// Read golden customer records.
    Golden {
        #[command(subcommand)]
        command: golden::GoldenCommand,
    },
    /// Compare the published clusters with a truth file.
    Evaluate(evaluate::EvaluateArgs),
    /// Sync runs, scheduled or by hand.
    Runs {
        #[command(subcommand)]
        command: runs::RunsCommand,
    },
    /// Rows rejected by a run, with their raw text and reason.
    Rejects(runs::RejectsArgs),
    /// Data-quality findings: values dropped from their field (records kept), with counts per
    /// source and field.
    Quality(quality::QualityArgs),
    /// Write a mapping for every connector without one, from its columns and values (and a
    /// starting gild.toml when there is none). Never overwrites a file.
    Init(init::InitArgs),
    /// Run the scheduler and sync worker (apalis) until stopped.
    Worker(worker::WorkerArgs),
    /// Train the matching model from the data and store it.
    Train(train::TrainArgs),
    /// Why two records were (or were not) matched.
    Explain(explain::ExplainArgs),
    /// The data stewards' review queue (interactive on a terminal when no subcommand is given).
    Review(review::ReviewArgs),
    /// The change feed: golden creates, updates, merges, splits and deletes after a cursor.
    Changes(changes::ChangesArgs),
    /// Serve the read API (JSON over HTTP) until stopped.
    Serve(serve::ServeArgs),
}

/// An error the CLI maps to "not found".
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

pub fn exit_code_of(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<ConfigError>().is_some()
        || e.downcast_ref::<gild::api::ServeError>()
            .is_some_and(gild::api::ServeError::is_usage)
    {
        EXIT_USAGE
    } else if e.downcast_ref::<NotFound>().is_some() {
        EXIT_NOT_FOUND
    } else if let Some(r) = e.downcast_ref::<gild::review::ReviewError>() {
        match r {
            gild::review::ReviewError::NotFound(_) => EXIT_NOT_FOUND,
            gild::review::ReviewError::Invalid(_) => EXIT_USAGE,
            gild::review::ReviewError::Store(_) => EXIT_FAILURE,
        }
    } else {
        EXIT_FAILURE
    }
}

pub fn load_config(args: &Args) -> anyhow::Result<Config> {
    Ok(Config::load(&args.config)?)
}

pub async fn run(args: Args) -> anyhow::Result<u8> {
    match &args.command {
        Command::Sync(a) => sync::run(&args, a).await,
        Command::Sources { command } => sources::run(&args, command).await,
        Command::Golden { command } => golden::run(&args, command).await,
        Command::Evaluate(a) => evaluate::run(&args, a).await,
        Command::Runs { command } => runs::run(&args, command).await,
        Command::Rejects(a) => runs::rejects(&args, a).await,
        Command::Quality(a) => quality::run(&args, a).await,
        Command::Init(a) => init::run(&args, a).await,
        Command::Worker(a) => worker::run(&args, a).await,
        Command::Train(a) => train::run(&args, a).await,
        Command::Explain(a) => explain::run(&args, a).await,
        Command::Review(a) => review::run(&args, a).await,
        Command::Changes(a) => changes::run(&args, a).await,
        Command::Serve(a) => serve::run(&args, a).await,
    }
}
