//! The change feed: every golden create, update, merge, split and delete, with a monotonic
//! sequence number, so that other systems can follow along from a cursor.

use super::{on_pool, Doing, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

/// What happened to a golden record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    Updated,
    Merged,
    Split,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Merged => "merged",
            EventKind::Split => "split",
            EventKind::Deleted => "deleted",
        }
    }
}

/// An event to write.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewEvent {
    pub kind: EventKind,
    pub golden_id: String,
    /// merged: the IDs merged in; split: the new IDs; created by a split: the ID split from.
    pub related_ids: Vec<String>,
    /// {field: {before, after, source, key, rule}}
    pub changes: serde_json::Value,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GoldenEvent {
    pub seq: i64,
    pub kind: String,
    pub golden_id: String,
    pub related_ids: Vec<String>,
    pub changes: serde_json::Value,
    pub run_id: Option<String>,
    pub audit_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
}

type EventRow = (
    i64,
    String,
    String,
    String,
    Json<serde_json::Value>,
    Option<String>,
    Option<i64>,
    DateTime<Utc>,
);

fn event_of(row: EventRow) -> Result<GoldenEvent, StoreError> {
    let (seq, kind, golden_id, related, Json(changes), run_id, audit_id, occurred_at) = row;
    let related_ids = serde_json::from_str(&related)
        .map_err(|_| StoreError::Corrupt(format!("golden_events.related_ids of seq {seq}")))?;
    Ok(GoldenEvent {
        seq,
        kind,
        golden_id,
        related_ids,
        changes,
        run_id,
        audit_id,
        occurred_at,
    })
}

const EVENT_COLUMNS: &str =
    "seq, kind, golden_id, related_ids, changes, run_id, audit_id, occurred_at";

/// Writes events inside an open transaction (`$tx`), in order; binds stay under the engines'
/// limits.
macro_rules! insert_events {
    ($tx:expr, $events:expr, $run:expr, $audit:expr, $at:expr) => {{
        let events: &[$crate::store::NewEvent] = $events;
        let run: Option<&str> = $run;
        let audit: Option<i64> = $audit;
        let at: chrono::DateTime<chrono::Utc> = $at;
        for chunk in events.chunks(2_000) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO golden_events (kind, golden_id, related_ids, changes, run_id, audit_id, occurred_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.kind.as_str())
                    .push_bind(e.golden_id.as_str())
                    .push_bind(serde_json::to_string(&e.related_ids).unwrap_or_else(|_| "[]".into()))
                    .push_bind(sqlx::types::Json(&e.changes))
                    .push_bind(run)
                    .push_bind(audit)
                    .push_bind(at);
            });
            qb.build()
                .execute(&mut *$tx)
                .await
                .doing("writing the change feed")?;
        }
    }};
}
pub(crate) use insert_events;

impl Store {
    /// Events after `after` (a cursor: the last seq the reader saw; 0 for the start), oldest first.
    pub async fn changes_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<GoldenEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM golden_events WHERE seq > $1 ORDER BY seq LIMIT $2"
        );
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await
                .doing("reading the change feed")?
        });
        rows.into_iter().map(event_of).collect()
    }

    /// Every event that names `golden_id`, oldest first: its full history.
    pub async fn golden_history(&self, golden_id: &str) -> Result<Vec<GoldenEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM golden_events WHERE golden_id = $1 OR related_ids LIKE $2 ORDER BY seq"
        );
        let quoted = format!("%{}%", serde_json::Value::from(golden_id));
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(golden_id)
                .bind(quoted)
                .fetch_all(pool)
                .await
                .doing("reading a golden record's history")?
        });
        rows.into_iter().map(event_of).collect()
    }

    /// The newest event's seq (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let (seq,): (Option<i64>,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MAX(seq) FROM golden_events")
                .fetch_one(pool)
                .await
                .doing("reading the change feed's head")?
        });
        Ok(seq.unwrap_or(0))
    }
}
