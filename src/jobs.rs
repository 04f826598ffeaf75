//! Scheduled syncs with apalis: the nightly sync as a job.
//!
//! `gild worker` runs an apalis monitor with two workers: a cron scheduler that, at each tick,
//! puts a sync job on the queue (keyed by the tick, so several hosts running the scheduler
//! enqueue it once), and a sync worker that takes jobs off the queue and runs them, retrying a
//! failed run with exponential backoff. The queue lives in its own SQLite file beside a SQLite
//! store, or in the PostgreSQL store's database (apalis's own schema), where many workers on
//! several hosts can share it. The store's sync lease keeps two runs from publishing at once.

use crate::config::{parse_schedule, Config};
use crate::pipeline::{self, Silent, SyncOptions, Trigger};
use crate::store::Store;
use apalis::layers::retry::backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{BackoffRetryPolicy, HasherRng, RetryPolicy};
use apalis::prelude::*;
use apalis_cron::{CronScheduler, Tick};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The queue every sync job goes through; named explicitly so that workers of other versions
/// (and other apps sharing the database) never take each other's jobs.
pub const SYNC_QUEUE: &str = "gild-sync";

/// A request for one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncJob {
    /// Schedule or job.
    pub trigger: Trigger,
    pub requested_at: DateTime<Utc>,
    /// The cron tick (seconds since the epoch) for scheduled runs.
    #[serde(default)]
    pub tick: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot open the job queue at {url}: {reason}")]
    Queue { url: String, reason: String },
    #[error("cannot put the sync job on the queue: {0}")]
    Enqueue(String),
    #[error("the worker stopped with an error: {0}")]
    Worker(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The job queue, on SQLite or PostgreSQL.
#[derive(Clone)]
pub enum Queue {
    Sqlite(SqliteStorage<SyncJob>),
    Postgres(PostgresStorage<SyncJob>),
}

impl Queue {
    pub async fn connect(url: &str, poll: Duration) -> Result<Queue, JobError> {
        let fail = |e: &dyn std::fmt::Display| JobError::Queue {
            url: crate::redact::redact_url(url),
            reason: e.to_string(),
        };
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| fail(&e))?
                .create_if_missing(true)
                .busy_timeout(Duration::from_secs(30));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .map_err(|e| fail(&e))?;
            SqliteStorage::setup(&pool).await.map_err(|e| fail(&e))?;
            let config = apalis_sqlite::Config::default()
                .queue(SYNC_QUEUE)
                .batch_size(1)
                .heartbeat_interval(poll.max(Duration::from_secs(1)));
            Ok(Queue::Sqlite(SqliteStorage::new(&pool).with_config(config)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect(url)
                .await
                .map_err(|e| fail(&e))?;
            PostgresStorage::setup(&pool).await.map_err(|e| fail(&e))?;
            let config = apalis_postgres::Config::default()
                .queue(SYNC_QUEUE)
                .batch_size(1)
                .heartbeat_interval(poll.max(Duration::from_secs(1)));
            Ok(Queue::Postgres(
                PostgresStorage::new(&pool).with_config(config),
            ))
        } else {
            Err(fail(&"the queue url must start with sqlite: or postgres:"))
        }
    }

    /// Puts a sync job on the queue; jobs with the same idempotency key are enqueued once.
    pub async fn enqueue(
        &self,
        job: SyncJob,
        idempotency_key: Option<String>,
        max_attempts: usize,
    ) -> Result<(), JobError> {
        let mut builder = TaskBuilder::new(job).max_attempts(max_attempts);
        if let Some(k) = idempotency_key {
            builder = builder.idempotency_key(k);
        }
        let task = builder.build();
        let result = match self {
            Queue::Sqlite(s) => s.clone().push_task(task).await.map_err(|e| e.to_string()),
            Queue::Postgres(s) => s.clone().push_task(task).await.map_err(|e| e.to_string()),
        };
        match result {
            Ok(()) => Ok(()),
            // A second host enqueueing the same tick: the job is already there.
            Err(e)
                if e.to_lowercase().contains("unique")
                    || e.to_lowercase().contains("duplicate") =>
            {
                Ok(())
            }
            Err(e) => Err(JobError::Enqueue(e)),
        }
    }
}

/// What a sync job needs.
pub struct JobContext {
    pub config: Arc<Config>,
    pub store: Store,
}

async fn run_sync_job(job: SyncJob, ctx: Data<Arc<JobContext>>) -> Result<(), BoxDynError> {
    let options = SyncOptions {
        trigger: job.trigger,
        retrain: false,
        full: false,
    };
    match pipeline::sync_into(&ctx.store, &ctx.config, &options, &Silent).await {
        Ok(report) => {
            tracing::info!(run = %report.run_id, status = %report.status, seconds = report.seconds,
                nothing_changed = report.nothing_changed, "scheduled sync finished");
            Ok(())
        }
        // Another run (another worker, or a sync by hand) is publishing: it is doing this job's
        // work already, so this one stands down instead of queueing behind it.
        Err(pipeline::SyncError::Store(crate::store::StoreError::Locked { holder, .. })) => {
            tracing::info!(%holder, "another run holds the sync lease; this job is skipped");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "scheduled sync failed; it will be retried");
            Err(Box::new(e))
        }
    }
}

async fn on_tick(
    tick: Tick<chrono_tz::Tz>,
    queue: Data<Queue>,
    attempts: Data<usize>,
) -> Result<(), BoxDynError> {
    let at = tick.get_timestamp();
    let job = SyncJob {
        trigger: Trigger::Schedule,
        requested_at: crate::clock::now(),
        tick: Some(at),
    };
    queue
        .enqueue(job, Some(format!("gild-sync-tick-{at}")), *attempts)
        .await?;
    tracing::info!(tick = at, "scheduled sync enqueued");
    Ok(())
}

/// Runs the scheduler and the sync worker until `shutdown` completes.
pub async fn run_worker(
    config: Arc<Config>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), JobError> {
    let jobs = config.jobs.clone();
    let queue = Queue::connect(&jobs.queue_url, jobs.poll_interval).await?;
    let store = Store::connect(&config.store_url).await?;
    let ctx = Arc::new(JobContext {
        config: config.clone(),
        store,
    });
    let runner = crate::runtime::runner_id();
    let retries = jobs.retries as usize;
    let backoff = jobs.retry_backoff;
    let poll = jobs.poll_interval;
    let attempts = retries + 1;

    let mut monitor = Monitor::new().shutdown_timeout(Duration::from_secs(30));
    let name = format!("gild-sync@{runner}");
    monitor = match queue.clone() {
        Queue::Sqlite(storage) => monitor.register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend(storage.clone().poll_with_interval(poll))
                .data(ctx.clone())
                .retry(retry_policy(retries, backoff))
                .concurrency(1)
                .build(run_sync_job)
        }),
        Queue::Postgres(storage) => monitor.register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend(storage.clone().poll_with_interval(poll))
                .data(ctx.clone())
                .retry(retry_policy(retries, backoff))
                .concurrency(1)
                .build(run_sync_job)
        }),
    };
    if let Some(expr) = &jobs.schedule {
        let schedule = parse_schedule(expr).map_err(JobError::Worker)?;
        let tz = jobs.timezone;
        let name = format!("gild-scheduler@{runner}");
        tracing::info!(schedule = %expr, timezone = %tz, "scheduler started");
        monitor = monitor.register(move |_| {
            WorkerBuilder::new(name.clone())
                .backend(CronScheduler::new(schedule.clone()).with_timezone(tz))
                .data(queue.clone())
                .data(attempts)
                .build(on_tick)
        });
    }
    monitor
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await
        .map_err(|e| JobError::Worker(e.to_string()))
}

fn retry_policy(
    retries: usize,
    backoff: Duration,
) -> BackoffRetryPolicy<ExponentialBackoff<HasherRng>> {
    let mut maker = ExponentialBackoffMaker::new(backoff, backoff * 16, 0.2, HasherRng::default())
        .unwrap_or_else(|_| ExponentialBackoffMaker::default());
    RetryPolicy::retries(retries).with_backoff(maker.make_backoff())
}
