//! Stewards' work in the store: the review queue, decisions (must-link, cannot-link, pinned
//! values) that every later sync honours, the audit trail, and applying a steward's change to
//! the golden records in one transaction.

use super::publish::{upsert_golden, write_redirects};
use super::{insert_events, like, now, on_pool, ConflictStatus, Doing, Store, StoreError};
use crate::cluster::RefusalReason;
use crate::decision::ReviewKind;
use crate::golden::{GoldenVersion, NewEvent, PreviousGolden, Redirect};
use crate::record::SourceKey;
use crate::text_enum::text_enum;
use chrono::{DateTime, Utc};
use sqlx::types::Json;

/// An item of the stewards' queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ReviewItem {
    pub item_id: i64,
    pub golden_a: String,
    pub golden_b: String,
    pub kind: ReviewKind,
    pub source_a: String,
    pub key_a: String,
    pub source_b: String,
    pub key_b: String,
    pub match_probability: f64,
    pub record_pairs: i64,
    pub records: i64,
    pub impact: f64,
    pub reason: Option<RefusalReason>,
    pub status: ReviewStatus,
    pub run_id: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub note: Option<String>,
}

impl ReviewItem {
    pub fn record_a(&self) -> SourceKey {
        SourceKey::new(self.source_a.clone(), self.key_a.clone())
    }
    pub fn record_b(&self) -> SourceKey {
        SourceKey::new(self.source_b.clone(), self.key_b.clone())
    }
    /// Still waiting for a steward.
    pub fn is_pending(&self) -> bool {
        self.status.is_pending()
    }
}

text_enum! {
    /// Where an item of the stewards' queue stands.
    pub enum ReviewStatus ("review item status") {
        /// Waiting for a steward.
        Open = "open",
        /// Put off by a steward: behind the open items.
        Deferred = "deferred",
        /// The steward merged the two customers.
        Accepted = "accepted",
        /// The steward kept them apart.
        Rejected = "rejected",
        /// No longer in question: a later sync did not queue it again.
        Resolved = "resolved",
        /// Not a question: gild kept the two apart on clear evidence (a comparison that forbids
        /// linking disagrees). Listed with `review list --all`; a steward may still decide it.
        Settled = "settled",
    }
}

impl ReviewStatus {
    /// Still waiting for a steward.
    pub fn is_pending(self) -> bool {
        matches!(self, ReviewStatus::Open | ReviewStatus::Deferred)
    }
}

text_enum! {
    /// What a steward did, as the audit trail names it.
    pub enum StewardAction ("steward action") {
        ReviewAccept = "review.accept",
        ReviewReject = "review.reject",
        ReviewDefer = "review.defer",
        GoldenMerge = "golden.merge",
        GoldenSplit = "golden.split",
        GoldenPin = "golden.pin",
        GoldenUnpin = "golden.unpin",
        /// Field conflicts: keep the survivor, choose (pin) a value, split the records off,
        /// or put it off.
        ConflictAccept = "conflict.accept",
        ConflictChoose = "conflict.choose",
        ConflictSplit = "conflict.split",
        ConflictDefer = "conflict.defer",
    }
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    pub audit_id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: StewardAction,
    pub target: String,
    pub note: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

text_enum! {
    /// A steward's decision about two source records.
    pub enum LinkKind ("link kind") {
        /// The same customer.
        MustLink = "must_link",
        /// Different customers.
        CannotLink = "cannot_link",
    }
}

/// A must-link or cannot-link between two source records.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkDecision {
    pub decision_id: i64,
    pub kind: LinkKind,
    pub a: SourceKey,
    pub b: SourceKey,
}

/// A pinned golden field value, with the golden ID it now applies to (redirects followed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PinDecision {
    pub decision_id: i64,
    pub golden_id: String,
    pub field: String,
    pub value: String,
    /// Who pinned it.
    pub by: String,
}

/// What one steward action changes, written in one transaction with its audit line.
#[derive(Debug, Clone)]
pub struct StewardChange {
    pub actor: String,
    pub action: StewardAction,
    pub target: String,
    pub note: Option<String>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub links: Vec<(LinkKind, SourceKey, SourceKey)>,
    /// (golden id, field, value)
    pub pins: Vec<(String, String, String)>,
    /// Earlier decisions this one replaces.
    pub deactivate: Vec<i64>,
    pub golden_upserts: Vec<GoldenVersion>,
    pub golden_deletes: Vec<String>,
    pub redirects: Vec<Redirect>,
    /// Source records that move to another golden customer.
    pub moves: Vec<(SourceKey, String)>,
    pub events: Vec<NewEvent>,
    pub next_golden_seq: Option<i64>,
    /// (item, new status)
    pub review_status: Option<(i64, ReviewStatus)>,
    /// (field conflict item, new status)
    pub conflict_status: Option<(i64, ConflictStatus)>,
}

impl StewardChange {
    /// A change that records `action` and changes nothing yet: the caller sets what it changes.
    pub fn new(
        actor: String,
        action: StewardAction,
        target: String,
        note: Option<String>,
    ) -> StewardChange {
        StewardChange {
            actor,
            action,
            target,
            note,
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
            links: Vec::new(),
            pins: Vec::new(),
            deactivate: Vec::new(),
            golden_upserts: Vec::new(),
            golden_deletes: Vec::new(),
            redirects: Vec::new(),
            moves: Vec::new(),
            events: Vec::new(),
            next_golden_seq: None,
            review_status: None,
            conflict_status: None,
        }
    }
}

const ITEM_COLUMNS: &str =
    "item_id, golden_a, golden_b, kind, source_a, key_a, source_b, key_b, match_probability, \
    record_pairs, records, impact, reason, status, run_id, created_at, decided_at, actor, note";

type AuditRow = (
    i64,
    DateTime<Utc>,
    String,
    StewardAction,
    String,
    Option<String>,
    Option<Json<serde_json::Value>>,
    Option<Json<serde_json::Value>>,
);

impl Store {
    /// The queue: pending items (open before deferred), highest impact first; with `all`, decided
    /// and resolved ones too.
    pub async fn review_queue(&self, all: bool, limit: i64) -> Result<Vec<ReviewItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM review_items WHERE $1 OR status IN ($3, $4) \
             ORDER BY CASE status WHEN $3 THEN 0 WHEN $4 THEN 1 ELSE 2 END, impact DESC, item_id LIMIT $2"
        );
        let rows: Vec<ReviewItem> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(all)
                .bind(limit)
                .bind(ReviewStatus::Open)
                .bind(ReviewStatus::Deferred)
                .fetch_all(pool)
                .await
                .doing("reading the review queue")?
        });
        Ok(rows)
    }

    pub async fn review_counts(&self) -> Result<Vec<(ReviewStatus, i64)>, StoreError> {
        let rows: Vec<(ReviewStatus, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM review_items GROUP BY status ORDER BY status")
                .fetch_all(pool)
                .await
                .doing("counting review items")?
        });
        Ok(rows)
    }

    pub async fn review_item(&self, item_id: i64) -> Result<Option<ReviewItem>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM review_items WHERE item_id = $1");
        let row: Option<ReviewItem> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(item_id)
                .fetch_optional(pool)
                .await
                .doing("reading a review item")?
        });
        Ok(row)
    }

    /// Active must-link and cannot-link decisions, oldest first.
    pub async fn active_links(&self) -> Result<Vec<LinkDecision>, StoreError> {
        let rows: Vec<(i64, LinkKind, String, String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT decision_id, kind, source_a, key_a, source_b, key_b FROM steward_decisions \
                 WHERE active AND kind IN ('must_link', 'cannot_link') ORDER BY decision_id",
            )
            .fetch_all(pool)
            .await
            .doing("reading stewards' link decisions")?
        });
        Ok(rows
            .into_iter()
            .map(|(decision_id, kind, sa, ka, sb, kb)| LinkDecision {
                decision_id,
                kind,
                a: SourceKey::new(sa, ka),
                b: SourceKey::new(sb, kb),
            })
            .collect())
    }

    /// Active pins, oldest first, each on the golden ID that now stands for its customer.
    pub async fn active_pins(&self) -> Result<Vec<PinDecision>, StoreError> {
        let rows: Vec<(i64, String, String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.decision_id, COALESCE(r.new_id, d.golden_id), d.field, d.value, a.actor FROM steward_decisions d \
                 JOIN audit_log a ON a.audit_id = d.audit_id \
                 LEFT JOIN golden_redirects r ON r.old_id = d.golden_id \
                 WHERE d.active AND d.kind = 'pin' ORDER BY d.decision_id",
            )
            .fetch_all(pool)
            .await
            .doing("reading pinned values")?
        });
        Ok(rows
            .into_iter()
            .map(|(decision_id, golden_id, field, value, by)| PinDecision {
                decision_id,
                golden_id,
                field,
                value,
                by,
            })
            .collect())
    }

    /// The audit trail, newest first; `target` filters on a golden ID or item.
    pub async fn audit_trail(
        &self,
        target: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let pattern = target.map(like::containing);
        let rows: Vec<AuditRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT audit_id, at, actor, action, target, note, before, after FROM audit_log \
                 WHERE $1 IS NULL OR target LIKE $1 ESCAPE '\\' ORDER BY audit_id DESC LIMIT $2",
            )
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await
            .doing("reading the audit trail")?
        });
        Ok(rows
            .into_iter()
            .map(
                |(audit_id, at, actor, action, target, note, before, after)| AuditRecord {
                    audit_id,
                    at,
                    actor,
                    action,
                    target,
                    note,
                    before: before.map(|j| j.0),
                    after: after.map(|j| j.0),
                },
            )
            .collect())
    }

    /// Writes a steward's change and its audit line in one transaction; returns the audit ID.
    pub async fn apply_steward_change(&self, c: &StewardChange) -> Result<i64, StoreError> {
        let at = now();
        let audit_id = on_pool!(self, pool => {
            let mut tx = pool.begin().await.doing("starting a steward's change")?;
            let (audit_id,): (i64,) = sqlx::query_as(
                "INSERT INTO audit_log (at, actor, action, target, note, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 RETURNING audit_id",
            )
            .bind(at)
            .bind(&c.actor)
            .bind(c.action)
            .bind(&c.target)
            .bind(&c.note)
            .bind(Json(&c.before))
            .bind(Json(&c.after))
            .fetch_one(&mut *tx)
            .await
            .doing("writing the audit trail")?;
            for id in &c.deactivate {
                sqlx::query("UPDATE steward_decisions SET active = FALSE WHERE decision_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .doing("retiring replaced decisions")?;
            }
            for chunk in c.links.chunks(3_000) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO steward_decisions (audit_id, kind, source_a, key_a, source_b, key_b, active, created_at) ",
                );
                qb.push_values(chunk, |mut b, (kind, x, y)| {
                    b.push_bind(audit_id)
                        .push_bind(kind.as_str())
                        .push_bind(x.source.as_str())
                        .push_bind(x.key.as_str())
                        .push_bind(y.source.as_str())
                        .push_bind(y.key.as_str())
                        .push_bind(true)
                        .push_bind(at);
                });
                qb.build().execute(&mut *tx).await.doing("recording link decisions")?;
            }
            for (golden_id, field, value) in &c.pins {
                sqlx::query(
                    "INSERT INTO steward_decisions (audit_id, kind, golden_id, field, value, active, created_at) \
                     VALUES ($1, 'pin', $2, $3, $4, TRUE, $5)",
                )
                .bind(audit_id)
                .bind(golden_id)
                .bind(field)
                .bind(value)
                .bind(at)
                .execute(&mut *tx)
                .await
                .doing("recording a pinned value")?;
            }
            let events = super::events::encode_events(&c.events)?;
            insert_events!(tx, &events, None, Some(audit_id), at);
            for id in &c.golden_deletes {
                sqlx::query("DELETE FROM golden_customers WHERE golden_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .doing("removing a merged golden customer")?;
            }
            upsert_golden!(tx, &c.golden_upserts);
            write_redirects!(tx, &c.redirects, &format!("audit {audit_id}"), at);
            for (key, golden_id) in &c.moves {
                sqlx::query("UPDATE source_records SET golden_id = $1 WHERE source = $2 AND record_key = $3")
                    .bind(golden_id)
                    .bind(key.source.as_str())
                    .bind(key.key.as_str())
                    .execute(&mut *tx)
                    .await
                    .doing("moving records between golden customers")?;
            }
            if let Some(seq) = c.next_golden_seq {
                sqlx::query(
                    "INSERT INTO store_meta (name, value) VALUES ('next_golden_seq', $1) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(seq.to_string())
                .execute(&mut *tx)
                .await
                .doing("writing the golden id counter")?;
            }
            if let Some((item, status)) = c.review_status {
                sqlx::query("UPDATE review_items SET status = $1, decided_at = $2, actor = $3, note = $4 WHERE item_id = $5")
                    .bind(status)
                    .bind(at)
                    .bind(&c.actor)
                    .bind(&c.note)
                    .bind(item)
                    .execute(&mut *tx)
                    .await
                    .doing("recording the review decision")?;
            }
            if let Some((item, status)) = c.conflict_status {
                sqlx::query("UPDATE conflict_items SET status = $1, decided_at = $2, actor = $3, note = $4 WHERE item_id = $5")
                    .bind(status)
                    .bind(at)
                    .bind(&c.actor)
                    .bind(&c.note)
                    .bind(item)
                    .execute(&mut *tx)
                    .await
                    .doing("recording the decision on a field conflict")?;
            }
            tx.commit().await.doing("committing a steward's change")?;
            audit_id
        });
        Ok(audit_id)
    }

    /// What the store knows of one golden customer's identity (None if it does not exist).
    pub async fn golden_identity(
        &self,
        golden_id: &str,
    ) -> Result<Option<PreviousGolden>, StoreError> {
        let row: Option<PreviousGolden> = on_pool!(self, pool => {
            sqlx::query_as("SELECT golden_id, content_hash, created_seq, created_run, created_at FROM golden_customers WHERE golden_id = $1")
                .bind(golden_id)
                .fetch_optional(pool)
                .await
                .doing("reading a golden customer")?
        });
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_stored() {
        for s in ReviewStatus::ALL {
            assert_eq!(s.as_str().parse::<ReviewStatus>(), Ok(*s));
        }
        for a in StewardAction::ALL {
            assert_eq!(a.as_str().parse::<StewardAction>(), Ok(*a));
        }
        for k in LinkKind::ALL {
            assert_eq!(k.as_str().parse::<LinkKind>(), Ok(*k));
        }
        assert_eq!(
            ReviewStatus::NAMES,
            ["open", "deferred", "accepted", "rejected", "resolved", "settled"]
        );
        assert_eq!(
            StewardAction::NAMES,
            [
                "review.accept",
                "review.reject",
                "review.defer",
                "golden.merge",
                "golden.split",
                "golden.pin",
                "golden.unpin",
                "conflict.accept",
                "conflict.choose",
                "conflict.split",
                "conflict.defer"
            ]
        );
        assert_eq!(LinkKind::NAMES, ["must_link", "cannot_link"]);
    }

    #[test]
    fn open_and_deferred_items_are_pending() {
        let pending: Vec<ReviewStatus> = ReviewStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_pending())
            .collect();
        assert_eq!(pending, [ReviewStatus::Open, ReviewStatus::Deferred]);
    }
}
