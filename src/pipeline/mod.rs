//! The sync: pull → standardise → match → cluster → golden → publish, as one library call that
//! the CLI, the scheduled jobs and the tests all make the same way; and training on its own.

pub mod check;
pub mod matching;
mod memory;
pub mod progress;
mod pull;
pub mod report;
mod train;

pub use crate::run::Trigger;
pub use progress::{Progress, Silent};
pub use report::SyncReport;
pub use train::{train, train_into, TrainError, TrainReport};

use crate::config::Config;
use crate::decision::{decide, Decision, PairFacts};
use crate::golden::{self, Previous};
use crate::model::probability;
use crate::record::{Record, SourceKey};
use crate::run::{RunStatus, SourceStatus};
use crate::runtime::{cpu, runner_id};
use crate::store::{PairRow, Publication, RunFinish, SourceOutcome, Store, StoreError};
use rayon::prelude::*;
use report::{MatchSummary, ModelSummary, SourceReport, StageTime};
use std::collections::HashSet;
use std::time::Instant;
use tracing::Instrument;

/// Drops `leftovers` on a thread of their own. If none can be started, the closure holding them
/// is dropped, and they with it, here.
fn free_on_the_side<T: Send + 'static>(leftovers: T) {
    let spawned = std::thread::Builder::new()
        .name("gild-free".into())
        .spawn(move || drop(leftovers));
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "freed on this thread instead");
    }
}

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub trigger: Trigger,
    /// Train a new model even if a stored one fits.
    pub retrain: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            trigger: Trigger::Manual,
            retrain: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("every source failed, so nothing was published:\n  {}", .0.join("\n  "))]
    AllSourcesFailed(Vec<String>),
    #[error("there are more records ({0}) than one run can match (268,435,456)")]
    TooManyRecords(usize),
}

/// Runs one full sync into the configured store.
pub async fn sync(
    config: &Config,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<SyncReport, SyncError> {
    let store = Store::connect(&config.store_url).await?;
    let result = sync_into(&store, config, options, progress).await;
    store.close().await;
    result
}

/// Runs one full sync into an open store.
pub async fn sync_into(
    store: &Store,
    config: &Config,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> Result<SyncReport, SyncError> {
    let run_id = uuid::Uuid::now_v7().to_string();
    let span = tracing::info_span!("sync", run = %run_id, trigger = options.trigger.as_str());
    async {
        let host = runner_id();
        let lock = store
            .acquire_lock(crate::store::SYNC_LOCK, &run_id, config.jobs.lock_ttl)
            .await?;
        let started_at = crate::clock::now();
        store
            .begin_run(&run_id, options.trigger, &host, started_at)
            .await?;
        let mut outcomes: Vec<SourceOutcome> = Vec::new();
        let result = run(
            store,
            config,
            options,
            progress,
            &run_id,
            started_at,
            &mut outcomes,
        )
        .await;
        // The caller reports the error (the CLI prints it, the worker logs it): logged here too,
        // a failed run said so twice.
        if let Err(e) = &result {
            let finish = RunFinish {
                status: RunStatus::Failed,
                rows_read: outcomes.iter().map(|o| o.rows_read as i64).sum(),
                rows_rejected: outcomes.iter().map(|o| o.rows_rejected as i64).sum(),
                golden_created: 0,
                golden_updated: 0,
                golden_deleted: 0,
                pairs_for_review: 0,
                summary: serde_json::json!({ "error": e.to_string() }),
                error: Some(e.to_string()),
            };
            if let Err(e2) = store.fail_run(&run_id, &outcomes, &finish).await {
                tracing::error!(error = %e2, "could not record the failed run");
            }
        }
        lock.release().await?;
        result
    }
    .instrument(span)
    .await
}

#[allow(clippy::too_many_arguments)]
async fn run(
    store: &Store,
    config: &Config,
    options: &SyncOptions,
    progress: &dyn Progress,
    run_id: &str,
    started_at: chrono::DateTime<chrono::Utc>,
    outcomes: &mut Vec<SourceOutcome>,
) -> Result<SyncReport, SyncError> {
    let clock = Instant::now();
    let mut stages: Vec<StageTime> = Vec::new();
    let today = started_at.date_naive();

    // Pull every enabled source at once; each fails alone.
    progress.stage_started("pull");
    let pull_started = Instant::now();
    let enabled: Vec<_> = config.connectors.iter().filter(|c| c.enabled).collect();
    let pulls = futures::future::join_all(enabled.iter().map(|c| async move {
        match config.mapping_for(c) {
            Some(m) => pull::pull(c, m, today, progress).await,
            None => pull::Pulled::failed(
                c,
                0.0,
                format!("source {}: mapping {:?} is not loaded", c.name, c.mapping),
            ),
        }
    }))
    .await;
    let seconds = pull_started.elapsed().as_secs_f64();
    progress.stage_finished("pull", seconds);
    stages.push(StageTime::now("pull", seconds));

    let mut records: Vec<Record> = Vec::new();
    let mut rejects = Vec::new();
    let mut watermarks = Vec::new();
    let mut sources = Vec::new();
    let mut pulled: HashSet<String> = HashSet::new();
    let mut failures = Vec::new();
    for p in pulls {
        let mut kept_from_last_run = 0;
        if p.outcome.status == SourceStatus::Failed {
            failures.push(p.outcome.error.clone().unwrap_or_default());
            // Keep the source's last good records so that its customers do not vanish.
            let last = store.staged_records(&p.outcome.source).await?;
            kept_from_last_run = last.len() as u64;
            records.extend(last);
        } else {
            pulled.insert(p.outcome.source.clone());
            if records.is_empty() {
                records = p.records; // a move: a million records are not copied
            } else {
                records.extend(p.records);
            }
            rejects.extend(p.rejects);
            watermarks.extend(
                p.watermark
                    .map(|(col, v)| (p.outcome.source.clone(), col, v)),
            );
        }
        outcomes.push(p.outcome.clone());
        sources.push(SourceReport {
            outcome: p.outcome,
            kept_from_last_run,
        });
    }
    if pulled.is_empty() {
        return Err(SyncError::AllSourcesFailed(failures));
    }
    if records.len() >= crate::blocking::MAX_RECORDS {
        return Err(SyncError::TooManyRecords(records.len()));
    }
    // Databases return rows in no promised order; matching samples pairs by position, so a
    // canonical order makes the result depend only on the data (numeric keys sort as numbers).
    cpu(|| {
        records.par_sort_unstable_by(|a, b| {
            (&a.source, a.key.len(), &a.key).cmp(&(&b.source, b.key.len(), &b.key))
        })
    });

    let load_started = Instant::now();
    progress.stage_started("load");
    let previous_xref = store.previous_xref().await?;
    let previous_golden = store.previous_golden().await?;
    let next_seq = store.next_golden_seq().await?;
    let links = store.active_links().await?;
    let pins = crate::review::pins_from(store.active_pins().await?);
    let stored_model = if options.retrain {
        None
    } else {
        store.latest_model().await?
    };
    let seconds = load_started.elapsed().as_secs_f64();
    progress.stage_finished("load", seconds);
    stages.push(StageTime::now("load", seconds));

    let hashes: Vec<i64> = matching::stage("hash", progress, &mut stages, || {
        records.par_iter().map(Record::content_hash).collect()
    });
    // Stewards' decisions about records present in this run: constraints for clustering, and
    // labels that sharpen the m probabilities when the model is trained.
    let (constraints, labels) = crate::review::constraints_from(&records, &links);
    let outcome = matching::run(
        &records,
        &config.matching,
        stored_model,
        &constraints,
        &labels,
        progress,
        &mut stages,
    );

    memory::release_freed();
    let members = outcome.clusters.members();
    let golden = matching::stage("golden", progress, &mut stages, || {
        golden::build(
            &records,
            &hashes,
            &members,
            &Previous {
                xref: &previous_xref,
                golden: &previous_golden,
                next_seq,
                pins: &pins,
            },
            &config.survivorship,
            &pulled,
            run_id,
            crate::clock::now(),
        )
    });

    let thresholds = config.matching.thresholds();
    let of = &outcome.clusters.of;
    let key = |i: u32| -> SourceKey { records[i as usize].source_key() };
    // Every scored pair's decision, and the stewards' queue.
    let (pairs, review_items) = matching::stage("review", progress, &mut stages, || {
        let refused = crate::review::Refused::new(&outcome.clusters.refusals);
        let decisions: Vec<Decision> = outcome
            .scored
            .par_iter()
            .map(|p| {
                let pair = PairFacts {
                    same_cluster: of[p.i as usize] == of[p.j as usize],
                    refused: refused.reason(p.i, p.j).is_some(),
                    weight: f64::from(p.weight),
                };
                // A scored pair was at or above the review threshold; its weight, kept as f32,
                // may round to just below it.
                decide(&pair, &thresholds).unwrap_or(Decision::Review)
            })
            .collect();
        let pairs: Vec<PairRow> = outcome
            .scored
            .par_iter()
            .zip(decisions.par_iter())
            .map(|(p, &decision)| PairRow {
                a: key(p.i),
                b: key(p.j),
                probability: probability(f64::from(p.weight)),
                weight: f64::from(p.weight),
                decision,
                rule: config
                    .matching
                    .blocking
                    .get(p.rule as usize)
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let sizes: Vec<usize> = members.iter().map(Vec::len).collect();
        let review_items = crate::review::queue_items(&crate::review::QueueInput {
            scored: &outcome.scored,
            decisions: &decisions,
            of,
            ids: &golden.ids,
            sizes: &sizes,
            refused: &refused,
            key: &key,
        });
        (pairs, review_items)
    });
    let pairs_for_review = pairs
        .iter()
        .filter(|p| p.decision != Decision::Merge)
        .count() as u64;
    let pairs_above_merge = outcome
        .scored
        .iter()
        .filter(|p| f64::from(p.weight) >= thresholds.merge_weight)
        .count() as u64;

    let rows_read: u64 = sources.iter().map(|s| s.outcome.rows_read).sum();
    let rows_rejected: u64 = sources.iter().map(|s| s.outcome.rows_rejected).sum();
    let any_failed = sources
        .iter()
        .any(|s| s.outcome.status == SourceStatus::Failed);
    let status = RunStatus::published(rows_rejected, any_failed);
    let golden_total = previous_golden.len() as u64 + golden.counts.created
        - golden.counts.deleted
        - golden.counts.merged;
    let mut report = SyncReport {
        run_id: run_id.to_string(),
        trigger: options.trigger,
        status,
        started_at,
        finished_at: started_at,
        store: store.engine().to_string(),
        sources,
        rows_read,
        rows_rejected,
        matching: MatchSummary {
            records: records.len() as u64,
            candidate_pairs: outcome.candidates.len() as u64,
            blocking: outcome.candidates.rules.clone(),
            block_warnings: outcome.candidates.warnings.clone(),
            pairs_scored_above_review: outcome.scored.len() as u64,
            pairs_above_merge,
            clusters: outcome.clusters.count as u64,
            merges_refused: outcome.clusters.refusals.len() as u64,
            pairs_for_review,
            review_items: review_items.len() as u64,
            steward_links: (
                constraints.must_link.len() as u64,
                constraints.cannot_link.len() as u64,
            ),
            pairs_per_second: outcome.candidates.len() as f64 / outcome.score_seconds.max(1e-9),
        },
        model: ModelSummary {
            trained: outcome.trained,
            prior: outcome.model.prior,
            trained_at: outcome.model.trained_at,
        },
        golden: golden.counts.clone(),
        golden_total,
        stages: stages.clone(),
        seconds: 0.0,
    };

    memory::release_freed();
    let publish_started = Instant::now();
    progress.stage_started("publish");
    let finish = |report: &SyncReport| RunFinish {
        status: report.status,
        rows_read: report.rows_read as i64,
        rows_rejected: report.rows_rejected as i64,
        golden_created: report.golden.created as i64,
        golden_updated: report.golden.updated as i64,
        golden_deleted: (report.golden.deleted + report.golden.merged) as i64,
        pairs_for_review: report.matching.pairs_for_review as i64,
        summary: serde_json::to_value(report).unwrap_or_default(),
        error: None,
    };
    let publication = Publication {
        run_id: run_id.to_string(),
        outcomes: outcomes.clone(),
        rejects,
        staged: golden.staged,
        golden_upserts: Box::new(golden.upserts),
        golden_deletes: golden.deletes,
        redirects: golden.redirects,
        events: golden.events,
        split_from: golden.split_from,
        review_items,
        pairs,
        watermarks,
        next_golden_seq: golden.next_seq,
        model: outcome.trained.then_some(&outcome.model),
        finish: finish(&report),
    };
    store.publish(&publication).await?;
    drop(publication);
    // Freeing a million records and their match results takes half a second: the report (and
    // the CLI's exit) need not wait for it.
    free_on_the_side((records, outcome, members, hashes));
    let seconds = publish_started.elapsed().as_secs_f64();
    progress.stage_finished("publish", seconds);
    report.stages.push(StageTime::now("publish", seconds));
    report.finished_at = crate::clock::now();
    report.seconds = clock.elapsed().as_secs_f64();
    tracing::info!(
        rows_read = report.rows_read,
        rows_rejected = report.rows_rejected,
        golden_created = report.golden.created,
        golden_updated = report.golden.updated,
        seconds = report.seconds,
        "sync published"
    );
    Ok(report)
}
