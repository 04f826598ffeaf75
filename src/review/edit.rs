//! Stewards' decisions and manual corrections. Each one takes the sync lock (so it never races a
//! publishing run), changes the golden records at once, records the constraints that keep the
//! change in every later sync, and is audited, all in one transaction.

use super::{ReviewError, Steward};
use crate::golden::{
    check_pin, format_id, golden_version, EventKind, GoldenColumn, GoldenVersion, Lineage,
    NewEvent, Pin, PreviousGolden, Redirect, Survivorship,
};
use crate::record::{Record, SourceKey};
use crate::store::{
    lineage_changes, ConflictStatus, GoldenView, LinkKind, LockGuard, ReviewItem, ReviewStatus,
    StewardAction, StewardChange, Store, SYNC_LOCK,
};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

/// What a steward's action did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Edited {
    pub audit_id: i64,
    pub action: StewardAction,
    /// The golden IDs that stand for the customers concerned, after the action.
    pub golden_ids: Vec<String>,
    /// IDs merged away (they now redirect).
    pub retired: Vec<String>,
    pub message: String,
}

/// Larger products of records are refused: a steward is not deciding about that many people.
const MAX_LINKS: usize = 100_000;
/// `updated_run`/`created_run` of golden records changed by a steward rather than a sync.
const STEWARD_RUN: &str = "steward";

pub(super) async fn take_lock(store: &Store, who: &Steward) -> Result<LockGuard, ReviewError> {
    let holder = format!("steward {} on {}", who.actor, crate::runtime::runner_id());
    Ok(store
        .acquire_lock(SYNC_LOCK, &holder, Duration::from_secs(120))
        .await?)
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

pub(super) async fn current(store: &Store, id: &str) -> Result<GoldenView, ReviewError> {
    store
        .golden_view(id)
        .await?
        .ok_or_else(|| ReviewError::NotFound(format!("no golden customer {id}")))
}

pub(super) async fn identity(store: &Store, id: &str) -> Result<PreviousGolden, ReviewError> {
    store
        .golden_identity(id)
        .await?
        .ok_or_else(|| ReviewError::NotFound(format!("no golden customer {id}")))
}

async fn item(store: &Store, id: i64) -> Result<ReviewItem, ReviewError> {
    store.review_item(id).await?.ok_or_else(|| {
        ReviewError::NotFound(format!("no review item {id}: see `gild review list`"))
    })
}

/// Active pins of these golden IDs, oldest first.
pub(super) async fn pins_of(store: &Store, ids: &[&str]) -> Result<Vec<Pin>, ReviewError> {
    Ok(store
        .active_pins()
        .await?
        .into_iter()
        .filter(|p| ids.contains(&p.golden_id.as_str()))
        .map(|p| Pin {
            field: p.field,
            value: p.value,
            decision_id: p.decision_id,
            by: p.by,
        })
        .collect())
}

pub(super) fn keys(view: &GoldenView) -> Vec<SourceKey> {
    view.records
        .iter()
        .map(|l| SourceKey::new(l.source.clone(), l.key.clone()))
        .collect()
}

pub(super) fn records(view: &GoldenView) -> Vec<&Record> {
    view.records.iter().map(|l| &l.record).collect()
}

/// Sets ID and timestamps: an existing customer keeps its creation, a new one is created now.
pub(super) fn stamp(
    version: &mut GoldenVersion,
    id: &str,
    existing: Option<&PreviousGolden>,
    new_seq: i64,
) {
    let at = crate::clock::now();
    let row = &mut version.record;
    row.golden_id = id.to_string();
    match existing {
        Some(p) => {
            version.created_seq = p.created_seq;
            row.created_run = p.created_run.clone();
            row.created_at = p.created_at;
        }
        None => {
            version.created_seq = new_seq;
            row.created_run = STEWARD_RUN.into();
            row.created_at = at;
        }
    }
    row.updated_run = STEWARD_RUN.into();
    row.updated_at = at;
}

pub(super) fn view_summary(v: &GoldenView) -> serde_json::Value {
    json!({
        "golden_id": v.golden.golden_id,
        "fields": v.golden.lineage,
        "records": keys(v).iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn row_summary(v: &GoldenVersion, members: &[&Record]) -> serde_json::Value {
    json!({
        "golden_id": v.record.golden_id,
        "fields": v.record.lineage,
        "records": members.iter().map(|m| m.source_key().to_string()).collect::<Vec<_>>(),
    })
}

pub(super) fn updated(view: &GoldenView, version: &GoldenVersion) -> NewEvent {
    let (before, after) = (&view.golden, &version.record);
    NewEvent {
        kind: EventKind::Updated,
        golden_id: after.golden_id.clone(),
        related_ids: Vec::new(),
        changes: lineage_changes(
            Some((&before.lineage.to_value(), before.record_count)),
            Some((&after.lineage.to_value(), after.record_count)),
        ),
    }
}

/// One field's lineage as JSON; null when it has none or is no golden field.
pub(super) fn origin_json(lineage: &Lineage, field: &str) -> serde_json::Value {
    GoldenColumn::parse(field)
        .and_then(|c| lineage.get(c))
        .and_then(|o| serde_json::to_value(o).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Every pair across two sets of records.
fn across(
    kind: LinkKind,
    xs: &[SourceKey],
    ys: &[SourceKey],
) -> Result<Vec<(LinkKind, SourceKey, SourceKey)>, ReviewError> {
    if xs.len() * ys.len() > MAX_LINKS {
        return Err(ReviewError::Invalid(format!(
            "{} x {} records is more than a steward's decision covers ({MAX_LINKS} pairs); split the customer in smaller steps",
            xs.len(),
            ys.len()
        )));
    }
    Ok(xs
        .iter()
        .flat_map(|x| ys.iter().map(move |y| (kind, x.clone(), y.clone())))
        .collect())
}

/// Links every record to the first: the records are one customer.
fn star(keys: &[SourceKey]) -> Vec<(LinkKind, SourceKey, SourceKey)> {
    keys.iter()
        .skip(1)
        .map(|k| (LinkKind::MustLink, keys[0].clone(), k.clone()))
        .collect()
}

/// Active decisions of `kind` between the two sets (or within one set when `ys` is None).
async fn contradicted(
    store: &Store,
    kind: LinkKind,
    xs: &[SourceKey],
    ys: Option<&[SourceKey]>,
) -> Result<Vec<i64>, ReviewError> {
    let x: HashSet<&SourceKey> = xs.iter().collect();
    let y: HashSet<&SourceKey> = ys.unwrap_or(xs).iter().collect();
    Ok(store
        .active_links()
        .await?
        .into_iter()
        .filter(|l| {
            l.kind == kind
                && ((x.contains(&l.a) && y.contains(&l.b))
                    || (y.contains(&l.a) && x.contains(&l.b)))
        })
        .map(|l| l.decision_id)
        .collect())
}

/// `gild golden merge A B`: one customer from two; the older ID survives, the other redirects.
pub async fn merge(
    store: &Store,
    survivorship: &Survivorship,
    a: &str,
    b: &str,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    locked!(
        store,
        who,
        merge_locked(
            store,
            survivorship,
            a,
            b,
            who,
            StewardAction::GoldenMerge,
            None
        )
    )
}

async fn merge_locked(
    store: &Store,
    survivorship: &Survivorship,
    a: &str,
    b: &str,
    who: &Steward,
    action: StewardAction,
    review: Option<i64>,
) -> Result<Edited, ReviewError> {
    let (va, vb) = (current(store, a).await?, current(store, b).await?);
    let (ida, idb) = (va.golden.golden_id.clone(), vb.golden.golden_id.clone());
    if ida == idb {
        return Err(ReviewError::Invalid(format!(
            "{a} and {b} are already one customer ({ida})"
        )));
    }
    let (ia, ib) = (identity(store, &ida).await?, identity(store, &idb).await?);
    let (keep, gone, kept_identity) = if (ia.created_seq, &ida) <= (ib.created_seq, &idb) {
        (va, vb, ia)
    } else {
        (vb, va, ib)
    };
    let (keep_id, gone_id) = (keep.golden.golden_id.clone(), gone.golden.golden_id.clone());
    let members: Vec<&Record> = records(&keep).into_iter().chain(records(&gone)).collect();
    let pins = pins_of(store, &[&keep_id, &gone_id]).await?;
    let mut row = golden_version(survivorship, &members, &pins);
    stamp(&mut row, &keep_id, Some(&kept_identity), 0);
    let all: Vec<SourceKey> = keys(&keep).into_iter().chain(keys(&gone)).collect();
    let target = match review {
        Some(item) => format!("review {item}: {keep_id} + {gone_id}"),
        None => format!("{keep_id} + {gone_id}"),
    };
    let change = StewardChange {
        before: json!([view_summary(&keep), view_summary(&gone)]),
        after: row_summary(&row, &members),
        links: star(&all),
        deactivate: contradicted(store, LinkKind::CannotLink, &all, None).await?,
        events: vec![
            NewEvent {
                kind: EventKind::Merged,
                golden_id: keep_id.clone(),
                related_ids: vec![gone_id.clone()],
                changes: json!({}),
            },
            updated(&keep, &row),
        ],
        moves: keys(&gone)
            .into_iter()
            .map(|k| (k, keep_id.clone()))
            .collect(),
        redirects: vec![Redirect {
            old_id: gone_id.clone(),
            new_id: keep_id.clone(),
            reason: "merged by a steward".into(),
        }],
        golden_deletes: vec![gone_id.clone()],
        golden_upserts: vec![row],
        review_status: review.map(|i| (i, ReviewStatus::Accepted)),
        ..StewardChange::new(who.actor.clone(), action, target, who.note.clone())
    };
    let audit_id = store.apply_steward_change(&change).await?;
    Ok(Edited {
        audit_id,
        action,
        golden_ids: vec![keep_id.clone()],
        retired: vec![gone_id.clone()],
        message: format!("merged {gone_id} into {keep_id}; {gone_id} now redirects to {keep_id}"),
    })
}

/// `gild golden split ID --records ...`: the named records become another customer. The larger
/// part keeps the ID; the other gets a new one.
pub async fn split(
    store: &Store,
    survivorship: &Survivorship,
    id: &str,
    part: &[SourceKey],
    who: &Steward,
) -> Result<Edited, ReviewError> {
    locked!(
        store,
        who,
        split_locked(store, survivorship, id, part, who, None)
    )
}

/// The split; `conflict`: the field conflict it settles (its audit action and status).
pub(super) async fn split_locked(
    store: &Store,
    survivorship: &Survivorship,
    id: &str,
    part: &[SourceKey],
    who: &Steward,
    conflict: Option<i64>,
) -> Result<Edited, ReviewError> {
    let view = current(store, id).await?;
    let gid = view.golden.golden_id.clone();
    let all = keys(&view);
    if part.is_empty() {
        return Err(ReviewError::Invalid(
            "name the records to split off, e.g. --records crm:1001,billing:B-77".into(),
        ));
    }
    for k in part {
        if !all.contains(k) {
            return Err(ReviewError::Invalid(format!(
                "{k} is not a record of {gid}; `gild golden show {gid}` lists its records"
            )));
        }
    }
    let named: HashSet<&SourceKey> = part.iter().collect();
    if named.len() == all.len() {
        return Err(ReviewError::Invalid(format!(
            "these are all of {gid}'s records: name only those that belong to another customer"
        )));
    }
    let (p_idx, r_idx): (Vec<usize>, Vec<usize>) =
        (0..all.len()).partition(|&i| named.contains(&all[i]));
    let pick = |idx: &[usize]| -> (Vec<SourceKey>, Vec<&Record>) {
        (
            idx.iter().map(|&i| all[i].clone()).collect(),
            idx.iter().map(|&i| &view.records[i].record).collect(),
        )
    };
    let ((p_keys, p_recs), (r_keys, r_recs)) = (pick(&p_idx), pick(&r_idx));
    // The larger part keeps the ID; on a tie, the records not named keep it.
    let named_keep = p_keys.len() > r_keys.len();
    let (kept, off) = if named_keep {
        ((&p_keys, &p_recs), (&r_keys, &r_recs))
    } else {
        ((&r_keys, &r_recs), (&p_keys, &p_recs))
    };
    let ident = identity(store, &gid).await?;
    let seq = store.next_golden_seq().await?;
    let new_id = format_id(seq);
    let pins = pins_of(store, &[&gid]).await?;
    let mut kept_row = golden_version(survivorship, kept.1, &pins);
    stamp(&mut kept_row, &gid, Some(&ident), 0);
    let mut new_row = golden_version(survivorship, off.1, &[]);
    stamp(&mut new_row, &new_id, None, seq);

    let mut links = across(LinkKind::CannotLink, &p_keys, &r_keys)?;
    links.extend(star(&p_keys));
    let (action, target) = match conflict {
        Some(item) => (
            StewardAction::ConflictSplit,
            format!("conflict C{item}: {gid} -> {gid} + {new_id}"),
        ),
        None => (
            StewardAction::GoldenSplit,
            format!("{gid} -> {gid} + {new_id}"),
        ),
    };
    let change = StewardChange {
        before: view_summary(&view),
        after: json!([row_summary(&kept_row, kept.1), row_summary(&new_row, off.1)]),
        links,
        deactivate: contradicted(store, LinkKind::MustLink, &p_keys, Some(&r_keys)).await?,
        events: vec![
            NewEvent {
                kind: EventKind::Split,
                golden_id: gid.clone(),
                related_ids: vec![new_id.clone()],
                changes: json!({}),
            },
            updated(&view, &kept_row),
            NewEvent {
                kind: EventKind::Created,
                golden_id: new_id.clone(),
                related_ids: vec![gid.clone()],
                changes: lineage_changes(
                    None,
                    Some((
                        &new_row.record.lineage.to_value(),
                        new_row.record.record_count,
                    )),
                ),
            },
        ],
        moves: off.0.iter().map(|k| (k.clone(), new_id.clone())).collect(),
        golden_upserts: vec![kept_row, new_row],
        next_golden_seq: Some(seq + 1),
        conflict_status: conflict.map(|i| (i, ConflictStatus::Split)),
        ..StewardChange::new(who.actor.clone(), action, target, who.note.clone())
    };
    let audit_id = store.apply_steward_change(&change).await?;
    Ok(Edited {
        audit_id,
        action,
        golden_ids: vec![gid.clone(), new_id.clone()],
        retired: Vec::new(),
        message: format!(
            "split {gid}: {} record(s) stay in {gid}, {} moved to the new customer {new_id}",
            kept.0.len(),
            off.0.len()
        ),
    })
}

/// `gild golden pin ID FIELD VALUE`: the value stands whatever survivorship would choose.
pub async fn pin(
    store: &Store,
    survivorship: &Survivorship,
    id: &str,
    field: &str,
    value: &str,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    check_pin(field, value).map_err(ReviewError::Invalid)?;
    locked!(
        store,
        who,
        repin(store, survivorship, id, field, Some(value), who)
    )
}

/// `gild golden unpin ID FIELD`: survivorship chooses the field again.
pub async fn unpin(
    store: &Store,
    survivorship: &Survivorship,
    id: &str,
    field: &str,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    locked!(store, who, repin(store, survivorship, id, field, None, who))
}

async fn repin(
    store: &Store,
    survivorship: &Survivorship,
    id: &str,
    field: &str,
    value: Option<&str>,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    let view = current(store, id).await?;
    let gid = view.golden.golden_id.clone();
    let existing = pins_of(store, &[&gid]).await?;
    let (replaced, mut pins): (Vec<Pin>, Vec<Pin>) =
        existing.into_iter().partition(|p| p.field == field);
    if value.is_none() && replaced.is_empty() {
        return Err(ReviewError::Invalid(format!("{gid} has no pinned {field}")));
    }
    if let Some(v) = value {
        pins.push(Pin {
            field: field.into(),
            value: v.into(),
            decision_id: i64::MAX,
            by: who.actor.clone(),
        });
    }
    let ident = identity(store, &gid).await?;
    let members = records(&view);
    let mut row = golden_version(survivorship, &members, &pins);
    stamp(&mut row, &gid, Some(&ident), 0);
    let before = origin_json(&view.golden.lineage, field);
    let after = origin_json(&row.record.lineage, field);
    let action = if value.is_some() {
        StewardAction::GoldenPin
    } else {
        StewardAction::GoldenUnpin
    };
    let target = format!("{gid} {field}");
    let change = StewardChange {
        before: json!({ field: before }),
        after: json!({ field: after }),
        pins: value
            .map(|v| vec![(gid.clone(), field.to_string(), v.to_string())])
            .unwrap_or_default(),
        deactivate: replaced.iter().map(|p| p.decision_id).collect(),
        events: vec![updated(&view, &row)],
        golden_upserts: vec![row],
        ..StewardChange::new(who.actor.clone(), action, target, who.note.clone())
    };
    let audit_id = store.apply_steward_change(&change).await?;
    Ok(Edited {
        audit_id,
        action,
        golden_ids: vec![gid.clone()],
        retired: Vec::new(),
        message: match value {
            Some(v) => format!("pinned {gid} {field} = {v:?}"),
            None => format!("unpinned {gid} {field}: survivorship chooses it again"),
        },
    })
}

/// `gild review accept ID`: the two customers are one: merged now and from now on.
pub async fn accept(
    store: &Store,
    survivorship: &Survivorship,
    item_id: i64,
    who: &Steward,
) -> Result<Edited, ReviewError> {
    locked!(store, who, async {
        let it = item(store, item_id).await?;
        let (va, vb) = (
            current(store, &it.golden_a).await?,
            current(store, &it.golden_b).await?,
        );
        if va.golden.golden_id == vb.golden.golden_id {
            // Merged since it was queued: the decision is recorded all the same.
            let id = va.golden.golden_id.clone();
            let all: Vec<SourceKey> = keys(&va);
            let target = format!("review {item_id}: {id}");
            let change = StewardChange {
                before: view_summary(&va),
                after: view_summary(&va),
                links: star(&all),
                review_status: Some((item_id, ReviewStatus::Accepted)),
                ..StewardChange::new(
                    who.actor.clone(),
                    StewardAction::ReviewAccept,
                    target,
                    who.note.clone(),
                )
            };
            let audit_id = store.apply_steward_change(&change).await?;
            return Ok(Edited {
                audit_id,
                action: StewardAction::ReviewAccept,
                golden_ids: vec![id.clone()],
                retired: Vec::new(),
                message: format!("accepted: already one customer ({id})"),
            });
        }
        merge_locked(
            store,
            survivorship,
            &it.golden_a,
            &it.golden_b,
            who,
            StewardAction::ReviewAccept,
            Some(item_id),
        )
        .await
    })
}

/// `gild review reject ID`: different customers, now and in every later sync.
pub async fn reject(store: &Store, item_id: i64, who: &Steward) -> Result<Edited, ReviewError> {
    locked!(store, who, async {
        let it = item(store, item_id).await?;
        let (va, vb) = (
            current(store, &it.golden_a).await?,
            current(store, &it.golden_b).await?,
        );
        let (ida, idb) = (va.golden.golden_id.clone(), vb.golden.golden_id.clone());
        if ida == idb {
            return Err(ReviewError::Invalid(format!(
                "{} and {} were merged into {ida} since this item was queued; to part them, use `gild golden split {ida} --records ...`",
                it.golden_a, it.golden_b
            )));
        }
        let (ka, kb) = (keys(&va), keys(&vb));
        let target = format!("review {item_id}: {ida} / {idb}");
        let change = StewardChange {
            before: json!([view_summary(&va), view_summary(&vb)]),
            after: json!([view_summary(&va), view_summary(&vb)]),
            links: across(LinkKind::CannotLink, &ka, &kb)?,
            deactivate: contradicted(store, LinkKind::MustLink, &ka, Some(&kb)).await?,
            review_status: Some((item_id, ReviewStatus::Rejected)),
            ..StewardChange::new(
                who.actor.clone(),
                StewardAction::ReviewReject,
                target,
                who.note.clone(),
            )
        };
        let audit_id = store.apply_steward_change(&change).await?;
        Ok(Edited {
            audit_id,
            action: StewardAction::ReviewReject,
            golden_ids: vec![ida.clone(), idb.clone()],
            retired: Vec::new(),
            message: format!("rejected: {ida} and {idb} stay apart in every later sync"),
        })
    })
}

/// `gild review defer ID`: not now; the item moves behind the open ones.
pub async fn defer(store: &Store, item_id: i64, who: &Steward) -> Result<Edited, ReviewError> {
    let it = item(store, item_id).await?;
    let target = format!("review {item_id}: {} / {}", it.golden_a, it.golden_b);
    let change = StewardChange {
        before: json!({"status": it.status}),
        after: json!({"status": ReviewStatus::Deferred}),
        review_status: Some((item_id, ReviewStatus::Deferred)),
        ..StewardChange::new(
            who.actor.clone(),
            StewardAction::ReviewDefer,
            target,
            who.note.clone(),
        )
    };
    let audit_id = store.apply_steward_change(&change).await?;
    Ok(Edited {
        audit_id,
        action: StewardAction::ReviewDefer,
        golden_ids: vec![it.golden_a, it.golden_b],
        retired: Vec::new(),
        message: format!("deferred review item {item_id}"),
    })
}
