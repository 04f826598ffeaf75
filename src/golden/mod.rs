//! Golden customer records: one per cluster, fields chosen by survivorship, every field's
//! lineage kept, IDs stable across runs, and the diff against what the store already holds.

mod changes;
mod conflicts;
mod evidence;
mod ids;
mod lineage;
mod record;
mod survivorship;
mod version;

pub use changes::{EventKind, NewEvent, Redirect, StagedChange};
pub use conflicts::{conflicts, CompetingValue, FieldConflict, CONFLICT_FIELDS};
pub use evidence::{Estate, ValueKind};
pub use ids::{assign, format_id, Assignment, Origin};
pub use lineage::{ChosenBy, FieldOrigin, Lineage};
pub use record::{
    FieldValue, GoldenColumn, GoldenFields, GoldenRecord, GoldenVersion, GoldenVersions,
    PreviousGolden,
};
pub use survivorship::{
    choose, Candidate, GoldenField, Rule, Survivorship, SurvivorshipConfig, GOLDEN_FIELDS,
};
pub use version::{check_pin, golden_version, golden_version_and_conflicts, Pin, Pins};

use crate::record::{Record, SourceKey};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// What the store held before this run.
pub struct Previous<'a> {
    pub xref: &'a HashMap<SourceKey, (String, i64)>,
    pub golden: &'a HashMap<String, PreviousGolden>,
    pub next_seq: i64,
    /// Stewards' pinned values per golden ID (merge redirects already followed).
    pub pins: &'a Pins,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GoldenCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub merged: u64,
    pub split: u64,
}

pub struct GoldenBuild<'a> {
    /// Golden ID of each cluster.
    pub ids: Vec<String>,
    /// The golden records to write: new or changed.
    pub upserts: Upserts<'a>,
    pub deletes: Vec<String>,
    pub redirects: Vec<Redirect>,
    pub staged: Vec<StagedChange<'a>>,
    pub next_seq: i64,
    pub counts: GoldenCounts,
    pub assignment: Assignment,
    /// Merge, split and delete events (created and updated ones come with the rows).
    pub events: Vec<NewEvent>,
    /// New ID -> the ID it was split from.
    pub split_from: HashMap<String, String>,
    /// Fields on which a customer's records disagree, for the stewards' queue.
    pub conflicts: Vec<FieldConflict>,
}

/// A golden record to write: which cluster, and what it keeps from its earlier self.
struct Upsert {
    cluster: u32,
    created_seq: i64,
    /// None: created by this run.
    created: Option<(String, DateTime<Utc>)>,
}

/// The new and changed golden records, rebuilt from their clusters a slice at a time when they
/// are written (survivorship is deterministic), so that they never all sit in memory.
pub struct Upserts<'a> {
    records: &'a [Record],
    clusters: &'a [Vec<u32>],
    /// With the estate's word counts, when a rule weighs evidence.
    survivorship: Survivorship,
    pins: &'a Pins,
    ids: Vec<String>,
    items: Vec<Upsert>,
    run_id: String,
    now: DateTime<Utc>,
}

impl Upserts<'_> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn versions(&self, range: std::ops::Range<usize>) -> Vec<GoldenVersion> {
        self.items[range]
            .par_iter()
            .map(|u| {
                let rs: Vec<&Record> = self.clusters[u.cluster as usize]
                    .iter()
                    .map(|&r| &self.records[r as usize])
                    .collect();
                let id = &self.ids[u.cluster as usize];
                let pins = self.pins.get(id).map(Vec::as_slice).unwrap_or_default();
                let mut version = golden_version(&self.survivorship, &rs, pins);
                version.created_seq = u.created_seq;
                let g = &mut version.record;
                g.golden_id = id.clone();
                (g.created_run, g.created_at) = match &u.created {
                    Some((run, at)) => (run.clone(), *at),
                    None => (self.run_id.clone(), self.now),
                };
                g.updated_run = self.run_id.clone();
                g.updated_at = self.now;
                version
            })
            .collect()
    }
}

impl GoldenVersions for Upserts<'_> {
    fn len(&self) -> usize {
        Upserts::len(self)
    }
    fn versions(&self, range: std::ops::Range<usize>) -> Vec<GoldenVersion> {
        Upserts::versions(self, range)
    }
}

/// The part of the estate an incremental run rebuilds: the clusters given to [`build_part`]
/// (every cluster whose records or their golden customer changed), the previous golden IDs
/// their records had, and the records gone since the last run.
pub struct Scope<'a> {
    /// The IDs that may be kept, merged away or deleted: those of the clusters' records and of
    /// the vanished records. Every other stored customer stands as it is.
    pub previous_ids: Vec<&'a str>,
    /// Staged records of sources read in full that are no longer there, sorted.
    pub vanished: Vec<&'a SourceKey>,
}

/// Builds the golden records of all clusters and what must change in the store.
/// `pulled` lists the sources read in full this run: their records missing now are gone.
/// `estate` is the one kept with the model; without one, the run's records are counted.
#[allow(clippy::too_many_arguments)]
pub fn build<'a>(
    records: &'a [Record],
    hashes: &[i64],
    clusters: &'a [Vec<u32>],
    previous: &Previous<'a>,
    survivorship: &'a Survivorship,
    estate: Option<&Estate>,
    pulled: &HashSet<String>,
    run_id: &str,
    now: DateTime<Utc>,
) -> GoldenBuild<'a> {
    build_part(
        records,
        hashes,
        clusters,
        previous,
        survivorship,
        estate,
        pulled,
        None,
        run_id,
        now,
    )
}

/// [`build`] for the clusters an incremental run rebuilds (`scope`), given in the order a full
/// run would have them (by their first record), so that new IDs are minted in the same order.
/// With no scope, every cluster.
#[allow(clippy::too_many_arguments)]
pub fn build_part<'a>(
    records: &'a [Record],
    hashes: &[i64],
    clusters: &'a [Vec<u32>],
    previous: &Previous<'a>,
    survivorship: &'a Survivorship,
    estate: Option<&Estate>,
    pulled: &HashSet<String>,
    scope: Option<&Scope<'a>>,
    run_id: &str,
    now: DateTime<Utc>,
) -> GoldenBuild<'a> {
    let survivorship = if survivorship.weighs_evidence() {
        survivorship.with_estate(estate.cloned().unwrap_or_else(|| Estate::of(records)))
    } else {
        survivorship.clone()
    };
    let keys: Vec<SourceKey> = records.iter().map(Record::source_key).collect();
    let prev_ids: Vec<Vec<Option<&str>>> = clusters
        .iter()
        .map(|members| {
            members
                .iter()
                .map(|&r| {
                    previous
                        .xref
                        .get(&keys[r as usize])
                        .map(|(g, _)| g.as_str())
                        .filter(|g| previous.golden.contains_key(*g))
                })
                .collect()
        })
        .collect();
    let age = |id: &str| {
        previous
            .golden
            .get(id)
            .map(|g| g.created_seq)
            .unwrap_or(i64::MAX)
    };
    let mut all_previous: Vec<&str> = match scope {
        Some(scope) => scope
            .previous_ids
            .iter()
            .copied()
            .filter(|g| previous.golden.contains_key(*g))
            .collect(),
        None => previous.golden.keys().map(String::as_str).collect(),
    };
    all_previous.sort_unstable();
    all_previous.dedup();
    let assignment = assign(&prev_ids, &age, &all_previous, previous.next_seq);

    // Only the content hash is kept here, and only for customers already stored (it tells
    // whether they changed), with the conflicts of customers of several records, both from one
    // weighing of the evidence; rows are rebuilt when written. A first sync builds only the
    // customers of several records twice.
    let (hashes_of_clusters, found): (Vec<Option<i64>>, Vec<Vec<FieldConflict>>) = clusters
        .par_iter()
        .zip(&assignment.ids)
        .map(|(members, id)| {
            let stored = previous.golden.contains_key(id);
            if !stored && members.len() < 2 {
                return (None, Vec::new());
            }
            let rs: Vec<&Record> = members.iter().map(|&r| &records[r as usize]).collect();
            let pins = previous.pins.get(id).map(Vec::as_slice).unwrap_or_default();
            let (version, found) =
                golden_version_and_conflicts(&survivorship, &rs, pins, id, members.len() > 1);
            (stored.then_some(version.content_hash), found)
        })
        .unzip();
    let mut conflicts: Vec<FieldConflict> = found.into_iter().flatten().collect();
    conflicts.par_sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then_with(|| (&a.golden_id, a.field).cmp(&(&b.golden_id, b.field)))
    });

    let mut counts = GoldenCounts::default();
    let mut items = Vec::new();
    for (c, hash) in hashes_of_clusters.into_iter().enumerate() {
        let id = &assignment.ids[c];
        let (created_seq, created) = match previous.golden.get(id) {
            Some(prev) if Some(prev.content_hash) == hash => {
                counts.unchanged += 1;
                continue;
            }
            Some(prev) => {
                counts.updated += 1;
                (
                    prev.created_seq,
                    Some((prev.created_run.clone(), prev.created_at)),
                )
            }
            None => {
                counts.created += 1;
                (id[1..].parse().unwrap_or(0), None)
            }
        };
        items.push(Upsert {
            cluster: c as u32,
            created_seq,
            created,
        });
    }

    let mut deletes: Vec<String> = assignment.deleted.clone();
    let mut redirects = Vec::new();
    for (old, new) in &assignment.merged {
        deletes.push(old.clone());
        redirects.push(Redirect {
            old_id: old.clone(),
            new_id: new.clone(),
            reason: "merged".into(),
        });
    }
    let mut events = Vec::new();
    let mut split_from = HashMap::new();
    for (old, new) in &assignment.merged {
        events.push(NewEvent {
            kind: EventKind::Merged,
            golden_id: new.clone(),
            related_ids: vec![old.clone()],
            changes: serde_json::json!({}),
        });
    }
    for (old, minted) in &assignment.split {
        events.push(NewEvent {
            kind: EventKind::Split,
            golden_id: old.clone(),
            related_ids: minted.clone(),
            changes: serde_json::json!({}),
        });
        for id in minted {
            split_from.insert(id.clone(), old.clone());
        }
    }
    for id in &assignment.deleted {
        events.push(NewEvent {
            kind: EventKind::Deleted,
            golden_id: id.clone(),
            related_ids: Vec::new(),
            changes: serde_json::json!({}),
        });
    }
    counts.deleted = assignment.deleted.len() as u64;
    counts.merged = assignment.merged.len() as u64;
    counts.split = assignment.split.len() as u64;

    let mut golden_of = vec![u32::MAX; records.len()];
    for (c, members) in clusters.iter().enumerate() {
        for &r in members {
            golden_of[r as usize] = c as u32;
        }
    }
    let mut staged = Vec::new();
    let mut present: HashSet<&SourceKey> = HashSet::with_capacity(records.len());
    for (r, record) in records.iter().enumerate() {
        // Outside an incremental run's scope: the record and its customer stand.
        let Some(golden_id) = assignment.ids.get(golden_of[r] as usize) else {
            continue;
        };
        present.insert(&keys[r]);
        match previous.xref.get(&keys[r]) {
            Some((g, h)) if *h == hashes[r] && g == golden_id => {}
            Some((_, h)) if *h == hashes[r] => staged.push(StagedChange::Regolden {
                key: keys[r].clone(),
                golden_id: golden_id.clone(),
            }),
            _ => staged.push(StagedChange::Upsert {
                record,
                golden_id: golden_id.clone(),
                content_hash: hashes[r],
            }),
        }
    }
    let gone: Vec<&SourceKey> = match scope {
        Some(scope) => scope.vanished.clone(),
        None => {
            let mut gone: Vec<&SourceKey> = previous
                .xref
                .keys()
                .filter(|k| pulled.contains(k.source.as_str()) && !present.contains(k))
                .collect();
            gone.sort();
            gone
        }
    };
    staged.extend(
        gone.into_iter()
            .map(|k| StagedChange::Delete { key: k.clone() }),
    );

    GoldenBuild {
        ids: assignment.ids.clone(),
        upserts: Upserts {
            records,
            clusters,
            survivorship,
            pins: previous.pins,
            ids: assignment.ids.clone(),
            items,
            run_id: run_id.to_string(),
            now,
        },
        deletes,
        redirects,
        staged,
        next_seq: assignment.next_seq,
        counts,
        assignment,
        events,
        split_from,
        conflicts,
    }
}

#[cfg(test)]
mod tests;
