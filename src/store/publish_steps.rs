//! The steps of a publish, each writing one part of the run inside the publishing transaction.
//! The SQL suits both engines, so the two implementations are the same code, compiled once per
//! engine's connection (`impl_publish_steps!`); only the bulk index handling differs
//! ([`BulkIndexes`]).

use super::chunked_writes::{encode_json, write_chunks};
use super::events::{insert_events, EncodedEvent};
use super::golden_slices::{prepare_slice, Before, CreatedChanges};
use super::publish::{
    finish_run_query, run_source_query, upsert_golden, write_redirects, PairWrite, QualityFinding,
    RejectRow, ReviewItemRow, RunFinish, SourceOutcome, MAX_BINDS,
};
use super::sqlite::BulkIndexes;
use super::{ConflictStatus, Doing, ReviewStatus, StoreError};
use crate::golden::{FieldConflict, GoldenVersions, Redirect, StagedChange};
use crate::model::Model;
use crate::record::Record;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::HashMap;

/// Pairs removed per statement: a few hundred OR-ed key lookups keep SQLite's planner on the
/// primary key.
const REMOVED_PAIRS_PER_STATEMENT: usize = 250;

/// Golden rows built per slice of this many.
const GOLDEN_SLICE: usize = 4_096;

/// What a publish stamps its rows with: the run, and the moment the publish began.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunStamp<'a> {
    pub run: &'a str,
    pub at: DateTime<Utc>,
}

/// The golden rows a publish writes, and what their change-feed events need.
pub(crate) struct GoldenWrite<'a> {
    pub upserts: &'a dyn GoldenVersions,
    /// New golden ID -> the ID it was split from.
    pub split_from: &'a HashMap<String, String>,
    pub created_changes: CreatedChanges,
}

/// Implemented by each engine's connection; every step runs inside the open transaction.
pub(crate) trait PublishSteps: BulkIndexes {
    /// The rows this run rejected.
    async fn write_rejects(&mut self, run: &str, rejects: &[RejectRow]) -> Result<(), StoreError>;

    /// The values this run quarantined from the records it kept, in place of the findings of
    /// the sources it read (`read`).
    async fn write_findings(
        &mut self,
        run: &str,
        read: &[&str],
        findings: &[QualityFinding],
    ) -> Result<(), StoreError>;

    /// Staged records written (new or changed), moved to another golden customer, or removed.
    async fn write_staged_records(
        &mut self,
        run: &str,
        staged: &[StagedChange<'_>],
    ) -> Result<(), StoreError>;

    /// Change-feed events, in order.
    async fn write_events(
        &mut self,
        stamp: RunStamp<'_>,
        events: &[EncodedEvent],
    ) -> Result<(), StoreError>;

    async fn delete_golden_customers(&mut self, ids: &[String]) -> Result<(), StoreError>;

    /// The new and changed golden customers with their created and updated events, each slice
    /// written while the next one is built.
    async fn write_golden_customers(
        &mut self,
        stamp: RunStamp<'_>,
        golden: &GoldenWrite<'_>,
    ) -> Result<(), StoreError>;

    /// The stored lineage and record count of golden customers about to be updated.
    async fn stored_lineage(&mut self, ids: &[&str]) -> Result<Before, StoreError>;

    async fn write_redirects(
        &mut self,
        stamp: RunStamp<'_>,
        redirects: &[Redirect],
    ) -> Result<(), StoreError>;

    /// The stewards' queue as this run sees it: its items opened or updated (stewards'
    /// decisions stand), items no longer in it resolved.
    async fn update_review_queue(
        &mut self,
        stamp: RunStamp<'_>,
        items: &[ReviewItemRow],
    ) -> Result<(), StoreError>;

    /// The field conflicts as this run finds them: new ones opened, decided ones kept while
    /// their values and records stay the same (reopened when they change), ones no longer
    /// found resolved.
    async fn update_conflicts(
        &mut self,
        stamp: RunStamp<'_>,
        conflicts: &[FieldConflict],
        scope: Option<&[String]>,
    ) -> Result<(), StoreError>;

    /// This run's scored pairs in place of the previous run's, or its changes to them.
    async fn write_match_pairs(&mut self, run: &str, pairs: &PairWrite) -> Result<(), StoreError>;

    /// The blocks this run skipped, in place of the last run's.
    async fn replace_skipped_blocks(&mut self, blocks: &[(String, u64)]) -> Result<(), StoreError>;

    /// Each source's high-water mark: (source, column, value).
    async fn write_watermarks(
        &mut self,
        stamp: RunStamp<'_>,
        watermarks: &[(String, String, String)],
    ) -> Result<(), StoreError>;

    /// What the run read (its inputs' fingerprint, JSON), for the next run's no-change check.
    async fn write_run_inputs(&mut self, run: &str, fingerprint: &str) -> Result<(), StoreError>;

    async fn write_golden_id_counter(&mut self, next_golden_seq: i64) -> Result<(), StoreError>;

    /// A model trained during this run.
    async fn save_model(&mut self, run: &str, model: &Model) -> Result<(), StoreError>;

    /// The run's per-source counts and its end.
    async fn record_run_end(
        &mut self,
        run: &str,
        outcomes: &[SourceOutcome],
        finish: &RunFinish,
    ) -> Result<(), StoreError>;
}

macro_rules! impl_publish_steps {
    ($conn:ty) => {
        impl PublishSteps for $conn {
            async fn write_rejects(&mut self, run: &str, rejects: &[RejectRow]) -> Result<(), StoreError> {
                write_chunks!(self, rejects.chunks(MAX_BINDS / 6), "writing rejected rows", |chunk| {
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
                Ok(())
            }

            async fn write_findings(&mut self, run: &str, read: &[&str], findings: &[QualityFinding]) -> Result<(), StoreError> {
                for source in read {
                    sqlx::query("DELETE FROM quality_findings WHERE source = $1")
                        .bind(*source)
                        .execute(&mut *self)
                        .await
                        .doing("replacing quality findings")?;
                }
                write_chunks!(self, findings.chunks(MAX_BINDS / 7), "writing quality findings", |chunk| {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO quality_findings (run_id, source, location, record_key, field, reason, raw) ");
                    qb.push_values(chunk, |mut b, f| {
                        b.push_bind(run)
                            .push_bind(&f.source)
                            .push_bind(&f.location)
                            .push_bind(&f.record_key)
                            .push_bind(&f.field)
                            .push_bind(&f.reason)
                            .push_bind(&f.raw);
                    });
                    qb
                });
                Ok(())
            }

            async fn write_staged_records(&mut self, run: &str, staged: &[StagedChange<'_>]) -> Result<(), StoreError> {
                let upserts: Vec<(&Record, &str, i64)> = staged
                    .iter()
                    .filter_map(|c| match c {
                        StagedChange::Upsert { record, golden_id, content_hash } => Some((*record, golden_id.as_str(), *content_hash)),
                        _ => None,
                    })
                    .collect();
                let records_aside = self.set_aside_indexes("source_records", upserts.len()).await?;
                write_chunks!(self, upserts.chunks(MAX_BINDS / 9), "writing staged records", |chunk| {
                    let records = encode_json(chunk, |(r, _, _)| *r)?;
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
                for c in staged {
                    match c {
                        StagedChange::Regolden { key, golden_id } => {
                            sqlx::query("UPDATE source_records SET golden_id = $1, updated_run = $2 WHERE source = $3 AND record_key = $4")
                                .bind(golden_id)
                                .bind(run)
                                .bind(key.source.as_str())
                                .bind(key.key.as_str())
                                .execute(&mut *self)
                                .await
                                .doing("moving records between golden customers")?;
                        }
                        StagedChange::Delete { key } => {
                            sqlx::query("DELETE FROM source_records WHERE source = $1 AND record_key = $2")
                                .bind(key.source.as_str())
                                .bind(key.key.as_str())
                                .execute(&mut *self)
                                .await
                                .doing("removing records gone from their source")?;
                        }
                        StagedChange::Upsert { .. } => {}
                    }
                }
                self.rebuild_indexes(records_aside).await
            }

            async fn write_events(&mut self, stamp: RunStamp<'_>, events: &[EncodedEvent]) -> Result<(), StoreError> {
                insert_events!(self, events, Some(stamp.run), None, stamp.at);
                Ok(())
            }

            async fn delete_golden_customers(&mut self, ids: &[String]) -> Result<(), StoreError> {
                for id in ids {
                    sqlx::query("DELETE FROM golden_customers WHERE golden_id = $1")
                        .bind(id)
                        .execute(&mut *self)
                        .await
                        .doing("removing golden customers")?;
                }
                Ok(())
            }

            async fn write_golden_customers(&mut self, stamp: RunStamp<'_>, golden: &GoldenWrite<'_>) -> Result<(), StoreError> {
                let RunStamp { run, at } = stamp;
                let GoldenWrite { upserts, split_from, created_changes } = *golden;
                let total = upserts.len();
                let mut slices = (0..total).step_by(GOLDEN_SLICE).map(|start| start..total.min(start + GOLDEN_SLICE));
                let mut prepared = match slices.next() {
                    Some(range) => Some(prepare_slice(upserts, range, run, split_from, created_changes).await?),
                    None => None,
                };
                while let Some(mut slice) = prepared.take() {
                    // What the rows created by earlier runs looked like, for the change feed.
                    let before = self.stored_lineage(&slice.earlier_ids()).await?;
                    let events = slice.take_events(&before, split_from, created_changes)?;
                    let next_range = slices.next();
                    // This slice is written while the next one is built.
                    let (written, next) = futures::future::join(
                        async {
                            insert_events!(self, &events, Some(run), None, at);
                            upsert_golden!(self, &slice.rows);
                            Ok::<(), StoreError>(())
                        },
                        async {
                            match next_range {
                                Some(range) => prepare_slice(upserts, range, run, split_from, created_changes).await.map(Some),
                                None => Ok(None),
                            }
                        },
                    )
                    .await;
                    written?;
                    prepared = next?;
                }
                Ok(())
            }

            async fn stored_lineage(&mut self, ids: &[&str]) -> Result<Before, StoreError> {
                let mut before = Before::new();
                for chunk in ids.chunks(MAX_BINDS) {
                    let mut qb = sqlx::QueryBuilder::new("SELECT golden_id, lineage, record_count FROM golden_customers WHERE golden_id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    let rows: Vec<(String, Json<serde_json::Value>, i64)> =
                        qb.build_query_as().fetch_all(&mut *self).await.doing("reading golden customers before their update")?;
                    before.extend(rows.into_iter().map(|(id, Json(l), n)| (id, (l, n))));
                }
                Ok(before)
            }

            async fn write_redirects(&mut self, stamp: RunStamp<'_>, redirects: &[Redirect]) -> Result<(), StoreError> {
                write_redirects!(self, redirects, stamp.run, stamp.at);
                Ok(())
            }

            async fn update_review_queue(&mut self, stamp: RunStamp<'_>, items: &[ReviewItemRow]) -> Result<(), StoreError> {
                let RunStamp { run, at } = stamp;
                let review_aside = self.set_aside_indexes("review_items", items.len()).await?;
                write_chunks!(self, items.chunks(MAX_BINDS / 15), "updating the review queue", |chunk| {
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
                            .push_bind(r.status)
                            .push_bind(run)
                            .push_bind(at);
                    });
                    // Stewards' decisions stand (deferred, accepted, rejected); otherwise the item is
                    // open or settled as this run sees it, and one that had left the queue is back.
                    qb.push(
                        " ON CONFLICT (golden_a, golden_b) DO UPDATE SET kind = excluded.kind, source_a = excluded.source_a, \
                         key_a = excluded.key_a, source_b = excluded.source_b, key_b = excluded.key_b, \
                         match_probability = excluded.match_probability, record_pairs = excluded.record_pairs, \
                         records = excluded.records, impact = excluded.impact, reason = excluded.reason, run_id = excluded.run_id, \
                         status = CASE WHEN review_items.status IN (",
                    );
                    qb.push_bind(ReviewStatus::Resolved)
                        .push(", ")
                        .push_bind(ReviewStatus::Open)
                        .push(", ")
                        .push_bind(ReviewStatus::Settled)
                        .push(") THEN excluded.status ELSE review_items.status END");
                    qb
                });
                sqlx::query("UPDATE review_items SET status = $1 WHERE status IN ($2, $3, $4) AND run_id <> $5")
                    .bind(ReviewStatus::Resolved)
                    .bind(ReviewStatus::Open)
                    .bind(ReviewStatus::Deferred)
                    .bind(ReviewStatus::Settled)
                    .bind(run)
                    .execute(&mut *self)
                    .await
                    .doing("closing review items no longer in question")?;
                self.rebuild_indexes(review_aside).await
            }

            async fn update_conflicts(&mut self, stamp: RunStamp<'_>, conflicts: &[FieldConflict], scope: Option<&[String]>) -> Result<(), StoreError> {
                let RunStamp { run, at } = stamp;
                let rows = super::conflicts::to_write(conflicts);
                write_chunks!(self, rows.chunks(MAX_BINDS / 11), "updating the field conflicts", |chunk| {
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO conflict_items (golden_id, field, competing, reason, uncertainty, records, priority, \
                         fingerprint, status, run_id, created_at) ",
                    );
                    qb.push_values(chunk, |mut b, w| {
                        let c = w.conflict;
                        b.push_bind(c.golden_id.as_str())
                            .push_bind(c.field.name())
                            .push_bind(&w.competing)
                            .push_bind(c.reason.as_str())
                            .push_bind(c.uncertainty)
                            .push_bind(c.records)
                            .push_bind(c.priority)
                            .push_bind(c.fingerprint)
                            .push_bind(ConflictStatus::Open)
                            .push_bind(run)
                            .push_bind(at);
                    });
                    // A decision holds while the values and their records are the ones decided
                    // about; changed, or back after leaving the queue, the item reopens.
                    qb.push(
                        " ON CONFLICT (golden_id, field) DO UPDATE SET competing = excluded.competing, \
                         reason = excluded.reason, uncertainty = excluded.uncertainty, records = excluded.records, \
                         priority = excluded.priority, fingerprint = excluded.fingerprint, run_id = excluded.run_id, \
                         status = CASE WHEN conflict_items.status = ",
                    );
                    qb.push_bind(ConflictStatus::Resolved)
                        .push(" OR conflict_items.fingerprint <> excluded.fingerprint THEN ")
                        .push_bind(ConflictStatus::Open)
                        .push(" ELSE conflict_items.status END");
                    qb
                });
                let close = |ids: Option<&[String]>| {
                    let mut qb = sqlx::QueryBuilder::new("UPDATE conflict_items SET status = ");
                    qb.push_bind(ConflictStatus::Resolved)
                        .push(" WHERE status IN (")
                        .push_bind(ConflictStatus::Open)
                        .push(", ")
                        .push_bind(ConflictStatus::Deferred)
                        .push(") AND run_id <> ")
                        .push_bind(run);
                    if let Some(ids) = ids {
                        qb.push(" AND golden_id IN (");
                        let mut list = qb.separated(", ");
                        for id in ids {
                            list.push_bind(id.as_str());
                        }
                        qb.push(")");
                    }
                    qb
                };
                match scope {
                    None => {
                        close(None).build().execute(&mut *self).await.doing("closing field conflicts no longer found")?;
                    }
                    Some(ids) => {
                        write_chunks!(self, ids.chunks(MAX_BINDS / 2), "closing field conflicts no longer found", |chunk| close(Some(chunk)));
                    }
                }
                Ok(())
            }

            async fn write_match_pairs(&mut self, run: &str, pairs: &PairWrite) -> Result<(), StoreError> {
                let rows = match pairs {
                    PairWrite::Replace(rows) => {
                        sqlx::query("DELETE FROM match_pairs").execute(&mut *self).await.doing("replacing match pairs")?;
                        rows
                    }
                    PairWrite::Changes { removed, upserts } => {
                        // Key by key, OR-ed: each term is one primary-key lookup in both engines.
                        write_chunks!(self, removed.chunks(REMOVED_PAIRS_PER_STATEMENT), "removing match pairs", |chunk| {
                            let mut qb = sqlx::QueryBuilder::new("DELETE FROM match_pairs WHERE ");
                            for (n, (a, b)) in chunk.iter().enumerate() {
                                if n > 0 {
                                    qb.push(" OR ");
                                }
                                qb.push("(source_a = ")
                                    .push_bind(a.source.as_str())
                                    .push(" AND key_a = ")
                                    .push_bind(a.key.as_str())
                                    .push(" AND source_b = ")
                                    .push_bind(b.source.as_str())
                                    .push(" AND key_b = ")
                                    .push_bind(b.key.as_str())
                                    .push(")");
                            }
                            qb
                        });
                        upserts
                    }
                };
                write_chunks!(self, rows.chunks(MAX_BINDS / 9), "writing match pairs", |chunk| {
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
                    qb.push(
                        " ON CONFLICT (source_a, key_a, source_b, key_b) DO UPDATE SET \
                         match_probability = excluded.match_probability, match_weight = excluded.match_weight, \
                         decision = excluded.decision, blocking_rule = excluded.blocking_rule, run_id = excluded.run_id",
                    );
                    qb
                });
                Ok(())
            }

            async fn replace_skipped_blocks(&mut self, blocks: &[(String, u64)]) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM skipped_blocks").execute(&mut *self).await.doing("replacing the skipped blocks")?;
                write_chunks!(self, blocks.chunks(MAX_BINDS / 2), "writing the skipped blocks", |chunk| {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO skipped_blocks (rule, block_key) ");
                    qb.push_values(chunk, |mut b, (rule, key)| {
                        b.push_bind(rule.as_str()).push_bind(*key as i64);
                    });
                    // Multi-valued keys can name one block twice.
                    qb.push(" ON CONFLICT (rule, block_key) DO NOTHING");
                    qb
                });
                Ok(())
            }

            async fn write_watermarks(&mut self, stamp: RunStamp<'_>, watermarks: &[(String, String, String)]) -> Result<(), StoreError> {
                for (source, column, value) in watermarks {
                    sqlx::query(
                        "INSERT INTO watermarks (source, column_name, value, run_id, updated_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (source) DO UPDATE SET column_name = excluded.column_name, value = excluded.value, \
                         run_id = excluded.run_id, updated_at = excluded.updated_at",
                    )
                    .bind(source)
                    .bind(column)
                    .bind(value)
                    .bind(stamp.run)
                    .bind(stamp.at)
                    .execute(&mut *self)
                    .await
                    .doing("writing watermarks")?;
                }
                Ok(())
            }

            async fn write_run_inputs(&mut self, run: &str, fingerprint: &str) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO run_inputs (run_id, fingerprint) VALUES ($1, $2)")
                    .bind(run)
                    .bind(fingerprint)
                    .execute(&mut *self)
                    .await
                    .doing("recording what the run read")?;
                Ok(())
            }

            async fn write_golden_id_counter(&mut self, next_golden_seq: i64) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO store_meta (name, value) VALUES ('next_golden_seq', $1) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(next_golden_seq.to_string())
                .execute(&mut *self)
                .await
                .doing("writing the golden id counter")?;
                Ok(())
            }

            async fn save_model(&mut self, run: &str, model: &Model) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO models (model_id, trained_at, run_id, params) VALUES ($1, $2, $3, $4)")
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(model.trained_at)
                    .bind(run)
                    .bind(Json(model))
                    .execute(&mut *self)
                    .await
                    .doing("saving the matching model")?;
                Ok(())
            }

            async fn record_run_end(&mut self, run: &str, outcomes: &[SourceOutcome], finish: &RunFinish) -> Result<(), StoreError> {
                for o in outcomes {
                    run_source_query(run, o).execute(&mut *self).await.doing("recording per-source counts")?;
                }
                finish_run_query(run, finish).execute(&mut *self).await.doing("recording the end of the run")?;
                Ok(())
            }
        }
    };
}

impl_publish_steps!(sqlx::SqliteConnection);
impl_publish_steps!(sqlx::PgConnection);
