//! Publishing a run: everything it changes, in one transaction, so that a failed sync leaves
//! the previous golden view intact and readable.

use super::events::{encode_events, EncodedEvent};
use super::golden_slices::CreatedChanges;
use super::publish_steps::{GoldenWrite, PublishSteps, RunStamp};
use super::sqlite::{Publishing, PublishingPool};
use super::ReviewStatus;
use super::{now, on_pool, Doing, Store, StoreError};
use crate::cluster::RefusalReason;
use crate::decision::{Decision, ReviewKind};
use crate::golden::{EventKind, GoldenColumn, GoldenVersions, NewEvent, Redirect, StagedChange};
use crate::record::{RecordKind, SourceKey};
use crate::run::{RunStatus, SourceStatus, Trigger};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::sync::LazyLock;

/// What an abandoned run's record says happened.
const ABANDONED: &str =
    "its process stopped before the run finished (killed, or the machine went down); \
nothing it did was published, and a later run marked it abandoned";

/// Parameters per statement: under SQLite's limit of 32,766 and PostgreSQL's of 65,535.
pub(crate) const MAX_BINDS: usize = 30_000;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceOutcome {
    pub source: String,
    pub record_kind: RecordKind,
    pub status: SourceStatus,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rows_kept: u64,
    pub fields_nulled: u64,
    pub seconds: f64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RejectRow {
    pub source: String,
    pub location: String,
    pub record_key: Option<String>,
    pub reason: String,
    pub raw: String,
}

/// A value quarantined from a kept record's field: a data-quality finding for the stewards.
/// The raw value lives in the store only, never in logs or messages.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QualityFinding {
    pub source: String,
    pub location: String,
    pub record_key: String,
    pub field: String,
    pub raw: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PairRow {
    pub a: SourceKey,
    pub b: SourceKey,
    pub probability: f64,
    pub weight: f64,
    pub decision: Decision,
    pub rule: String,
}

/// How a run writes its scored pairs.
#[derive(Debug, Clone, PartialEq)]
pub enum PairWrite {
    /// Every scored pair of the run, in place of the last run's.
    Replace(Vec<PairRow>),
    /// An incremental run's differences from the last run: pairs no longer scored (a record
    /// changed or vanished), and pairs new or changed (weight, decision or rule).
    Changes {
        removed: Vec<(SourceKey, SourceKey)>,
        upserts: Vec<PairRow>,
    },
}

impl PairWrite {
    /// Rows written or removed.
    pub fn rows(&self) -> usize {
        match self {
            PairWrite::Replace(rows) => rows.len(),
            PairWrite::Changes { removed, upserts } => removed.len() + upserts.len(),
        }
    }
}

/// A pair of golden customers for the stewards' queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReviewItemRow {
    pub golden_a: String,
    pub golden_b: String,
    pub kind: ReviewKind,
    pub a: SourceKey,
    pub b: SourceKey,
    pub probability: f64,
    pub record_pairs: i64,
    pub records: i64,
    /// Expected records a steward's decision moves: the ordering of the open queue.
    pub impact: f64,
    pub reason: Option<RefusalReason>,
    /// Open, or settled when gild kept the two apart on clear evidence.
    pub status: ReviewStatus,
}

#[derive(Debug, Clone)]
pub struct RunFinish {
    pub status: RunStatus,
    pub rows_read: i64,
    pub rows_rejected: i64,
    pub golden_created: i64,
    pub golden_updated: i64,
    pub golden_deleted: i64,
    pub pairs_for_review: i64,
    pub summary: serde_json::Value,
    pub error: Option<String>,
}

/// Everything one run writes.
pub struct Publication<'a> {
    pub run_id: String,
    pub outcomes: Vec<SourceOutcome>,
    pub rejects: Vec<RejectRow>,
    pub findings: Vec<QualityFinding>,
    pub staged: Vec<StagedChange<'a>>,
    pub golden_upserts: Box<dyn GoldenVersions + 'a>,
    pub golden_deletes: Vec<String>,
    pub redirects: Vec<Redirect>,
    /// Merge, split and delete events; created and updated ones are derived from the rows.
    pub events: Vec<NewEvent>,
    /// New golden ID -> the ID it was split from.
    pub split_from: std::collections::HashMap<String, String>,
    /// The review queue as this run sees it; items no longer in it are resolved.
    pub review_items: Vec<ReviewItemRow>,
    /// Fields on which a customer's records disagree; conflicts no longer found are resolved.
    pub conflicts: Vec<crate::golden::FieldConflict>,
    /// The golden IDs whose conflicts the run looked for (an incremental run's rebuilt
    /// customers); None: every customer's. Conflicts of other customers stand.
    pub conflict_scope: Option<Vec<String>>,
    pub pairs: PairWrite,
    /// The blocks skipped as too large: (rule, key hash), in place of the last run's.
    pub skipped_blocks: Vec<(String, u64)>,
    /// (source, column, value)
    pub watermarks: Vec<(String, String, String)>,
    /// The fingerprint of what the run read (JSON), when every input could be fingerprinted:
    /// a later run whose inputs are the same has nothing to do.
    pub inputs: Option<String>,
    pub next_golden_seq: i64,
    /// A model trained during this run, saved with it.
    pub model: Option<&'a crate::model::Model>,
    pub finish: RunFinish,
}

/// Parameters each golden version binds: its ID, person fields, full name, four counts,
/// lineage, content hash, ID sequence, and the two runs and times.
pub(crate) const GOLDEN_BINDS: usize = GoldenColumn::ALL.len() + 13;

/// The start of the golden upsert: every column a golden version binds, in bind order.
pub(crate) static GOLDEN_INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO golden_customers (golden_id, {}, full_name, record_count, customer_records, billing_accounts, \
         orders, lineage, content_hash, created_seq, created_run, updated_run, created_at, updated_at) ",
        GoldenColumn::list("{}")
    )
});

/// What the golden upsert changes of a stored customer: everything but its creation.
pub(crate) static GOLDEN_ON_CONFLICT: LazyLock<String> = LazyLock::new(|| {
    format!(
        " ON CONFLICT (golden_id) DO UPDATE SET {}, full_name = excluded.full_name, record_count = excluded.record_count, \
         customer_records = excluded.customer_records, billing_accounts = excluded.billing_accounts, \
         orders = excluded.orders, lineage = excluded.lineage, content_hash = excluded.content_hash, \
         updated_run = excluded.updated_run, updated_at = excluded.updated_at",
        GoldenColumn::list("{} = excluded.{}")
    )
});

/// Inserts or updates golden versions inside an open transaction (`$tx`).
macro_rules! upsert_golden {
    ($tx:expr, $versions:expr) => {{
        let versions: &[$crate::golden::GoldenVersion] = $versions;
        $crate::store::chunked_writes::write_chunks!(
            $tx,
            versions
                .chunks($crate::store::publish::MAX_BINDS / $crate::store::publish::GOLDEN_BINDS),
            "writing golden customers",
            |chunk| {
                let lineage =
                    $crate::store::chunked_writes::encode_json(chunk, |v| &v.record.lineage)?;
                let mut qb =
                    sqlx::QueryBuilder::new($crate::store::publish::GOLDEN_INSERT.as_str());
                qb.push_values(chunk.iter().zip(&lineage), |mut b, (v, lineage)| {
                    let g = &v.record;
                    b.push_bind(&g.golden_id);
                    for column in $crate::golden::GoldenColumn::ALL {
                        match g.fields.get(column) {
                            $crate::golden::FieldValue::Text(text) => b.push_bind(text),
                            $crate::golden::FieldValue::Date(date) => b.push_bind(date),
                        };
                    }
                    b.push_bind(&g.full_name)
                        .push_bind(g.record_count)
                        .push_bind(g.customer_records)
                        .push_bind(g.billing_accounts)
                        .push_bind(g.orders)
                        .push_bind(Json(&**lineage))
                        .push_bind(v.content_hash)
                        .push_bind(v.created_seq)
                        .push_bind(&g.created_run)
                        .push_bind(&g.updated_run)
                        .push_bind(g.created_at)
                        .push_bind(g.updated_at);
                });
                qb.push($crate::store::publish::GOLDEN_ON_CONFLICT.as_str());
                qb
            }
        );
    }};
}
pub(crate) use upsert_golden;

/// Writes redirects (old ID -> surviving ID) inside an open transaction; `$label` names the run
/// or steward action that made them.
macro_rules! write_redirects {
    ($tx:expr, $redirects:expr, $label:expr, $at:expr) => {{
        let label: &str = $label;
        let at: chrono::DateTime<chrono::Utc> = $at;
        for r in $redirects {
            // A redirect target may itself have been redirected earlier; point old chains at the new head.
            sqlx::query("UPDATE golden_redirects SET new_id = $1 WHERE new_id = $2")
                .bind(&r.new_id)
                .bind(&r.old_id)
                .execute(&mut *$tx)
                .await
                .doing("updating golden redirects")?;
            sqlx::query(
                "INSERT INTO golden_redirects (old_id, new_id, run_id, reason, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (old_id) DO UPDATE SET new_id = excluded.new_id, run_id = excluded.run_id, reason = excluded.reason",
            )
            .bind(&r.old_id)
            .bind(&r.new_id)
            .bind(label)
            .bind(&r.reason)
            .bind(at)
            .execute(&mut *$tx)
            .await
            .doing("writing golden redirects")?;
        }
    }};
}
pub(crate) use write_redirects;

impl Store {
    /// Records the start of a run (outside the publishing transaction, so that a failed run is
    /// still on record).
    pub async fn begin_run(
        &self,
        run_id: &str,
        trigger: Trigger,
        host: &str,
        started_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO sync_runs (run_id, trigger, host, started_at, status) VALUES ($1, $2, $3, $4, $5)")
                .bind(run_id)
                .bind(trigger)
                .bind(host)
                .bind(started_at)
                .bind(RunStatus::Running)
                .execute(pool)
                .await
                .doing("recording the start of the run")?;
        });
        Ok(())
    }

    /// Marks every run still "running" as abandoned: called by a run that holds the sync lease,
    /// so no other run can be running; one on record as running died before it finished. Its end
    /// stays unknown (no finish time). Returns how many were marked.
    pub async fn abandon_dead_runs(&self) -> Result<u64, StoreError> {
        let marked = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE sync_runs SET status = $1, error = $2 WHERE status = $3",
            )
            .bind(RunStatus::Abandoned)
            .bind(ABANDONED)
            .bind(RunStatus::Running)
            .execute(pool)
            .await
            .doing("marking runs whose process died as abandoned")?
            .rows_affected()
        });
        Ok(marked)
    }

    /// Marks a run that did not publish as failed, with what is known of it.
    pub async fn fail_run(
        &self,
        run_id: &str,
        outcomes: &[SourceOutcome],
        finish: &RunFinish,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.doing("starting to record a failed run")?;
            for o in outcomes {
                run_source_query(run_id, o).execute(&mut *tx).await.doing("recording a failed run's sources")?;
            }
            finish_run_query(run_id, finish).execute(&mut *tx).await.doing("recording a failed run")?;
            tx.commit().await.doing("recording a failed run")?;
        });
        Ok(())
    }

    /// Writes the whole run in one transaction.
    pub async fn publish(&self, p: &Publication<'_>) -> Result<(), StoreError> {
        let rows = p.staged.len() + p.golden_upserts.len() + p.pairs.rows();
        let stamp = RunStamp {
            run: &p.run_id,
            at: now(),
        };
        let created_changes = match self {
            Store::Sqlite(_) => CreatedChanges::SharedWithLineage,
            Store::Postgres(_) => CreatedChanges::Written,
        };
        on_pool!(self, pool => {
            let mut publishing = pool.publishing(rows).await?;
            let written = write_publication(&mut publishing, p, stamp, created_changes).await;
            tracing::debug!(rows, rollback_journal = publishing.rollback_journal(), "published");
            pool.done_publishing(publishing).await;
            written?;
        });
        Ok(())
    }
}

/// The steps of a publish, in order, in one transaction.
async fn write_publication<DB>(
    publishing: &mut Publishing<DB>,
    p: &Publication<'_>,
    stamp: RunStamp<'_>,
    created_changes: CreatedChanges,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Connection: PublishSteps,
{
    let mut tx = sqlx::Connection::begin(&mut *publishing.conn)
        .await
        .doing("starting the publishing transaction")?;
    let mut timer = StepTimer::new();
    tx.write_rejects(stamp.run, &p.rejects).await?;
    let read: Vec<&str> = p
        .outcomes
        .iter()
        .filter(|o| o.status != SourceStatus::Failed)
        .map(|o| o.source.as_str())
        .collect();
    tx.write_findings(stamp.run, &read, &p.findings).await?;
    tx.write_staged_records(stamp.run, &p.staged).await?;
    timer.done("staged records");
    write_golden_view(&mut *tx, p, stamp, created_changes, &mut timer).await?;
    tx.update_review_queue(stamp, &p.review_items).await?;
    tx.update_conflicts(stamp, &p.conflicts, p.conflict_scope.as_deref())
        .await?;
    timer.done("review queue");
    tx.write_match_pairs(stamp.run, &p.pairs).await?;
    tx.replace_skipped_blocks(&p.skipped_blocks).await?;
    timer.done("match pairs");
    // The watermarks and the inputs' fingerprint commit with the publish that used them, so a
    // run killed before its commit leaves them as they were, and the next run reads its rows again.
    tx.write_watermarks(stamp, &p.watermarks).await?;
    if let Some(inputs) = &p.inputs {
        tx.write_run_inputs(stamp.run, inputs).await?;
    }
    tx.write_golden_id_counter(p.next_golden_seq).await?;
    if let Some(model) = p.model {
        tx.save_model(stamp.run, model).await?;
    }
    tx.record_run_end(stamp.run, &p.outcomes, &p.finish).await?;
    let committed = tx.commit().await.doing("committing the run");
    timer.done("the rest and the commit");
    committed
}

/// The golden customers, their redirects and the change feed.
async fn write_golden_view(
    tx: &mut impl PublishSteps,
    p: &Publication<'_>,
    stamp: RunStamp<'_>,
    created_changes: CreatedChanges,
    timer: &mut StepTimer,
) -> Result<(), StoreError> {
    let (deletions, structural): (Vec<EncodedEvent>, Vec<EncodedEvent>) = encode_events(&p.events)?
        .into_iter()
        .partition(|e| e.kind == EventKind::Deleted);
    let total = p.golden_upserts.len();
    // Updating or deleting a golden record writes out its shared created change set (a trigger
    // finding the event by golden ID): the feed's index must stay then.
    let rewrites_golden = p.finish.golden_updated > 0 || !p.golden_deletes.is_empty();
    let feed_rows = if rewrites_golden {
        0
    } else {
        total + p.events.len()
    };
    let feed_aside = tx.set_aside_indexes("golden_events", feed_rows).await?;
    tx.write_events(stamp, &structural).await?;
    tx.delete_golden_customers(&p.golden_deletes).await?;
    let golden_aside = tx.set_aside_indexes("golden_customers", total).await?;
    let golden = GoldenWrite {
        upserts: &*p.golden_upserts,
        split_from: &p.split_from,
        created_changes,
    };
    tx.write_golden_customers(stamp, &golden).await?;
    timer.done("golden customers and their events");
    tx.rebuild_indexes(golden_aside).await?;
    timer.done("golden customers' indexes");
    tx.write_redirects(stamp, &p.redirects).await?;
    tx.write_events(stamp, &deletions).await?;
    tx.rebuild_indexes(feed_aside).await?;
    timer.done("redirects, deletions, change feed index");
    Ok(())
}

/// Logs how long each step of a publish took (debug level: for tuning, not for every day).
struct StepTimer(std::time::Instant);

impl StepTimer {
    fn new() -> StepTimer {
        StepTimer(std::time::Instant::now())
    }

    fn done(&mut self, step: &'static str) {
        tracing::debug!(
            step,
            seconds = self.0.elapsed().as_secs_f64(),
            "publish step done"
        );
        self.0 = std::time::Instant::now();
    }
}

/// Records one source's counts for a run (once: a run's sources are written when it ends).
pub(super) fn run_source_query<'q, DB>(
    run_id: &'q str,
    o: &'q SourceOutcome,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "INSERT INTO run_sources (run_id, source, record_kind, status, rows_read, rows_rejected, rows_kept, fields_nulled, seconds, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id, source) DO NOTHING",
    )
    .bind(run_id)
    .bind(o.source.as_str())
    .bind(o.record_kind.as_str())
    .bind(o.status.as_str())
    .bind(o.rows_read as i64)
    .bind(o.rows_rejected as i64)
    .bind(o.rows_kept as i64)
    .bind(o.fields_nulled as i64)
    .bind(o.seconds)
    .bind(o.error.clone())
}

pub(super) fn finish_run_query<'q, DB>(
    run_id: &'q str,
    f: &'q RunFinish,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Json<&'q serde_json::Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    sqlx::query(
        "UPDATE sync_runs SET finished_at = $1, status = $2, rows_read = $3, rows_rejected = $4, golden_created = $5, \
         golden_updated = $6, golden_deleted = $7, pairs_for_review = $8, summary = $9, error = $10 WHERE run_id = $11",
    )
    .bind(now())
    .bind(f.status.as_str())
    .bind(f.rows_read)
    .bind(f.rows_rejected)
    .bind(f.golden_created)
    .bind(f.golden_updated)
    .bind(f.golden_deleted)
    .bind(f.pairs_for_review)
    .bind(Json(&f.summary))
    .bind(f.error.clone())
    .bind(run_id)
}
