//! Field conflicts in the stewards' queue: items of their own kind beside the pairs, and the
//! three ways to settle one. Choosing a value pins it on the golden ID (as `golden pin` does);
//! accepting keeps the value survivorship chose; splitting moves the records carrying the other
//! value to a customer of their own (two dates of birth are often two people). Each decision is
//! audited and holds in later syncs until the values or the records carrying them change.

use super::edit::{
    current, identity, origin_json, pins_of, records, split_locked, stamp, take_lock, updated,
};
use super::{Edited, ReviewError, Steward};
use crate::golden::{
    check_pin, golden_version, CompetingValue, EventKind, NewEvent, Pin, Survivorship,
};
use crate::record::SourceKey;
use crate::store::{ConflictItem, ConflictStatus, ReviewItem, StewardAction, StewardChange, Store};
use serde_json::json;
use std::cmp::Ordering;

/// An item of the queue as a steward names it: `12` a pair, `C7` a field conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef {
    Pair(i64),
    Conflict(i64),
}

impl std::str::FromStr for ItemRef {
    type Err = String;
    fn from_str(s: &str) -> Result<ItemRef, String> {
        let bad =
            || format!("{s:?} is not a review item: write 12 for a pair, C7 for a field conflict");
        match s.strip_prefix(['C', 'c']) {
            Some(n) => n.parse().map(ItemRef::Conflict).map_err(|_| bad()),
            None => s.parse().map(ItemRef::Pair).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for ItemRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemRef::Pair(n) => write!(f, "{n}"),
            ItemRef::Conflict(n) => write!(f, "C{n}"),
        }
    }
}

/// One item of the stewards' queue: a pair of customers, or a field conflict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum QueueEntry {
    Pair(ReviewItem),
    Conflict(ConflictItem),
}

impl QueueEntry {
    pub fn id(&self) -> ItemRef {
        match self {
            QueueEntry::Pair(p) => ItemRef::Pair(p.item_id),
            QueueEntry::Conflict(c) => ItemRef::Conflict(c.item_id),
        }
    }

    /// What a decision is worth: a pair's impact, a conflict's priority.
    pub fn worth(&self) -> f64 {
        match self {
            QueueEntry::Pair(p) => p.impact,
            QueueEntry::Conflict(c) => c.priority,
        }
    }

    /// 0 open, 1 deferred, 2 decided or resolved.
    fn waiting(&self) -> u8 {
        let (open, deferred) = match self {
            QueueEntry::Pair(p) => (
                p.status == crate::store::ReviewStatus::Open,
                p.status == crate::store::ReviewStatus::Deferred,
            ),
            QueueEntry::Conflict(c) => (
                c.status == ConflictStatus::Open,
                c.status == ConflictStatus::Deferred,
            ),
        };
        if open {
            0
        } else if deferred {
            1
        } else {
            2
        }
    }
}

/// The queue's order, the one place it is decided: open before deferred before the rest, then
/// what a decision is worth, highest first, then pairs before conflicts, then item number.
pub fn queue_order(a: &QueueEntry, b: &QueueEntry) -> Ordering {
    a.waiting()
        .cmp(&b.waiting())
        .then_with(|| b.worth().total_cmp(&a.worth()))
        .then_with(|| match (a.id(), b.id()) {
            (ItemRef::Pair(x), ItemRef::Pair(y)) | (ItemRef::Conflict(x), ItemRef::Conflict(y)) => {
                x.cmp(&y)
            }
            (ItemRef::Pair(_), ItemRef::Conflict(_)) => Ordering::Less,
            (ItemRef::Conflict(_), ItemRef::Pair(_)) => Ordering::Greater,
        })
}

/// The queue, pairs and conflicts together; with `all`, decided and resolved items too.
pub async fn queue(store: &Store, all: bool, limit: i64) -> Result<Vec<QueueEntry>, ReviewError> {
    let mut entries: Vec<QueueEntry> = store
        .review_queue(all, limit)
        .await?
        .into_iter()
        .map(QueueEntry::Pair)
        .chain(
            store
                .conflict_queue(all, limit)
                .await?
                .into_iter()
                .map(QueueEntry::Conflict),
        )
        .collect();
    entries.sort_by(queue_order);
    entries.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(entries)
}

async fn conflict(store: &Store, item_id: i64) -> Result<ConflictItem, ReviewError> {
    store.conflict_item(item_id).await?.ok_or_else(|| {
        ReviewError::NotFound(format!(
            "no field conflict C{item_id}: see `gild review list`"
        ))
    })
}

/// A field conflict with its customer as it stands now.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConflictShow {
    pub item: ConflictItem,
    /// The golden ID that stands for the customer now (merges followed).
    pub golden_id: String,
    pub full_name: Option<String>,
}

pub async fn show_conflict(store: &Store, item_id: i64) -> Result<ConflictShow, ReviewError> {
    let item = conflict(store, item_id).await?;
    let view = current(store, &item.golden_id).await?;
    Ok(ConflictShow {
        golden_id: view.golden.golden_id.clone(),
        full_name: view.golden.full_name.clone(),
        item,
    })
}

/// The competing value a steward numbered (from 1, as `review show` lists them).
fn numbered(item: &ConflictItem, n: usize) -> Result<&CompetingValue, ReviewError> {
    n.checked_sub(1)
        .and_then(|i| item.competing.get(i))
        .ok_or_else(|| {
            ReviewError::Invalid(format!(
                "C{} has values 1 to {}: `gild review show C{}` lists them",
                item.item_id,
                item.competing.len(),
                item.item_id
            ))
        })
}

/// Runs `op` under the sync lock, releasing it whatever the outcome.
macro_rules! locked {
    ($store:expr, $who:expr, $op:expr) => {{
        let lock = take_lock($store, $who).await?;
        let out = $op.await;
        lock.release().await?;
        out
    }};
}

/// `gild review accept C7`: the value survivorship chose is right; the item stays settled while
/// the values and their records stay the same.
pub async fn accept_conflict(
    store: &Store,
    item_id: i64,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    settle(store, item_id, who, ConflictStatus::Accepted).await
}

/// `gild review defer C7`: not now.
pub async fn defer_conflict(
    store: &Store,
    item_id: i64,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    settle(store, item_id, who, ConflictStatus::Deferred).await
}

async fn settle(
    store: &Store,
    item_id: i64,
    who: &Steward,
    status: ConflictStatus,
) -> Result<Edited, ReviewError> {
    let item = conflict(store, item_id).await?;
    let action = match status {
        ConflictStatus::Deferred => StewardAction::ConflictDefer,
        _ => StewardAction::ConflictAccept,
    };
    let shown = item
        .competing
        .iter()
        .find(|v| v.won)
        .map(|v| v.value.clone());
    let target = format!(
        "conflict C{item_id}: {} {}",
        item.golden_id,
        item.field.name()
    );
    // An accepted conflict is in the change feed like the other decisions: readers learn
    // that the value shown is settled. Deferring decides nothing.
    let events = match status {
        ConflictStatus::Deferred => Vec::new(),
        _ => vec![NewEvent {
            kind: EventKind::Resolved,
            golden_id: item.golden_id.clone(),
            related_ids: Vec::new(),
            changes: json!({ item.field.name(): {"status": status, "value": shown} }),
        }],
    };
    let change = StewardChange {
        before: json!({"status": item.status}),
        after: json!({"status": status, "value": shown}),
        conflict_status: Some((item_id, status)),
        events,
        ..StewardChange::new(who.actor.clone(), action, target, who.note.clone())
    };
    let audit_id = store.apply_steward_change(&change).await?;
    Ok(Edited {
        audit_id,
        action,
        golden_ids: vec![item.golden_id.clone()],
        retired: Vec::new(),
        message: match status {
            ConflictStatus::Deferred => format!("deferred field conflict C{item_id}"),
            _ => format!(
                "accepted: {} keeps its {} as survivorship chose it",
                item.golden_id,
                item.field.name()
            ),
        },
    })
}

/// `gild review choose C7 N`: the Nth value stands, pinned on the golden ID (each part of an
/// address), whatever survivorship says in later syncs.
pub async fn choose_conflict(
    store: &Store,
    survivorship: &Survivorship,
    item_id: i64,
    n: usize,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    let item = conflict(store, item_id).await?;
    let chosen = numbered(&item, n)?.clone();
    for (field, value) in &chosen.columns {
        check_pin(field, value).map_err(ReviewError::Invalid)?;
    }
    locked!(store, who, async {
        let view = current(store, &item.golden_id).await?;
        let gid = view.golden.golden_id.clone();
        let existing = pins_of(store, &[&gid]).await?;
        let (replaced, mut pins): (Vec<Pin>, Vec<Pin>) = existing
            .into_iter()
            .partition(|p| chosen.columns.iter().any(|(f, _)| *f == p.field));
        for (field, value) in &chosen.columns {
            pins.push(Pin {
                field: field.clone(),
                value: value.clone(),
                decision_id: i64::MAX,
                by: who.actor.clone(),
            });
        }
        let ident = identity(store, &gid).await?;
        let members = records(&view);
        let mut row = golden_version(survivorship, &members, &pins);
        stamp(&mut row, &gid, Some(&ident), 0);
        let before: serde_json::Map<String, serde_json::Value> = chosen
            .columns
            .iter()
            .map(|(f, _)| (f.clone(), origin_json(&view.golden.lineage, f)))
            .collect();
        let after: serde_json::Map<String, serde_json::Value> = chosen
            .columns
            .iter()
            .map(|(f, _)| (f.clone(), origin_json(&row.record.lineage, f)))
            .collect();
        let target = format!("conflict C{item_id}: {gid} {}", item.field.name());
        let change = StewardChange {
            before: serde_json::Value::Object(before),
            after: serde_json::Value::Object(after),
            pins: chosen
                .columns
                .iter()
                .map(|(f, v)| (gid.clone(), f.clone(), v.clone()))
                .collect(),
            deactivate: replaced.iter().map(|p| p.decision_id).collect(),
            events: vec![updated(&view, &row)],
            golden_upserts: vec![row],
            conflict_status: Some((item_id, ConflictStatus::Chosen)),
            ..StewardChange::new(
                who.actor.clone(),
                StewardAction::ConflictChoose,
                target,
                who.note.clone(),
            )
        };
        let audit_id = store.apply_steward_change(&change).await?;
        Ok(Edited {
            audit_id,
            action: StewardAction::ConflictChoose,
            golden_ids: vec![gid.clone()],
            retired: Vec::new(),
            message: format!(
                "chose {gid} {} = {:?}: pinned, whatever survivorship says",
                item.field.name(),
                chosen.value
            ),
        })
    })
}

/// `gild review split C7 [N]`: the records carrying value N (by default every value but the
/// one shown) are another customer, now and in every later sync.
pub async fn split_conflict(
    store: &Store,
    survivorship: &Survivorship,
    item_id: i64,
    n: Option<usize>,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    let item = conflict(store, item_id).await?;
    let Some(kept) = item
        .competing
        .iter()
        .find(|v| v.won)
        .or(item.competing.first())
    else {
        return Err(ReviewError::Invalid(format!(
            "C{item_id} lists no values: run `gild sync` to find the conflict again"
        )));
    };
    let off: Vec<&CompetingValue> = match n {
        Some(n) => vec![numbered(&item, n)?],
        None => item.competing.iter().filter(|v| !v.won).collect(),
    };
    // A record that also carries the kept value stays (two e-mails on one record).
    let mut part: Vec<SourceKey> = off
        .iter()
        .flat_map(|v| v.records.iter())
        .filter(|k| n.is_some() || !kept.records.contains(k))
        .cloned()
        .collect();
    part.sort();
    part.dedup();
    locked!(
        store,
        who,
        split_locked(
            store,
            survivorship,
            &item.golden_id,
            &part,
            who,
            Some(item_id)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_named_by_number_and_conflicts_by_c() {
        assert_eq!("12".parse::<ItemRef>(), Ok(ItemRef::Pair(12)));
        assert_eq!("C7".parse::<ItemRef>(), Ok(ItemRef::Conflict(7)));
        assert_eq!("c7".parse::<ItemRef>(), Ok(ItemRef::Conflict(7)));
        assert!("C".parse::<ItemRef>().is_err());
        assert!("x1".parse::<ItemRef>().is_err());
        assert_eq!(ItemRef::Conflict(7).to_string(), "C7");
    }

    fn pair(id: i64, impact: f64, status: crate::store::ReviewStatus) -> QueueEntry {
        QueueEntry::Pair(ReviewItem {
            item_id: id,
            golden_a: "G1".into(),
            golden_b: "G2".into(),
            kind: crate::decision::ReviewKind::ReviewBand,
            source_a: "crm".into(),
            key_a: "1".into(),
            source_b: "crm".into(),
            key_b: "2".into(),
            match_probability: 0.7,
            record_pairs: 1,
            records: 2,
            impact,
            reason: None,
            status,
            run_id: "r".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            decided_at: None,
            actor: None,
            note: None,
        })
    }

    fn conflict(id: i64, priority: f64, status: ConflictStatus) -> QueueEntry {
        QueueEntry::Conflict(ConflictItem {
            item_id: id,
            golden_id: "G3".into(),
            field: crate::golden::GoldenField::DateOfBirth,
            competing: Vec::new(),
            reason: "evidence".into(),
            uncertainty: 1.0,
            records: 2,
            priority,
            status,
            run_id: "r".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            decided_at: None,
            actor: None,
            note: None,
        })
    }

    #[test]
    fn pairs_and_conflicts_are_ranked_together_by_worth_open_first() {
        use crate::store::ReviewStatus;
        let mut q = [
            pair(1, 1.4, ReviewStatus::Open),
            conflict(1, 2.0, ConflictStatus::Open),
            pair(2, 3.0, ReviewStatus::Deferred),
            conflict(2, 1.4, ConflictStatus::Open),
            conflict(3, 9.0, ConflictStatus::Accepted),
        ];
        q.sort_by(queue_order);
        let order: Vec<String> = q.iter().map(|e| e.id().to_string()).collect();
        assert_eq!(order, ["C1", "1", "C2", "2", "C3"]);
    }
}
