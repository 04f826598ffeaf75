//! Publishing a run: everything it changes, in one transaction, so that a failed sync leaves
//! the previous golden view intact and readable.

use super::chunked_writes::write_chunks;
use super::events::{encode_events, EncodedEvent};
use super::golden_slices::{prepare_slice, Before, CreatedChanges};
use super::sqlite::{BulkIndexes, PublishingPool};
use super::{insert_events, now, on_pool, Doing, Store, StoreError};
use crate::cluster::RefusalReason;
use crate::decision::{Decision, ReviewKind};
use crate::golden::{EventKind, GoldenColumn, GoldenVersions, NewEvent, Redirect, StagedChange};
use crate::record::{Record, RecordKind, SourceKey};
use crate::run::{RunStatus, SourceStatus, Trigger};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::sync::LazyLock;

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

/// Golden rows built per slice of this many.
const GOLDEN_SLICE: usize = 4_096;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RejectRow {
    pub source: String,
    pub location: String,
    pub record_key: Option<String>,
    pub reason: String,
    pub raw: String,
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
    pub impact: f64,
    pub reason: Option<RefusalReason>,
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
    /// Replaces the pairs of the previous run.
    pub pairs: Vec<PairRow>,
    /// (source, column, value)
    pub watermarks: Vec<(String, String, String)>,
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
        let run = p.run_id.as_str();
        let at = now();
        let rows = p.staged.len() + p.golden_upserts.len() + p.pairs.len();
        let created_changes = match self {
            Store::Sqlite(_) => CreatedChanges::SharedWithLineage,
            Store::Postgres(_) => CreatedChanges::Written,
        };
        on_pool!(self, pool => {
            let mut publishing = pool.publishing(rows).await?;
            let written = async {
                let mut tx = sqlx::Connection::begin(&mut *publishing.conn).await.doing("starting the publishing transaction")?;
                let mut steps = Steps::new();

                write_chunks!(tx, p.rejects.chunks(MAX_BINDS / 6), "writing rejected rows", |chunk| {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO rejects (run_id, source, location, record_key, reason, raw) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(run)
                            .push_bind(&r.source)
                            .push_bind(&r.location)
                            .push_bind(&r.record_key)
                            .push_bind(&r.reason)
                            .push_bind(&r.raw);
                    });
                    qb
                });

                let upserts: Vec<(&Record, &str, i64)> = p
                    .staged
                    .iter()
                    .filter_map(|c| match c {
                        StagedChange::Upsert { record, golden_id, content_hash } => Some((*record, golden_id.as_str(), *content_hash)),
                        _ => None,
                    })
                    .collect();
                let records_aside = tx.set_aside_indexes("source_records", upserts.len()).await?;
                write_chunks!(tx, upserts.chunks(MAX_BINDS / 9), "writing staged records", |chunk| {
                    let records = super::chunked_writes::encode_json(chunk, |(r, _, _)| *r)?;
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO source_records (source, record_key, record_kind, golden_id, content_hash, record, source_updated_at, first_seen_run, updated_run) ",
                    );
                    qb.push_values(chunk.iter().zip(&records), |mut b, ((r, g, h), json)| {
                        b.push_bind(r.source.as_str())
                            .push_bind(r.key.as_str())
                            .push_bind(r.kind().as_str())
                            .push_bind(*g)
                            .push_bind(*h)
                            .push_bind(Json(&**json))
                            .push_bind(r.updated_at)
                            .push_bind(run)
                            .push_bind(run);
                    });
                    qb.push(
                        " ON CONFLICT (source, record_key) DO UPDATE SET record_kind = excluded.record_kind, golden_id = excluded.golden_id, \
                         content_hash = excluded.content_hash, record = excluded.record, source_updated_at = excluded.source_updated_at, \
                         updated_run = excluded.updated_run",
                    );
                    qb
                });
                for c in &p.staged {
                    match c {
                        StagedChange::Regolden { key, golden_id } => {
                            sqlx::query("UPDATE source_records SET golden_id = $1, updated_run = $2 WHERE source = $3 AND record_key = $4")
                                .bind(golden_id)
                                .bind(run)
                                .bind(key.source.as_str())
                                .bind(key.key.as_str())
                                .execute(&mut *tx)
                                .await
                                .doing("moving records between golden customers")?;
                        }
                        StagedChange::Delete { key } => {
                            sqlx::query("DELETE FROM source_records WHERE source = $1 AND record_key = $2")
                                .bind(key.source.as_str())
                                .bind(key.key.as_str())
                                .execute(&mut *tx)
                                .await
                                .doing("removing records gone from their source")?;
                        }
                        StagedChange::Upsert { .. } => {}
                    }
                }
                tx.rebuild_indexes(records_aside).await?;
                steps.done("staged records");

                let (deletions, structural): (Vec<EncodedEvent>, Vec<EncodedEvent>) =
                    encode_events(&p.events)?.into_iter().partition(|e| e.kind == EventKind::Deleted);
                let total = p.golden_upserts.len();
                // Updating or deleting a golden record writes out its shared created change set
                // (a trigger finding the event by golden ID): the feed's index must stay then.
                let rewrites_golden = p.finish.golden_updated > 0 || !p.golden_deletes.is_empty();
                let events_aside = tx
                    .set_aside_indexes("golden_events", if rewrites_golden { 0 } else { total + p.events.len() })
                    .await?;
                insert_events!(tx, &structural, Some(run), None, at);

                for id in &p.golden_deletes {
                    sqlx::query("DELETE FROM golden_customers WHERE golden_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .doing("removing golden customers")?;
                }
                let golden_aside = tx.set_aside_indexes("golden_customers", total).await?;
                let mut slices = (0..total).step_by(GOLDEN_SLICE).map(|start| start..total.min(start + GOLDEN_SLICE));
                let upserts = &*p.golden_upserts;
                let mut prepared = match slices.next() {
                    Some(range) => Some(prepare_slice(upserts, range, run, &p.split_from, created_changes).await?),
                    None => None,
                };
                while let Some(mut slice) = prepared.take() {
                    // What the rows created by earlier runs looked like, for the change feed.
                    let mut before = Before::new();
                    for chunk in slice.earlier_ids().chunks(MAX_BINDS) {
                        let mut qb = sqlx::QueryBuilder::new("SELECT golden_id, lineage, record_count FROM golden_customers WHERE golden_id IN (");
                        let mut list = qb.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        qb.push(")");
                        let rows: Vec<(String, Json<serde_json::Value>, i64)> =
                            qb.build_query_as().fetch_all(&mut *tx).await.doing("reading golden customers before their update")?;
                        before.extend(rows.into_iter().map(|(id, Json(l), n)| (id, (l, n))));
                    }
                    let events = slice.take_events(&before, &p.split_from, created_changes)?;
                    let next_range = slices.next();
                    // This slice is written while the next one is built.
                    let (written, next) = futures::future::join(
                        async {
                            insert_events!(tx, &events, Some(run), None, at);
                            upsert_golden!(tx, &slice.rows);
                            Ok::<(), StoreError>(())
                        },
                        async {
                            match next_range {
                                Some(range) => prepare_slice(upserts, range, run, &p.split_from, created_changes).await.map(Some),
                                None => Ok(None),
                            }
                        },
                    )
                    .await;
                    written?;
                    prepared = next?;
                }
                steps.done("golden customers and their events");
                tx.rebuild_indexes(golden_aside).await?;
                steps.done("golden customers' indexes");
                write_redirects!(tx, &p.redirects, run, at);

                insert_events!(tx, &deletions, Some(run), None, at);
                tx.rebuild_indexes(events_aside).await?;
                steps.done("redirects, deletions, change feed index");

                let review_aside = tx.set_aside_indexes("review_items", p.review_items.len()).await?;

                write_chunks!(tx, p.review_items.chunks(MAX_BINDS / 15), "updating the review queue", |chunk| {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO review_items (golden_a, golden_b, kind, source_a, key_a, source_b, key_b, match_probability, \
                         record_pairs, records, impact, reason, status, run_id, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.golden_a.as_str())
                            .push_bind(r.golden_b.as_str())
                            .push_bind(r.kind)
                            .push_bind(r.a.source.as_str())
                            .push_bind(r.a.key.as_str())
                            .push_bind(r.b.source.as_str())
                            .push_bind(r.b.key.as_str())
                            .push_bind(r.probability)
                            .push_bind(r.record_pairs)
                            .push_bind(r.records)
                            .push_bind(r.impact)
                            .push_bind(r.reason)
                            .push_bind(super::ReviewStatus::Open)
                            .push_bind(run)
                            .push_bind(at);
                    });
                    // Stewards' decisions stand; an item that had left the queue and is back reopens.
                    qb.push(
                        " ON CONFLICT (golden_a, golden_b) DO UPDATE SET kind = excluded.kind, source_a = excluded.source_a, \
                         key_a = excluded.key_a, source_b = excluded.source_b, key_b = excluded.key_b, \
                         match_probability = excluded.match_probability, record_pairs = excluded.record_pairs, \
                         records = excluded.records, impact = excluded.impact, reason = excluded.reason, run_id = excluded.run_id, \
                         status = CASE WHEN review_items.status = ",
                    );
                    qb.push_bind(super::ReviewStatus::Resolved)
                        .push(" THEN ")
                        .push_bind(super::ReviewStatus::Open)
                        .push(" ELSE review_items.status END");
                    qb
                });
                sqlx::query("UPDATE review_items SET status = $1 WHERE status IN ($2, $3) AND run_id <> $4")
                    .bind(super::ReviewStatus::Resolved)
                    .bind(super::ReviewStatus::Open)
                    .bind(super::ReviewStatus::Deferred)
                    .bind(run)
                    .execute(&mut *tx)
                    .await
                    .doing("closing review items no longer in question")?;
                tx.rebuild_indexes(review_aside).await?;
                steps.done("review queue");

                sqlx::query("DELETE FROM match_pairs").execute(&mut *tx).await.doing("replacing match pairs")?;
                write_chunks!(tx, p.pairs.chunks(MAX_BINDS / 9), "writing match pairs", |chunk| {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO match_pairs (source_a, key_a, source_b, key_b, match_probability, match_weight, decision, blocking_rule, run_id) ",
                    );
                    qb.push_values(chunk, |mut b, pr| {
                        b.push_bind(pr.a.source.as_str())
                            .push_bind(pr.a.key.as_str())
                            .push_bind(pr.b.source.as_str())
                            .push_bind(pr.b.key.as_str())
                            .push_bind(pr.probability)
                            .push_bind(pr.weight)
                            .push_bind(pr.decision)
                            .push_bind(pr.rule.as_str())
                            .push_bind(run);
                    });
                    qb
                });
                steps.done("match pairs");

                for (source, column, value) in &p.watermarks {
                    sqlx::query(
                        "INSERT INTO watermarks (source, column_name, value, run_id, updated_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (source) DO UPDATE SET column_name = excluded.column_name, value = excluded.value, \
                         run_id = excluded.run_id, updated_at = excluded.updated_at",
                    )
                    .bind(source)
                    .bind(column)
                    .bind(value)
                    .bind(run)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .doing("writing watermarks")?;
                }
                sqlx::query(
                    "INSERT INTO store_meta (name, value) VALUES ('next_golden_seq', $1) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(p.next_golden_seq.to_string())
                .execute(&mut *tx)
                .await
                .doing("writing the golden id counter")?;

                if let Some(model) = p.model {
                    sqlx::query("INSERT INTO models (model_id, trained_at, run_id, params) VALUES ($1, $2, $3, $4)")
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(model.trained_at)
                        .bind(run)
                        .bind(Json(model))
                        .execute(&mut *tx)
                        .await
                        .doing("saving the matching model")?;
                }
                for o in &p.outcomes {
                    run_source_query(run, o).execute(&mut *tx).await.doing("recording per-source counts")?;
                }
                finish_run_query(run, &p.finish).execute(&mut *tx).await.doing("recording the end of the run")?;
                let committed = tx.commit().await.doing("committing the run");
                steps.done("the rest and the commit");
                committed
            }
            .await;
            tracing::debug!(rows, rollback_journal = publishing.rollback_journal(), "published");
            pool.done_publishing(publishing).await;
            written?;
        });
        Ok(())
    }
}

/// Logs how long each step of a publish took (debug level: for tuning, not for every day).
struct Steps(std::time::Instant);

impl Steps {
    fn new() -> Steps {
        Steps(std::time::Instant::now())
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
fn run_source_query<'q, DB>(
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

fn finish_run_query<'q, DB>(
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
