//! The sync: pull → standardise → match → cluster → golden → publish, as one library call that
//! the CLI, the scheduled jobs and the tests all make the same way; and training on its own.

pub mod check;
mod decide;
mod incremental;
pub mod inputs;
pub mod matching;
mod memory;
pub mod progress;
mod pull;
pub mod report;
pub mod snapshot;
mod train;

pub use crate::run::Trigger;
pub use progress::{Progress, Silent};
pub use report::SyncReport;
pub use train::{train, train_into, TrainError, TrainReport};

use crate::cluster::Constraints;
use crate::config::Config;
use crate::golden::{self, GoldenBuild, Pins, Previous, PreviousGolden};
use crate::model::Model;
use crate::record::{Record, SourceKey};
use crate::run::{RunMode, RunStatus, SourceStatus};
use crate::runtime::runner_id;
use crate::store::{
    LinkDecision, PairWrite, Publication, RunFinish, SourceOutcome, Store, StoreError,
};
use chrono::{DateTime, Utc};
use decide::Decided;
use inputs::Inputs;
use matching::MatchOutcome;
use pull::PullOutcome;
use rayon::prelude::*;
use report::{MatchSummary, ModelSummary, StageTime};
use std::collections::HashMap;
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
    /// Read every source and recompute everything, even when nothing changed.
    pub full: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            trigger: Trigger::Manual,
            retrain: false,
            full: false,
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
        let lock = store
            .acquire_lock(crate::store::SYNC_LOCK, &run_id, config.jobs.lock_ttl)
            .await?;
        let result = sync_holding_lease(store, config, options, progress, &run_id).await;
        // Released whatever happened, so that the next run need not wait for the lease to lapse.
        lock.release().await?;
        result
    }
    .instrument(span)
    .await
}

/// The sync, once this process holds the lease: the no-change check, then the run.
async fn sync_holding_lease(
    store: &Store,
    config: &Config,
    options: &SyncOptions,
    progress: &dyn Progress,
    run_id: &str,
) -> Result<SyncReport, SyncError> {
    // No other run can be running now: one on record as running died before it finished.
    let abandoned = store.abandon_dead_runs().await?;
    if abandoned > 0 {
        tracing::warn!(
            runs = abandoned,
            "marked runs whose process died as abandoned"
        );
    }
    let started_at = crate::clock::now();
    let clock = Instant::now();
    // Fingerprinted before any row is read: a source that changes while the run reads it then
    // differs from the recorded print, and the next run reads it again.
    let steward = store.last_steward_action().await?;
    let mut inputs = Inputs::gather(config, started_at.date_naive(), steward).await;
    if !(options.full || options.retrain) {
        if let Some(report) =
            nothing_changed(store, options, &mut inputs, run_id, started_at, clock).await?
        {
            return Ok(report);
        }
    }
    store
        .begin_run(run_id, options.trigger, &runner_id(), started_at)
        .await?;
    let mut outcomes: Vec<SourceOutcome> = Vec::new();
    let cx = RunContext {
        store,
        config,
        options,
        progress,
        run_id,
        started_at,
        inputs,
    };
    let result = run(&cx, &mut outcomes).await;
    // The caller reports the error (the CLI prints it, the worker logs it): logged here too, a
    // failed run said so twice.
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
        if let Err(e2) = store.fail_run(run_id, &outcomes, &finish).await {
            tracing::error!(error = %e2, "could not record the failed run");
        }
    }
    result
}

/// When every input equals the last published run's, the report of a run that did nothing (it
/// is not recorded as a run: a worker checking every few minutes would fill the run list).
async fn nothing_changed(
    store: &Store,
    options: &SyncOptions,
    inputs: &mut Inputs,
    run_id: &str,
    started_at: DateTime<Utc>,
    clock: Instant,
) -> Result<Option<SyncReport>, SyncError> {
    let model = store.latest_model().await?;
    inputs.model = model.as_ref().and_then(inputs::model_hash);
    let Some(last) = store.last_published_inputs().await? else {
        return Ok(None);
    };
    let same = last
        .fingerprint
        .as_deref()
        .and_then(|f| serde_json::from_str::<Inputs>(f).ok())
        .is_some_and(|l| inputs.unchanged_since(&l));
    if !same {
        return Ok(None);
    }
    tracing::info!(since = %last.run_id, "nothing changed since the last published run");
    let mut report = SyncReport {
        run_id: run_id.to_string(),
        trigger: options.trigger,
        status: RunStatus::Succeeded,
        started_at,
        finished_at: crate::clock::now(),
        store: store.engine().to_string(),
        sources: Vec::new(),
        rows_read: 0,
        rows_rejected: 0,
        values_quarantined: 0,
        matching: Default::default(),
        model: Default::default(),
        golden: Default::default(),
        golden_total: store.golden_count().await?.max(0) as u64,
        stages: Vec::new(),
        seconds: 0.0,
        nothing_changed: true,
        unchanged_since: Some(last.run_id),
        changes: Vec::new(),
        mode: RunMode::Incremental,
        full_because: None,
    };
    if let Some(m) = model {
        report.model.prior = m.prior;
        report.model.trained_at = m.trained_at;
    }
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(Some(report))
}

/// What every stage of one run is given.
pub(crate) struct RunContext<'a> {
    store: &'a Store,
    config: &'a Config,
    options: &'a SyncOptions,
    progress: &'a dyn Progress,
    run_id: &'a str,
    started_at: DateTime<Utc>,
    /// What the run reads, fingerprinted before reading; recorded when it publishes.
    inputs: Inputs,
}

/// The sync, stage by stage; each source's outcome goes to `outcomes` as soon as it is known.
async fn run(
    cx: &RunContext<'_>,
    outcomes: &mut Vec<SourceOutcome>,
) -> Result<SyncReport, SyncError> {
    let clock = Instant::now();
    let mut stages: Vec<StageTime> = Vec::new();
    let (records, pulled) = pull::pull_sources(cx, &mut stages, outcomes).await?;
    let mut stored = load_previous(cx, &mut stages).await?;
    let hashes: Vec<i64> = matching::stage("hash", cx.progress, &mut stages, || {
        records.par_iter().map(Record::content_hash).collect()
    });
    // Whether the run can be incremental, and the last run's pairs when it can.
    let started = Instant::now();
    cx.progress.stage_started("plan");
    let plan = incremental::plan(cx, &stored).await?;
    let seconds = started.elapsed().as_secs_f64();
    cx.progress.stage_finished("plan", seconds);
    stages.push(StageTime::now("plan", seconds));
    let index = incremental::KeyIndex::of(&records);
    let model = stored.model.take();
    let staged = plan
        .as_ref()
        .ok()
        .map(|_| incremental::Staged::of(&records, &hashes, &stored));
    let (mut prior, mut full_because) = match plan {
        Ok(prior) => (Some(prior), None),
        Err(why) => (None, Some(why)),
    };
    let increment = prior
        .as_mut()
        .zip(staged.as_ref())
        .map(|(p, s)| incremental::increment(p, &index, &s.changed));
    let matched = match_records(
        cx,
        &records,
        hashes,
        &stored.links,
        model,
        increment,
        &mut stages,
    );
    let prior = prior.filter(|_| matched.outcome.incremental);
    if prior.is_none() && full_because.is_none() {
        full_because = Some(if matched.outcome.trained {
            incremental::FullBecause::Trained
        } else {
            incremental::FullBecause::RulesChanged
        });
    }
    let affected = prior.as_ref().zip(staged.as_ref()).map(|(_, staged)| {
        incremental::affected(
            staged,
            &matched.members,
            &stored,
            &index,
            &pulled.read_in_full,
        )
    });
    let golden = build_golden(
        cx,
        &records,
        &pulled,
        &stored,
        &matched,
        affected.as_ref(),
        &mut stages,
    );
    let golden_ids = all_golden_ids(&golden, affected.as_ref());
    let mut decided = decide::decide_pairs(cx, &records, &matched, &golden_ids, &mut stages);
    let changes = snapshot::diff(
        &records,
        &matched.hashes,
        &stored.xref,
        &pulled.read_in_full,
    );
    let mut report = sync_report(cx, &pulled, &stored, &matched, &golden, &decided, stages);
    report.changes = changes;
    report.mode = if affected.is_some() {
        RunMode::Incremental
    } else {
        RunMode::Full
    };
    report.full_because = full_because.map(|w| w.as_str().to_string());
    if let Some(a) = &affected {
        report.golden.unchanged += a.rebuilt.iter().filter(|r| !**r).count() as u64;
    }
    let pairs = std::mem::take(&mut decided.pairs);
    let pairs = match prior {
        Some(prior) => incremental::pair_changes(prior.pairs, pairs),
        None => PairWrite::Replace(pairs),
    };
    let conflict_scope = affected.as_ref().map(|_| {
        let mut ids: Vec<String> = golden.ids.clone();
        ids.extend(golden.deletes.iter().cloned());
        ids.sort();
        ids.dedup();
        ids
    });
    let skipped_blocks: Vec<(String, u64)> = matched
        .outcome
        .candidates
        .warnings
        .iter()
        .filter(|w| w.skipped)
        .map(|w| (w.rule.clone(), w.key))
        .collect();

    memory::release_freed();
    let publish_started = Instant::now();
    cx.progress.stage_started("publish");
    let written = Written {
        pairs,
        conflict_scope,
        skipped_blocks,
    };
    publish(
        cx, outcomes, pulled, &matched, golden, decided, written, &report,
    )
    .await?;
    // Freeing a million records and their match results takes half a second: the report (and
    // the CLI's exit) need not wait for it.
    free_on_the_side((records, matched));
    let seconds = publish_started.elapsed().as_secs_f64();
    cx.progress.stage_finished("publish", seconds);
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

/// What the store held before this run.
struct Stored {
    xref: HashMap<SourceKey, (String, i64)>,
    golden: HashMap<String, PreviousGolden>,
    next_seq: i64,
    /// Stewards' link decisions in force.
    links: Vec<LinkDecision>,
    pins: Pins,
    /// The model to match with, unless the run retrains.
    model: Option<Model>,
}

/// The load stage: the previous run's state, stewards' decisions and the stored model.
async fn load_previous(
    cx: &RunContext<'_>,
    stages: &mut Vec<StageTime>,
) -> Result<Stored, SyncError> {
    let store = cx.store;
    let started = Instant::now();
    cx.progress.stage_started("load");
    let stored = Stored {
        xref: store.previous_xref().await?,
        golden: store.previous_golden().await?,
        next_seq: store.next_golden_seq().await?,
        links: store.active_links().await?,
        pins: crate::review::pins_from(store.active_pins().await?),
        model: if cx.options.retrain {
            None
        } else {
            store.latest_model().await?
        },
    };
    let seconds = started.elapsed().as_secs_f64();
    cx.progress.stage_finished("load", seconds);
    stages.push(StageTime::now("load", seconds));
    Ok(stored)
}

/// The records matched: content hashes, the matching stages' outcome and each cluster's members.
pub(crate) struct Matched {
    records: usize,
    hashes: Vec<i64>,
    /// Stewards' decisions about records present in this run, as clustering constraints.
    constraints: Constraints,
    outcome: MatchOutcome,
    members: Vec<Vec<u32>>,
}

/// Runs the matching stages (prepare, train when needed, block, score, cluster); `increment`
/// makes them incremental when the model is kept.
fn match_records(
    cx: &RunContext<'_>,
    records: &[Record],
    hashes: Vec<i64>,
    links: &[LinkDecision],
    stored_model: Option<Model>,
    increment: Option<matching::Increment>,
    stages: &mut Vec<StageTime>,
) -> Matched {
    // Stewards' decisions about records present in this run: constraints for clustering, and
    // labels that sharpen the m probabilities when the model is trained.
    let (constraints, labels) = crate::review::constraints_from(records, links);
    let outcome = matching::run(
        records,
        &cx.config.matching,
        stored_model,
        &constraints,
        &labels,
        increment,
        cx.progress,
        stages,
    );
    memory::release_freed();
    let members = outcome.clusters.members();
    Matched {
        records: records.len(),
        hashes,
        constraints,
        outcome,
        members,
    }
}

/// Each cluster's golden ID: the one built for it, or in an incremental run, the stored one
/// of a cluster that stands.
fn all_golden_ids(
    golden: &GoldenBuild<'_>,
    affected: Option<&incremental::Affected<'_>>,
) -> Vec<String> {
    let Some(a) = affected else {
        return golden.ids.clone();
    };
    let mut built = golden.ids.iter();
    a.kept_ids
        .iter()
        .map(|kept| match kept {
            Some(id) => id.to_string(),
            None => built.next().cloned().unwrap_or_default(),
        })
        .collect()
}

/// The golden stage: one golden record per cluster, and what must change in the store.
fn build_golden<'a>(
    cx: &RunContext<'a>,
    records: &'a [Record],
    pulled: &PullOutcome,
    stored: &'a Stored,
    matched: &'a Matched,
    affected: Option<&'a incremental::Affected<'a>>,
    stages: &mut Vec<StageTime>,
) -> GoldenBuild<'a> {
    matching::stage("golden", cx.progress, stages, || {
        golden::build_part(
            records,
            &matched.hashes,
            affected.map_or(&matched.members, |a| &a.members),
            &Previous {
                xref: &stored.xref,
                golden: &stored.golden,
                next_seq: stored.next_seq,
                pins: &stored.pins,
            },
            &cx.config.survivorship,
            matched.outcome.model.estate.as_ref(),
            &pulled.read_in_full,
            affected.map(|a| &a.scope),
            cx.run_id,
            crate::clock::now(),
        )
    })
}

/// The run's report, as far as it is known before publishing.
fn sync_report(
    cx: &RunContext<'_>,
    pulled: &PullOutcome,
    stored: &Stored,
    matched: &Matched,
    golden: &GoldenBuild<'_>,
    decided: &Decided,
    stages: Vec<StageTime>,
) -> SyncReport {
    let outcome = &matched.outcome;
    let sources = pulled.reports.clone();
    let rows_read: u64 = sources.iter().map(|s| s.outcome.rows_read).sum();
    let rows_rejected: u64 = sources.iter().map(|s| s.outcome.rows_rejected).sum();
    let any_failed = sources
        .iter()
        .any(|s| s.outcome.status == SourceStatus::Failed);
    let merge_weight = cx.config.matching.thresholds().merge_weight;
    let pairs_above_merge = outcome
        .scored
        .iter()
        .filter(|p| f64::from(p.weight) >= merge_weight)
        .count() as u64;
    let golden_total = stored.golden.len() as u64 + golden.counts.created
        - golden.counts.deleted
        - golden.counts.merged;
    let values_quarantined = sources.iter().map(|s| s.outcome.fields_nulled).sum();
    SyncReport {
        run_id: cx.run_id.to_string(),
        trigger: cx.options.trigger,
        status: RunStatus::published(rows_rejected, any_failed),
        started_at: cx.started_at,
        finished_at: cx.started_at,
        store: cx.store.engine().to_string(),
        sources,
        rows_read,
        rows_rejected,
        values_quarantined,
        matching: MatchSummary {
            records: matched.records as u64,
            candidate_pairs: outcome.candidates.len() as u64,
            blocking: outcome.candidates.rules.clone(),
            block_warnings: outcome.candidates.warnings.clone(),
            pairs_scored_above_review: outcome.scored.len() as u64,
            pairs_above_merge,
            clusters: outcome.clusters.count as u64,
            merges_refused: outcome.clusters.refusals.len() as u64,
            pairs_for_review: decided.pairs_for_review(),
            review_items: decided.review_items.len() as u64,
            review_settled: decided
                .review_items
                .iter()
                .filter(|i| i.status == crate::store::ReviewStatus::Settled)
                .count() as u64,
            steward_links: (
                matched.constraints.must_link.len() as u64,
                matched.constraints.cannot_link.len() as u64,
            ),
            pairs_per_second: outcome.candidates.len() as f64 / outcome.score_seconds.max(1e-9),
            defaults: outcome.chosen.clone(),
        },
        model: ModelSummary {
            trained: outcome.trained,
            prior: outcome.model.prior,
            trained_at: outcome.model.trained_at,
        },
        golden: golden.counts.clone(),
        golden_total,
        stages,
        seconds: 0.0,
        nothing_changed: false,
        unchanged_since: None,
        changes: Vec::new(),
        mode: RunMode::Full,
        full_because: None,
    }
}

/// What a run writes of its pairs and conflicts: all of them, or an incremental run's part.
struct Written {
    pairs: PairWrite,
    conflict_scope: Option<Vec<String>>,
    skipped_blocks: Vec<(String, u64)>,
}

/// Publishes everything the run changed, in one transaction.
#[allow(clippy::too_many_arguments)]
async fn publish(
    cx: &RunContext<'_>,
    outcomes: &[SourceOutcome],
    pulled: PullOutcome,
    matched: &Matched,
    golden: GoldenBuild<'_>,
    decided: Decided,
    written: Written,
    report: &SyncReport,
) -> Result<(), SyncError> {
    let publication = Publication {
        run_id: cx.run_id.to_string(),
        outcomes: outcomes.to_vec(),
        rejects: pulled.rejects,
        findings: pulled.findings,
        staged: golden.staged,
        golden_upserts: Box::new(golden.upserts),
        golden_deletes: golden.deletes,
        redirects: golden.redirects,
        events: golden.events,
        split_from: golden.split_from,
        review_items: decided.review_items,
        conflicts: golden.conflicts,
        conflict_scope: written.conflict_scope,
        pairs: written.pairs,
        skipped_blocks: written.skipped_blocks,
        watermarks: pulled.watermarks,
        inputs: recorded_inputs(cx, outcomes, &matched.outcome.model),
        next_golden_seq: golden.next_seq,
        model: matched.outcome.trained.then_some(&matched.outcome.model),
        finish: RunFinish {
            status: report.status,
            rows_read: report.rows_read as i64,
            rows_rejected: report.rows_rejected as i64,
            golden_created: report.golden.created as i64,
            golden_updated: report.golden.updated as i64,
            golden_deleted: (report.golden.deleted + report.golden.merged) as i64,
            pairs_for_review: report.matching.pairs_for_review as i64,
            summary: serde_json::to_value(report).unwrap_or_default(),
            error: None,
        },
    };
    cx.store.publish(&publication).await?;
    Ok(())
}

/// The run's inputs as recorded with its publish: the model it matched with, and no print for a
/// source it could not read (the next run must read it again).
fn recorded_inputs(
    cx: &RunContext<'_>,
    outcomes: &[SourceOutcome],
    model: &Model,
) -> Option<String> {
    let mut inputs = cx.inputs.clone();
    inputs.model = inputs::model_hash(model);
    for o in outcomes.iter().filter(|o| o.status == SourceStatus::Failed) {
        inputs.forget(&o.source);
    }
    serde_json::to_string(&inputs).ok()
}
