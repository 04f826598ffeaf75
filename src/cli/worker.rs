//! `gild worker`: the scheduler and sync worker, until SIGINT or SIGTERM.

use super::{load_config, Args, EXIT_OK};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {}

async fn shutdown_signal() {
    gild::signals::shutdown_requested().await;
    tracing::info!("shutting down: finishing the running job first");
}

pub async fn run(args: &Args, _a: &WorkerArgs) -> anyhow::Result<u8> {
    let config = Arc::new(load_config(args)?);
    if config.jobs.schedule.is_none() {
        tracing::warn!("no [jobs] schedule in the configuration: this worker only runs jobs put on the queue (gild sync --enqueue)");
    }
    gild::jobs::run_worker(config, shutdown_signal()).await?;
    Ok(EXIT_OK)
}
