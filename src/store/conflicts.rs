//! Field conflicts in the store: the items a sync finds (`conflict_items`), kept across syncs
//! with their stewards' decisions until the values or the records carrying them change.

use super::{on_pool, Doing, Store, StoreError};
use crate::golden::{CompetingValue, FieldConflict, GoldenField};
use crate::text_enum::text_enum;
use chrono::{DateTime, Utc};
use sqlx::types::Json;

text_enum! {
    /// Where a field conflict stands.
    pub enum ConflictStatus ("conflict item status") {
        /// Waiting for a steward.
        Open = "open",
        /// Put off by a steward: behind the open items.
        Deferred = "deferred",
        /// The steward kept the value survivorship chose.
        Accepted = "accepted",
        /// The steward chose a value: pinned on the golden ID.
        Chosen = "chosen",
        /// The steward split off the records carrying the other value.
        Split = "split",
        /// No longer in question: a later sync did not find it again.
        Resolved = "resolved",
    }
}

impl ConflictStatus {
    /// Still waiting for a steward.
    pub fn is_pending(self) -> bool {
        matches!(self, ConflictStatus::Open | ConflictStatus::Deferred)
    }
}

/// A field conflict in the stewards' queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConflictItem {
    pub item_id: i64,
    pub golden_id: String,
    pub field: GoldenField,
    /// Most supported first; `won` marks the value the golden record shows.
    pub competing: Vec<CompetingValue>,
    pub reason: String,
    pub uncertainty: f64,
    pub records: i64,
    pub priority: f64,
    pub status: ConflictStatus,
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub note: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ConflictRow {
    item_id: i64,
    golden_id: String,
    field: String,
    competing: Json<Vec<CompetingValue>>,
    reason: String,
    uncertainty: f64,
    records: i64,
    priority: f64,
    status: ConflictStatus,
    run_id: String,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    actor: Option<String>,
    note: Option<String>,
}

impl TryFrom<ConflictRow> for ConflictItem {
    type Error = StoreError;
    fn try_from(r: ConflictRow) -> Result<ConflictItem, StoreError> {
        let field = GoldenField::parse(&r.field).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "conflict item {} names the unknown field {:?}",
                r.item_id, r.field
            ))
        })?;
        Ok(ConflictItem {
            item_id: r.item_id,
            golden_id: r.golden_id,
            field,
            competing: r.competing.0,
            reason: r.reason,
            uncertainty: r.uncertainty,
            records: r.records,
            priority: r.priority,
            status: r.status,
            run_id: r.run_id,
            created_at: r.created_at,
            decided_at: r.decided_at,
            actor: r.actor,
            note: r.note,
        })
    }
}

const COLUMNS: &str =
    "item_id, golden_id, field, competing, reason, uncertainty, records, priority, \
    status, run_id, created_at, decided_at, actor, note";

fn items(rows: Vec<ConflictRow>) -> Result<Vec<ConflictItem>, StoreError> {
    rows.into_iter().map(ConflictItem::try_from).collect()
}

impl Store {
    /// Pending conflicts (open before deferred), most valuable first; with `all`, decided and
    /// resolved ones too.
    pub async fn conflict_queue(
        &self,
        all: bool,
        limit: i64,
    ) -> Result<Vec<ConflictItem>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM conflict_items WHERE $1 OR status IN ($3, $4) \
             ORDER BY CASE status WHEN $3 THEN 0 WHEN $4 THEN 1 ELSE 2 END, priority DESC, item_id LIMIT $2"
        );
        let rows: Vec<ConflictRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(all)
                .bind(limit)
                .bind(ConflictStatus::Open)
                .bind(ConflictStatus::Deferred)
                .fetch_all(pool)
                .await
                .doing("reading the field conflicts")?
        });
        items(rows)
    }

    pub async fn conflict_item(&self, item_id: i64) -> Result<Option<ConflictItem>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM conflict_items WHERE item_id = $1");
        let rows: Vec<ConflictRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(item_id)
                .fetch_all(pool)
                .await
                .doing("reading a field conflict")?
        });
        Ok(items(rows)?.pop())
    }

    /// One customer's conflicts that a sync still finds (pending or decided), by field.
    pub async fn conflicts_of(&self, golden_id: &str) -> Result<Vec<ConflictItem>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM conflict_items WHERE golden_id = $1 AND status <> $2 ORDER BY field"
        );
        let rows: Vec<ConflictRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(golden_id)
                .bind(ConflictStatus::Resolved)
                .fetch_all(pool)
                .await
                .doing("reading a customer's field conflicts")?
        });
        items(rows)
    }

    pub async fn conflict_counts(&self) -> Result<Vec<(ConflictStatus, i64)>, StoreError> {
        let rows: Vec<(ConflictStatus, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM conflict_items GROUP BY status ORDER BY status")
                .fetch_all(pool)
                .await
                .doing("counting field conflicts")?
        });
        Ok(rows)
    }
}

/// The conflicts as one run writes them: JSON of the competing values encoded once.
pub(crate) struct ConflictWrite<'a> {
    pub conflict: &'a FieldConflict,
    pub competing: Json<&'a Vec<CompetingValue>>,
}

pub(crate) fn to_write(conflicts: &[FieldConflict]) -> Vec<ConflictWrite<'_>> {
    conflicts
        .iter()
        .map(|c| ConflictWrite {
            conflict: c,
            competing: Json(&c.values),
        })
        .collect()
}
