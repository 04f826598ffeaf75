//! Reading the store: the previous run's state for the next run, and the views the CLI shows.

use super::{like, on_pool, Doing, Store, StoreError};
use crate::golden::{GoldenColumn, GoldenRecord, Lineage, PreviousGolden};
use crate::record::{Record, RecordKind, SourceKey};
use crate::run::{RunStatus, SourceStatus, Trigger};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct GoldenSummary {
    pub golden_id: String,
    pub full_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub record_count: i64,
    pub billing_accounts: i64,
    pub orders: i64,
}

/// A source record linked to a golden customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkedRecord {
    pub source: String,
    pub key: String,
    pub kind: RecordKind,
    pub record: Record,
}

/// One golden customer with its lineage and linked records.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoldenView {
    #[serde(flatten)]
    pub golden: GoldenRecord,
    pub records: Vec<LinkedRecord>,
    /// Set when the ID asked for was merged into this one.
    pub redirected_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct RunView {
    pub run_id: String,
    pub trigger: Trigger,
    pub host: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub rows_read: i64,
    pub rows_rejected: i64,
    pub golden_created: i64,
    pub golden_updated: i64,
    pub golden_deleted: i64,
    pub pairs_for_review: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct RunSourceView {
    pub source: String,
    pub record_kind: RecordKind,
    pub status: SourceStatus,
    pub rows_read: i64,
    pub rows_rejected: i64,
    pub rows_kept: i64,
    pub fields_nulled: i64,
    pub seconds: f64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct RejectView {
    pub run_id: String,
    pub source: String,
    pub location: String,
    pub record_key: Option<String>,
    pub reason: String,
    pub raw: String,
}

/// A value quarantined from a record's field, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct FindingView {
    pub run_id: String,
    pub source: String,
    pub location: String,
    pub record_key: String,
    pub field: String,
    pub reason: String,
    pub raw: String,
}

/// Findings of one source, field and reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct FindingCount {
    pub source: String,
    pub field: String,
    pub reason: String,
    pub findings: i64,
}

/// A golden record's columns, as [`GoldenRecord`] reads them.
pub(super) static GOLDEN_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "golden_id, {}, full_name, record_count, customer_records, billing_accounts, orders, lineage, \
         created_run, updated_run, created_at, updated_at",
        GoldenColumn::list("{}")
    )
});

impl Store {
    /// (source, key) -> (golden id, content hash) for every staged record.
    pub async fn previous_xref(&self) -> Result<HashMap<SourceKey, (String, i64)>, StoreError> {
        let rows: Vec<(String, String, Option<String>, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT source, record_key, golden_id, content_hash FROM source_records")
                .fetch_all(pool)
                .await
                .doing("reading the previous cross-reference")?
        });
        Ok(rows
            .into_iter()
            .map(|(s, k, g, h)| (SourceKey::new(s, k), (g.unwrap_or_default(), h)))
            .collect())
    }

    pub async fn previous_golden(&self) -> Result<HashMap<String, PreviousGolden>, StoreError> {
        let rows: Vec<PreviousGolden> = on_pool!(self, pool => {
            sqlx::query_as("SELECT golden_id, content_hash, created_seq, created_run, created_at FROM golden_customers")
                .fetch_all(pool)
                .await
                .doing("reading the previous golden customers")?
        });
        Ok(rows.into_iter().map(|g| (g.golden_id.clone(), g)).collect())
    }

    pub async fn next_golden_seq(&self) -> Result<i64, StoreError> {
        let v: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT value FROM store_meta WHERE name = 'next_golden_seq'")
                .fetch_optional(pool)
                .await
                .doing("reading the golden id counter")?
        });
        match v {
            None => Ok(1),
            Some((s,)) => s
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("next_golden_seq = {s:?}"))),
        }
    }

    /// The last good records of one source (used when that source fails this run).
    pub async fn staged_records(&self, source: &str) -> Result<Vec<Record>, StoreError> {
        let rows: Vec<(Json<Record>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT record FROM source_records WHERE source = $1 ORDER BY record_key")
                .bind(source)
                .fetch_all(pool)
                .await
                .doing("reading staged records")?
        });
        Ok(rows.into_iter().map(|(r,)| r.0).collect())
    }

    pub async fn golden_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM golden_customers")
                .fetch_one(pool)
                .await
                .doing("counting golden customers")?
        });
        Ok(n)
    }

    /// Golden customers ordered by name; `search` matches name, e-mail, phone or postcode.
    pub async fn golden_list(
        &self,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<GoldenSummary>, StoreError> {
        let pattern = search.map(|s| like::containing(&s.to_lowercase()));
        let rows: Vec<GoldenSummary> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT golden_id, full_name, date_of_birth, email, phone, city, postcode, record_count, billing_accounts, orders \
                 FROM golden_customers \
                 WHERE $1 IS NULL OR LOWER(COALESCE(full_name, '')) LIKE $1 ESCAPE '\\' \
                    OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
                    OR COALESCE(phone, '') LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(postcode, '')) LIKE $1 ESCAPE '\\' \
                 ORDER BY family_name, given_name, golden_id LIMIT $2 OFFSET $3",
            )
            .bind(pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await
            .doing("listing golden customers")?
        });
        Ok(rows)
    }

    /// Follows merge redirects to the golden ID that now stands for `id`.
    pub async fn resolve_golden_id(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT golden_id FROM golden_customers WHERE golden_id = $1 \
                 UNION ALL SELECT new_id FROM golden_redirects WHERE old_id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
            .doing("looking up a golden id")?
        });
        Ok(row.map(|r| r.0))
    }

    pub async fn golden_id_of(&self, key: &SourceKey) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT golden_id FROM source_records WHERE source = $1 AND record_key = $2")
                .bind(key.source.as_str())
                .bind(key.key.as_str())
                .fetch_optional(pool)
                .await
                .doing("looking up a source key")?
        });
        Ok(row.and_then(|r| r.0))
    }

    /// One golden customer with lineage and linked records; `id` may be an old, merged ID.
    pub async fn golden_view(&self, id: &str) -> Result<Option<GoldenView>, StoreError> {
        let Some(current) = self.resolve_golden_id(id).await? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {} FROM golden_customers WHERE golden_id = $1",
            *GOLDEN_COLUMNS
        );
        let golden: Option<GoldenRecord<Json<Lineage>>> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&current)
                .fetch_optional(pool)
                .await
                .doing("reading a golden customer")?
        });
        let Some(golden) = golden else {
            return Ok(None);
        };
        let records = self.linked_records(&current).await?;
        Ok(Some(GoldenView {
            golden: golden.map_lineage(|Json(lineage)| lineage),
            records,
            redirected_from: (current != id).then(|| id.to_string()),
        }))
    }

    pub async fn linked_records(&self, golden_id: &str) -> Result<Vec<LinkedRecord>, StoreError> {
        let rows: Vec<(String, String, RecordKind, Json<Record>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT source, record_key, record_kind, record FROM source_records WHERE golden_id = $1 \
                 ORDER BY record_kind, source, record_key",
            )
            .bind(golden_id)
            .fetch_all(pool)
            .await
            .doing("reading linked records")?
        });
        Ok(rows
            .into_iter()
            .map(|(source, key, kind, record)| LinkedRecord {
                source,
                key,
                kind,
                record: record.0,
            })
            .collect())
    }

    pub async fn runs(&self, limit: i64) -> Result<Vec<RunView>, StoreError> {
        let rows: Vec<RunView> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT run_id, trigger, host, started_at, finished_at, status, rows_read, rows_rejected, golden_created, \
                 golden_updated, golden_deleted, pairs_for_review, error FROM sync_runs ORDER BY started_at DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await
            .doing("listing runs")?
        });
        Ok(rows)
    }

    pub async fn run_sources(&self, run_id: &str) -> Result<Vec<RunSourceView>, StoreError> {
        let rows: Vec<RunSourceView> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT source, record_kind, status, rows_read, rows_rejected, rows_kept, fields_nulled, seconds, error \
                 FROM run_sources WHERE run_id = $1 ORDER BY source",
            )
            .bind(run_id)
            .fetch_all(pool)
            .await
            .doing("reading a run's sources")?
        });
        Ok(rows)
    }

    /// Rejected rows of one run (the latest when `run_id` is None).
    pub async fn rejects(
        &self,
        run_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RejectView>, StoreError> {
        let rows: Vec<RejectView> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT run_id, source, location, record_key, reason, raw FROM rejects \
                 WHERE run_id = COALESCE($1, (SELECT run_id FROM sync_runs ORDER BY started_at DESC LIMIT 1)) \
                 ORDER BY reject_id LIMIT $2",
            )
            .bind(run_id)
            .bind(limit)
            .fetch_all(pool)
            .await
            .doing("reading rejected rows")?
        });
        Ok(rows)
    }

    /// The current data-quality findings (each source's from its latest full read), optionally
    /// of one source and field, in source order.
    pub async fn quality_findings(
        &self,
        source: Option<&str>,
        field: Option<&str>,
        limit: i64,
    ) -> Result<Vec<FindingView>, StoreError> {
        let rows: Vec<FindingView> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT run_id, source, location, record_key, field, reason, raw FROM quality_findings \
                 WHERE ($1 IS NULL OR source = $1) AND ($2 IS NULL OR field = $2) \
                 ORDER BY finding_id LIMIT $3",
            )
            .bind(source)
            .bind(field)
            .bind(limit)
            .fetch_all(pool)
            .await
            .doing("reading quality findings")?
        });
        Ok(rows)
    }

    /// How many findings each source has per field and reason, most first.
    pub async fn quality_counts(&self) -> Result<Vec<FindingCount>, StoreError> {
        let rows: Vec<FindingCount> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT source, field, reason, COUNT(*) AS findings FROM quality_findings \
                 GROUP BY source, field, reason ORDER BY source, COUNT(*) DESC, field, reason",
            )
            .fetch_all(pool)
            .await
            .doing("counting quality findings")?
        });
        Ok(rows)
    }

    /// Every (source, key) and its golden ID, for evaluation.
    pub async fn xref_all(&self) -> Result<Vec<(SourceKey, String)>, StoreError> {
        let rows: Vec<(String, String, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT source, record_key, golden_id FROM source_records")
                .fetch_all(pool)
                .await
                .doing("reading the cross-reference")?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(s, k, g)| g.map(|g| (SourceKey::new(s, k), g)))
            .collect())
    }
}

impl Store {
    /// Every stored scored pair (at or above the review threshold of the latest run).
    pub async fn match_pairs(&self) -> Result<Vec<(SourceKey, SourceKey, f64)>, StoreError> {
        let rows: Vec<(String, String, String, String, f64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT source_a, key_a, source_b, key_b, match_probability FROM match_pairs")
                .fetch_all(pool)
                .await
                .doing("reading match pairs")?
        });
        Ok(rows
            .into_iter()
            .map(|(sa, ka, sb, kb, p)| (SourceKey::new(sa, ka), SourceKey::new(sb, kb), p))
            .collect())
    }
}

impl Store {
    /// Every staged record, in source and key order.
    pub async fn all_staged_records(&self) -> Result<Vec<Record>, StoreError> {
        let rows: Vec<(Json<Record>,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT record FROM source_records ORDER BY source, record_key")
                .fetch_all(pool)
                .await
                .doing("reading staged records")?
        });
        Ok(rows.into_iter().map(|(r,)| r.0).collect())
    }
}

/// A scored pair as the last run stored it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPair {
    pub a: SourceKey,
    pub b: SourceKey,
    pub weight: f64,
    pub decision: crate::decision::Decision,
    pub rule: String,
}

impl Store {
    /// Every stored scored pair with its weight, decision and rule: what an incremental run
    /// keeps of the pairs between records that did not change.
    pub async fn stored_pairs(&self) -> Result<Vec<StoredPair>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            f64,
            crate::decision::Decision,
            String,
        );
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as("SELECT source_a, key_a, source_b, key_b, match_weight, decision, blocking_rule FROM match_pairs")
                .fetch_all(pool)
                .await
                .doing("reading the last run's match pairs")?
        });
        Ok(rows
            .into_iter()
            .map(|(sa, ka, sb, kb, weight, decision, rule)| StoredPair {
                a: SourceKey::new(sa, ka),
                b: SourceKey::new(sb, kb),
                weight,
                decision,
                rule,
            })
            .collect())
    }

    /// The blocks the last published run skipped as too large: (rule, key hash).
    pub async fn skipped_blocks(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT rule, block_key FROM skipped_blocks")
                .fetch_all(pool)
                .await
                .doing("reading the blocks the last run skipped")?
        });
        Ok(rows.into_iter().map(|(r, k)| (r, k as u64)).collect())
    }
}
